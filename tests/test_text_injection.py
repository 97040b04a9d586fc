"""Untrusted text never becomes a command (issue 10).

The property: put arbitrary text into a free-text field of a copy of the bundled topology; either validation
refuses it with a located diagnostic, or every device's rendered configuration gains or loses only lines that
hold the field's text (or the form a template turns it into). Then the issue's findings one by one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import countynet
from countynet.errors import TopologyError
from tests.conftest import ROOT, TOPOLOGY, edit

# (file, text before the value, the value as written, the value as loaded)
FIELDS = [
    ("units.yaml", "name_en: ", '"Finance Bureau"', "Finance Bureau"),
    ("units.yaml", "name_zh: ", "县财政局", "县财政局"),
    ("units.yaml", "superior: ", "\"Ji'an Finance Bureau\"", "Ji'an Finance Bureau"),
    ("county.yaml", "domain: ", "yx.egov.local", "yx.egov.local"),
    ("county.yaml", "city: ", "Ji'an", "Ji'an"),
    ("county.yaml", "banner: ", ">-\n    永新县电子政务专网 Yongxin County e-government private network.\n"
     "    Authorised use only; all access is logged and audited. 仅限授权使用，所有操作均被记录审计。",
     "永新县电子政务专网 Yongxin County e-government private network. Authorised use only; all access is "
     "logged and audited. 仅限授权使用，所有操作均被记录审计。"),
    ("catalog.yaml", "downlink: [", '"10GE1/0/{1..48}"', "10GE1/0/{1..48}"),
    ("centre.yaml", "kit: core, description: ", '"core switch B"', "core switch B"),
    ("centre.yaml", "function: ", '"county e-mail system"', "county e-mail system"),
    ("centre.yaml", "description: ", '"DMZ: portal, specialty sites, mail, DNS"',
     "DMZ: portal, specialty sites, mail, DNS"),
    ("townships/luxi.yaml", "name_zh: ", "芦溪乡", "芦溪乡"),
    ("townships/luxi.yaml", "pinyin: ", "Luxi", "Luxi"),
    ("policy.yaml", "submission: {ports: [tcp/587], description: ", '"mail from clients"', "mail from clients"),
    ("policy.yaml", "owner: ", "县信息中心", "县信息中心"),
]

PAYLOADS = [
    "Finance Bureau\nsysname hacked\nundo ssh server acl", "x\r\nreturn", "banner ^C\nshutdown", "# quit",
    "! end", "\"; reboot; \"", "澧田镇$(touch /tmp/x)", "`id`", "a?b", "x\\ny", "ok name", "Bureau of 'Works'",
    "ünïcødé 名字", "\u202etxt", "line\u2028two", "%x%", "a\x00b", "yx;egov", "a" * 300, "yx-egov.example",
]


def _anchors(text: str) -> set[str]:
    """The field's text and the forms templates may turn it into (quotes swapped, delimiters spelled out)."""
    forms = {text, text.replace('"', "'"), text.replace("%", " percent"), text.replace("'", "'\"'\"'")}
    for part in text.split("\n"):
        if part.strip():
            forms |= {part.strip(), part.strip().replace("%", " percent")}
    return {f for f in forms if f}


def _lines(result: countynet.BuildResult) -> dict[str, Counter[str]]:
    return {f"{host}/{name}": Counter(text.splitlines())
            for host, files in result.configs.items() for name, text in files.items()}


@cache
def _baseline(tmp: str) -> dict[str, Counter[str]]:
    return _lines(countynet.render_configs(countynet.build_intents(Path(tmp))))


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("inject") / "topology"
    shutil.copytree(TOPOLOGY, base)
    return base


def _set(topo: Path, field: tuple[str, str, str, str], value: str) -> None:
    file, before, written, _ = field
    edit(topo / file, before + written, before + json.dumps(value, ensure_ascii=False))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), text=st.one_of(
    st.sampled_from(PAYLOADS), st.text(min_size=1, max_size=40),
    st.text(st.sampled_from("abcXYZ019 -.'#!;:()[]{}<>%&*/=+,_名字镇\n\r^$`\"?\\"), min_size=1, max_size=30)))
def test_text_is_refused_or_changes_only_its_own_lines(baseline_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       field: tuple[str, str, str, str], text: str) -> None:
    before = _baseline(str(baseline_dir))
    topo = tmp_path_factory.mktemp("case") / "topology"
    shutil.copytree(baseline_dir, topo)
    _set(topo, field, text)
    try:
        after = _lines(countynet.render_configs(countynet.build_intents(topo)))
    except TopologyError as exc:
        report = exc.render()
        assert re.search(r"^topology/\S+:\d+:\d+: error: ", report, re.M), report
        assert "fix:" in report
        event("refused")
        return
    event("accepted")
    new, old = _anchors(text), _anchors(field[3])
    for key in before.keys() | after.keys():
        a, b = before.get(key, Counter()), after.get(key, Counter())
        for line in b - a:
            assert any(x in line for x in new), f"{key} gained {line!r} for {field[0]} {field[1]}{text!r}"
        for line in a - b:
            assert any(x in line for x in old), f"{key} lost {line!r} for {field[0]} {field[1]}{text!r}"


# ----------------------------------------------------------------------------------------- the findings
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


@pytest.mark.parametrize(("field", "value", "expected"), [
    (FIELDS[0], "Finance Bureau\nsysname hacked\nundo ssh server acl",
     r"units\.yaml:11:\d+: error: units\[0\]\.name_en: the text holds a line break"),
    (FIELDS[6], "10GE1/0/1\nsysname x", r"catalog\.yaml:14:\d+: error: hardware\.ce6881\.ports\.downlink\[0\]"),
    (FIELDS[3], "yx egov;local", r"county\.yaml:11:\d+: error: county\.domain: 'yx egov;local' is not a DNS"),
    (FIELDS[5], "Authorised use only\n^C\nusername x privilege 15",
     r"county\.yaml:\d+:\d+: error: management\.banner: the text holds '\^'"),
    (FIELDS[10], "澧田镇$(touch /tmp/x)", r"luxi\.yaml:\d+:\d+: error: name_zh: the text holds '\$'"),
])
def test_injection_findings_refused_with_location(topo_copy: Path, field: tuple[str, str, str, str], value: str,
                                                 expected: str) -> None:
    _set(topo_copy, field, value)
    proc = _cli("validate", str(topo_copy))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(expected, proc.stderr), proc.stderr
    assert "fix:" in proc.stderr and "Traceback" not in proc.stderr


def test_generated_host_name_over_63_characters_is_refused_at_the_id(topo_copy: Path) -> None:
    edit(topo_copy / "county.yaml", "prefix: yx", "prefix: yongxin-county-e-govt")
    edit(topo_copy / "units.yaml", "{id: finance,", "{id: finance-and-taxation-bureau-of-yongxin-ct,")
    with pytest.raises(TopologyError) as info:
        countynet.build_intents(topo_copy)
    report = info.value.render()
    assert re.search(r"topology/units\.yaml:11:\d+: error: units\[0\]\.id: generated host name "
                     r"'yongxin-county-e-govt-u-finance-and-taxation-bureau-of-yongxin-ct' is 65 characters long, "
                     r"over the 63 of a DNS label", report), report
    assert "shorten this id" in report
    assert report.count("error:") == 1  # the other names still fit


def test_server_pin_with_the_zone_length_is_the_host(topo_copy: Path) -> None:
    edit(topo_copy / "centre.yaml", "switch: yx-acc-dmz, services: [http, https], function: \"county portal",
         "switch: yx-acc-dmz, address: 10.30.16.50/24, services: [http, https], function: \"county portal")
    result = countynet.build_intents(topo_copy)
    assert result.lock["addresses"]["zone_host"]["yx-portal-1"] == "10.30.16.50/32"


@pytest.mark.parametrize(("pin", "expected"), [
    ("10.30.17.50/24", r"centre\.yaml:\d+:\d+: error: servers\[0\]\.address: pinned 10\.30\.17\.50 lies outside "
                       r"zone dmz 10\.30\.16\.0/24 \(centre\.yaml:5\)"),
    ("10.30.16.3", r"centre\.yaml:\d+:\d+: error: servers\[0\]\.address: pinned 10\.30\.16\.3 lies in the first 10"),
    ("banana", r"centre\.yaml:\d+:\d+: error: servers\[0\]\.address: 'banana' is not an IPv4 address"),
])
def test_bad_server_pins_exit_2_with_location(topo_copy: Path, pin: str, expected: str) -> None:
    edit(topo_copy / "centre.yaml", "switch: yx-acc-dmz, services: [http, https], function: \"county portal",
         f"switch: yx-acc-dmz, address: {pin}, services: [http, https], function: \"county portal")
    proc = _cli("validate", str(topo_copy))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(expected, proc.stderr), proc.stderr


def test_yml_township_file_is_reported(topo_copy: Path) -> None:
    (topo_copy / "townships" / "luxi.yaml").rename(topo_copy / "townships" / "luxi.yml")
    with pytest.raises(TopologyError) as info:
        countynet.build_intents(topo_copy)
    assert "townships/luxi.yml: error: township file with extension '.yml' would be ignored" in info.value.render()
    assert "rename it to luxi.yaml" in info.value.render()


def test_lan_vlan_inside_the_transit_range_is_refused(topo_copy: Path) -> None:
    edit(topo_copy / "county.yaml", "village_lan: 10", "village_lan: 3005")
    with pytest.raises(TopologyError) as info:
        countynet.build_intents(topo_copy)
    assert re.search(r"county\.yaml:\d+:\d+: error: vlans\.village_lan: VLAN 3005 lies in the transit range",
                     info.value.render())
