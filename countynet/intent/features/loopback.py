"""The loopback: router id, management address, passive in the site's OSPF area."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, OspfIf
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan


def loopback(dev: DevicePlan, facts: Facts) -> Part:
    """The loopback interface of a device that has a loopback address (all but access switches and servers)."""
    lo = facts.loopback(dev.name)
    if not lo:
        return NOTHING
    return Part(interfaces=(Interface(name=dev.hw.loopback_name or dev.flavour.interfaces.loopback, kind="loopback",
                                      address=lo, description="router id and management", zone="device-mgmt",
                                      ospf=OspfIf(area=facts.home_area(dev), passive=True)),))
