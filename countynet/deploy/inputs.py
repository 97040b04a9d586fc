"""What a rollout reads before it touches a device: the build (through its manifest), the connection facts
of every device, the credentials; and the context each device's run uses.

Light on purpose (no Netmiko, no hier_config): `countynet deploy` answers input errors - no build, a bad
limit, no credentials - from here in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets as pysecrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from countynet.deploy.model import DeviceResult, Options
from countynet.deploy.secrets import SecretStore
from countynet.deploy.state import StateFile
from countynet.outputs.build_reader import LOADER, BuildError, BuildReader

if TYPE_CHECKING:
    from countynet.intent.models import DeviceIntent


class UsageError(Exception):
    """Bad input from the user (missing build, bad limit, nothing to resume): message, no traceback."""


def new_change_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("chg-%Y%m%dT%H%M%SZ-") + pysecrets.token_hex(2)


def open_build(opts: Options) -> BuildReader:
    """The build directory of `opts`, opened through its manifest (UsageError naming the problem)."""
    try:
        return BuildReader(opts.build_dir, allow_modified=opts.allow_modified, topology=opts.topology)
    except BuildError as exc:
        raise UsageError(exc.render()) from None


def _yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


def load_inventory(build: BuildReader, inv_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every device of the build with its connection facts: host -> {hostname, port, device_type, data}.

    From the manifest's host table (management address, Netmiko device type, selection facts). An
    operator's Nornir inventory directory (`inv_dir`: hosts.yaml, defaults.yaml) may override address,
    port, device type and add data (for example a jump address) for the hosts it names."""
    out: dict[str, dict[str, Any]] = {}
    for name, h in build.hosts.items():
        data = {k: v for k, v in h.items() if k not in ("files", "management", "device_type")}
        out[name] = {"hostname": h.get("management"), "port": 22, "device_type": h.get("device_type"),
                     "data": data}
    if inv_dir is None:
        return out
    hosts_file = inv_dir / "hosts.yaml"
    if not hosts_file.exists():
        raise UsageError(f"no Nornir inventory at {hosts_file}: pass --inventory DIR holding hosts.yaml, or "
                         "leave --inventory out to use the build's own host table")
    hosts = _yaml(hosts_file) or {}
    defaults_file = inv_dir / "defaults.yaml"
    defaults = (_yaml(defaults_file) if defaults_file.exists() else {}) or {}
    for name, h in hosts.items():
        if name not in out:
            continue  # not a device of this build
        cur = out[name]
        cur["data"] = {**cur["data"], **(defaults.get("data") or {}), **(h.get("data") or {})}
        cur["hostname"] = h.get("hostname") or cur["hostname"]
        cur["port"] = h.get("port") or defaults.get("port") or cur["port"]
        cur["device_type"] = h.get("platform") or cur["device_type"]
    return out


def facts(inv: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {h: {**v["data"], "device_type": v["device_type"]} for h, v in inv.items()}


class LazyIntents(Mapping[str, "DeviceIntent"]):
    """The build's intents as a mapping that reads (and checks) one device's file on first access."""

    def __init__(self, build: BuildReader):
        self.build = build

    def __getitem__(self, host: str) -> DeviceIntent:
        if f"intent/{host}.yaml" not in self.build.expected:
            raise KeyError(host)
        return self.build.intent(host)

    def __iter__(self) -> Iterator[str]:
        return iter(self.build.hosts)

    def __len__(self) -> int:
        return len(self.build.hosts)


def credentials() -> tuple[str | None, str | None, str | None]:
    user = os.environ.get("COUNTYNET_USERNAME")
    password = os.environ.get("COUNTYNET_PASSWORD")
    key = os.environ.get("COUNTYNET_SSH_KEY")
    if not user:
        raise UsageError("set COUNTYNET_USERNAME (and COUNTYNET_PASSWORD or COUNTYNET_SSH_KEY)")
    if not password and not key:
        raise UsageError("set COUNTYNET_PASSWORD or COUNTYNET_SSH_KEY for the device login")
    return user, password, key


@dataclass
class Context:
    opts: Options
    inv: dict[str, dict[str, Any]]
    intents: Mapping[str, DeviceIntent]  # LazyIntents: one device's file read on first use
    store: SecretStore
    change_id: str
    username: str | None
    password: str | None
    key_file: str | None
    state: StateFile | None = None
    check_retries: int = 3
    check_interval: float = 2.0
    on_result: Callable[[DeviceResult], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    build: BuildReader | None = None
