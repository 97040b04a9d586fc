"""The platform registry: every flavour resolves, and every name it gives (template family, parser, driver,
Netmiko / hier_config names, command forms) exists where the stages look for it."""

from __future__ import annotations

import importlib
import re
import typing
from pathlib import Path

import pytest

from countynet import platforms
from countynet.platforms.registry import _lineage, _merge
from countynet.render.engine import TEMPLATES, render_device, render_flavour, required_features
from tests.conftest import ROOT

FLAVOURS = sorted(platforms.flavours())
# every feature the intent can ask for (render.engine.required_features)
FEATURES = {"base", "interfaces", "svi", "lag", "switching", "tunnel", "vrrp", "ospf", "bgp", "static", "vpn-hub",
            "vpn-spoke", "dhcp", "nat", "acl", "server"}


def test_the_flavours_of_the_issue_exist() -> None:
    assert {"huawei_vrp5", "huawei_vrp8", "huawei_vrp8_ce", "huawei_vrp8_ne", "h3c_comware7", "cisco_iosxe",
            "linux_debian"} <= set(FLAVOURS)
    assert platforms.abstract_flavours()["huawei_vrp"] == ("huawei_vrp5", "huawei_vrp8", "huawei_vrp8_ce",
                                                           "huawei_vrp8_ne")
    assert platforms.families() == {"huawei_vrp", "h3c_comware", "cisco_ios", "linux"}


@pytest.mark.parametrize("name", FLAVOURS)
def test_every_flavour_resolves_and_names_what_exists(name: str) -> None:
    from hier_config import Platform
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    from countynet.deploy.diff import hier_platform
    from countynet.deploy.drivers import DRIVERS, driver_for
    from countynet.topology.models import User

    fl = platforms.flavour(name)
    assert fl.name == name and fl.os and fl.description
    # templates: every part of every file exists for the family
    for parts in fl.capabilities.files.values():
        for part in parts:
            rel = part if "/" in part else f"{part}/{fl.family}.j2"
            assert (TEMPLATES / rel).is_file(), f"{name}: template {rel} missing"
    assert fl.capabilities.features <= FEATURES
    # round-trip parser, push driver, tool names
    assert callable(importlib.import_module(f"countynet.render.roundtrip.{fl.roundtrip}").parse)
    assert fl.deploy.driver in DRIVERS
    assert driver_for(name) is DRIVERS[fl.deploy.driver]
    assert fl.tools.netmiko in CLASS_MAPPER
    if fl.tools.hier_config is None:
        with pytest.raises(ValueError, match="files, not a CLI"):
            hier_platform(name)
    else:
        assert hier_platform(name) == (Platform[fl.tools.hier_config], fl.deploy.exit)
    assert fl.tools.ansible.network_os and fl.tools.ansible.connection
    # every user role has a privilege level
    roles = typing.get_args(User.model_fields["role"].annotation)
    assert set(roles) <= set(fl.privilege), f"{name}: privilege misses {set(roles) - set(fl.privilege)}"
    # interface naming
    assert "{n}" in fl.interfaces.lag and "{n}" in fl.interfaces.tunnel and fl.interfaces.loopback


def _commands_used(family: str) -> set[str]:
    used: set[str] = set()
    for path in TEMPLATES.rglob(f"{family}.j2"):
        used |= set(re.findall(r"\bcmd\.(\w+)", path.read_text(encoding="utf-8")))
    return used


@pytest.mark.parametrize("name", FLAVOURS)
def test_every_command_a_template_reads_is_defined(name: str) -> None:
    fl = platforms.flavour(name)
    missing = _commands_used(fl.family) - set(fl.commands)
    assert not missing, f"{name} lacks the command forms {sorted(missing)} that the {fl.family} templates read"


def test_unknown_and_abstract_names_are_clear_errors() -> None:
    with pytest.raises(platforms.UnknownFlavour, match=r"unknown platform flavour 'huawei_vrp9'; did you mean "
                                                       r"'huawei_vrp8'\? known: cisco_ios15, "):
        platforms.flavour("huawei_vrp9")
    with pytest.raises(platforms.UnknownFlavour, match=r"abstract flavour .* choose one of: huawei_vrp5, "):
        platforms.flavour("huawei_vrp")
    with pytest.raises(ValueError, match="no push driver for device type 'junos'"):
        from countynet.deploy.drivers import driver_for

        driver_for("junos")


def test_inheritance_deep_merges_mappings() -> None:
    ce = platforms.flavour("huawei_vrp8_ce")
    assert ce.ancestors == ("huawei_vrp8", "huawei_vrp")
    assert ce.tools.napalm == "ce"                       # its own
    assert ce.tools.netmiko == "huawei_vrpv8"            # from huawei_vrp8
    assert ce.tools.hier_config == "HUAWEI_VRP"          # from huawei_vrp
    assert ce.commands["lacp_mode"] == "mode lacp-static"                   # VRP8's form
    assert ce.commands["user_level"] == "local-user {user} privilege level {level}"  # its own (CE V300R)
    assert platforms.flavour("huawei_vrp8_ne").commands["telnet_off"] == "undo telnet server enable"  # the family's
    assert platforms.flavour("huawei_vrp8_ne").commands["user_level"] == "local-user {user} level {level}"  # VRP8's
    assert platforms.flavour("huawei_vrp5").commands["user_level"] == "local-user {user} privilege level {level}"
    assert _merge({"a": {"x": 1, "y": [1]}, "b": 1}, {"a": {"y": [2]}, "c": 3}) == {"a": {"x": 1, "y": [2]}, "b": 1,
                                                                                    "c": 3}


def test_inheritance_loops_and_unknown_parents_are_refused() -> None:
    with pytest.raises(platforms.RegistryError, match="inheritance loop a -> b -> a"):
        _lineage("a", {"a": {"parent": "b"}, "b": {"parent": "a"}})
    with pytest.raises(platforms.RegistryError, match="unknown parent 'x'"):
        _lineage("a", {"a": {"parent": "x"}})


def test_lookup_by_netmiko_type_and_by_platform() -> None:
    assert platforms.lookup("huawei_vrpv8").name == "huawei_vrp8"  # shared by CE and NE: the general one
    assert platforms.lookup("cisco_ios").name == "cisco_ios15"
    assert platforms.lookup("huawei_vrp8_ne").name == "huawei_vrp8_ne"
    assert platforms.for_platform("huawei_vrp", "vrp8").name == "huawei_vrp8"
    assert platforms.family_flavour("linux").name == "linux_debian"


def test_catalog_names_a_flavour_per_model(bundled) -> None:
    hw = bundled.topology.catalog.hardware
    assert hw["ce6881"].spec.name == "huawei_vrp8_ce" and hw["ne40e-m2k"].spec.name == "huawei_vrp8_ne"
    for host, d in bundled.intents.items():
        fl = platforms.flavour(d.flavour)
        assert (d.platform, d.os) == (fl.family, fl.os), host
        assert d.flavour == hw[d.model].flavour


def test_intent_without_flavour_gets_the_general_one(bundled) -> None:
    from countynet.intent.models import DeviceIntent

    data = bundled.intents["yx-core-1"].model_dump()
    del data["flavour"]
    assert DeviceIntent.model_validate(data).flavour == "huawei_vrp8"
    data["platform"] = "junos"
    with pytest.raises(ValueError, match="unknown platform and os 'junos/vrp8'; known: cisco_ios/ios, "):
        DeviceIntent.model_validate(data)
    data["flavour"] = "huawei_vrp8"
    with pytest.raises(ValueError, match="unknown platform family 'junos'; known: cisco_ios, h3c_comware, "):
        DeviceIntent.model_validate(data)


def test_templates_read_the_flavours_command_forms(bundled) -> None:
    """VRP5, CE and NE differ in user levels, LACP and traffic filters: the lines come from each flavour."""
    core, aonan, wan = bundled.intents["yx-core-1"], bundled.intents["yx-aonan-sw1"], bundled.intents["yx-wan-1"]
    vrp8, vrp5 = render_device(core)["yx-core-1.cfg"], render_device(aonan)["yx-aonan-sw1.cfg"]
    ne = render_device(wan)["yx-wan-1.cfg"]
    user = core.management.users[0]
    assert f" local-user {user.name} privilege level {user.privilege}\n" in vrp8
    assert f" local-user {wan.management.users[0].name} level {wan.management.users[0].privilege}\n" in ne
    v5user = aonan.management.users[0]
    assert f" local-user {v5user.name} privilege level {v5user.privilege}\n" in vrp5
    assert " mode lacp-static\n" in vrp8 and " portswitch\n" in vrp8
    assert re.search(r"^ traffic-policy \S+ inbound$", vrp8, re.M) and "traffic-filter" not in vrp8
    assert re.search(r"^ traffic-filter inbound acl \d+$", vrp5, re.M)
    assert " portswitch\n" not in vrp5


def test_a_rendering_in_another_family_uses_that_familys_flavour(bundled) -> None:
    """The lab renders every device as Linux and Batfish as Cisco by changing `platform` only."""
    d = bundled.intents["yx-core-1"].model_copy(update={"platform": "linux"})
    assert render_flavour(d).name == "linux_debian"
    assert "etc/network/interfaces" in render_device(d)


def test_a_feature_the_flavour_lacks_is_a_located_error(bundled) -> None:
    from countynet.render.engine import check_capabilities

    hub = bundled.intents["yx-vpnhub-1"]
    assert "vpn-hub" in required_features(hub)
    as_vrp = hub.model_copy(update={"platform": "huawei_vrp", "flavour": "huawei_vrp5"})
    (diag,) = check_capabilities({"yx-vpnhub-1": as_vrp})
    assert diag.file == "countynet/platforms/huawei_vrp5.yaml"
    assert diag.message == "device yx-vpnhub-1 needs feature 'vpn-hub', which platform flavour 'huawei_vrp5' does " \
                           "not render"


# Stages whose code must not hard-code a platform fact (other stages are checked by their owners' tests).
NO_PLATFORM_LITERALS = ["countynet/topology", "countynet/ipam", "countynet/intent", "countynet/render",
                        "countynet/outputs/inventories.py", "countynet/deploy/diff.py",
                        "countynet/deploy/drivers/__init__.py"]
LITERAL = re.compile(r"""["'](huawei_vrp\w*|h3c_comware\w*|cisco_ios\w*|cisco_xe|linux(?:_debian)?|vrp[58]|comware7|"""
                     r"""iosxe|debian12|huawei|hp_comware)["']""")


def test_no_platform_fact_is_hard_coded_outside_the_registry() -> None:
    found = []
    for root in NO_PLATFORM_LITERALS:
        path = ROOT / root
        for py in [path] if path.is_file() else sorted(Path(path).rglob("*.py")):
            for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
                if LITERAL.search(line) and not line.lstrip().startswith("#"):
                    found.append(f"{py.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "platform facts belong in countynet/platforms:\n" + "\n".join(found)
