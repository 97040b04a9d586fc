"""Lab benchmark (root): bring-up + convergence time of the default scope and a ~50-device scope, memory per
device (PSS from /proc/<pid>/smaps_rollup), probe-matrix time; optionally the whole county (--all).

    sudo .venv/bin/python benchmarks/bench_lab.py [--all] [--lab-dir /tmp/cn-bench] [--build build]
The lab emulates a build directory: without --build the bundled topology is built into a temporary one.
Targets (issue 5): 50 devices up and converged < 15 s; whole county < 3 min and 6 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from countynet.lab import api, converge, probe
from countynet.lab import lab as labmod
from countynet.lab.state import LabState, alive
from countynet.outputs.build_reader import BuildReader

ROOT = Path(__file__).resolve().parent.parent

FIFTY = "core,township:yange,township:lianzhou,township:litian"


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(lab_dir: Path) -> dict[str, float]:
    st = LabState.load(lab_dir)
    assert st
    by_what: dict[str, list[int]] = defaultdict(list)
    by_ns: dict[str, int] = defaultdict(int)
    for p in st.procs:
        if alive(p):
            k = pss_kib(p.pid)
            by_what[p.what.split(":")[0] if not p.what.startswith("frr") else "frr"].append(k)
            by_ns[p.ns] += k
    total = sum(by_ns.values())
    out = {"total_mib": round(total / 1024, 1), "per_device_mib": round(total / 1024 / max(1, len(by_ns)), 1)}
    for what, ks in by_what.items():
        out[f"{what}_count"] = len(ks)
        out[f"{what}_avg_mib"] = round(sum(ks) / len(ks) / 1024, 1)
    return out


def run(name: str, scope: str | None, lab_dir: Path, probes: bool, build: Path) -> dict[str, object]:
    t0 = time.monotonic()
    reader = BuildReader(build)
    state, b = labmod.up(reader, scope, lab_dir)
    t_up = time.monotonic() - t0
    c = converge.wait(lab_dir, timeout=240)
    t_conv = time.monotonic() - t0
    res: dict[str, object] = {"scope": name, "devices": len(b.devs), "namespaces": len(state.namespaces),
                              "processes": len(state.procs), "up_s": round(t_up, 1),
                              "up_and_converged_s": round(t_conv, 1), "converged": c.ok,
                              "steps": b.timings, "memory": memory(lab_dir)}
    if not c.ok:
        res["missing"] = dict(list(c.missing.items())[:5])
    if probes:
        flows, _ = probe.load_flows(reader)
        results, secs = probe.timed(probe.run_probes, lab_dir, flows)
        res["probe_flows"] = len(results)
        res["probe_s"] = secs
        res["probe_verdicts"] = {v: sum(1 for r in results if r.status == v)
                                 for v in ("ok", "mismatch", "unproven", "error")}
    t1 = time.monotonic()
    api.down(lab_dir)
    res["down_s"] = round(time.monotonic() - t1, 1)
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="also the whole county (--scope all)")
    ap.add_argument("--only-all", action="store_true", help="only the whole county")
    ap.add_argument("--lab-dir", type=Path, default=Path("/tmp/cn-bench"))
    ap.add_argument("--build", type=Path, default=None, help="build directory (default: build the bundled one)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_lab needs root (network namespaces)", file=sys.stderr)
        return 2
    cases = [("default", None, True), ("~50 devices: " + FIFTY, FIFTY, False)]
    if args.only_all:
        cases = []
    if args.all or args.only_all:
        cases.append(("all", "all", True))
    with tempfile.TemporaryDirectory(prefix="cn-bench-lab-") as tmp, api.exclusive():
        build = args.build
        if build is None:
            from countynet.cli.common import build_into

            build = Path(tmp) / "build"
            build_into(ROOT / "topology", build, write_lock=False, inventory_dir=Path(tmp) / "inventory")
        for name, scope, probes in cases:
            lab_dir = args.lab_dir / name.split(":")[0].replace(" ", "").replace("~", "")
            try:
                print(json.dumps(run(name, scope, lab_dir, probes, build), indent=1))
            finally:
                api.down(lab_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
