"""The push engine against real SSH devices: sshd in network namespaces (Linux platform, nftables).

Root only (skips with a printed reason otherwise). Each test asserts the device's final files and live
nftables ruleset, and the report's per-device outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from countynet.deploy.engine import deploy, rollback
from countynet.deploy.model import Outcome
from tests.deploy_helpers import Workspace, make_intent
from tests.linux_fixture import LinuxDevice, NetnsLab, need_root, sh

pytestmark = pytest.mark.root  # network namespaces, sshd, FRR

NFT = "etc/nftables.conf"
MOTD = "etc/countynet/motd"


def ruleset(tag: str, body: str = "tcp dport 22 accept", output: str = "") -> str:
    out = (f"\n chain output {{\n  type filter hook output priority 0; policy accept;\n  {output}\n }}"
           if output else "")
    return (f"flush ruleset\ntable inet countynet {{\n comment \"{tag}\"\n chain input {{\n"
            f"  type filter hook input priority 0; policy accept;\n  {body}\n }}{out}\n}}\n")


OLD = {NFT: ruleset("v1"), MOTD: "old motd\n"}


class Env:
    def __init__(self, tmp: Path, lab: NetnsLab):
        self.lab, self.ws = lab, Workspace(tmp / "ws")
        self.ws.root.mkdir()
        self.devs: dict[str, LinuxDevice] = {}

    def add(self, name: str, intended: dict[str, str], wave: int = 1, port: int = 22) -> LinuxDevice:
        dev = self.lab.add(name)
        for rel, text in OLD.items():
            (dev.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (dev.root / rel).write_text(text)
        sh("ip", "netns", "exec", dev.ns, "nft", "-f", str(dev.root / NFT))
        intent = make_intent(name, "linux", dev.address, wave=wave, iface="eth0", address=f"{dev.address}/30",
                             gateway=dev.gateway)
        self.ws.add(intent, "linux", dev.address, port, intended,
                    data={"config_root": str(dev.root), "state_dir": str(dev.state)})
        self.devs[name] = dev
        self.ws.root.joinpath("known_hosts").write_text(self.lab.known_hosts.read_text())
        return dev

    def opts(self, **kw: object):  # type: ignore[no-untyped-def]
        kw.setdefault("rollback_timer", 5)
        kw.setdefault("command_timeout", 4.0)
        return self.ws.options(**kw)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    need_root()
    lab = NetnsLab(tmp_path)
    monkeypatch.setenv("COUNTYNET_USERNAME", "root")
    monkeypatch.setenv("COUNTYNET_SSH_KEY", str(lab.client_key))
    monkeypatch.delenv("COUNTYNET_PASSWORD", raising=False)
    try:
        yield Env(tmp_path, lab)
    finally:
        lab.close()


def new_files(tag: str = "v2", **kw: str) -> dict[str, str]:
    return {NFT: ruleset(tag, **kw), MOTD: f"motd {tag}\n"}


def test_dry_run_commit_confirm_idempotent(env: Env) -> None:
    dev = env.add("srv1", new_files())
    r = deploy(env.opts()).results["srv1"]
    assert r.outcome == Outcome.WOULD_CHANGE, r.detail
    assert '+ comment "v2"' in r.diff and "-old motd" in r.diff
    assert dev.file(MOTD) == "old motd\n" and '"v1"' in dev.nft()

    r = deploy(env.opts(commit=True)).results["srv1"]
    assert r.outcome == Outcome.COMMITTED, r.detail
    assert r.checks == {"management": True, "uplink": True}
    assert dev.file(MOTD) == "motd v2\n" and '"v2"' in dev.nft()
    time.sleep(6)   # past the rollback timer: the confirmed change must stay
    assert dev.file(MOTD) == "motd v2\n" and '"v2"' in dev.nft()
    assert not (dev.state / "watchdog.pid").exists() and not (dev.state / "rolledback").exists()

    again = deploy(env.opts(commit=True)).results["srv1"]
    assert again.outcome == Outcome.UNCHANGED, again.diff
    assert Path(r.backup).read_text().count("old motd") == 1


def test_rejected_line_restores_files(env: Env) -> None:
    dev = env.add("srv1", new_files(body="tcp dport 22 acccept"))
    r = deploy(env.opts(commit=True)).results["srv1"]
    assert r.outcome == Outcome.REJECTED, r.detail
    assert "etc/nftables.conf" in r.detail and "verified" in r.detail
    assert dev.file(NFT) == OLD[NFT] and dev.file(MOTD) == OLD[MOTD]
    assert '"v1"' in dev.nft()


def test_session_dropped_after_apply_watchdog_restores(env: Env) -> None:
    # the new ruleset cuts SSH (even the open session): only the on-device watchdog can bring it back
    dev = env.add("srv1", new_files(body="tcp dport 22 drop", output="tcp sport 22 drop"))
    r = deploy(env.opts(commit=True)).results["srv1"]
    assert r.outcome == Outcome.ROLLED_BACK, r.detail
    assert "session lost" in r.detail and "verified" in r.detail
    assert dev.file(NFT) == OLD[NFT] and dev.file(MOTD) == OLD[MOTD]
    assert '"v1"' in dev.nft() and (dev.state / "rolledback").exists()


def test_failing_post_check_rolls_back(env: Env) -> None:
    dev = env.add("srv1", new_files(output="icmp type echo-request drop"))
    r = deploy(env.opts(commit=True)).results["srv1"]
    assert r.outcome == Outcome.ROLLED_BACK, r.detail
    assert r.checks == {"management": True, "uplink": False}
    assert dev.file(NFT) == OLD[NFT] and '"v1"' in dev.nft() and "echo-request" not in dev.nft()


def test_unreachable_and_wrong_credentials(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    a = env.add("srv1", new_files(), port=2222)      # nothing listens there
    b = env.add("srv2", new_files())
    monkeypatch.setenv("COUNTYNET_SSH_KEY", str(env.lab.bad_key))
    rep = deploy(env.opts(commit=True, max_fail="100%"))
    assert rep.results["srv1"].outcome == Outcome.UNREACHABLE
    assert rep.results["srv2"].outcome == Outcome.AUTH_FAILED
    for dev in (a, b):
        assert dev.file(NFT) == OLD[NFT] and '"v1"' in dev.nft()


def test_failure_budget_halts_wave_and_resume(env: Env) -> None:
    a = env.add("srv1", new_files(), wave=1)
    b = env.add("srv2", new_files(body="tcp dport 22 acccept"), wave=1)
    c = env.add("srv3", new_files(), wave=2)
    rep = deploy(env.opts(commit=True, max_fail="0"))
    assert rep.halted
    assert [rep.results[h].outcome for h in ("srv1", "srv2", "srv3")] == [
        Outcome.COMMITTED, Outcome.REJECTED, Outcome.SKIPPED]
    assert '"v2"' in a.nft() and '"v1"' in b.nft() and '"v1"' in c.nft()
    assert c.file(MOTD) == OLD[MOTD]
    env.ws.set_config("srv2", new_files())
    rep2 = deploy(env.opts(resume=True))
    assert rep2.results["srv2"].outcome == Outcome.COMMITTED
    assert rep2.results["srv3"].outcome == Outcome.COMMITTED
    assert '"v2"' in b.nft() and '"v2"' in c.nft()
    assert json.loads((env.ws.root / "state.json").read_text())["status"] == "complete"


def test_rollback_command_restores_backup(env: Env) -> None:
    dev = env.add("srv1", new_files())
    assert deploy(env.opts(commit=True)).results["srv1"].outcome == Outcome.COMMITTED
    res = rollback(env.opts(), "srv1")
    assert res.outcome == Outcome.COMMITTED, res.detail
    assert dev.file(NFT) == OLD[NFT] and dev.file(MOTD) == OLD[MOTD] and '"v1"' in dev.nft()


LINUX_SECRET = "Stdin-Only-Secret-42zz"


def test_secret_files_travel_on_stdin_are_0600_and_removed_on_abort(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    import base64
    import logging

    from countynet.deploy.drivers.base import Target, connect
    from countynet.deploy.drivers.linux import LinuxDriver

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("COUNTYNET_SECRET_SRV_KEY", LINUX_SECRET)
    files = new_files(body="tcp dport 22 acccept")          # nft refuses it: the push is aborted
    files[MOTD] = "motd key=${secret:srv-key}\n"
    dev = env.add("srv1", files)
    r = deploy(env.opts(commit=True)).results["srv1"]
    assert r.outcome == Outcome.REJECTED, r.detail
    assert dev.file(MOTD) == OLD[MOTD]
    assert not (dev.state / "new").exists() and not (dev.state / "prev").exists()   # removed on abort
    # nothing Netmiko sent or read (the interactive shell: command lines and their echo) held the value,
    # in clear or in base64
    motd = f"motd key={LINUX_SECRET}\n".encode()
    assert LINUX_SECRET not in caplog.text and base64.b64encode(motd).decode() not in caplog.text

    # the staging itself: the driver's upload writes 0600 files through standard input
    t = Target(host="srv1", address=dev.address, port=22, device_type="linux", username="root",
               key_file=str(env.lab.client_key), known_hosts=env.lab.known_hosts)
    drv = LinuxDriver(t, connect(t))
    try:
        dest = dev.state / "new" / "probe" / "secret.conf"
        drv.upload_many({str(dest): f"k={LINUX_SECRET}\n", str(dev.state / "new" / "b"): "b\n"})
    finally:
        drv.close()
    assert dest.read_text() == f"k={LINUX_SECRET}\n"
    assert dest.stat().st_mode & 0o777 == 0o600 and (dev.state / "new" / "b").stat().st_mode & 0o777 == 0o600
    assert LINUX_SECRET not in caplog.text
