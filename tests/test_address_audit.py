"""The build-wide address audit: duplicates, network/broadcast addresses, VRRP virtual addresses and DHCP
pools over static addresses are found across devices (issue 10: addresses)."""

from __future__ import annotations

import shutil
from pathlib import Path

from countynet.intent.address_audit import audit_addresses
from countynet.outputs.pipeline import compile_topology
from tests.conftest import TOPOLOGY


def _copy(bundled):
    return {h: d.model_copy(deep=True) for h, d in bundled.intents.items()}


def _first_addressed(intents, role: str):
    d = next(d for d in intents.values() if d.role == role)
    return d, next(i for i in d.interfaces if i.address and not i.address.endswith("/32"))


def test_bundled_build_is_clean(bundled) -> None:
    assert audit_addresses(bundled.intents) == []


def test_fresh_allocation_is_clean(tmp_path: Path) -> None:
    """Without the lock every address is allocated afresh: still no clash, no network or VRRP address."""
    topo = tmp_path / "topology"
    shutil.copytree(TOPOLOGY, topo)
    (topo / "addresses.lock.yaml").unlink()
    assert audit_addresses(compile_topology(topo).intents) == []


def test_duplicate_address_across_devices(bundled) -> None:
    intents = _copy(bundled)
    _a, ai = _first_addressed(intents, "server")
    b, bi = _first_addressed(intents, "township_router")
    bi.address = ai.address
    found = audit_addresses(intents)
    assert any("configured on 2 interfaces" in d.message and b.hostname in d.message for d in found)


def test_network_and_broadcast_addresses(bundled) -> None:
    import ipaddress

    intents = _copy(bundled)
    _d, i = _first_addressed(intents, "server")
    net = ipaddress.IPv4Interface(i.address).network
    i.address = f"{net.network_address}/{net.prefixlen}"
    msgs = [x.message for x in audit_addresses(intents)]
    assert any("network address" in m for m in msgs)
    i.address = f"{net.broadcast_address}/{net.prefixlen}"
    assert any("broadcast address" in x.message for x in audit_addresses(intents))


def test_interface_on_vrrp_virtual_address(bundled) -> None:
    intents = _copy(bundled)
    core = next(d for d in intents.values() if any(i.vrrp for i in d.interfaces))
    vi = next(i for i in core.interfaces if i.vrrp)
    server = next(d for d in intents.values() if d.role == "server")
    si = next(i for i in server.interfaces if i.address)
    si.address = f"{vi.vrrp.vip}/{vi.address.split('/')[1]}"
    assert any("VRRP virtual address" in d.message for d in audit_addresses(intents))


def test_dhcp_pool_over_a_static_address(bundled) -> None:
    intents = _copy(bundled)
    d = next(d for d in intents.values() if d.dhcp)
    pool = d.dhcp[0]
    pool.range_start = pool.gateway  # the gateway's own address handed out
    assert any("hands out statically used" in x.message for x in audit_addresses(intents))
