"""`policy/acl-map.json`: every ACL line of every Huawei/H3C/Cisco configuration traced to its policy rule
(issue 13, part 3).

Reviewers and auditors ask "why is `rule 3030 permit tcp ...` on yx-litian-sw1?". The intent records, for
each compiled ACL line, the policy rule it comes from (`AclRule.remark`); this map joins that to the line
in the rendered configuration file (1-based line number and text), so the question is answered from the
build alone, without the compiler. Each line also carries its stable key (`key`, the line's match: what
`topology/acl-numbers.lock.yaml` keeps its number under, so the number survives policy changes elsewhere),
`policy_rule` (the rule's name; null for a line the compiler adds) and the rendered per-line note (`note`:
VRP `rule N description`, Comware `rule N comment`; the IOS `remark` before a rule's lines). A line that cannot
be found in the rendered text is listed with `line: null` (reported, never guessed). Linux hosts filter with
nftables chains (no numbered lines; the number is the rule's `comment "seq N"`) and are left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from countynet import platforms
from countynet.intent.models import DeviceIntent
from countynet.intent.policy.numbering import unique_keys
from countynet.intent.policy.remarks import policy_rule_of
from countynet.platforms.registry import Acl

ACL_MAP_FILE = "policy/acl-map.json"
def _locate(lines: list[str], acl: Acl, number: int, name: str
            ) -> tuple[dict[int, tuple[int, str]], dict[int, str]]:
    """(seq -> (1-based line, text), seq -> note) of one ACL's rule lines in a configuration; the ACL's opening
    line, rule lines and notes have the platform registry's forms (`acl.header`, `rule_line`, `note_line`)."""
    head = acl.header.format(n=number, name=name)
    rule_rx, note_rx = re.compile(acl.rule_line), re.compile(acl.note_line)
    out: dict[int, tuple[int, str]] = {}
    notes: dict[int, str] = {}
    inside = False
    remark: str | None = None
    for i, ln in enumerate(lines, 1):
        if ln.rstrip() == head:
            inside = True
            continue
        if inside:
            if ln and not ln.startswith(" "):
                break
            m = rule_rx.match(ln)
            if m:
                out[int(m.group(1))] = (i, ln.strip())
                if remark is not None:
                    notes[int(m.group(1))] = remark
                continue
            n = note_rx.match(ln)
            if n and note_rx.groups == 1:  # a note before the rule's lines (IOS remark)
                remark = n.group(1)
            elif n:
                notes[int(n.group(1))] = n.group(2)
    return out, notes


def acl_map(intents: dict[str, DeviceIntent], configs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """host -> {file, filters: name -> {number, lines: [{seq, rule, line, text}]}} for every device that has
    filters on a platform with numbered ACL lines."""
    devices: dict[str, Any] = {}
    for host, d in sorted(intents.items()):
        acl = platforms.flavour(d.flavour).acl
        if not acl.header or not d.filters:
            continue
        files = configs.get(host, {})
        fname = next((f for f in sorted(files) if f.endswith(".cfg")), None)
        text = files.get(fname, "") if fname else ""
        lines = text.splitlines()
        filters = {}
        for f in d.filters:
            found, notes = _locate(lines, acl, f.number, f.name)
            filters[f.name] = {"number": f.number, "lines": [
                {"seq": r.seq, "key": key, "rule": r.remark or None, "policy_rule": policy_rule_of(r.remark),
                 "action": r.action, "line": found[r.seq][0] if r.seq in found else None,
                 "text": found[r.seq][1] if r.seq in found else None, "note": notes.get(r.seq)}
                for r, key in zip(f.rules, unique_keys(f.rules), strict=True)]}
        devices[host] = {"file": f"configs/{host}/{fname}" if fname else None, "filters": filters}
    return {"about": "each ACL line of the rendered configurations (line: 1-based line number in file) with "
                     "the policy rule it comes from (rule: the policy rule's name, or the compiler's reason for "
                     "a line it adds itself such as dhcp or the final deny; null when it gives none; "
                     "policy_rule: the rule's name only, null for the compiler's own lines), its stable key "
                     "(key: the match its number is locked under in topology/acl-numbers.lock.yaml) and the "
                     "note rendered with it on the device (note: rule N description / comment, IOS remark)",
            "devices": devices}


def acl_map_files(intents: dict[str, DeviceIntent], configs: dict[str, dict[str, str]]) -> dict[str, str]:
    return {ACL_MAP_FILE: json.dumps(acl_map(intents, configs), indent=1, ensure_ascii=False, sort_keys=True)
            + "\n"}
