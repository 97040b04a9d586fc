"""Build benchmark: validate + IPAM + intent (+ render + inventories) for Yongxin and a generated province.

Prints devices, wall seconds, ms per device and peak RSS. Targets (2-core machine): Yongxin validate+IPAM+
intent < 0.5 s and full build < 1 s; province (100 counties) validate+IPAM+intent < 40 s, full build < 60 s,
rendering alone ~1.5 ms per device, < 4 GB.
Run: .venv/bin/python benchmarks/bench_build.py [--counties 100] [--skip-province]

Where the time goes (cProfile, Yongxin): compiling the policy into ~14,000 ACL lines (pydantic object
construction is ~20 us a line even with model_construct) and rendering them through the Huawei ACL-line
macros; YAML parsing and IPAM are small. The garbage collector is paused during both phases.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.province import generate
from countynet.outputs.inventories import ansible_inventory, nornir_inventory
from countynet.outputs.pipeline import compile_topology, render, write_build


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(topo: Path, full: bool) -> tuple[int, float, float, float]:
    """Return devices, compile seconds, render seconds, inventory seconds."""
    t0 = time.perf_counter()
    result = compile_topology(topo)
    t1 = time.perf_counter()
    rs = inv = 0.0
    if full:
        result.configs = render(result).configs
        t2 = time.perf_counter()
        nornir_inventory(result.intents)
        ansible_inventory(result.intents)
        rs, inv = t2 - t1, time.perf_counter() - t2
    return len(result.intents), t1 - t0, rs, inv


def report(name: str, devices: int, compile_s: float, render_s: float, inv_s: float) -> None:
    full = compile_s + render_s + inv_s
    print(f"{name}: {devices} devices")
    print(f"  validate+IPAM+intent: {compile_s:.3f} s ({1000 * compile_s / devices:.3f} ms/device)")
    if render_s:
        print(f"  render:               {render_s:.3f} s ({1000 * render_s / devices:.3f} ms/device)")
        print(f"  inventories:          {inv_s:.3f} s")
        print(f"  full build (no disk): {full:.3f} s ({1000 * full / devices:.3f} ms/device)")
    print(f"  peak RSS so far:      {peak_rss_mb():.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counties", type=int, default=100)
    ap.add_argument("--skip-province", action="store_true")
    ap.add_argument("--no-render", action="store_true", help="validate + IPAM + intent only")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    full = not args.no_render
    one(root / "topology", full)  # warm up imports and template loading
    report("yongxin", *one(root / "topology", full))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = render(compile_topology(root / "topology"))
        from countynet.outputs.derived import derived_files

        result.extra.update(derived_files(result))
        write_build(result, Path(tmp) / "build", write_lock=False, inventory_dir=Path(tmp) / "inventory")
        print(f"  countynet build as the CLI does it (+ docs, Batfish snapshot, kits, writing): "
              f"{time.perf_counter() - t0:.3f} s")
    if args.skip_province:
        return
    with tempfile.TemporaryDirectory() as tmp:
        dirs = generate(Path(tmp), args.counties)
        totals = [0, 0.0, 0.0, 0.0]
        for d in dirs:
            for i, v in enumerate(one(d, full)):
                totals[i] += v
        report(f"province ({args.counties} counties)", int(totals[0]), totals[1], totals[2], totals[3])


if __name__ == "__main__":
    main()
