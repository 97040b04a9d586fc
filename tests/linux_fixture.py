"""A real SSH device for tests: sshd in a network namespace we create (veth to the host, 198.19.x.x).

Root only. Each device gets its own namespace, host key, config root and state dir; the client key and a
private known_hosts are throwaway. Teardown kills, by PID, only the processes inside our namespaces
(`ip netns pids`), then deletes the namespaces (which removes the veths).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def need_root() -> None:
    missing = [t for t in ("ip", "nft", "ssh-keygen") if shutil.which(t) is None]
    if os.geteuid() != 0:
        print("SKIP: Linux deploy tests need root (network namespaces + sshd)")
        pytest.skip("needs root for network namespaces and sshd")
    if missing or not Path("/usr/sbin/sshd").exists():
        print(f"SKIP: missing {missing or ['sshd']} (apt-get install -y openssh-server nftables iproute2)")
        pytest.skip(f"missing tools: {missing or ['sshd']} (apt-get install -y openssh-server nftables iproute2)")


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


@dataclass
class LinuxDevice:
    name: str
    ns: str
    address: str
    gateway: str
    root: Path
    state: Path

    def file(self, rel: str) -> str | None:
        p = self.root / rel
        return p.read_text() if p.exists() else None

    def nft(self) -> str:
        return sh("ip", "netns", "exec", self.ns, "nft", "list", "ruleset").stdout


class NetnsLab:
    count = 0

    def __init__(self, tmp: Path):
        self.tmp = tmp
        NetnsLab.count += 1
        self.tag = f"{os.getpid() % 1000:03d}{NetnsLab.count % 100:02d}"   # unique per lab, names <= 15 chars
        self.subnet = 20 + (os.getpid() + NetnsLab.count) % 200
        self.devices: list[LinuxDevice] = []
        self.nss: list[str] = []
        self.client_key = tmp / "client_key"
        self.bad_key = tmp / "bad_key"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key))
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.bad_key))
        (tmp / "authorized_keys").write_text((tmp / "client_key.pub").read_text())
        os.chmod(tmp / "authorized_keys", 0o600)
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text("")
        Path("/run/sshd").mkdir(exist_ok=True)

    def add(self, name: str) -> LinuxDevice:
        i = len(self.devices)
        ns = f"cnt{self.tag}d{i}"
        host_if = f"cn{self.tag}h{i}"
        gw, addr = f"198.19.{self.subnet}.{4 * i + 1}", f"198.19.{self.subnet}.{4 * i + 2}"
        sh("ip", "netns", "add", ns)
        self.nss.append(ns)
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "addr", "add", f"{gw}/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{addr}/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"]):
            sh("ip", "netns", "exec", ns, *cmd)
        d = self.tmp / name
        (d / "root").mkdir(parents=True)
        (d / "state").mkdir()
        hk = d / "host_key"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hk))
        cfg = d / "sshd_config"
        cfg.write_text(f"ListenAddress {addr}\nPort 22\nHostKey {hk}\nPidFile {d}/sshd.pid\n"
                       f"AuthorizedKeysFile {self.tmp}/authorized_keys\nPermitRootLogin prohibit-password\n"
                       "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                       "MaxStartups 50\nMaxSessions 50\n")
        sh("ip", "netns", "exec", ns, "/usr/sbin/sshd", "-f", str(cfg), "-E", str(d / "sshd.log"))
        with self.known_hosts.open("a") as f:
            f.write(f"{addr} {(d / 'host_key.pub').read_text().split(' ')[0]} "
                    f"{(d / 'host_key.pub').read_text().split(' ')[1]}\n")
        dev = LinuxDevice(name, ns, addr, gw, d / "root", d / "state")
        self.devices.append(dev)
        for _ in range(50):   # sshd up?
            if (d / "sshd.pid").exists():
                break
            time.sleep(0.05)
        return dev

    def close(self) -> None:
        for ns in self.nss:
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", ns, check=False)
