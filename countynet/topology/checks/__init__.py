"""Cross-file checks: what no single file's schema can see, one module per concern.

* :mod:`.catalog` - kits name known hardware, and each kit's hardware can play the role it is given;
* :mod:`.references` - every name a file uses (devices, zones, servers, ports, uplinks) exists where it should;
* :mod:`.numbering` - names, VLAN ids (zones and the VLAN plan), OSPF areas, waves and years are unique or declared;
* :mod:`.pins` - pinned addresses lie in their pools (and server pins in their zones);
* :mod:`.names` - every generated host name is a DNS label of at most 63 characters;
* :mod:`.hosting` - racks, their switches and ports, hosted servers (docs/hosting.md);
* :mod:`.policy` - the security policy's zones, services, hosts and scopes exist; expired rules warn.

Each check yields located diagnostics; :func:`check_topology` runs them all (the loader collects them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from countynet.errors import Diagnostic
from countynet.topology.checks import catalog, hosting, names, numbering, pins, policy, references

if TYPE_CHECKING:
    from countynet.topology.validated import Topology

CHECKS = (catalog.check, references.check, numbering.check, names.check, pins.check, hosting.check, policy.check)


def check_topology(t: Topology) -> Iterator[Diagnostic]:
    """Every cross-file problem of `t` (errors and warnings), each pointing into the file that holds it."""
    for check in CHECKS:
        yield from check(t)
