"""Rewrite the golden configurations under tests/golden/<platform>/<host>.cfg.

Golden files pin what the templates produce for a few representative devices of the bundled build, so
a template change shows up as a reviewed `git diff` of these files. Run after an intended change:

    .venv/bin/python -m tests.update_golden
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# platform -> representative hosts (one per model/role the platform's templates handle differently)
GOLDEN: dict[str, list[str]] = {
    "huawei_vrp": [
        "yx-core-1",      # CE6881 VRP8 core: Eth-Trunk, VRRP SVIs, transit VLANIFs
        "yx-wan-1",       # NE40E VRP8: routed leased lines, totally-stub areas with ABR summaries
        "yx-aonan-rt1",   # AR6140 VRP5 township router
        "yx-aonan-sw1",   # S5735 VRP5 township switch: SVIs, DHCP pools, access ports
        "yx-aonan-gongyi",   # AR161 VRP5 village CPE on broadband: route-based IKEv2 IPsec
    ],
    "h3c_comware": [
        "yx-fw-1",        # F1000 firewall: security zones, NAT outbound and static NAT
        "yx-gaoxi-rt1",   # MSR3620 township router
        "yx-gaoxi-sw1",   # S5130 township switch
        "yx-gaoxi-datang",   # MSR810 village CPE on broadband: route-based IKEv2 IPsec
    ],
}


def golden_path(platform: str, host: str) -> Path:
    return GOLDEN_DIR / platform / f"{host}.cfg"


def render_goldens() -> dict[Path, str]:
    """Path -> text for every golden host, rendered from the bundled topology."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from countynet.outputs.pipeline import compile_topology
    from countynet.render.engine import render_device

    intents = compile_topology(ROOT / "topology").intents
    out: dict[Path, str] = {}
    for platform, hosts in GOLDEN.items():
        for host in hosts:
            if host not in intents:
                raise KeyError(f"golden host {host} is not in the bundled topology; edit GOLDEN in {__file__}")
            d = intents[host]
            out[golden_path(platform, host)] = render_device(d)[f"{host}.cfg"]
    return out


def write_all(goldens: dict[Path, str], stale: list[Path], label: str) -> int:
    """Write changed golden files, delete stale ones, say what changed; return how many changed."""
    changed = 0
    for path, text in sorted(goldens.items()):
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed += 1
            print(f"{'updated' if old is not None else 'created'} {path.relative_to(ROOT)}")
    for path in stale:
        path.unlink()
        changed += 1
        print(f"removed {path.relative_to(ROOT)} (no longer rendered)")
    print(f"{changed} {label} golden file(s) changed of {len(goldens)}; review them with `git diff tests/golden`")
    return changed


def run(render: Callable[[], dict[Path, str]], stale: Callable[[dict[Path, str]], list[Path]], label: str) -> int:
    from countynet.errors import TopologyError

    try:
        goldens = render()
    except TopologyError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    write_all(goldens, stale(goldens), label)
    return 0


def main() -> int:
    # Cisco IOS-XE and Linux goldens (one directory per host, several files) have their own module
    from tests.update_golden_cisco_linux import main as update_cisco_linux

    return run(render_goldens, lambda _g: [], "Huawei/H3C") or update_cisco_linux()


if __name__ == "__main__":
    raise SystemExit(main())
