"""Test helpers for the deploy engine: a workspace (build/ with its manifest + Nornir inventory + known_hosts)
on disk. The build is written the way `countynet build` writes one (intent YAML, configs, and a manifest
made by `countynet.outputs.manifest`), so the engine reads it through the same checks as a real build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from countynet.deploy.model import Options
from countynet.intent.models import DeviceIntent
from countynet.outputs.manifest import MANIFEST, make_manifest, manifest_text
from countynet.outputs.pipeline import intent_yaml

PLATFORM = {"huawei": ("huawei_vrp", "vrp5"), "huawei_vrpv8": ("huawei_vrp", "vrp8"),
            "hp_comware": ("h3c_comware", "comware7"), "cisco_ios": ("cisco_ios", "ios"),
            "linux": ("linux", "debian12")}


def make_intent(host: str, device_type: str, mgmt: str, *, wave: int = 1, township: str | None = None,
                iface: str = "GigabitEthernet0/0/1", address: str = "10.0.0.1/30", gateway: str | None = "10.0.0.2",
                ospf_peer: bool = False, bgp: list[str] | None = None) -> DeviceIntent:
    platform, os_name = PLATFORM[device_type]
    interfaces: list[dict[str, Any]] = [{"name": iface, "kind": "routed", "address": address}]
    routing: dict[str, Any] = {}
    if gateway:
        routing["static"] = [{"prefix": "0.0.0.0/0", "next_hop": gateway}]
    if ospf_peer:
        interfaces[0]["peer"] = {"host": "upstream", "interface": "Gi0/0/0"}
        interfaces[0]["ospf"] = {"area": "0.0.0.0"}
        routing["ospf"] = {"process": 1, "router_id": "10.0.0.1", "areas": [{"id": "0.0.0.0"}]}
    if bgp:
        routing["bgp"] = {"asn": 65001, "router_id": "10.0.0.1",
                          "neighbors": [{"address": a, "remote_as": 65000, "description": "up"} for a in bgp]}
    return DeviceIntent.model_validate({
        "hostname": host, "fqdn": f"{host}.test", "role": "township_router", "platform": platform, "os": os_name,
        "vendor": "test", "model": "test", "site": f"township:{township or 'x'}", "township": township,
        "wave": wave, "interfaces": interfaces, "routing": routing,
        "management": {"address": mgmt, "source_interface": iface, "allowed_sources": ["0.0.0.0/0"],
                       "users": [], "ntp_servers": [], "syslog_servers": [], "snmp_managers": [],
                       "snmp_users": [], "banner": "test", "timezone": "+08:00", "login_attempts": 5,
                       "lockout_minutes": 5, "idle_timeout_minutes": 5, "domain": "test"},
    })


@dataclass
class Workspace:
    root: Path
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_hosts_lines: list[str] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the manifest's host table
    files: dict[str, str] = field(default_factory=dict)  # every build file: relative path -> text

    @property
    def build(self) -> Path:
        return self.root / "build"

    def add(self, intent: DeviceIntent, device_type: str, address: str, port: int,
            config: str | dict[str, str], data: dict[str, Any] | None = None) -> None:
        host = intent.hostname
        self.files[f"intent/{host}.yaml"] = intent_yaml(intent)
        self.facts[host] = {"role": intent.role, "platform": intent.platform, "os": intent.os,
                            "model": intent.model, "township": intent.township, "unit": intent.unit,
                            "site": intent.site, "wave": intent.wave, "management": intent.management.address,
                            "device_type": device_type}
        self.hosts[host] = {"hostname": address, "port": port, "platform": device_type, "data": dict(data or {})}
        self.set_config(host, config)
        self.write_inventory()

    def set_config(self, host: str, config: str | dict[str, str]) -> None:
        """Replace a device's rendered files, as a new build would (the manifest is rewritten)."""
        d = self.build / "configs" / host
        if d.exists():
            for p in sorted(d.rglob("*"), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
        files = {f"{host}.cfg": config} if isinstance(config, str) else config
        self.files = {k: v for k, v in self.files.items() if not k.startswith(f"configs/{host}/")}
        self.files.update({f"configs/{host}/{rel}": text for rel, text in files.items()})
        self.write_build()

    def write_build(self) -> None:
        for rel, text in self.files.items():
            (self.build / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.build / rel).write_text(text, encoding="utf-8")
        manifest = make_manifest("test", self.files, self.facts, {})
        (self.build / MANIFEST).write_text(manifest_text(manifest), encoding="utf-8")

    def write_inventory(self) -> None:
        inv = self.root / "inventory"
        inv.mkdir(parents=True, exist_ok=True)
        (inv / "hosts.yaml").write_text(yaml.safe_dump(self.hosts), encoding="utf-8")
        (inv / "defaults.yaml").write_text(yaml.safe_dump({"port": 22, "data": {}}), encoding="utf-8")
        (self.root / "known_hosts").write_text("".join(self.known_hosts_lines), encoding="utf-8")

    def options(self, **kw: Any) -> Options:
        base: dict[str, Any] = dict(
            build_dir=self.root / "build", inventory_dir=self.root / "inventory", backup_dir=self.root / "backups",
            state_file=self.root / "state.json", audit_log=self.root / "audit.jsonl",
            known_hosts=self.root / "known_hosts", canary=0, workers=4, rollback_timer=60, conn_timeout=3.0,
            command_timeout=10.0, check_retries=1, check_interval=0.5)
        base.update(kw)
        return Options(**base)
