"""`lab down` (root): removes every namespace, host link and process a lab recorded - after a clean run,
after a crash in the middle of `lab up`, and twice in a row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from countynet.lab import api, packages
from countynet.lab.state import LabState, alive

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parent.parent
SCOPE = "device:yx-vpnhub-1,device:yx-yange-shanbei,device:yx-core-1"


@pytest.fixture(autouse=True)
def _root():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, daemons); CI runs as root")
    if packages.missing():
        pytest.skip(f"missing Debian packages {' '.join(packages.missing())}")


def _leftovers(st: LabState) -> list[str]:
    netns = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    out = [f"netns {n}" for n in st.namespaces if n in netns]
    out += [f"link {n}" for n in st.host_links if Path(f"/sys/class/net/{n}").exists()]
    out += [f"pid {p.pid} ({p.what})" for p in st.procs if alive(p)]
    return out


def test_down_removes_everything_and_is_idempotent(tmp_path, bundled_build):
    """Also: a lab directory so deep that its daemons' socket paths exceed what an AF_UNIX address holds
    (108 bytes) still loads FRR and strongSwan configs and converges (sockets are reached by short names)."""
    deep = tmp_path / ("a-rather-deep-directory-" * 3) / "lab"
    assert len(str(deep / "dev" / "yx-yange-shanbei" / "run" / "charon.vici")) > 108
    with api.exclusive():
        lab = api.up(SCOPE, deep, build=bundled_build, wait=True, timeout=60)
        try:
            assert lab.converged, (lab.lab_dir / "lab.json").read_text()
            st = LabState.load(lab.lab_dir)
            assert st and st.procs and st.namespaces and st.host_links
            daemons = [p for p in st.procs if p.what != "frr:launcher"]  # launchers exit once daemons fork
            assert {p.what for p in daemons} >= {"frr:zebra", "frr:ospfd", "charon", "sshd"}
            assert not [p for p in daemons if not alive(p)], "a daemon died during bring-up"
        finally:
            removed = api.down(lab.lab_dir)
        assert removed["namespaces"] == len(st.namespaces)
        assert _leftovers(st) == []
        assert api.down(lab.lab_dir) == {"processes": 0, "namespaces": 0, "links": 0}


def test_down_after_a_crash(tmp_path, bundled_build):
    """Kill `lab up` with SIGKILL while it starts daemons: the state file still lets `lab down` clean up."""
    lab_dir = tmp_path / "lab"
    with api.exclusive():
        p = subprocess.Popen([sys.executable, "-m", "countynet.cli.lab", "up", "--build", str(bundled_build),
                              "--scope", SCOPE, "--lab-dir", str(lab_dir), "--no-wait"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        st = None
        end = time.monotonic() + 60
        while time.monotonic() < end and p.poll() is None:
            st = LabState.load(lab_dir) if (lab_dir / "lab-state.json").exists() else None
            if st and len(st.procs) >= 3:
                break
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        p.wait()
        st = LabState.load(lab_dir)
        try:
            assert st and st.namespaces and st.procs, "the crash came before anything was recorded"
            assert st.status != "up"
        finally:
            subprocess.run([sys.executable, "-m", "countynet.cli.lab", "down", "--lab-dir", str(lab_dir)],
                           cwd=ROOT, check=True, capture_output=True)
        assert _leftovers(st) == []
