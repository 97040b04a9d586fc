"""The platform registry: every fact about a platform flavour, in one data file per flavour.

A *flavour* is what a device runs, as precisely as the configuration needs it (``huawei_vrp8_ce``: VRP8 on
a CloudEngine switch). Each ``countynet/platforms/<flavour>.yaml`` may name a ``parent`` whose data it
inherits (mappings deep-merged, scalars and lists replaced); an ``abstract`` flavour only exists to be
inherited (``huawei_vrp``: no device runs "just VRP"). A concrete flavour holds:

* ``family``: the template family (``templates/<feature>/<family>.j2``) and the intent's ``platform``;
* ``os``, ``interfaces`` (loopback, aggregate and tunnel naming), ``capabilities`` (the features its templates
  render and the files a device produces), ``commands`` (per-feature command forms the templates fill in,
  where flavours of one family differ), ``privilege`` (user role -> level);
* ``tools``: Netmiko device_type, NAPALM driver, hier_config platform, Ansible network_os / connection;
* ``deploy``: the push driver, hier_config's sectional exit word and whether the device takes CLI lines or
  files; ``roundtrip``: the round-trip parser; ``batfish``: native in the Batfish snapshot, or the interface
  renames of its Cisco verification rendering.
* ``acl``: the ACL numbers of the compiled filters, the rule-number range of one, the step between lines and the
  room between policy rules (`countynet.intent.policy.numbering`), the longest per-line note
  (``commands.acl_line_note``), and the forms of the opening line, a rule line and a note (`outputs/acl_map.py`).
* ``ospf_auth``: the OSPF authentication algorithms the platform has, preferred first (default HMAC-SHA-256,
  MD5); a link to a platform without HMAC-SHA for OSPFv2 (FRR 8.4, Comware 7) uses MD5 on both ends.

Nothing else in countynet hard-codes a platform fact: the topology catalog names a flavour per hardware
model, and every stage reads the flavour from here. The files are package data, loaded once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from countynet.suggest import did_you_mean


class RegistryError(Exception):
    """A platform data file is broken (a countynet bug, not a user's input)."""


class UnknownFlavour(ValueError):
    """A name that is no concrete flavour; the message says what is close and what exists."""

    def __init__(self, name: str, choices: Iterable[str], what: str = "platform flavour", why: str = ""):
        names = sorted(choices)
        close = "" if why else did_you_mean(name, names)
        self.name = name
        super().__init__(f"{why or f'unknown {what} {name!r}'}; " + (f"{close} " if close else "")
                         + f"{'choose one of' if why else 'known'}: {', '.join(names)}")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Naming(_Frozen):
    """Interface names the intent stage makes up (ports come from the hardware catalog)."""

    loopback: str = Field(description="the loopback carrying the router id, e.g. LoopBack0")
    lag: str = Field(pattern=r"\{n\}", description="aggregate with {n}, e.g. Eth-Trunk{n}")
    tunnel: str = Field(pattern=r"\{n\}", description="IPsec tunnel interface with {n}, e.g. Tunnel0/0/{n}")


class Capabilities(_Frozen):
    """Which intent features the family's templates render, and the files a device produces."""

    features: frozenset[str]
    files: dict[str, tuple[str, ...]] = Field(description="output file -> template parts, concatenated")


class Ansible(_Frozen):
    network_os: str
    connection: str


class Tools(_Frozen):
    """Names the automation tools know this flavour by."""

    netmiko: str = Field(description="Netmiko device_type")
    napalm: str | None = Field(None, description="NAPALM driver (None: no driver)")
    hier_config: str | None = Field(None, description="hier_config Platform member (None: files, not CLI)")
    ntc_templates: str | None = Field(None, description=(
        "ntc-templates platform name its show output is parsed under (None: no templates; the post-checks then "
        "use their own parsers)"))
    ansible: Ansible


class Deploy(_Frozen):
    driver: str = Field(description="push driver class (countynet.deploy.drivers), e.g. Vrp8Driver")
    exit: str | None = Field(None, description="word that leaves a configuration section (hier_config)")
    config: Literal["cli", "files"] = Field("cli", description=(
        "how the device is configured: `cli` (one rendered config, diffed by hier_config and sent as lines) or "
        "`files` (several rendered files, diffed and installed file by file)"))


class Acl(_Frozen):
    """Rule numbers of the compiled filters (advanced ACLs, `countynet.intent.policy.numbering`) and how a line
    names the policy rule it comes from (`commands.acl_line_note`, '' where the flavour has no per-line text)."""

    rule_min: int = Field(ge=0, description="lowest rule number / sequence the platform accepts")
    rule_max: int = Field(ge=1, description="highest rule number / sequence the platform accepts")
    step: int = Field(ge=1, description="numbers between two lines of one policy rule (room to add a line)")
    room: int = Field(ge=1, description="numbers between the lines of two policy rules (room for a new rule)")
    note_chars: int = Field(ge=0, description="longest per-line rule note the platform accepts (0: none)")
    filter_numbers: tuple[int, int] = Field((3000, 3998), description=(
        "first and last ACL number of the compiled filters (advanced ACLs); numbers outside belong to other ACLs "
        "(management and NAT sources, 3999 the inbound NAT's service selector)"))
    header: str = Field("", description=(
        "the line that opens a compiled filter ({n}: its number, {name}: its name); '' where filters are not "
        "numbered ACLs (nftables)"))
    rule_line: str = Field("", description="regex of one rule line of that ACL, group 1 its number")
    note_line: str = Field("", description=(
        "regex of the per-line note: groups (number, text) after its rule, or (text) before the rule's lines"))


class BatfishRendering(_Frozen):
    """How the flavour's devices enter the Batfish snapshot (Batfish parses Cisco IOS, not VRP or Comware)."""

    native: bool = Field(False, description="the rendered configuration itself goes into the snapshot")
    target: bool = Field(False, description="the flavour the verification renderings of the others use (one)")
    rename: tuple[tuple[str, str], ...] = Field((), description=(
        "interface name -> Cisco name for the verification rendering: (Python regex, replacement) pairs, "
        "first match wins"))


class Flavour(_Frozen):
    """One concrete platform flavour, inheritance resolved."""

    name: str
    ancestors: tuple[str, ...] = Field(description="parent first, then its parent, ...")
    description: str
    family: str
    os: str
    interfaces: Naming
    capabilities: Capabilities
    privilege: dict[str, int]
    commands: dict[str, str] = Field(default_factory=dict)
    ospf_auth: tuple[Literal["hmac-sha256", "md5"], ...] = Field(("hmac-sha256", "md5"), description=(
        "OSPF authentication algorithms, preferred first; a link uses the first one both ends have"))
    tools: Tools
    deploy: Deploy
    roundtrip: str = Field(description="round-trip parser (countynet.render.roundtrip.<name>)")
    batfish: BatfishRendering = BatfishRendering()
    acl: Acl = Field(description="rule numbering and per-line notes of the compiled filters")


_OWN = ("parent", "abstract", "description")  # keys a flavour does not inherit


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@functools.cache
def _files() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RegistryError(f"platforms/{entry.name}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise RegistryError(f"platforms/{entry.name}: must hold a mapping")
        out[entry.name.removesuffix(".yaml")] = data
    return out


def _lineage(name: str, files: dict[str, dict[str, Any]]) -> list[str]:
    chain = [name]
    while (parent := files[chain[-1]].get("parent")) is not None:
        if parent not in files:
            raise RegistryError(f"platforms/{chain[-1]}.yaml: unknown parent {parent!r}")
        if parent in chain:
            raise RegistryError(f"platforms/{name}.yaml: inheritance loop {' -> '.join([*chain, parent])}")
        chain.append(parent)
    return chain


@functools.cache
def _registry() -> tuple[dict[str, Flavour], dict[str, tuple[str, ...]]]:
    """(concrete flavours by name, abstract flavours -> their concrete descendants)."""
    files = _files()
    concrete: dict[str, Flavour] = {}
    abstract: dict[str, list[str]] = {n: [] for n, d in files.items() if d.get("abstract")}
    for name, own in files.items():
        chain = _lineage(name, files)
        if own.get("abstract"):
            continue
        data: dict[str, Any] = {}
        for step in reversed(chain):
            data = _merge(data, {k: v for k, v in files[step].items() if k not in _OWN})
        data.update(name=name, ancestors=tuple(chain[1:]), description=own.get("description", ""))
        try:
            concrete[name] = Flavour.model_validate(data)
        except ValidationError as exc:
            where = f"platforms/{name}.yaml" + (f" (inheriting {', '.join(chain[1:])})" if chain[1:] else "")
            raise RegistryError(f"{where}: {exc}") from None
        for step in chain[1:]:
            if step in abstract:
                abstract[step].append(name)
    return concrete, {n: tuple(sorted(c)) for n, c in abstract.items()}


def flavours() -> dict[str, Flavour]:
    """Every concrete flavour, by name (sorted)."""
    return _registry()[0]


def abstract_flavours() -> dict[str, tuple[str, ...]]:
    """Every abstract flavour and the concrete flavours that inherit from it."""
    return _registry()[1]


def flavour(name: str) -> Flavour:
    """The concrete flavour `name`; UnknownFlavour (a ValueError) with did-you-mean and the list otherwise."""
    found = _registry()[0].get(name)
    if found is not None:
        return found
    children = _registry()[1].get(name)
    if children is not None:
        raise UnknownFlavour(name, children, why=f"{name!r} is an abstract flavour (a family), no device runs it")
    raise UnknownFlavour(name, _registry()[0])


@functools.cache
def families() -> frozenset[str]:
    """The template families (the intent's `platform` values)."""
    return frozenset(f.family for f in flavours().values())


def _most_general(candidates: list[Flavour]) -> Flavour:
    return min(candidates, key=lambda f: (len(f.ancestors), f.name))


@functools.cache
def family_flavour(family: str) -> Flavour:
    """The most general concrete flavour of `family` (fewest ancestors, then by name): what a rendering
    of an intent in another family uses (the lab renders every device as `linux`, Batfish as `cisco_ios`)."""
    found = [f for f in flavours().values() if f.family == family]
    if not found:
        raise UnknownFlavour(family, families(), what="platform family")
    return _most_general(found)


@functools.cache
def for_platform(family: str, os: str) -> Flavour:
    """The most general concrete flavour of `family` running `os`: the flavour of an intent written
    without one (hand-written test intents, builds from before flavours)."""
    found = [f for f in flavours().values() if f.family == family and f.os == os]
    if not found:
        raise UnknownFlavour(f"{family}/{os}", {f"{f.family}/{f.os}" for f in flavours().values()},
                             what="platform and os")
    return _most_general(found)


@functools.cache
def batfish_target() -> Flavour:
    """The flavour in which Batfish verification renderings of the non-native flavours are written."""
    found = [f for f in flavours().values() if f.batfish.target]
    if len(found) != 1:
        raise RegistryError(f"exactly one flavour must say `batfish: {{target: true}}`, found {len(found)}")
    return found[0]


def configured_by_files(name: str) -> bool:
    """True when the flavour (by name or Netmiko device_type, see `lookup`) is configured with files, not a CLI."""
    return lookup(name).deploy.config == "files"


@functools.cache
def lookup(name: str) -> Flavour:
    """A flavour by its own name or by its Netmiko device_type (what a Nornir inventory carries); for a
    device_type several flavours share (VRP8 CE and NE), the most general one."""
    if name in flavours():
        return flavours()[name]
    found = [f for f in flavours().values() if f.tools.netmiko == name]
    if not found:
        raise UnknownFlavour(name, [*flavours(), *{f.tools.netmiko for f in flavours().values()}],
                             what="platform flavour or Netmiko device type")
    return _most_general(found)
