"""OSPF route filters in a real lab (root; issue 10 part 4): a leased-line village router that announces foreign
prefixes (a centre server's /32, another township's LAN) into its township's area gets neither into the township
router's routing table nor into area 0, while its own prefixes still arrive.

FRR runs every router (the lab's emulation of the Huawei/H3C boxes, from the build's own intents): the township
router filters with zebra's `ip protocol ospf route-map OSPF-IN`, the WAN router (ABR) with the same import
route-map and `area N filter-list prefix OSPF-OUT-... out`. The foreign prefixes are put on the village's
loopback (OSPF already announces it, passive, in the township's area) and on an interface (a veth pair inside the
village's namespace: this kernel has no dummy driver) the village router's OSPF is told to announce."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from countynet.lab import api, converge
from tests.lab_helpers import module_lab

pytestmark = pytest.mark.root

TOWNSHIP_RT, SWITCH, VILLAGE = "yx-yange-rt1", "yx-yange-sw1", "yx-yange-yange"
SCOPE = f"core,device:{TOWNSHIP_RT},device:{SWITCH},device:{VILLAGE}"
SERVER_HOST = "10.30.17.50/32"       # a /32 in the centre's server zone (more specific than the zone's /24)
FOREIGN_LAN = "10.30.150.0/24"       # another township's LAN block (zaizhong) ...
FOREIGN_GW = "10.30.150.1/24"        # ... as the village would put it on an interface


lab = module_lab(SCOPE, "route-filter lab test")


def _inv(lab: api.LabHandle) -> dict[str, Any]:
    return dict(json.loads((lab.lab_dir / "lab.json").read_text()))


def _q(lab: api.LabHandle, host: str, cmd: str, daemon: str) -> Any:
    out = converge.vty(f"{_inv(lab)['devices'][host]['dir']}/run/frr/{daemon}.vty", cmd)
    return json.loads(out or "{}")


def _rib(lab: api.LabHandle, host: str, prefix: str) -> list[dict[str, Any]]:
    """zebra's entries for exactly `prefix` (every protocol, selected or not)."""
    return list(_q(lab, host, f"show ip route {prefix} json", "zebra").get(prefix, []))


def _kernel(lab: api.LabHandle, host: str, prefix: str) -> list[Any]:
    ns = lab.devices[host].namespace
    out = subprocess.run(["ip", "-n", ns, "-j", "-4", "route", "show", "exact", prefix],
                         capture_output=True, text=True, check=True).stdout
    return list(json.loads(out or "[]"))


def _ospf_has(lab: api.LabHandle, host: str, prefix: str) -> bool:
    """ospfd's own route table (before the import filter) holds `prefix`."""
    return prefix in _q(lab, host, "show ip ospf route json", "ospfd")


def _active(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("selected") or e.get("installed")]


def _abr(bundled_build: Path) -> str:
    """The WAN router the township hangs on (its area's ABR)."""
    intent = yaml.safe_load((bundled_build / "intent" / f"{TOWNSHIP_RT}.yaml").read_text(encoding="utf-8"))
    return str(next(i["peer"]["host"] for i in intent["interfaces"]
                    if (i.get("peer") or {}).get("host", "").startswith("yx-wan")))


def _area(bundled_build: Path) -> str:
    """The township's OSPF area (the village's loopback's)."""
    village = yaml.safe_load((bundled_build / "intent" / f"{VILLAGE}.yaml").read_text(encoding="utf-8"))
    return str(next(i["ospf"]["area"] for i in village["interfaces"] if i["kind"] == "loopback"))


def _village_own(bundled_build: Path) -> tuple[str, str]:
    """The village's loopback and its LAN (the network of its SVI), from its intent."""
    village = yaml.safe_load((bundled_build / "intent" / f"{VILLAGE}.yaml").read_text(encoding="utf-8"))
    lan = next(i["address"] for i in village["interfaces"] if i["kind"] == "svi" and i.get("address"))
    return str(village["loopback"]), str(ipaddress.IPv4Interface(lan).network)


def test_village_cannot_inject_foreign_prefixes(lab, bundled_build):
    assert lab.converged, _inv(lab)["convergence"]
    abr = _abr(bundled_build)
    own_lo, own_lan = _village_own(bundled_build)
    # before: the village's own prefixes are where they belong
    assert _active(_rib(lab, TOWNSHIP_RT, own_lan)), f"{own_lan} not in {TOWNSHIP_RT}'s RIB before the test"

    ns = lab.devices[VILLAGE].namespace
    # the server /32 on the village's loopback (OSPF announces a loopback as /32); the foreign LAN on an
    # interface (a veth pair inside the namespace) that the village's OSPF is told to announce (FRR's vtysh)
    subprocess.run(["ip", "-n", ns, "addr", "add", SERVER_HOST, "dev", "lo"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "add", "fake0", "type", "veth", "peer", "name", "fake1"], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", FOREIGN_GW, "dev", "fake0"], check=True)
    for dev in ("fake0", "fake1"):
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    subprocess.run(["vtysh", "--vty_socket", ".", "-c", "configure terminal", "-c", "interface fake0",
                    "-c", f"ip ospf area {_area(bundled_build)}"], check=True, capture_output=True,
                   cwd=f"{_inv(lab)['devices'][VILLAGE]['dir']}/run/frr")
    try:
        # the announcement reaches the township router's and the ABR's OSPF (flooding is not filtered) ...
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                _ospf_has(lab, h, p) for h in (TOWNSHIP_RT, abr) for p in (SERVER_HOST, FOREIGN_LAN)):
            time.sleep(0.5)
        for h in (TOWNSHIP_RT, abr):
            for p in (SERVER_HOST, FOREIGN_LAN):
                assert _ospf_has(lab, h, p), f"{p} never reached {h}'s OSPF: the test proves nothing"
        time.sleep(3)  # SPF, the ABR's summaries and zebra have settled (lab timers: SPF 0-50 ms, LSA 0)
        # ... but neither the routing table nor the kernel of the township router or the ABR takes it
        for h in (TOWNSHIP_RT, abr):
            for p in (SERVER_HOST, FOREIGN_LAN):
                assert not _active(_rib(lab, h, p)), f"{h} routes {p} towards the village: {_rib(lab, h, p)}"
                assert not _kernel(lab, h, p), f"{h}'s kernel routes {p}: {_kernel(lab, h, p)}"
        # and area 0 never hears of it (the ABR's export filter): no route on the core at all
        for p in (SERVER_HOST, FOREIGN_LAN):
            assert not _rib(lab, "yx-core-1", p), f"yx-core-1 learnt {p}: {_rib(lab, 'yx-core-1', p)}"
        # the village's own prefixes still pass both filters
        assert _active(_rib(lab, TOWNSHIP_RT, own_lan)), f"{own_lan} lost on {TOWNSHIP_RT}"
        assert _active(_rib(lab, abr, own_lo)), f"{own_lo} lost on {abr}"
        assert _active(_rib(lab, "yx-core-1", own_lo)), f"{own_lo} (the village's loopback) lost in area 0"
    finally:
        subprocess.run(["ip", "-n", ns, "addr", "del", SERVER_HOST, "dev", "lo"], check=False)
        subprocess.run(["ip", "-n", ns, "link", "del", "fake0"], check=False)
