"""The lab-only adjustments applied on top of a device's linux rendering (`countynet.render.engine`).

`lab_frr` applies the lab's fast OSPF timers (hello 1 / dead 4, SPF and LSA throttling) to the rendered
frr.conf: lab only, never the intent.
`resolve_secrets` swaps `${secret:name}` placeholders for lab-generated values (kept in the lab dir).
"""

from __future__ import annotations

import json
import re
import secrets as pysecrets
from pathlib import Path

from countynet.render.engine import SECRET_PATTERN

_OSPF_IF = re.compile(r"^\s*ip ospf (hello-interval|dead-interval)\b.*$")
_OSPF_COST = re.compile(r"^\s*ip ospf cost\b.*$")
BACKUP_COST = 1000
_OSPF_TIMERS = re.compile(r"^\s*timers (throttle spf|throttle lsa|lsa min-arrival)\b.*$")


def lab_frr(text: str, vrrp_backup: bool = False) -> str:
    """frr.conf for the lab: fast timers on every interface block and in `router ospf`, no version lines.

    On a VRRP backup (core-2) every interface gets a high OSPF cost, so traffic towards the centre LANs
    enters through the VRRP master, the same box their replies leave by: the lab's nftables filters are
    stateful and would drop the replies of a flow whose first packet went through the other core."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(("frr version", "frr defaults")) or _OSPF_IF.match(line) or _OSPF_TIMERS.match(line):
            continue
        if vrrp_backup and _OSPF_COST.match(line):
            continue
        out.append(line)
        if line.startswith("interface ") and line.split()[1] != "lo":
            out += [" ip ospf hello-interval 1", " ip ospf dead-interval 4"]
            if vrrp_backup:
                out.append(f" ip ospf cost {BACKUP_COST}")
        elif re.match(r"^router ospf\b", line):
            out += [" timers throttle spf 0 50 500", " timers lsa min-arrival 0", " timers throttle lsa all 0"]
    return "\n".join(out) + "\n"


class Secrets:
    """Lab-only secret values, generated on first use and kept in <lab>/secrets.json (mode 600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def resolve(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.values:
                self.values[name] = pysecrets.token_urlsafe(24)
            return self.values[name]

        return re.sub(SECRET_PATTERN, sub, text)

    def save(self) -> None:
        self.path.touch(mode=0o600, exist_ok=True)
        self.path.chmod(0o600)
        self.path.write_text(json.dumps(self.values))


def frr_daemons(text: str) -> list[str]:
    """Daemons switched on in a rendered /etc/frr/daemons (zebra always runs)."""
    on = [m.group(1) for m in re.finditer(r"^(\w+)=yes\s*$", text, re.M) if m.group(1) != "vtysh_enable"]
    return ["zebra", *[d for d in on if d != "zebra"]]


def libipsec_swanctl(text: str) -> str:
    """kernel-libipsec carries ESP in UDP only: force `encap = yes` in every connection."""
    text = re.sub(r"^\s*encap\s*=.*\n", "", text, flags=re.M)
    return re.sub(r"^(\s*)(remote_addrs\s*=.*)$", r"\1\2\n\1encap = yes", text, flags=re.M)


_NFT_CHAIN = re.compile(r"^\s*chain\s+(\S+)\s*\{")
_NFT_EST = re.compile(r"^(?P<indent>\s*)ct state established,related (?P<match>.*\btcp\b.*?) "
                      r"(?P<verdict>(?:return|drop)\b.*)$")
_NFT_HOOK = re.compile(r"type\s+filter\s+hook\s+(\w+).*policy\s+(\w+)")


def lab_nft(text: str, stateless_forward: bool) -> str:
    """nftables.conf for the lab: `iifname "mgmt0" accept` first in every default-drop input chain (the lab's
    management network); on non-firewalls, no `ct state invalid drop` in forward chains, and a compiled ACL's
    `established` line matches by TCP flags (ACK or RST set, as the vendor's `tcp-flag established` /
    `established` keyword does) instead of by connection state: routers sit on asymmetric paths (ECMP one way,
    the VRRP master back; a second internet exit's replies) where conntrack sees half a flow - the vendor ACLs
    they emulate are stateless."""
    out: list[str] = []
    hook = ""
    chain = ""
    for line in text.splitlines():
        c = _NFT_CHAIN.match(line)
        if c:
            hook = ""
            chain = c.group(1)
        if stateless_forward and chain.startswith("acl_") and _NFT_EST.match(line):
            m = _NFT_EST.match(line)
            assert m is not None
            line = f"{m['indent']}{m['match']} tcp flags & (ack | rst) != 0 {m['verdict']}"
        m = _NFT_HOOK.search(line)
        if m:
            hook = m.group(1)
            out.append(line)
            if hook == "input" and m.group(2) == "drop":
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f'{indent}iifname "mgmt0" accept comment "countynet lab management"')
            continue
        if stateless_forward and hook == "forward" and re.match(r"^\s*ct state invalid drop\s*$", line):
            continue
        out.append(line)
    return "\n".join(out) + "\n"
