"""Exhaustive verification benchmark: `verify --offline` on the bundled county and on 10 generated counties.

For each build: parse every rendered configuration back, build the admitted sets of all endpoint pairs,
compare them with the policy, and explain every difference (what `countynet verify --offline` does, without
writing reports). Prints wall and CPU seconds per phase, endpoints, pairs, filter lines, differences, BDD nodes
and peak RSS. No assertions on time: the machine is shared, the figures vary between runs.
Targets: bundled county under 10 s; 10 counties under 2 minutes.
Run: .venv/bin/python benchmarks/bench_verify.py [--counties 10] [--skip-province]
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
from countynet.cli.common import build_into
from countynet.outputs.build_reader import BuildReader
from countynet.verify.exhaustive import Checker
from countynet.verify.symbolic import Engine


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verify(build: Path, engine: Engine | None = None) -> dict[str, float | int]:
    """One exhaustive check of a build directory, timed per phase."""
    w0, c0 = time.perf_counter(), time.process_time()
    reader = BuildReader(build)
    checker = Checker(reader, engine)
    w1, c1 = time.perf_counter(), time.process_time()
    res = checker.run(reader.flows())
    w2, c2 = time.perf_counter(), time.process_time()
    return {"model_s": w1 - w0, "model_cpu": c1 - c0, "compare_s": w2 - w1, "compare_cpu": c2 - c1,
            "total_s": w2 - w0, "total_cpu": c2 - c0, "endpoints": res.proven["endpoints"],
            "pairs": res.proven["endpoint pairs"], "lines": res.proven["filter lines read back"],
            "devices": res.proven["devices parsed"], "differences": len(res.differences),
            "nodes": len(checker.e.bdd)}


def show(name: str, r: dict[str, float | int]) -> None:
    print(f"{name}: {r['devices']} devices, {r['lines']} filter lines, {r['endpoints']} endpoints, "
          f"{r['pairs']} endpoint pairs, {r['differences']} differences")
    print(f"  parse + network model: {r['model_s']:.2f} s wall ({r['model_cpu']:.2f} s CPU)")
    print(f"  compare + explain:     {r['compare_s']:.2f} s wall ({r['compare_cpu']:.2f} s CPU)")
    print(f"  total:                 {r['total_s']:.2f} s wall ({r['total_cpu']:.2f} s CPU); "
          f"BDD nodes {r['nodes']:,}; peak RSS so far {peak_rss_mb():.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counties", type=int, default=10)
    ap.add_argument("--skip-province", action="store_true")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "yongxin" / "build"
        build_into(root / "topology", out, write_lock=False, inventory_dir=Path(tmp) / "yongxin" / "inventory")
        show("yongxin (bundled)", verify(out))
        if args.skip_province:
            return
        dirs = generate(Path(tmp) / "province", args.counties)
        builds = []
        t0 = time.perf_counter()
        for i, d in enumerate(dirs):
            b = Path(tmp) / "builds" / f"county{i:03d}" / "build"  # no topology beside it: not checked for staleness
            build_into(d, b, write_lock=False, inventory_dir=b.parent / "inventory")
            builds.append(b)
        print(f"(building {len(dirs)} counties took {time.perf_counter() - t0:.1f} s; not counted)")
        totals: dict[str, float] = {}
        for b in builds:
            r = verify(b)
            for k, v in r.items():
                totals[k] = totals.get(k, 0) + v
        print(f"province ({args.counties} counties, one check per county build):")
        print(f"  {int(totals['devices'])} devices, {int(totals['lines'])} filter lines, {int(totals['pairs'])} "
              f"endpoint pairs, {int(totals['differences'])} differences")
        print(f"  total: {totals['total_s']:.1f} s wall ({totals['total_cpu']:.1f} s CPU), "
              f"{totals['total_s'] / args.counties:.1f} s per county; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
