"""Running -> intended remediation, with hier_config (v3) for network OS and per-file diffs for Linux.

Each platform flavour names its hier_config driver and sectional exit word (countynet/platforms): Cisco IOS
serves IOS/IOS-XE; Huawei VRP (`undo` negation, `quit` sectional exit) serves VRP5/VRP8, and H3C Comware
uses the HP Comware5 driver (also `undo`) with `quit` exits.
Lines holding a `${secret:..}` placeholder are "set once": when the running config already has the same
setting (same text before the secret - devices show a hash, not the value) the line is taken as equal,
so a deploy stays idempotent; a new setting is sent with the secret resolved at push time.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field

from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig
from hier_config.child import HConfigChild

from countynet import platforms
from countynet.deploy.scrub import scrubbed_prefix

_SECRET_RX = re.compile(r"\$\{secret:[a-z0-9][a-z0-9_.-]*\}")
_NAME_RX = re.compile(r"\$\{secret:([a-z0-9][a-z0-9_.-]*)\}")
# lines a device prints that are not configuration
_NOISE_RX = re.compile(
    r"^\s*(?:#|!.*|return|end|Building configuration.*|Current configuration\s*:.*|"
    r"\s*version \d.*|\[[~*]?[\w.-]+\].*|<[\w.-]+>.*|[\w.-]+(?:\(config[^)]*\))?#.*)\s*$"
)


def normalise(text: str) -> str:
    """Config lines only: no separators, headers, trailing `return`/`end`, prompts or blank lines."""
    out = [line.rstrip() for line in text.splitlines() if line.strip() and not _NOISE_RX.match(line)]
    return "\n".join(out) + ("\n" if out else "")


def _path(child: HConfigChild) -> tuple[str, ...]:
    return tuple(c.text for c in child.lineage())


def _find(root: HConfig, path: tuple[str, ...]) -> HConfig | HConfigChild | None:
    node: HConfig | HConfigChild | None = root
    for text in path:
        assert node is not None
        node = node.children.get(text)
        if node is None:
            return None
    return node


def _pin(running: HConfig, intended: HConfig, marker: re.Pattern[str] | None,
         rotate: frozenset[str] = frozenset()) -> None:
    """Replace an intended line by the running line with the same prefix (secret or scrubbed lines). A secret
    line whose secret is in `rotate` is sent instead, and the running line it replaces is not negated."""
    for child in list(intended.all_children()):
        if marker is not None:
            m = marker.search(child.text)
            prefix = child.text[:m.start()] if m else None
            if m and rotate and set(_NAME_RX.findall(child.text)) & rotate and prefix and prefix.strip():
                parent = _find(running, _path(child)[:-1])
                if parent is not None:
                    for old in [c for c in parent.children if c.text.startswith(prefix)]:
                        old.delete()   # the new value overrides the old setting: no `undo` of it
                continue
        else:
            prefix = scrubbed_prefix(child.text)
        if not prefix or not prefix.strip():
            continue
        parent = _find(running, _path(child)[:-1])
        if parent is None:
            continue
        same = [c for c in parent.children if c.text.startswith(prefix)]
        if same:
            child.text = same[0].text
        elif marker is None:   # a scrubbed line with nothing to keep: cannot be restored, leave it out
            child.delete()


@dataclass
class Remediation:
    commands: list[str]                   # to send, with sectional exits; placeholders still in
    text: str                             # human diff (masked): `+ line` / `- line`
    added: int = 0
    removed: int = 0
    rollback: list[str] = field(default_factory=list)  # inverse commands

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def hier_platform(device_type: str) -> tuple[Platform, str]:
    """hier_config's platform and the section exit word for a flavour name or Netmiko device_type; ValueError
    for a platform whose configuration is files, not CLI (Linux), or an unknown one."""
    fl = platforms.lookup(device_type)
    if fl.deploy.config == "files" or fl.tools.hier_config is None or fl.deploy.exit is None:
        raise ValueError(f"{device_type!r} ({fl.name}) is configured with files, not a CLI: use file_diff")
    return Platform[fl.tools.hier_config], fl.deploy.exit


def remediation(device_type: str, running: str, intended: str, *, from_backup: bool = False,
                rotate: frozenset[str] = frozenset()) -> Remediation:
    """Commands that turn `running` into `intended` on a network OS (`intended` may hold placeholders).

    With `from_backup` the target is a scrubbed backup: its scrubbed lines keep the running values.
    Secret lines are "set once" unless their secret's name is in `rotate` (its value changed): then sent.
    """
    platform, exit_word = hier_platform(device_type)
    run = get_hconfig(platform, normalise(running))
    want = get_hconfig(platform, normalise(intended))
    _pin(run, want, None if from_backup else _SECRET_RX, rotate)
    wf = WorkflowRemediation(run, want)
    rem = wf.remediation_config
    commands = _with_exits(rem, exit_word)
    rollback = _with_exits(wf.rollback_config, exit_word)
    lines = [("  " * (c.depth() - 1)) + c.text for c in rem.all_children_sorted()]
    added = sum(1 for c in rem.all_children() if not c.text.startswith(("undo ", "no ")) and c.is_leaf)
    removed = sum(1 for c in rem.all_children() if c.text.startswith(("undo ", "no ")))
    return Remediation(commands, "\n".join(lines) + ("\n" if lines else ""), added, removed, rollback)


def _with_exits(config: HConfig, exit_word: str) -> list[str]:
    out: list[str] = []

    def walk(node: HConfig | HConfigChild, depth: int) -> None:
        for child in node.children:
            if child.text in ("undo return", "return", "undo end", "end", "no end"):
                continue
            out.append(child.text)
            if child.children:
                walk(child, depth + 1)
                out.append(exit_word)

    walk(config, 0)
    return out


def file_diff(name: str, running: str | None, intended: str) -> str:
    """Unified diff of one file (Linux); empty when equal."""
    if running == intended:
        return ""
    return "".join(difflib.unified_diff((running or "").splitlines(True), intended.splitlines(True),
                                        fromfile=f"running/{name}" if running is not None else "/dev/null",
                                        tofile=f"intended/{name}"))


def count_changes(udiff: str) -> tuple[int, int]:
    lines = udiff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


def pin_scrubbed_lines(running: str, target: str) -> str:
    """For a Linux file restored from a scrubbed backup: scrubbed lines take the running line's value."""
    run_lines = running.splitlines()
    out = []
    for line in target.splitlines():
        prefix = scrubbed_prefix(line)
        if prefix is None:
            out.append(line)
            continue
        same = [r for r in run_lines if r.startswith(prefix)]
        if same:
            out.append(same[0])
    return "\n".join(out) + ("\n" if out else "")
