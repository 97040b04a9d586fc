"""The Debian packages the lab needs, in one place (CI installs them with `python -m countynet.lab.packages`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# package -> a file that proves it is installed
PACKAGES: dict[str, str] = {
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


def missing() -> list[str]:
    """Packages whose marker file is absent."""
    return [p for p, f in PACKAGES.items() if not os.path.exists(f)]


def install() -> int:
    """apt-get install the missing packages (root only); services are not started (no systemd here)."""
    need = missing()
    if not need:
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"missing packages {' '.join(need)}: install them as root with apt-get", file=sys.stderr)
        return 2
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    return subprocess.run(["apt-get", "install", "-y", "-q", *need], check=False, env=env).returncode


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        print(" ".join(PACKAGES))
        raise SystemExit(0)
    raise SystemExit(install())
