"""Round trip for Cisco IOS-XE and Linux: parse the rendered files back with TTP and compare with the
intent. Every Cisco and Linux device of the bundled build must come back identical; the synthetic
device with every feature too; and a deliberately broken template must be caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from countynet.render.engine import TEMPLATES, render_device
from countynet.render.roundtrip import check_device, expected, parse
from tests.cisco_linux_samples import feature_intent


def test_every_cisco_and_linux_device_round_trips(bundled):
    devices = [d for d in bundled.intents.values() if d.platform in ("cisco_ios", "linux")]
    assert len([d for d in devices if d.platform == "cisco_ios"]) >= 4
    assert len([d for d in devices if d.platform == "linux"]) >= 26
    problems = {d.hostname: check_device(d, render_device(d)) for d in devices}
    assert not {h: p for h, p in problems.items() if p}


def test_the_parser_reads_facts_not_the_intent(bundled):
    d = bundled.intents["yx-city-1"]
    got = parse(d.platform, render_device(d), d)
    assert got == expected(d)
    # an empty file set yields empty facts: nothing is copied from the intent
    assert parse(d.platform, {}, d).interfaces == {}
    hub = bundled.intents["yx-vpnhub-1"]
    assert parse("linux", {}, hub).static_routes == set()


@pytest.mark.parametrize("platform", ["cisco_ios", "linux"])
def test_feature_device_round_trips(bundled, platform):
    d = feature_intent(bundled.intents["yx-city-1"], platform)
    if platform == "linux":  # policy-based IPsec on Linux: the tunnel is no interface there (see template)
        d = d.model_copy(update={"interfaces": [i for i in d.interfaces if i.kind != "tunnel"]})
    facts = expected(d)
    assert facts.acl_rules == {"from-core": 5, "to-township": 3}
    assert check_device(d, render_device(d)) == []


BREAKS = [
    # (platform, host, template, original text, broken text, expected difference)
    ("cisco_ios", "yx-city-1", "interfaces/cisco_ios.j2", " ip address {{ c.addr(i.address) }}",
     " ip address {{ i.address|ip }} 255.255.255.0", "address intent"),
    ("cisco_ios", "yx-u-tax", "interfaces/cisco_ios.j2", " ip ospf {{ ospf.process }} area {{ i.ospf.area }}",
     " ip ospf {{ ospf.process }} area 0.0.0.0", "OSPF interfaces/areas differ"),
    ("cisco_ios", "yx-city-1", "routing/cisco_ios.j2", "{% for r in d.routing.static %}",
     "{% for r in d.routing.static[1:] %}", "static routes"),
    ("cisco_ios", "feature", "security/cisco_ios.j2", "{% for r in f.rules %}", "{% for r in f.rules[:-1] %}",
     "ACL rules"),
    ("linux", "yx-portal-1", "interfaces/linux.j2", "    address {{ i.address }}",
     "    address {{ i.address|ip }}/16", "address intent"),
    ("linux", "yx-vpnhub-1", "routing/linux.j2", " ip ospf area {{ i.ospf.area }}", " ip ospf area 1",
     "OSPF interfaces/areas differ"),
    ("linux", "yx-db-1", "interfaces/linux.j2", "    gateway {{ r.next_hop }}", "", "static routes"),
    ("linux", "feature", "security/linux.j2", "{% for r in f.rules %}", "{% for r in f.rules[1:] %}",
     "ACL rules"),
]


@pytest.mark.parametrize(("platform", "host", "template", "old", "new", "want"), BREAKS,
                         ids=[f"{b[0]}-{b[2]}-{b[5].split()[0]}" for b in BREAKS])
def test_broken_template_is_caught(bundled, tmp_path, platform, host, template, old, new, want):
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    path = Path(root / template)
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {template}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    d = bundled.intents[host] if host != "feature" else feature_intent(bundled.intents["yx-city-1"], platform)
    if host == "feature" and platform == "linux":
        d = d.model_copy(update={"interfaces": [i for i in d.interfaces if i.kind != "tunnel"]})
    assert check_device(d, render_device(d)) == []  # the real templates are fine ...
    diffs = check_device(d, render_device(d, root=root))  # ... the broken copy is caught
    assert any(want in x for x in diffs), diffs
