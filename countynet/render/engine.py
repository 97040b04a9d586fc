"""Rendering: per-device intent -> configuration files, with plain Jinja2.

Templates live in `templates/<feature>/<family>.j2` and are loaded once per process. Each platform flavour's
capabilities (:mod:`countynet.platforms`) say which features its templates render and which files a device
of that flavour produces; asking for a feature a flavour lacks is a build error naming device, feature and
flavour. Where flavours of one family differ, templates read the flavour's command forms (`cmd`).
StrictUndefined turns any missing intent field into an error, never an empty line. Secrets are never
rendered: templates call `secret('name')`, which writes a placeholder the push engine resolves on the way
to the device. Address math, ranges and ACL matches are Python filters (:mod:`countynet.render.filters`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2

from countynet import platforms
from countynet.errors import Diagnostic, TopologyError
from countynet.intent.models import DeviceIntent
from countynet.render.filters import FILTERS

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECRET_FMT = "${{secret:{name}}}"
SECRET_PATTERN = r"\$\{secret:([a-z0-9][a-z0-9_.-]*)\}"


def secret(name: str) -> str:
    """Placeholder for a secret; resolved by the push engine, never written with its value."""
    return SECRET_FMT.format(name=name)


@functools.cache
def environment(root: Path = TEMPLATES) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates are loaded once per process; no stat() of every file per device
        autoescape=False,
    )
    env.filters.update(FILTERS)
    env.globals.update(secret=secret)
    return env


@dataclass(frozen=True)
class PlatformSpec:
    features: frozenset[str]
    files: dict[str, tuple[str, ...]]  # output file name -> templates (feature names) concatenated in order


def render_flavour(d: DeviceIntent) -> platforms.Flavour:
    """The flavour whose templates, capabilities and command forms render `d`: its own, or - for a rendering
    of the intent in another family (the lab's Linux rendering, Batfish's Cisco one change only `platform`)
    - that family's most general flavour."""
    own = platforms.flavour(d.flavour)
    return own if own.family == d.platform else platforms.family_flavour(d.platform)


@functools.cache
def capabilities() -> dict[str, PlatformSpec]:
    """Per template family, what its most general flavour renders (for callers that render a whole family,
    like the lab's Linux rendering of every device); a device's own are `render_flavour(d).capabilities`."""
    out = {}
    for family in sorted(platforms.families()):
        caps = platforms.family_flavour(family).capabilities
        out[family] = PlatformSpec(caps.features, dict(caps.files))
    return out


def required_features(d: DeviceIntent) -> set[str]:
    """What the intent asks of the platform's templates."""
    need = {"base", "interfaces"}
    kinds = {i.kind for i in d.interfaces}
    if "svi" in kinds:
        need.add("svi")
    if "lag" in kinds:
        need.add("lag")
    if "trunk" in kinds or "access" in kinds:
        need.add("switching")
    if "tunnel" in kinds:
        need.add("tunnel")
    if any(i.vrrp for i in d.interfaces):
        need.add("vrrp")
    if d.routing.ospf:
        need.add("ospf")
    if d.routing.bgp:
        need.add("bgp")
    if d.routing.static:
        need.add("static")
    if d.vpn:
        need.add(f"vpn-{d.vpn.role}")
    if d.dhcp:
        need.add("dhcp")
    if d.nat:
        need.add("nat")
    if d.filters:
        need.add("acl")
    if d.server:
        need.add("server")
    return need


class CapabilityError(TopologyError):
    """Devices that need a feature their platform flavour does not render; each diagnostic's path is the host,
    so a caller that knows the topology can point at the line that chose the flavour."""


def check_capabilities(intents: dict[str, DeviceIntent]) -> list[Diagnostic]:
    """A device needing a feature its flavour's templates do not render is an error naming all three."""
    out = []
    for host, d in intents.items():
        fl = render_flavour(d)
        where = f"countynet/platforms/{fl.name}.yaml"
        for feature in sorted(required_features(d) - fl.capabilities.features):
            out.append(Diagnostic(where, 0, 0, host,
                                  f"device {host} needs feature {feature!r}, which platform flavour {fl.name!r} "
                                  "does not render",
                                  f"choose another flavour (hardware) for {host}, or add {feature} to the "
                                  f"{fl.family} templates and to the capabilities of {fl.name}"))
    return out


def render_device(d: DeviceIntent, root: Path = TEMPLATES) -> dict[str, str]:
    """All files of one device: name -> text. Deterministic for the same intent.

    Templates see the intent as `d`, the platform flavour as `f` and its command forms as `cmd`."""
    env = environment(root)
    fl = render_flavour(d)
    out: dict[str, str] = {}
    for fname, parts in fl.capabilities.files.items():
        chunks = []
        for part in parts:
            tpl = env.get_template(f"{part}/{fl.family}.j2" if "/" not in part else part)
            chunks.append(tpl.render(d=d, f=fl, cmd=fl.commands))
        text = "".join(chunks)
        if text.strip():
            out[fname.format(hostname=d.hostname)] = text
    return out


def render_all(intents: dict[str, DeviceIntent], root: Path = TEMPLATES) -> dict[str, dict[str, str]]:
    diags = check_capabilities(intents)
    if diags:
        raise CapabilityError("render", diags)
    out: dict[str, dict[str, str]] = {}
    failures: dict[tuple[str, int, str], list[str]] = {}
    for host, d in intents.items():
        try:
            out[host] = render_device(d, root)
        except jinja2.TemplateError as exc:  # a template bug: name the template line and the devices
            lineno = getattr(exc, "lineno", 0) or 0
            name = getattr(exc, "filename", None) or getattr(exc, "name", None) or "templates"
            failures.setdefault((str(name), lineno, str(exc)), []).append(host)
    if failures:
        errors = []
        for (name, lineno, msg), hosts in failures.items():
            more = f" (and {len(hosts) - 3} more devices)" if len(hosts) > 3 else ""
            errors.append(Diagnostic(name, lineno, 0, ", ".join(hosts[:3]) + more, f"template error: {msg}",
                                     "fix the template (a bug in countynet's templates, not in your topology)"))
        raise TopologyError("render", errors)
    return out

