"""Rewrite the Cisco IOS-XE and Linux golden files under tests/golden/<platform>/<host>/<file>.

A Linux device renders several files (interfaces, frr.conf, nftables.conf, ...), so each golden host is
a directory holding every file the device produces, at its path on the device. Run after an intended
template change and review the result with `git diff tests/golden`:

    .venv/bin/python -m tests.update_golden_cisco_linux

(`tests/update_golden.py` calls this module too, so one command refreshes every platform.)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_HINT = "refresh with `.venv/bin/python -m tests.update_golden_cisco_linux` and review `git diff tests/golden`"

GOLDEN_CL: dict[str, list[str]] = {
    "cisco_ios": [
        "yx-city-1",    # city edge: OSPF area 0, eBGP with prefix lists, Null0 aggregate, filtered redistribution
        "yx-u-tax",     # unit router: routed LAN port, DHCP pool, totally-stubby area (internal router)
    ],
    "linux": [
        "yx-vpnhub-1",  # FRR OSPF + filtered static redistribution, strongSwan hub, IKE/ESP in nftables
        "yx-portal-1",  # DMZ server: default via the zone VRRP gateway, http/https only
        "yx-db-1",      # server-zone database server
    ],
}


def host_dir(platform: str, host: str) -> Path:
    return GOLDEN_DIR / platform / host


def render_goldens() -> dict[Path, str]:
    """Path -> text for every file of every golden host, rendered from the bundled topology."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from countynet.outputs.pipeline import compile_topology
    from countynet.render.engine import render_device

    intents = compile_topology(ROOT / "topology").intents
    out: dict[Path, str] = {}
    for platform, hosts in GOLDEN_CL.items():
        for host in hosts:
            if host not in intents:
                raise KeyError(f"golden host {host} is not in the bundled topology; edit GOLDEN_CL in {__file__}")
            for name, text in render_device(intents[host]).items():
                out[host_dir(platform, host) / name] = text
    return out


def stale_files(goldens: dict[Path, str]) -> list[Path]:
    """Files under a golden host's directory that the device no longer produces."""
    stale = []
    for platform, hosts in GOLDEN_CL.items():
        for host in hosts:
            base = host_dir(platform, host)
            if base.is_dir():
                stale += [p for p in base.rglob("*") if p.is_file() and p not in goldens]
    return sorted(stale)


def main() -> int:
    from tests.update_golden import run

    return run(render_goldens, stale_files, "Cisco/Linux")


if __name__ == "__main__":
    raise SystemExit(main())
