"""`policy/acl-map.json`: every ACL line of every Huawei/H3C/Cisco configuration traced to its policy rule
(issue 13, part 3).

Reviewers and auditors ask "why is `rule 65 permit tcp ...` on yx-litian-sw1?". The intent records, for
each compiled ACL line, the policy rule it comes from (`AclRule.remark`); this map joins that to the line
in the rendered configuration file (1-based line number and text), so the question is answered from the
build alone, without the compiler. A line that cannot be found in the rendered text is listed with
`line: null` (reported, never guessed). Linux hosts filter with nftables chains (no numbered lines) and
are left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from countynet.intent.models import DeviceIntent

ACL_MAP_FILE = "policy/acl-map.json"
# the line that opens a numbered ACL on each platform, and the form of one rule line in it
_OPEN = {"huawei_vrp": "acl number {n}", "h3c_comware": "acl advanced {n}",
         "cisco_ios": "ip access-list extended {name}"}
_RULE = {"huawei_vrp": re.compile(r"^ rule (\d+) "), "h3c_comware": re.compile(r"^ rule (\d+) "),
         "cisco_ios": re.compile(r"^ (\d+) (?:permit|deny) ")}


def _locate(lines: list[str], platform: str, number: int, name: str) -> dict[int, tuple[int, str]]:
    """seq -> (1-based line, text) of one ACL's rule lines in a configuration."""
    head = _OPEN[platform].format(n=number, name=name)
    out: dict[int, tuple[int, str]] = {}
    inside = False
    for i, ln in enumerate(lines, 1):
        if ln.rstrip() == head:
            inside = True
            continue
        if inside:
            if ln and not ln.startswith(" "):
                break
            m = _RULE[platform].match(ln)
            if m:
                out[int(m.group(1))] = (i, ln.strip())
    return out


def acl_map(intents: dict[str, DeviceIntent], configs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """host -> {file, filters: name -> {number, lines: [{seq, rule, line, text}]}} for every device that has
    filters on a platform with numbered ACL lines."""
    devices: dict[str, Any] = {}
    for host, d in sorted(intents.items()):
        if d.platform not in _OPEN or not d.filters:
            continue
        files = configs.get(host, {})
        fname = next((f for f in sorted(files) if f.endswith(".cfg")), None)
        text = files.get(fname, "") if fname else ""
        lines = text.splitlines()
        filters = {}
        for f in d.filters:
            found = _locate(lines, d.platform, f.number, f.name)
            filters[f.name] = {"number": f.number, "lines": [
                {"seq": r.seq, "rule": r.remark or None, "action": r.action,
                 "line": found[r.seq][0] if r.seq in found else None,
                 "text": found[r.seq][1] if r.seq in found else None} for r in f.rules]}
        devices[host] = {"file": f"configs/{host}/{fname}" if fname else None, "filters": filters}
    return {"about": "each ACL line of the rendered configurations (line: 1-based line number in file) with "
                     "the policy rule it comes from (rule: the policy rule's name, or the compiler's reason for "
                     "a line it adds itself such as dhcp or the final deny; null when it gives none)",
            "devices": devices}


def acl_map_files(intents: dict[str, DeviceIntent], configs: dict[str, dict[str, str]]) -> dict[str, str]:
    return {ACL_MAP_FILE: json.dumps(acl_map(intents, configs), indent=1, ensure_ascii=False, sort_keys=True)
            + "\n"}
