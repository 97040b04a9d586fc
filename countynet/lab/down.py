"""Tear a lab down from its state file: processes (by recorded PID, then any left in our namespaces),
namespaces (by recorded name; their veths go with them), host links. Idempotent; works after a crash."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from countynet.lab.sh import run
from countynet.lab.state import LabState, alive


def _ns_pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in out.split() if x.isdigit()]


def _kill(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def down(lab_dir: Path) -> dict[str, int]:
    """Remove everything the lab's state file records; returns counts of what was removed."""
    st = LabState.load(lab_dir)
    if st is None:
        return {"processes": 0, "namespaces": 0, "links": 0}
    existing = set(run(["ip", "netns", "list"], check=False).split())
    ours = [n for n in st.namespaces if n in existing]
    pids = {r.pid for r in st.procs if alive(r)}
    for ns in ours:
        pids |= set(_ns_pids(ns))
    _kill(sorted(pids), signal.SIGTERM)
    end = time.monotonic() + 5
    left = sorted(pids)
    while left and time.monotonic() < end:
        time.sleep(0.1)
        left = [p for p in left if os.path.exists(f"/proc/{p}")]
    _kill(left, signal.SIGKILL)
    for ns in ours:
        run(["ip", "netns", "del", ns], check=False)
    links = [n for n in st.host_links if Path(f"/sys/class/net/{n}").exists()]
    for n in links:
        run(["ip", "link", "del", n], check=False)
    st.status = "down"
    st.procs = []
    st.namespaces = []
    st.host_links = []
    st.save()
    return {"processes": len(pids), "namespaces": len(ours), "links": len(links)}
