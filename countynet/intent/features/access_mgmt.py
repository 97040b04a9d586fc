"""In-band management of access switches: an SVI in the management zone and a default route to the cores."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, StaticRoute
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import host, ip, prefixlen


def access_mgmt(dev: DevicePlan, facts: Facts) -> Part:
    """An access switch's management SVI (its address in the management zone) and its default route."""
    if dev.role != "access_switch":
        return NOTHING
    vid = facts.zones["management"].vlan
    mgmt = facts.address("centre_zone", "management")
    addr = facts.address("zone_host", dev.name)
    return Part(
        interfaces=(Interface(name=dev.hw.vlan_if.format(n=vid), kind="svi", vlan=vid,
                              address=f"{ip(addr)}/{prefixlen(mgmt)}", description="management", zone="device-mgmt"),),
        vlans=((vid, "management"),),
        static=(StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(mgmt, 1)), description="default to the core VRRP "
                            "gateway"),))
