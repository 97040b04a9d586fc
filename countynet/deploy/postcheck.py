"""Post-check parsers: OSPF neighbour states, BGP session states and ping results from real CLI output.

Parsed with the ntc-templates TextFSM templates where one covers the command (`show ip ospf neighbor`,
`show ip bgp summary`, `ping` on cisco_ios; `display bgp peer` on huawei_vrp; `display bgp peer ipv4` on
hp_comware). ntc-templates has none for Huawei `display ospf peer brief`, H3C `display ospf peer` or the
Huawei/H3C `ping` summary: those are parsed by hand below from the vendors' documented layouts.

Every parser is strict about what it counts: a neighbour is Full only when its state column says Full, a BGP
session is up only when its state is Established (Cisco: the State/PfxRcd column holds a prefix count), and a
ping passes only when its statistics line was found and at least one reply came back. Output that holds
no recognisable table or statistics raises :class:`Unparsed`: the caller treats that as a failed check
(unproven is not passed).
"""

from __future__ import annotations

import re
from typing import Any

IP = r"\d{1,3}(?:\.\d{1,3}){3}"


class Unparsed(ValueError):
    """The output holds none of the rows or statistics the parser looks for."""


def _ntc(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    from ntc_templates.parse import parse_output  # loads TextFSM on first use
    from textfsm import TextFSMError

    try:
        rows: list[dict[str, Any]] = parse_output(platform=platform, command=command, data=text)
    except TextFSMError as exc:  # the template's Error rule: a line it does not know (e.g. a CLI error)
        raise Unparsed(f"{platform} `{command}` output not understood: {str(exc).splitlines()[0]}") from None
    return rows


# ---------------------------------------------------------------- OSPF

_VRP_OSPF_BRIEF = re.compile(rf"^\s*(?P<area>{IP}|\d+)\s+(?P<intf>\S+)\s+(?P<nbr>{IP})\s+(?P<state>\S+)\s*$")
_COMWARE_OSPF = re.compile(rf"^\s*(?P<nbr>{IP})\s+(?P<addr>{IP})\s+\d+\s+\d+\s+"
                           r"(?P<state>[\w-]+)(?:/\s*\S+)?\s+(?P<intf>\S+)\s*$")


def ospf_neighbors(platform: str, text: str) -> dict[str, str]:
    """Neighbour router id -> state (as printed, e.g. `Full`, `FULL/DR`, `Init`) of one neighbour table.
    platform: huawei_vrp (`display ospf peer brief`, by hand), hp_comware (`display ospf peer`, by hand),
    cisco_ios (`show ip ospf neighbor`, ntc-templates)."""
    out: dict[str, str] = {}
    if platform == "cisco_ios":
        for row in _ntc("cisco_ios", "show ip ospf neighbor", text):
            out[f"{row['neighbor_id']}@{row['interface']}"] = row["state"]
    else:
        rx = _VRP_OSPF_BRIEF if platform == "huawei_vrp" else _COMWARE_OSPF
        for line in text.splitlines():
            m = rx.match(line)
            if m:
                out[f"{m['nbr']}@{m['intf']}"] = m["state"]
    if not out and not _empty_ospf(text):
        raise Unparsed(f"no OSPF neighbour table in the {platform} output")
    return out


def _empty_ospf(text: str) -> bool:
    """An OSPF table that is there but has no neighbour (a header, `Total Peer(s): 0`, or nothing at all)."""
    return (not text.strip() or bool(re.search(r"Total Peer\(s\):\s*0\b", text))
            or bool(re.search(r"Neighbor ID\s+Pri\s+State|Router ID\s+Address\s+Pri|Neighbor id\s+State", text,
                              re.I)))


def ospf_full(platform: str, text: str) -> int:
    """How many neighbours are in state Full (FULL/DR, Full/BDR, FULL/  - count; 2-Way, Init, ExStart ... do not)."""
    return sum(1 for s in ospf_neighbors(platform, text).values() if re.match(r"full\b", s, re.I))


# ---------------------------------------------------------------- BGP


def bgp_peers(platform: str, text: str) -> dict[str, str]:
    """Peer address -> state (`Established`, `Idle`, `Active`, ...; Cisco: `Established` when the
    State/PfxRcd column is a prefix count). All three platforms through ntc-templates."""
    out: dict[str, str] = {}
    if platform == "cisco_ios":
        for row in _ntc("cisco_ios", "show ip bgp summary", text):
            st = str(row["state_or_prefixes_received"]).strip()
            out[row["bgp_neighbor"]] = "Established" if st.isdigit() else st
    elif platform == "huawei_vrp":
        for row in _ntc("huawei_vrp", "display bgp peer", text):
            out[row["peer"]] = row["state"]
    else:
        for row in _ntc("hp_comware", "display bgp peer ipv4", text):
            out[row["peer"]] = row["state"]
    if not out and not re.search(r"Total number of peers\s*:\s*0\b|^\s*$", text, re.I):
        raise Unparsed(f"no BGP peer table in the {platform} output")
    return out


def bgp_established(platform: str, text: str) -> set[str]:
    """Addresses of the peers whose session is Established."""
    return {p for p, s in bgp_peers(platform, text).items() if s.lower() == "established"}


# ---------------------------------------------------------------- ping

_VRP_PING = re.compile(r"(?P<sent>\d+)\s+packet\(s\)\s+transmitted\s*,?\s*(?P<recv>\d+)\s+packet\(s\)\s+received",
                       re.I)


def ping_result(platform: str, text: str) -> tuple[int, int]:
    """(sent, received) of one ping. cisco_ios through ntc-templates (`Success rate is P percent (R/S)`);
    Huawei and H3C by hand (`N packet(s) transmitted` / `M packet(s) received`, on one line or two)."""
    if platform == "cisco_ios":
        rows = _ntc("cisco_ios", "ping", text)
        if not rows or rows[0].get("success_qty") in (None, ""):
            raise Unparsed("no `Success rate is ...` line in the ping output")
        return int(rows[0]["sent_qty"]), int(rows[0]["success_qty"])
    m = _VRP_PING.search(re.sub(r"\s+", " ", text))
    if not m:
        raise Unparsed("no `packet(s) transmitted ... packet(s) received` statistics in the ping output")
    return int(m["sent"]), int(m["recv"])


def ping_ok(platform: str, text: str) -> bool:
    """The uplink answers: the statistics were found and at least one reply came back (the first probe of
    a cold ARP/ND cache may be lost, so one of two is enough; every probe lost fails)."""
    sent, recv = ping_result(platform, text)
    return sent > 0 and recv > 0
