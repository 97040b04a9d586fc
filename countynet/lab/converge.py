"""Convergence: OSPF neighbours Full as the intent expects, BGP sessions Established, IPsec SAs installed.

Reads the lab inventory (lab.json) and asks each router's own vtysh / charon over their sockets.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from countynet.lab.sh import swanctl


def vty(path: str, cmd: str, timeout: float = 5) -> str:
    """One command on an FRR daemon's vty socket (the protocol vtysh speaks: command + NUL; the answer
    ends with three NULs and a status byte) - no vtysh process per query. The socket is reached through
    its directory's descriptor (`/proc/self/fd/N/<name>`): a lab directory deep in /tmp can make the full
    path longer than the 108 bytes an AF_UNIX address holds."""
    d = os.open(os.path.dirname(path) or ".", os.O_PATH)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(f"/proc/self/fd/{d}/{os.path.basename(path)}")
            s.sendall(cmd.encode() + b"\0")
            buf = b""
            while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    finally:
        os.close(d)
    return buf[:-4].decode(errors="replace")


def _vtysh(devdir: str, cmd: str, daemon: str = "ospfd") -> Any:
    try:
        return json.loads(vty(f"{devdir}/run/frr/{daemon}.vty", cmd) or "{}")
    except (OSError, json.JSONDecodeError):
        return {}


def ospf_full(devdir: str) -> set[str]:
    """Router ids of neighbours in state Full (or 2-Way between DROthers)."""
    data = _vtysh(devdir, "show ip ospf neighbor json")
    out = set()
    for rid, entries in (data.get("neighbors") or {}).items():
        for e in entries if isinstance(entries, list) else [entries]:
            st = str(e.get("state") or e.get("nbrState") or "")
            if st.startswith(("Full", "2-Way")):
                out.add(rid)
    return out


def bgp_established(devdir: str) -> set[str]:
    data = _vtysh(devdir, "show bgp summary json", "bgpd")
    peers = (data.get("ipv4Unicast") or data).get("peers") or {}
    return {a for a, p in peers.items() if p.get("state") == "Established"}


def ipsec_up(devdir: str) -> bool:
    out = swanctl(Path(devdir) / "run", "--list-sas", check=False, timeout=20)
    return "ESTABLISHED" in out and "INSTALLED" in out


@dataclass
class Convergence:
    ok: bool
    seconds: float
    missing: dict[str, list[str]] = field(default_factory=dict)


def wait(lab_dir: Path, timeout: float = 90) -> Convergence:
    inv = json.loads((lab_dir / "lab.json").read_text())
    devs = inv["devices"]
    ospf: dict[str, set[str]] = {h: set(v) for h, v in inv["ospf_expect"].items()}
    bgp: dict[str, set[str]] = {h: set(v) for h, v in inv["bgp_expect"].items()}
    spokes = [h for h, d in devs.items() if d["vpn"] and d["role"] != "vpn_hub"]
    t0 = time.monotonic()
    done: set[str] = set()  # checks already satisfied (not asked again in this wait)
    while True:
        missing: dict[str, list[str]] = {}
        for h, want in ospf.items():
            if want and f"ospf:{h}" not in done:
                miss = want - ospf_full(devs[h]["dir"])
                if miss:
                    missing[h] = [f"ospf {r}" for r in sorted(miss)]
                else:
                    done.add(f"ospf:{h}")
        for h, want in bgp.items():
            if f"bgp:{h}" not in done:
                miss = want - bgp_established(devs[h]["dir"])
                if miss:
                    missing.setdefault(h, []).extend(f"bgp {a}" for a in sorted(miss))
                else:
                    done.add(f"bgp:{h}")
        for h in spokes:
            if f"ipsec:{h}" not in done:
                if ipsec_up(devs[h]["dir"]):
                    done.add(f"ipsec:{h}")
                else:
                    missing.setdefault(h, []).append("ipsec")
        secs = round(time.monotonic() - t0, 2)
        if not missing:
            return Convergence(True, secs)
        if secs > timeout:
            return Convergence(False, secs, missing)
        time.sleep(0.2)


def summary(c: Convergence) -> str:
    if c.ok:
        return f"converged in {c.seconds:.1f}s"
    items = "; ".join(f"{h}: {', '.join(v)}" for h, v in sorted(c.missing.items())[:10])
    return f"NOT converged after {c.seconds:.0f}s - {items}"


