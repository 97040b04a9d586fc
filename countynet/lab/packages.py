"""The Debian packages the lab needs. The list lives in ONE place, `scripts/lab-packages.txt` (CI installs
from it); this module reads it and checks for a marker file of each package it knows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

LIST = Path(__file__).resolve().parents[2] / "scripts" / "lab-packages.txt"

# package -> a file that proves it is installed (packages without a marker are checked with dpkg)
MARKERS: dict[str, str] = {
    "frr": "/usr/lib/frr/zebra",
    "nftables": "/usr/sbin/nft",
    "strongswan": "/usr/lib/ipsec/charon",
    "strongswan-swanctl": "/usr/sbin/swanctl",
    "libcharon-extra-plugins": "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so",
    "openssh-server": "/usr/sbin/sshd",
    "openssh-client": "/usr/bin/ssh-keygen",
    "iproute2": "/usr/sbin/ip",
    "iputils-ping": "/usr/bin/ping",
}
# what the lab itself needs (the list file may hold more, e.g. for the deploy tests)
NEEDED = tuple(MARKERS)


def listed() -> list[str]:
    if not LIST.exists():
        return list(NEEDED)
    return [ln.strip() for ln in LIST.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def missing() -> list[str]:
    """Packages the lab needs whose marker file is absent."""
    return [p for p in NEEDED if not os.path.exists(MARKERS[p])]


def install() -> int:
    """apt-get install the listed packages that are missing (root only); no service is started."""
    need = [p for p in listed() if (p in MARKERS and not os.path.exists(MARKERS[p])) or
            (p not in MARKERS and subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0)]
    if not need:
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"missing packages {' '.join(need)}: install them as root with apt-get", file=sys.stderr)
        return 2
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    return subprocess.run(["apt-get", "install", "-y", "-q", *need], check=False, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(install())
