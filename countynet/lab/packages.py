"""The Debian packages the lab needs, checked by a marker file each, and their installation.

What the lab itself needs is :data:`MARKERS` (it ships with the package, so an installed wheel can check and
install it). A project checkout lists more in `scripts/lab-packages.txt` (the deploy and render tests'
tools too); pass such a list as an argument to install it all:

    python -m countynet.lab.packages                              # what the lab needs
    python -m countynet.lab.packages scripts/lab-packages.txt     # everything that list names
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def listed(path: Path | None = None) -> list[str]:
    """The packages named in a list file (one a line, `#` comments), or the lab's own when no file is given."""
    if path is None:
        return list(NEEDED)
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def missing() -> list[str]:
    """Packages the lab needs whose marker file is absent."""
    return [p for p in NEEDED if not os.path.exists(MARKERS[p])]


def install(path: Path | None = None) -> int:
    """apt-get install the packages of `listed(path)` that are missing (root only); no service is started."""
    need = [p for p in listed(path) if (p in MARKERS and not os.path.exists(MARKERS[p])) or
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
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not Path(sys.argv[1]).is_file()):
        print("usage: python -m countynet.lab.packages [LIST_FILE]", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(install(Path(sys.argv[1]) if len(sys.argv) == 2 else None))
