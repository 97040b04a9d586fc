"""Probe-set benchmark (issue 12 part 7): drawing the lab's probes from the exhaustive regions.

Builds the bundled county (or uses --build), runs the exhaustive check once, then draws the probe set for each
lab scope given (default: the lab test's scope and the lab's demo scope) and prints pairs, regions (probed / not),
probes per kind, the largest number per pair, wall seconds of the draw and peak RSS. Sending them is timed by
`countynet lab test` (it prints the seconds) and by tests/test_lab_run.py. No assertions on time: the machine is
shared, the figures vary between runs.
Run: .venv/bin/python benchmarks/bench_probes.py [--build DIR] [--per-pair 8] [SCOPE ...]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from countynet.cli.common import build_into
from countynet.lab import scope as scopemod
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.probes import manifest_digest
from countynet.verify.exhaustive import Checker
from countynet.verify.probes import draw

TEST_SCOPE = ("core,device:yx-db-1,device:yx-oa-1,device:yx-docex-1,device:yx-portal-1,device:yx-mail-1,"
              "device:yx-dns-1,device:yx-syslog-1,device:yx-yange-rt1,device:yx-yange-sw1,device:yx-yange-yange,"
              "device:yx-yange-shanbei,device:yx-lianzhou-rt1,device:yx-lianzhou-sw1,device:yx-lianzhou-tutian,"
              "unit:finance")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", type=Path, help="a build directory (default: build the bundled topology)")
    ap.add_argument("--per-pair", type=int, default=8)
    ap.add_argument("scopes", nargs="*", default=[TEST_SCOPE, "default"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-probes-") as tmp:
        build = args.build
        if build is None:
            build = Path(tmp) / "build"
            build_into(Path(__file__).resolve().parent.parent / "topology", build, write_lock=False,
                       inventory_dir=Path(tmp) / "inventory")
        reader = BuildReader(build, allow_modified=True)
        t = time.perf_counter()
        checker = Checker(reader)
        checker.run()
        print(f"exhaustive check: {time.perf_counter() - t:.2f} s, {len(checker.eps)} endpoints")
        for scope in args.scopes:
            default = scope == "default"
            hosts = scopemod.lab_hosts(reader.hosts, None if default else scope, reader.flows)
            t = time.perf_counter()
            ps = draw(checker, hosts, scope, manifest_digest(build), args.per_pair)
            secs = time.perf_counter() - t
            s = ps.summary()
            per: dict[tuple[str, str], int] = {}
            for p in ps.probes:
                per[(p.src_endpoint, p.dst_endpoint)] = per.get((p.src_endpoint, p.dst_endpoint), 0) + 1
            name = "test scope" if scope == TEST_SCOPE else scope
            print(f"{name}: {len(hosts)} devices, {s['endpoint pairs']} pairs, {s['regions']} regions "
                  f"({s['regions probed']} probed, not: {s['not probed because'] or 'none'}), {s['probes']} probes "
                  f"({s['inside probes']} inside, {s['boundary probes']} boundary, {s['counterexample probes']} "
                  f"counterexamples), at most {max(per.values(), default=0)} per pair; drawn in {secs:.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
