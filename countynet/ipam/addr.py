"""IPv4 address arithmetic on text addresses, the one implementation in countynet.

Integers for speed (a province build derives ~1.5 million addresses); :mod:`ipaddress` validates input
upstream (the topology schema), so these trust their arguments' shape.
"""

from __future__ import annotations


def ip2int(address: str) -> int:
    """'10.0.0.1' or '10.0.0.1/30' -> 167772161."""
    a, b, c, d = address.split("/", 1)[0].split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def int2ip(n: int) -> str:
    """167772161 -> '10.0.0.1'."""
    return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def ip(prefix_or_addr: str) -> str:
    """The address without its length: '10.0.0.1/30' -> '10.0.0.1'."""
    return prefix_or_addr.split("/")[0]


def prefixlen(prefix_or_addr: str) -> int:
    """'10.0.0.1/30' -> 30; an address without a length is a /32."""
    _, _, length = prefix_or_addr.partition("/")
    return int(length) if length else 32


def network_int(prefix_or_addr: str) -> int:
    """The first address of the subnet, as an integer: '10.0.0.6/30' -> int of 10.0.0.4."""
    size = 1 << (32 - prefixlen(prefix_or_addr))
    return ip2int(prefix_or_addr) & ~(size - 1) & 0xFFFFFFFF


def host(prefix: str, index: int) -> str:
    """The index-th address of a prefix, with the prefix length: host('10.0.0.0/30', 1) = '10.0.0.1/30'.

    A negative index counts from the end: host('10.0.0.0/30', -1) = '10.0.0.3/30' (the broadcast)."""
    bits = prefixlen(prefix)
    if index < 0:
        index += 1 << (32 - bits)
    return f"{int2ip(network_int(prefix) + index)}/{bits}"


def same_subnet(address: str, interface: str) -> bool:
    """True when `address` lies in the subnet of `interface` ('10.0.0.1/24')."""
    size = 1 << (32 - prefixlen(interface))
    return ip2int(interface) // size == ip2int(address) // size
