"""Hosted servers with real packets (root): the centre's network, two units' LANs and three hosted servers come
up in network namespaces from the bundled build; a unit reaches its own hosted server and not another unit's,
and the published tourism site answers the internet only on its published service (issue 14)."""

from __future__ import annotations

import json
import subprocess

import pytest

from countynet.lab import api, probe
from countynet.outputs.flows import Flow, Verdict
from tests.lab_helpers import module_lab

pytestmark = pytest.mark.root

SCOPE = "core,unit:finance,unit:tax,device:yx-fin-ex-1,device:yx-edu-ex-1,device:yx-web-tourism"
FIN_LAN, TAX_LAN = "yx-u-finance", "yx-u-tax"


lab = module_lab(SCOPE, "hosting lab tests")


def _addr(lab: api.LabHandle, host: str) -> str:
    out = subprocess.run(["ip", "-n", lab.devices[host].namespace, "-j", "-4", "addr", "show", "dev", "e0"],
                         capture_output=True, text=True, check=True).stdout
    return str(json.loads(out)[0]["addr_info"][0]["local"])


def _probe(lab: api.LabHandle, src_device: str, dst: str, port: int, expected: str) -> Verdict:
    inv = json.loads((lab.lab_dir / "lab.json").read_text())
    src = next(p for p in inv["probes"] if p["device"] == src_device)
    flow = Flow(f"hosting:{src_device}->{dst}:{port}", src["zone"], "host", src_device,
                src["address"].split("/")[0], dst, _addr(lab, dst), "tcp", port, expected)
    (res,) = probe.run_probes(lab.lab_dir, [flow])
    return res


def test_unit_reaches_its_own_hosted_server_not_anothers(lab: api.LabHandle) -> None:
    own = _probe(lab, FIN_LAN, "yx-fin-ex-1", 443, "allowed")
    assert own.status == "ok", own
    for src, dst in ((TAX_LAN, "yx-fin-ex-1"), (FIN_LAN, "yx-edu-ex-1")):
        other = _probe(lab, src, dst, 443, "denied")
        assert other.status == "ok", other


def test_published_site_from_the_internet_only_on_its_services(lab: api.LabHandle) -> None:
    """443 goes through the firewall's static NAT and its filter; an unpublished port or server has no public
    mapping, so from the internet it is unreachable (the lab reports the drop: the firewall's filter that would
    also drop it is proven by the exhaustive verifier, tests/test_hosting.py)."""
    web = _probe(lab, "internet", "yx-web-tourism", 443, "allowed")
    assert web.status == "ok", web
    ssh = _probe(lab, "internet", "yx-web-tourism", 22, "denied")
    assert ssh.status == "ok", ssh
    other = _probe(lab, "internet", "yx-fin-ex-1", 443, "denied")
    assert other.status == "ok", other
