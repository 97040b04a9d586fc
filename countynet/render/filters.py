"""Jinja filters of the renderer: address math, ranges and ACL matches, typed Python (not Jinja macros).

Templates stay declarative (which command, in which order); anything that computes goes here, where it is
typed and tested. The address arithmetic itself is :mod:`countynet.ipam.addr`, range runs are
:mod:`countynet.topology.ranges`: these filters only format their results in a vendor's words.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

from countynet.intent.models import AclRule, DeviceIntent, DhcpPool
from countynet.intent.policy.remarks import REPLIES, policy_rule_of
from countynet.ipam.addr import int2ip, ip, ip2int, network_int, prefixlen, same_subnet
from countynet.topology.ranges import compress_ints

ANY = "0.0.0.0/0"


# --------------------------------------------------------------------------- addresses

@functools.lru_cache(maxsize=65536)
def netmask(value: str) -> str:
    """'10.0.0.1/30' -> '255.255.255.252'."""
    return str(ipaddress.IPv4Interface(value).network.netmask)


@functools.lru_cache(maxsize=65536)
def wildcard(value: str) -> str:
    """'10.0.0.1/30' -> '0.0.0.3' (the host mask)."""
    return str(ipaddress.IPv4Interface(value).network.hostmask)


@functools.lru_cache(maxsize=65536)
def network(value: str) -> str:
    """'10.0.0.6/30' -> '10.0.0.4'."""
    return str(ipaddress.IPv4Interface(value).network.network_address)


@functools.lru_cache(maxsize=65536)
def prefix(value: str) -> str:
    """'10.0.0.6/30' -> '10.0.0.4/30'."""
    return str(ipaddress.IPv4Interface(value).network)


@functools.lru_cache(maxsize=65536)
def cached_prefixlen(value: str) -> int:
    """'10.0.0.6/30' -> 30 (validated: a bad value fails the render)."""
    return ipaddress.IPv4Interface(value).network.prefixlen


def in_subnet(address: str, interface: str) -> bool:
    """True when `address` is on the subnet of `interface` ('10.0.0.1/24')."""
    return same_subnet(address, interface)


def connected(address: str, d: DeviceIntent) -> bool:
    """True when some addressed interface of `d` has `address` on its subnet (a usable next hop)."""
    return any(i.address and same_subnet(address, i.address) for i in d.interfaces)


def dhcp_excluded(p: DhcpPool) -> list[tuple[str, str]]:
    """Host addresses of the pool's subnet outside range_start..range_end, as (first, last) runs."""
    first = network_int(p.network) + 1
    last = first + (1 << (32 - prefixlen(p.network))) - 3
    lo, hi = ip2int(p.range_start), ip2int(p.range_end)
    out = []
    if lo > first:
        out.append((int2ip(first), int2ip(lo - 1)))
    if hi < last:
        out.append((int2ip(hi + 1), int2ip(last)))
    return out


# --------------------------------------------------------------------------- ranges

def vlan_ranges(vlans: Iterable[int | str]) -> list[str]:
    """VRP / Comware VLAN list items, sorted and merged: [10, 20, 99, 100, 101] -> ['10', '20', '99 to 101'].

    Callers batch them (both vendors take at most 10 items per command)."""
    return [str(lo) if lo == hi else f"{lo} to {hi}" for lo, hi in compress_ints(int(v) for v in vlans)]


# --------------------------------------------------------------------------- ACL matches

def _vrp_addr(p: str) -> str:
    if p == ANY:
        return "any"
    return f"{network(p)} {'0' if cached_prefixlen(p) == 32 else wildcard(p)}"


def _vrp_ports(kind: str, lo: int | None, hi: int | None) -> str:
    if lo is None:
        return ""
    hi = lo if hi is None else hi
    return f" {kind}-port eq {lo}" if hi == lo else f" {kind}-port range {lo} {hi}"


# ICMP (type, code) -> the vendor's keyword; other types are written as numbers. VRP and Comware `echo` /
# `echo-reply` are type 8 / 0 with code 0 (their manuals' ICMP message tables). Cisco IOS gets numbers always:
# its `echo` / `echo-reply` are message *type* names that match every code (as Batfish reads them too), wider
# than the policy's echo, so `8 0` / `0 0` says exactly what the policy grants.
_VRP_ICMP = {(8, 0): "echo", (0, 0): "echo-reply"}
_IOS_ICMP: dict[tuple[int, int], str] = {}
_NFT_ICMP = {8: "echo-request", 0: "echo-reply", 3: "destination-unreachable", 11: "time-exceeded"}


def _icmp_words(r: AclRule, names: dict[tuple[int, int], str], prefix: str) -> str:
    """` <prefix>name` or ` <prefix>type [code]` of an icmp line that names a type; '' for every type."""
    if r.protocol != "icmp" or r.icmp_type is None:
        return ""
    name = names.get((r.icmp_type, r.icmp_code)) if r.icmp_code is not None else None
    if name:
        return f" {prefix}{name}"
    return f" {prefix}{r.icmp_type}" + ("" if r.icmp_code is None else f" {r.icmp_code}")


def nft_icmp(icmp_type: int | None, icmp_code: int | None) -> str:
    """The nftables match of an ICMP type and code: `icmp type echo-request icmp code 0`; every type is
    `ip protocol icmp`."""
    if icmp_type is None:
        return "ip protocol icmp"
    out = f"icmp type {_NFT_ICMP.get(icmp_type, icmp_type)}"
    return out if icmp_code is None else f"{out} icmp code {icmp_code}"


def vrp_acl_match(r: AclRule) -> str:
    """Protocol, addresses and ports of a Huawei VRP / H3C Comware advanced ACL rule (the same words on
    both). A filter rather than a macro: a county has ~14,000 ACL lines and Jinja macro calls were half of
    the rendering time."""
    l4 = r.protocol in ("tcp", "udp")
    src = _vrp_ports("source", r.source_port_min, r.source_port_max) if l4 else ""
    dst = _vrp_ports("destination", r.port_min, r.port_max) if l4 else ""
    icmp = _icmp_words(r, _VRP_ICMP, "icmp-type ")
    return f"{r.protocol} source {_vrp_addr(r.source)}{src} destination {_vrp_addr(r.destination)}{dst}{icmp}"


def _ios_addr(p: str) -> str:
    if p == ANY:
        return "any"
    if cached_prefixlen(p) == 32:
        return f"host {ip(p)}"
    return f"{network(p)} {wildcard(p)}"


def _ios_ports(lo: int | None, hi: int | None) -> str:
    if lo is None:
        return ""
    return f" eq {lo}" if hi is None or hi == lo else f" range {lo} {hi}"


def ios_acl_match(r: AclRule) -> str:
    """Protocol, addresses, source and destination ports and `established` of a Cisco IOS extended ACL line."""
    l4 = r.protocol in ("tcp", "udp")
    sports = _ios_ports(r.source_port_min, r.source_port_max) if l4 else ""
    ports = _ios_ports(r.port_min, r.port_max) if l4 else ""
    est = " established" if r.established and r.protocol == "tcp" else ""
    icmp = _icmp_words(r, _IOS_ICMP, "")
    return f"{r.protocol} {_ios_addr(r.source)}{sports} {_ios_addr(r.destination)}{ports}{est}{icmp}"


_NOTE_UNSAFE = re.compile(r"[^A-Za-z0-9 -]+")


@functools.lru_cache(maxsize=4096)
def acl_note(remark: str, limit: int) -> str:
    """The per-line note of a compiled ACL line (VRP `rule N description`, Comware `rule N comment`, IOS
    `remark`): the policy rule's name (`<name> replies` on its reply lines), or the compiler's own reason.

    Typed text, escaped here as well: only letters, digits, spaces and `-` (what the CE/NE references name for
    a rule description; parentheses and every other character become spaces), one line, at most `limit`
    characters (the flavour's `acl.note_chars`); '' when `limit` is 0 or nothing is left."""
    rule = policy_rule_of(remark)
    text = (f"{rule} replies" if remark.endswith(REPLIES) else rule) if rule else remark
    text = " ".join(_NOTE_UNSAFE.sub(" ", text).split())
    return text[:limit].rstrip() if limit > 0 else ""


def _nft_addr(field: str, p: str) -> str:
    return f"ip {field} {ip(p) if cached_prefixlen(p) == 32 else prefix(p)}"


def nft_rule(r: AclRule) -> str:
    """One nftables rule of a filter chain: permit returns to the forward chain, deny drops."""
    parts = []
    if r.established:
        parts.append("ct state established,related")
    if r.source != ANY:
        parts.append(_nft_addr("saddr", r.source))
    if r.destination != ANY:
        parts.append(_nft_addr("daddr", r.destination))
    ports = [(word, lo, hi) for word, lo, hi in (("sport", r.source_port_min, r.source_port_max),
                                                  ("dport", r.port_min, r.port_max)) if lo is not None]
    if r.protocol in ("tcp", "udp") and ports:
        for word, lo, hi in ports:
            span = f"-{hi}" if hi is not None and hi != lo else ""
            parts.append(f"{r.protocol} {word} {lo}{span}")
    elif r.protocol == "icmp":
        parts.append(nft_icmp(r.icmp_type, r.icmp_code))
    elif r.protocol != "ip":
        parts.append(f"ip protocol {r.protocol}")
    parts.append("return" if r.action == "permit" else "drop")
    return f'{" ".join(parts)} comment "seq {r.seq}"'


FILTERS: dict[str, Callable[..., Any]] = {
    "ip": ip, "prefixlen": cached_prefixlen, "netmask": netmask, "wildcard": wildcard, "network": network,
    "prefix": prefix, "in_subnet": in_subnet, "connected": connected, "dhcp_excluded": dhcp_excluded,
    "vlan_ranges": vlan_ranges, "vrp_acl_match": vrp_acl_match, "ios_acl_match": ios_acl_match,
    "nft_rule": nft_rule, "nft_icmp": nft_icmp, "acl_note": acl_note,
}
