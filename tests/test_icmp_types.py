"""ICMP types are part of the policy (issue 12): a service names an ICMP type (and code), the compiler carries it
on the request line and its answer on the reply line, every vendor writes it in its own words, the parsers read
those words back, and the exhaustive check sees a filter that lets every ICMP type through where the policy
grants echo only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from countynet.intent.models import AclRule
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.pipeline import compile_topology
from countynet.render.filters import ios_acl_match, nft_icmp, nft_rule, vrp_acl_match
from countynet.topology.policy_models import Service
from countynet.verify.exhaustive import Checker
from countynet.verify.symbolic import Engine, Packet
from countynet.verify.symbolic.parsers import parse_device
from tests.conftest import edit


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> BuildReader:
    return BuildReader(bundled_build)


@pytest.mark.parametrize(("data", "icmp"), [
    ({"protocol": "icmp", "icmp_type": "echo"}, (8, 0)),
    ({"ports": ["icmp"], "icmp_type": "echo-reply"}, (0, 0)),
    ({"protocol": "icmp", "icmp_type": "unreachable"}, (3, None)),
    ({"protocol": "icmp", "icmp_type": "time-exceeded"}, (11, None)),
    ({"protocol": "icmp", "icmp_type": 3, "icmp_code": 4}, (3, 4)),
    ({"protocol": "icmp"}, (None, None)),
])
def test_a_service_names_an_icmp_type(data: dict, icmp: tuple) -> None:  # type: ignore[type-arg]
    s = Service.model_validate(data)
    assert s.ports == ["icmp"] and s.icmp() == icmp


@pytest.mark.parametrize(("data", "says"), [
    ({"ports": ["tcp/22"], "icmp_type": "echo"}, "icmp_type needs ports: [icmp]"),
    ({"ports": ["icmp", "tcp/22"], "icmp_type": "echo"}, "icmp_type needs ports: [icmp]"),
    ({"protocol": "icmp", "icmp_type": "echo", "icmp_code": 1}, "icmp_code needs a numbered icmp_type"),
    ({"protocol": "icmp", "icmp_code": 1}, "icmp_code needs a numbered icmp_type"),
    ({"protocol": "tcp"}, "only icmp is written as a protocol"),
    ({"protocol": "icmp", "ports": ["icmp"]}, "either protocol: icmp or ports"),
    ({"protocol": "icmp", "icmp_type": "echo-request"}, "icmp_type"),
    ({"protocol": "icmp", "icmp_type": 256}, "icmp_type"),
])
def test_a_wrong_icmp_service_is_refused(data: dict, says: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as info:
        Service.model_validate(data)
    assert says in str(info.value)


def test_a_wrong_icmp_type_in_the_policy_file_is_located(topo_copy: Path) -> None:
    from countynet.errors import TopologyError

    edit(topo_copy / "policy.yaml", "icmp_type: echo,", "icmp_type: ping,")
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    text = info.value.render()
    assert "policy.yaml:" in text and "icmp_type" in text


def _icmp_lines(built: BuildReader, host: str, remark: str) -> list[AclRule]:
    return [r for f in built.intent(host).filters for r in f.rules if r.protocol == "icmp" and r.remark == remark]


def test_echo_request_and_echo_reply_lines(built: BuildReader) -> None:
    """The bundled `ping` is echo: the management side sends echo (8/0), the LAN gateway lets echo-reply (0/0) back
    and nothing else of ICMP for that rule."""
    requests = _icmp_lines(built, "yx-core-1", "monitoring-ping")
    replies = _icmp_lines(built, "yx-aonan-sw1", "monitoring-ping (replies)")
    assert requests and replies
    assert {(r.icmp_type, r.icmp_code) for r in requests} == {(8, 0)}
    assert {(r.icmp_type, r.icmp_code) for r in replies} == {(0, 0)}
    # the troubleshooting ping of the gateway is not part of the policy's services: every ICMP type, as before
    gw = _icmp_lines(built, "yx-aonan-sw1", "ping the gateway (troubleshooting)")
    assert gw and {(r.icmp_type, r.icmp_code) for r in gw} == {(None, None)}
    text = built.config_files("yx-core-1")["yx-core-1.cfg"]
    assert re.search(r"^ rule \d+ permit icmp source \S+ \S+ destination \S+ \S+ icmp-type echo$", text, re.M)


def _rule(itype: int | None, icode: int | None) -> AclRule:
    return AclRule(seq=5, action="permit", protocol="icmp", source="10.30.19.15/32", destination="10.30.17.0/24",
                   icmp_type=itype, icmp_code=icode)


@pytest.mark.parametrize(("itype", "icode", "vrp", "ios", "nft"), [
    (8, 0, " icmp-type echo", " 8 0", "icmp type echo-request icmp code 0"),
    (0, 0, " icmp-type echo-reply", " 0 0", "icmp type echo-reply icmp code 0"),
    (3, None, " icmp-type 3", " 3", "icmp type destination-unreachable"),
    (3, 4, " icmp-type 3 4", " 3 4", "icmp type destination-unreachable icmp code 4"),
    (None, None, "", "", "ip protocol icmp"),
])
def test_each_vendor_writes_the_icmp_type(itype: int | None, icode: int | None, vrp: str, ios: str,
                                          nft: str) -> None:
    r = _rule(itype, icode)
    assert vrp_acl_match(r) == f"icmp source 10.30.19.15 0 destination 10.30.17.0 0.0.0.255{vrp}"
    assert ios_acl_match(r) == f"icmp host 10.30.19.15 10.30.17.0 0.0.0.255{ios}"
    assert nft_rule(r) == f'ip saddr 10.30.19.15 ip daddr 10.30.17.0/24 {nft} return comment "seq 5"'
    assert nft_icmp(itype, icode) == nft


@pytest.mark.parametrize(("itype", "icode"), [(8, 0), (0, 0), (3, None), (3, 4), (11, None), (None, None)])
def test_parsers_read_back_what_the_renderer_wrote(itype: int | None, icode: int | None) -> None:
    """Each vendor's line, read by its parser, admits exactly the packets of that ICMP type and code."""
    e = Engine()
    r = _rule(itype, icode)
    rule = vrp_acl_match(r)
    vrp = f"acl number 3999\n rule 5 permit {rule}\n rule 10 deny ip source any destination any\n#\n" \
          "interface GigabitEthernet0/0/1\n traffic-filter inbound acl 3999\n#\n"
    comware = f"acl advanced 3999\n rule 5 permit {rule}\n rule 10 deny ip source any destination any\n#\n" \
              "interface GigabitEthernet0/0/1\n packet-filter 3999 inbound\n#\n"
    ios = f"ip access-list extended T\n 5 permit {ios_acl_match(r)}\n 10 deny ip any any\n!\n" \
          "interface GigabitEthernet0/0/1\n ip access-group T in\n!\n"
    configs = {"huawei_vrp": {"x.cfg": vrp}, "h3c_comware": {"x.cfg": comware}, "cisco_ios": {"x.cfg": ios}}
    for platform, files in configs.items():
        cfg = parse_device("x", platform, files)
        flts = cfg.bound("GigabitEthernet0/0/1", "inbound")
        assert len(flts) == 1, platform
        u = e.admitted(flts[0])
        for t in (0, 3, 8, 11):
            for c in (0, 1, 4):
                want = (itype is None or t == itype) and (icode is None or c == icode)
                got = e.contains(u, Packet.of("icmp", "10.30.19.15", "10.30.17.9", icmp_type=t, icmp_code=c))
                assert got == want, (platform, rule, t, c)


def test_an_icmp_filter_widened_to_every_type_is_caught(bundled_build: Path, tmp_path: Path) -> None:
    """yx-core-1's management filter lets every ICMP type through where the policy grants echo: the check finds
    packets the network admits and the policy does not, and the path names yx-core-1."""
    base = Checker(BuildReader(bundled_build)).run()
    assert base.differences == []
    out = tmp_path / "build"
    shutil.copytree(bundled_build, out)
    cfg = out / "configs" / "yx-core-1" / "yx-core-1.cfg"
    text = cfg.read_text(encoding="utf-8")
    new, n = re.subn(r"^( rule \d+ permit icmp source \S+ \S+ destination \S+ \S+) icmp-type echo$", r"\1", text,
                     flags=re.M)
    assert n > 0
    cfg.write_text(new, encoding="utf-8")
    res = Checker(BuildReader(out, allow_modified=True)).run()
    hits = [d for d in res.differences if d["kind"] == "extra-allow" and d["from"] == "management"
            and any("yx-core-1" in why for why in d["explain"])]
    assert hits, [(d["kind"], d["from"], d["to"], d["example"]) for d in res.differences]
    assert all("icmp" in d["example"] for d in hits)


@pytest.mark.parametrize(("itype", "icode"), [(8, 0), (0, None), (3, 4), (None, None)])
def test_nftables_icmp_type_and_code_are_read_back(built: BuildReader, itype: int | None,
                                                   icode: int | None) -> None:
    """A server's own nftables line, rewritten with `nft_icmp`, admits exactly that ICMP type and code."""
    files = dict(built.config_files("yx-oa-1"))
    text = files["etc/nftables.conf"]
    old = 'ip saddr @mgmt_sources icmp type echo-request accept comment "ping from management"'
    assert old in text
    files["etc/nftables.conf"] = text.replace(old, f'ip saddr @mgmt_sources {nft_icmp(itype, icode)} accept')
    cfg = parse_device("yx-oa-1", "linux", files)
    assert cfg.host_input is not None
    e = Engine()
    u = e.admitted(cfg.host_input.policy)
    for t in (0, 3, 8):
        for c in (0, 4):
            want = (itype is None or t == itype) and (icode is None or c == icode)
            got = e.contains(u, Packet.of("icmp", "10.30.19.15", "10.30.17.25", icmp_type=t, icmp_code=c))
            assert got == want, (nft_icmp(itype, icode), t, c)
