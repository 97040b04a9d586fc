"""Which prefixes make up each security zone, read from the per-device intent.

A zone's members are the subnets of interfaces tagged with that zone (LAN gateways, centre SVIs,
loopbacks for `device-mgmt`), the city prefixes the city edge accepts over BGP, and, for `internet`,
everything that is not internal (its `external` prefixes are the firewalls' inbound source NAT pools: inside
addresses that stand for internet clients). Summaries are as large as they can be without covering any other
zone's or any infrastructure subnet, so ACLs stay short (villages of a township become one or two lines).
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from countynet.intent.models import DeviceIntent
from countynet.topology.policy_models import PolicyFile

Net = ipaddress.IPv4Network
ANY = ipaddress.IPv4Network("0.0.0.0/0")


@dataclass
class Member:
    """One subnet of a zone and the interface that is its gateway (where its ingress filter goes)."""

    prefix: Net
    device: str
    interface: str
    township: str | None
    unit: str | None


@dataclass
class ZoneMap:
    kinds: dict[str, str]  # zone -> kind
    members: dict[str, list[Member]] = field(default_factory=dict)
    external: dict[str, list[Net]] = field(default_factory=dict)  # city prefixes
    internal: list[Net] = field(default_factory=list)  # every county prefix (aggregates)
    _summary: dict[tuple[str, str | None, str | None], list[Net]] = field(default_factory=dict)
    _taken: list[tuple[int, int, str]] = field(default_factory=list)
    _maxend: list[int] = field(default_factory=list)  # running maximum of the ends in _taken

    def prefixes(self, zone: str, township: str | None = None, unit: str | None = None) -> list[Net]:
        """The zone as few prefixes as possible (optionally only one township's or unit's part)."""
        kind = self.kinds[zone]
        if kind == "internet":
            return [ANY]
        if kind == "city":
            return list(self.external.get(zone, []))
        key = (zone, township, unit)
        if key not in self._summary:
            own = [m.prefix for m in self.members.get(zone, [])
                   if (township is None or m.township == township) and (unit is None or m.unit == unit)]
            scoped = township is not None or unit is not None
            # a scoped part is never widened: a wider prefix would cover the zone's members outside the scope
            self._summary[key] = collapse(own) if scoped or kind == "device-mgmt" else self._summarise(zone, own)
        return self._summary[key]

    def _summarise(self, zone: str, own: list[Net]) -> list[Net]:
        out = []
        for net in collapse(own):
            best = net
            while best.prefixlen > 8:
                sup = best.supernet()
                if self._clash(sup, zone) or not any(sup.subnet_of(a) for a in self.internal):
                    break
                best = sup
            out.append(best)
        return collapse(out)

    def _clash(self, net: Net, zone: str) -> bool:
        s, e = int(net.network_address), int(net.broadcast_address) + 1
        i = bisect.bisect_left(self._taken, (s, 0, ""))
        j = i
        while j < len(self._taken) and self._taken[j][0] < e:
            if self._taken[j][2] != zone:
                return True
            j += 1
        # an allocation that starts before `net` and reaches into it
        k = i - 1
        while k >= 0 and self._maxend[k] > s:
            _ks, ke, kz = self._taken[k]
            if ke > s and kz != zone:
                return True
            k -= 1
        return False

    def zone_of(self, address: str) -> str | None:
        """The zone an address belongs to (most specific member), or None for infrastructure."""
        a = ipaddress.IPv4Address(address.split("/")[0])
        best: tuple[int, str] | None = None
        for zone, members in self.members.items():
            for m in members:
                if a in m.prefix and (best is None or m.prefix.prefixlen > best[0]):
                    best = (m.prefix.prefixlen, zone)
        if best:
            return best[1]
        for zone, nets in self.external.items():
            if any(a in n for n in nets):
                return zone
        if not any(a in n for n in self.internal):
            return next((z for z, k in self.kinds.items() if k == "internet"), None)
        return None


def collapse(nets: Iterable[Net]) -> list[Net]:
    return list(ipaddress.collapse_addresses(nets))


def zone_map(intents: dict[str, DeviceIntent], policy: PolicyFile, internal: list[Net]) -> ZoneMap:
    zm = ZoneMap({name: z.kind for name, z in policy.zones.items()}, internal=internal)
    taken: list[tuple[int, int, str]] = []
    for host, d in intents.items():
        for i in d.interfaces:
            if not i.address:
                continue
            net = ipaddress.IPv4Interface(i.address).network
            zone = i.zone if i.zone in zm.kinds else None
            kind = zm.kinds.get(zone or "")
            if kind in ("internet", "city"):
                continue
            if d.role == "server":
                continue  # servers sit inside a zone subnet that their gateway already declares
            if zone and (kind != "device-mgmt" or i.kind in ("loopback", "svi")):
                if kind == "device-mgmt":
                    net = ipaddress.IPv4Network(f"{i.address.split('/')[0]}/32")
                zm.members.setdefault(zone, []).append(Member(net, host, i.name, d.township, d.unit))
            taken.append((int(net.network_address), int(net.broadcast_address) + 1, zone or "-"))
        if d.nat and d.nat.inbound:  # stands for internet clients inside the county (inbound source NAT)
            inet = next((z for z, k in zm.kinds.items() if k == "internet"), None)
            if inet:
                pool = ipaddress.IPv4Network(d.nat.inbound.pool)
                zm.external.setdefault(inet, []).append(pool)
                taken.append((int(pool.network_address), int(pool.broadcast_address) + 1, inet))
        if d.routing.bgp:
            city = next((z for z, k in zm.kinds.items() if k == "city"), None)
            if city:
                for n in d.routing.bgp.neighbors:
                    zm.external.setdefault(city, []).extend(ipaddress.IPv4Network(p) for p in n.import_prefixes)
    zm._taken = sorted(taken)
    run = 0
    for _s, e, _z in zm._taken:
        run = max(run, e)
        zm._maxend.append(run)
    return zm
