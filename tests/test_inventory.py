"""Generated inventories load unchanged in Nornir and Ansible, and carry no secrets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.inventory import ansible_inventory, nornir_inventory


def write(files: dict[str, str], root: Path) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_nornir_loads_the_inventory(bundled, tmp_path: Path) -> None:
    from nornir import InitNornir
    from nornir.core.filter import F

    write(nornir_inventory(bundled.intents), tmp_path)
    inv = tmp_path / "inventory/nornir"
    nr = InitNornir(runner={"plugin": "threaded", "options": {"num_workers": 4}},
                    inventory={"plugin": "SimpleInventory",
                               "options": {"host_file": str(inv / "hosts.yaml"),
                                           "group_file": str(inv / "groups.yaml"),
                                           "defaults_file": str(inv / "defaults.yaml")}},
                    logging={"enabled": False})
    assert len(nr.inventory.hosts) == len(bundled.intents)
    core = nr.inventory.hosts["yx-core-1"]
    assert core.platform == "huawei_vrpv8"
    assert core.hostname == bundled.intents["yx-core-1"].management.address
    assert core.get_connection_parameters("netmiko").extras["ssh_strict"] is True
    litian = nr.filter(F(groups__contains="township_litian"))
    assert len(litian.inventory.hosts) == 2 + 16
    assert nr.inventory.hosts["yx-u-tax"].platform == "cisco_xe"
    assert nr.inventory.hosts["yx-u-tax"].username is None  # credentials come at run time


def test_ansible_inventory_lists_groups(bundled, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "ansible-inventory"
    if not exe.exists() and not shutil.which("ansible-inventory"):
        pytest.skip("ansible-inventory not installed (pip install ansible-core)")
    write(ansible_inventory(bundled.intents), tmp_path)
    proc = subprocess.run([str(exe if exe.exists() else "ansible-inventory"), "-i",
                           str(tmp_path / "inventory/ansible/hosts.yml"), "--list"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hosts = data["_meta"]["hostvars"]
    assert len(hosts) == len(bundled.intents)
    assert set(data["township_yange"]["hosts"]) == {h for h, d in bundled.intents.items() if d.township == "yange"}
    assert "yx-core-1" in data["wave_0"]["hosts"] and "yx-core-1" in data["platform_huawei_vrp"]["hosts"]
    assert hosts["yx-city-1"]["ansible_host"] == bundled.intents["yx-city-1"].management.address


def test_inventories_hold_no_secret_values(bundled) -> None:
    text = "".join(nornir_inventory(bundled.intents).values()) + "".join(ansible_inventory(bundled.intents).values())
    assert "password:" not in text.replace("password: null", "")
    for u in bundled.topology.county.management.users:
        assert u.secret not in text
