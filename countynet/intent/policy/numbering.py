"""Stable ACL rule numbers: the lock `topology/acl-numbers.lock.yaml` (issue 13, part 3).

A compiled filter is an ordered list of lines; devices match them in ascending rule number (VRP and Comware
`match-order config`, IOS sequence numbers). Numbering lines 5, 10, 15, ... by position renumbers every line
after an inserted policy rule, and a deploy then rewrites whole ACLs on every device. Here each line keeps
the number it had:

* a line is known by a **stable key**: its match (action, protocol, source, destination, ports, ICMP type,
  `established`), unique within its filter (the compiler drops duplicate matches; a rare equal rendering gets
  ` #2`). The lock keeps, per device and filter, `NUMBER KEY` for every line;
* a build keeps the numbers of the longest run of locked lines that is still in order (a longest increasing
  subsequence: a moved rule gives up its own numbers, never the others'); lines without a kept number take
  free numbers between their kept neighbours, centred in the gap with the flavour's `step` where it fits;
* fresh numbers (a new filter, a renumbered one) leave `step` between lines of one policy rule and `room`
  between policy rules, so a rule inserted later finds free numbers; when a filter would not fit the
  flavour's range, room and then step shrink;
* only when a gap has fewer free numbers than new lines is that one filter renumbered afresh, and the build
  says so (a warning naming device, filter and the gap).

The number range, step and room are the platform registry's (`acl:` in `countynet/platforms/*.yaml`: VRP
0-4294967294, Comware 0-65534, IOS 1-2147483647), never constants here. The lock is read with the bounded
YAML loader, written atomically after the build, and `countynet validate --locked` refuses a build that would
change it (`changes`). Why a lock rather than numbers derived from the policy alone: the order of the lines is
the policy's order, and no function of the current policy alone can keep numbers fixed when a rule is
inserted between two others; the lock is the memory of the previous numbering, as the address lock is.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from countynet.errors import Diagnostic
from countynet.fileio import YamlTooLarge, load_yaml_bounded, write_if_changed
from countynet.intent.models import AclRule
from countynet.ipam.lockdiff import differences
from countynet.platforms.registry import Acl

LOCK_NAME = "acl-numbers.lock.yaml"
HEADER = (
    "# countynet ACL number lock: written by `countynet build`, checked by `countynet validate --locked`.\n"
    "# Per device and filter, `NUMBER KEY` for every compiled ACL line (KEY: the line's match), so that a policy\n"
    "# change renumbers only its own lines. Review changes to it like code (docs/policy.md, \"Numbering\").\n"
)

# host -> filter name -> line key -> number
Numbers = dict[str, dict[str, dict[str, int]]]


def line_key(r: AclRule) -> str:
    """The stable key of a compiled line: its match, in the compiler's words (not a vendor's)."""
    parts = [r.action, r.protocol, r.source, r.destination]
    if r.source_port_min is not None:
        hi = r.source_port_max
        parts.append(f"sport {r.source_port_min}" + (f"-{hi}" if hi is not None and hi != r.source_port_min else ""))
    if r.port_min is not None:
        hi = r.port_max
        parts.append(f"dport {r.port_min}" + (f"-{hi}" if hi is not None and hi != r.port_min else ""))
    if r.established:
        parts.append("established")
    if r.icmp_type is not None:
        parts.append(f"type {r.icmp_type}")
    if r.icmp_code is not None:
        parts.append(f"code {r.icmp_code}")
    return " ".join(parts)


def unique_keys(rules: list[AclRule]) -> list[str]:
    """`line_key` of each line, with ` #2`, ` #3` ... on a repeat within the filter."""
    seen: dict[str, int] = {}
    out = []
    for r in rules:
        k = line_key(r)
        n = seen.get(k, 0) + 1
        seen[k] = n
        out.append(k if n == 1 else f"{k} #{n}")
    return out


# ------------------------------------------------------------------------------------------- allocation

def fresh(groups: list[str], acl: Acl) -> list[int] | None:
    """Numbers for lines numbered afresh: `step` apart within a group (a policy rule), `room` apart between
    groups, from `step` (or `rule_min`) up; room, then step, shrink until the filter fits the range. None when
    it cannot fit even with consecutive numbers."""
    step, room = acl.step, max(acl.room, acl.step)
    while True:
        n = max(acl.rule_min, step)
        out = [n]
        for i in range(1, len(groups)):
            n += step if groups[i] == groups[i - 1] else room
            out.append(n)
        if not groups:
            return []
        if out[-1] <= acl.rule_max:
            return out
        if room > step:
            room = max(step, room // 2)
        elif step > 1:
            step //= 2
            room = step
        else:
            return None


def _kept(old: list[int | None]) -> list[bool]:
    """Which lines keep their locked number: a longest strictly increasing subsequence of the locked numbers
    in line order (patience sorting, O(n log n)); lines without a locked number are never kept."""
    tails: list[int] = []      # smallest last number of an increasing run of each length
    tail_at: list[int] = []    # index of that last line
    prev: list[int] = [-1] * len(old)
    for i, n in enumerate(old):
        if n is None:
            continue
        j = bisect.bisect_left(tails, n)
        prev[i] = tail_at[j - 1] if j else -1
        if j == len(tails):
            tails.append(n)
            tail_at.append(i)
        else:
            tails[j], tail_at[j] = n, i
    keep = [False] * len(old)
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep[i] = True
        i = prev[i]
    return keep


def _place(lo: int | None, hi: int | None, groups: list[str], before: str | None, acl: Acl) -> list[int] | None:
    """Numbers for a run of new lines strictly between `lo` and `hi` (None: the start / end of the filter).

    After the last kept line they follow it by `room` (a new group) or `step`; elsewhere they are centred in
    the gap, `step` apart where the gap allows (room left on both sides for later insertions), closer where
    it does not. None when the gap has fewer free numbers than lines."""
    m = len(groups)
    if hi is None and lo is not None:
        n, out = lo, []
        prev = before
        for g in groups:
            n += acl.step if g == prev else max(acl.room, acl.step)
            out.append(n)
            prev = g
        if out[-1] <= acl.rule_max:
            return out
    low = (lo + 1) if lo is not None else acl.rule_min
    high = (hi - 1) if hi is not None else acl.rule_max
    free = high - low + 1
    if free < m:
        return None
    if lo is None and hi is not None and hi - acl.step * m >= low:  # before the first kept line: `step` apart
        return [hi - acl.step * (m - j) for j in range(m)]
    spacing = min(acl.step, (free + 1) // (m + 1)) or 1
    span = spacing * (m - 1)
    start = low + (free - 1 - span) // 2
    return [start + spacing * j for j in range(m)]


@dataclass
class Assigned:
    """The numbers of one filter, and why it was renumbered afresh (empty: it was not)."""

    numbers: list[int]
    renumbered: str = ""


def assign(old: dict[str, int], keys: list[str], groups: list[str], acl: Acl) -> Assigned | None:
    """Numbers for a filter's lines (`keys` in match order, `groups` their policy rule or compiler reason)
    given the filter's locked numbers `old` (key -> number). Locked lines in order keep their numbers; the
    others take free numbers between their neighbours; a filter with no room left is numbered afresh (with a
    reason). None when the filter has more lines than the flavour's number range holds."""
    if not old:
        nums = fresh(groups, acl)
        return Assigned(nums) if nums is not None else None
    locked = [old.get(k) for k in keys]
    locked = [n if n is not None and acl.rule_min <= n <= acl.rule_max else None for n in locked]
    keep = _kept(locked)
    if not any(keep):
        nums = fresh(groups, acl)
        return Assigned(nums) if nums is not None else None
    out: list[int] = [0] * len(keys)
    i = 0
    last: int | None = None
    while i < len(keys):
        if keep[i]:
            out[i] = last = locked[i]  # type: ignore[assignment]
            i += 1
            continue
        j = i
        while j < len(keys) and not keep[j]:
            j += 1
        hi = locked[j] if j < len(keys) else None
        placed = _place(last, hi, groups[i:j], groups[i - 1] if i else None, acl)
        if placed is None:
            nums = fresh(groups, acl)
            if nums is None:
                return None
            where = (f"between rule {last} and rule {hi}" if last is not None and hi is not None
                     else f"before rule {hi}" if hi is not None else f"after rule {last}")
            return Assigned(nums, f"no free number {where} for {j - i} new line(s) ({groups[i]})")
        out[i:j] = placed
        last = placed[-1]
        i = j
    return Assigned(out)


@dataclass
class AclNumbers:
    """The numbering of one build: the old lock in, the new lock, renumbered filters and errors out."""

    old: Numbers = field(default_factory=dict)
    lines: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (host, filter, key) -> lock file line
    new: Numbers = field(default_factory=dict)
    renumbered: list[tuple[str, str, str]] = field(default_factory=list)  # (host, filter, reason)
    errors: list[Diagnostic] = field(default_factory=list)

    def number(self, host: str, fname: str, rules: list[AclRule], acl: Acl) -> list[AclRule]:
        """`rules` (a filter's lines in match order) with their stable numbers; records them in `new`."""
        keys = unique_keys(rules)
        old = self.old.get(host, {}).get(fname, {})
        for k, n in old.items():
            if not acl.rule_min <= n <= acl.rule_max:
                self.errors.append(Diagnostic(
                    f"topology/{LOCK_NAME}", self.lines.get((host, fname, k), 0), 1, f"{host}.{fname}",
                    f"rule number {n} is outside the platform's range {acl.rule_min}-{acl.rule_max}",
                    "delete this line from the lock (the line is numbered afresh) or restore the lock from git"))
        got = assign(old, keys, [r.remark for r in rules], acl)
        if got is None:
            self.errors.append(Diagnostic(
                f"topology/{LOCK_NAME}", 0, 0, f"{host}.{fname}",
                f"the filter has {len(rules)} lines, more than rule numbers {acl.rule_min}-{acl.rule_max} hold",
                "narrow the policy rules that reach this device, or split the segment"))
            return rules
        if got.renumbered:
            self.renumbered.append((host, fname, got.renumbered))
        self.new.setdefault(host, {})[fname] = dict(zip(keys, got.numbers, strict=True))
        return [_with_seq(r, n) for r, n in zip(rules, got.numbers, strict=True)]

    def warnings(self) -> list[Diagnostic]:
        """One warning per renumbered filter: every line of it changes number, deploy rewrites it whole."""
        return [Diagnostic(f"topology/{LOCK_NAME}", 0, 0, f"{host}.{fname}",
                           f"filter renumbered: {why}; every line of it takes a new number",
                           "expected after inserting many lines at one place; review and deploy the whole filter",
                           severity="warning")
                for host, fname, why in self.renumbered]


def replaced(r: AclRule, **changes: Any) -> AclRule:
    """A copy of `r` with some fields changed to values that are valid already, built without pydantic
    validation: `model_construct` costs ~9 us a line and a province build makes 1.4 million lines (a test in
    tests/test_policy.py checks the result equals a validated model)."""
    out = object.__new__(AclRule)
    object.__setattr__(out, "__dict__", {**r.__dict__, **changes})
    object.__setattr__(out, "__pydantic_fields_set__", r.__pydantic_fields_set__)
    object.__setattr__(out, "__pydantic_extra__", None)
    object.__setattr__(out, "__pydantic_private__", None)
    return out


def _with_seq(r: AclRule, seq: int) -> AclRule:
    """A copy of `r` with `seq`."""
    return r if r.seq == seq else replaced(r, seq=seq)


# ------------------------------------------------------------------------------------------- the lock file

class _NodeLoader(yaml.CSafeLoader):
    """Composes the document and hands back the node graph itself, so every entry keeps its line."""

    def construct_document(self, node: Any) -> Any:
        return node


_FIX = ("restore the lock from git (git checkout -- topology/acl-numbers.lock.yaml), or delete it to number "
        "every ACL afresh")


def _bad(name: str, node: Any, what: str) -> list[Diagnostic]:
    mark = node.start_mark
    return [Diagnostic(name, mark.line + 1, mark.column + 1, "", what, _FIX)]


def read(topology_dir: Path) -> tuple[AclNumbers, list[Diagnostic]]:
    """Read the lock beside the topology: (numbers, []) or (empty numbers, diagnostics with file:line:column).
    A missing lock is an empty one. Never writes anything.

    Each filter's lines are one literal block (`|`), one `NUMBER KEY` per line: a few hundred YAML nodes for
    the county's 29,000 lines (a list item per line made the bounded loader's node walk the slowest part of
    reading it), and a line's position in the file is still known for a message."""
    path = topology_dir / LOCK_NAME
    if not path.exists():
        return AclNumbers(), []
    name = f"{topology_dir.name}/{LOCK_NAME}"
    try:
        root = load_yaml_bounded(path.read_text(encoding="utf-8"), _NodeLoader)
    except YamlTooLarge as big:
        return AclNumbers(), [Diagnostic(name, big.line, big.column, "", f"lock file refused: {big}",
                                         "restore it from git, or delete it to number every ACL afresh")]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return AclNumbers(), [Diagnostic(name, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0, "",
                                         f"lock file is not valid YAML: {getattr(exc, 'problem', exc)}",
                                         "restore it from git (git checkout -- topology/acl-numbers.lock.yaml)")]
    if root is None:
        return AclNumbers(), []
    if not isinstance(root, yaml.MappingNode):
        return AclNumbers(), _bad(name, root, "lock file must be a mapping with `version: 1` and `filters:`")
    top = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    version = top.get("version")
    if not isinstance(version, yaml.ScalarNode) or version.value != "1":
        return AclNumbers(), _bad(name, version or root, "lock file has an unknown layout (want `version: 1`)")
    unknown = [k for k, _ in root.value if k.value not in ("version", "filters")]
    if unknown:
        return AclNumbers(), _bad(name, unknown[0], f"unknown key {unknown[0].value!r} (the lock holds `version` and "
                                                    "`filters`)")
    out = AclNumbers()
    hosts = top.get("filters")
    if hosts is None or (isinstance(hosts, yaml.ScalarNode) and hosts.value in ("", "~", "null")):
        return out, []
    if not isinstance(hosts, yaml.MappingNode):
        return AclNumbers(), _bad(name, hosts, "`filters` must map each device to its filters")
    for hnode, filters in hosts.value:
        if not isinstance(filters, yaml.MappingNode):
            return AclNumbers(), _bad(name, filters, f"{hnode.value}: must map each filter name to its lines")
        host = str(hnode.value)
        for fnode, entries in filters.value:
            fname = str(fnode.value)
            where = f"{host}.{fname}"
            if not isinstance(entries, yaml.ScalarNode) or entries.style != "|":
                return AclNumbers(), _bad(name, entries, f"{where}: must be a literal block (`|`) of `NUMBER KEY` "
                                                         "lines")
            first = entries.start_mark.line + 2  # the line after `NAME: |`
            lines: dict[str, int] = {}
            used: set[int] = set()
            col = entries.start_mark.column + 1
            for offset, text in enumerate(entries.value.splitlines()):
                num, _, key = text.partition(" ")
                if not num.isdigit() or not key.strip():
                    return AclNumbers(), [Diagnostic(name, first + offset, col, "", (
                        f"{where}: entry must be `NUMBER KEY` (a rule number, a space, the line's match), not "
                        f"{text[:60]!r}"), _FIX)]
                n = int(num)
                if n in used or key in lines:
                    twice = f"number {n}" if n in used else f"line {key!r}"
                    return AclNumbers(), [Diagnostic(name, first + offset, col, "", (
                        f"{where}: {twice} appears twice (each number and each line once per filter)"), _FIX)]
                used.add(n)
                lines[key] = n
                out.lines[(host, fname, key)] = first + offset
            out.old.setdefault(host, {})[fname] = lines
    return out, []


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _key(name: str) -> str:
    """A mapping key as YAML: plain when it is a simple name (device and filter names are), else JSON-quoted."""
    return name if _PLAIN.fullmatch(name) and name.lower() not in ("true", "false", "null", "yes", "no", "on", "off") \
        else json.dumps(name, ensure_ascii=False)


def dump(numbers: Numbers) -> str:
    """The lock's text: devices and filters sorted, each filter a literal block of its lines in number order
    (one per line, so a change shows in a diff as the lines it adds and removes). Written directly rather
    than with yaml.dump (ten times slower for 29,000 lines); `read` parses it back with the YAML loader and a
    test checks the round trip."""
    out = [HEADER, "version: 1\n"]
    if not numbers:
        return "".join([*out, "filters: {}\n"])
    out.append("filters:\n")
    for host, fs in sorted(numbers.items()):
        out.append(f"  {_key(host)}:\n")
        for f, lines in sorted(fs.items()):
            out.append(f"    {_key(f)}: |\n")
            out.extend(f"      {n} {k}\n" for k, n in sorted(lines.items(), key=lambda kv: kv[1]))
    return "".join(out)


def write(topology_dir: Path, numbers: Numbers, text: str | None = None) -> bool:
    """Write the lock atomically (`text`: `dump(numbers)` when the caller has it already); return True when it
    changed."""
    return write_if_changed(topology_dir / LOCK_NAME, dump(numbers) if text is None else text)


def changes(old: Numbers, new: Numbers) -> list[str]:
    """What a build would change in the lock, one line each: `+ host filter NUMBER KEY` (new line), `- ...`
    (freed), `~ host filter KEY: OLD -> NEW` (renumbered)."""
    out = []
    for host in sorted(set(old) | set(new)):
        a, b = old.get(host, {}), new.get(host, {})
        for f in sorted(set(a) | set(b)):
            x, y = a.get(f, {}), b.get(f, {})
            in_number_order = sorted(set(x) | set(y), key=lambda k: (y.get(k, x.get(k, 0)), k))
            for k, was, now in differences(x, y, in_number_order):
                if now is None:
                    out.append(f"- {host} {f} {was} {k} (freed)")
                elif was is None:
                    out.append(f"+ {host} {f} {now} {k} (new)")
                else:
                    out.append(f"~ {host} {f} {k}: {was} -> {now} (renumbered)")
    return out
