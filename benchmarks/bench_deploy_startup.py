"""Benchmark: how fast deploy starts for one device, and the Ansible module's per-host cost vs build size.

1. `countynet deploy --limit yx-litian-rt1` without credentials (the answer is "set COUNTYNET_USERNAME"):
   interpreter start, CLI, the build's manifest; before issue 9 it read all 361 intents first (13.7 s).
2. The Ansible module (roles/countynet_deploy/library/countynet_deploy.py) run the way Ansible runs it, one
   process per host, in check mode with credentials but without the devices' secrets: it reads the
   manifest, checks and loads the host's files, its intent and its peers' intents, then stops before any
   session ("missing secret(s)"). Everything a host costs except the network. Measured for 10 hosts of
   the bundled county (361 devices) and 10 hosts of a 10-county build (the generated province's first ten
   counties merged into one build directory: 3,610 devices).

Prints figures only (no pass/fail): the per-host cost should not grow with the build's size.

    .venv/bin/python benchmarks/bench_deploy_startup.py [--runs 5] [--counties 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.province import generate  # noqa: E402
from countynet.cli.common import build_into  # noqa: E402
from countynet.outputs.manifest import FORMAT, MANIFEST  # noqa: E402

MODULE = ROOT / "roles" / "countynet_deploy" / "library" / "countynet_deploy.py"
HOST = "yx-litian-rt1"


def build(topology: Path, out: Path) -> Path:
    build_into(topology, out, write_lock=False, inventory_dir=out.parent / "inventory")
    return out


def merge(builds: list[Path], out: Path) -> Path:
    """One build directory holding the devices of several (a province's counties): their intent and config
    files, and one manifest whose host table lists every device."""
    hosts: dict[str, object] = {}
    for b in builds:
        hosts.update(json.loads((b / MANIFEST).read_text(encoding="utf-8"))["hosts"])
        for sub in ("intent", "configs"):
            shutil.copytree(b / sub, out / sub, dirs_exist_ok=True)
    manifest = {"format": FORMAT, "county": f"province-{len(builds)}", "devices": len(hosts), "hosts": hosts,
                "files": {}, "sources": {}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    return time.perf_counter() - t, p


def deploy_startup(build_dir: Path, runs: int, work: Path) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTYNET_")}
    out = []
    for _ in range(runs):
        secs, p = timed([sys.executable, "-m", "countynet", "deploy", "--limit", HOST, "--build", str(build_dir)],
                        env, work)
        assert p.returncode == 2 and "COUNTYNET_USERNAME" in p.stderr, p.stdout + p.stderr
        out.append(secs)
    return out


def module_per_host(build_dir: Path, hosts: list[str], work: Path) -> list[float]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COUNTYNET_")},
           "COUNTYNET_USERNAME": "netadmin", "COUNTYNET_PASSWORD": "x"}
    out = []
    for h in hosts:
        args = {"ANSIBLE_MODULE_ARGS": {
            "host": h, "project_dir": str(work), "build_dir": str(build_dir), "insecure": True,
            "backup_dir": str(work / "backups"), "audit_log": str(work / "audit.jsonl"),
            "state_dir": str(work / "state"), "_ansible_check_mode": True}}
        path = work / f"args-{h}.json"
        path.write_text(json.dumps(args), encoding="utf-8")
        secs, p = timed([sys.executable, str(MODULE), str(path)], env, work)
        res = json.loads(p.stdout)
        assert res.get("failed") and "missing secret(s)" in res.get("msg", ""), p.stdout + p.stderr
        out.append(secs)
    return out


def show(name: str, secs: list[float]) -> None:
    print(f"  {name:<46} median {statistics.median(secs):6.3f} s   min {min(secs):6.3f} s   "
          f"max {max(secs):6.3f} s   (n={len(secs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--counties", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cn-bench-deploy-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "topology", work / "yx" / "topology")
        county = build(work / "yx" / "topology", work / "yx" / "build")
        t = time.perf_counter()
        builds = [build(topo, topo.parent / "build") for topo in generate(work / "province", a.counties)]
        province = merge(builds, work / "province-build")
        print(f"(built {a.counties} generated counties and merged them in {time.perf_counter() - t:.1f} s)")
        n_county = len(json.loads((county / MANIFEST).read_text(encoding="utf-8"))["hosts"])
        manifest = json.loads((province / MANIFEST).read_text(encoding="utf-8"))
        print(f"deploy startup, `countynet deploy --limit {HOST}` without credentials ({n_county} devices):")
        show("wall time", deploy_startup(county, a.runs, work))
        yx_hosts = sorted(h for h, f in json.loads((county / MANIFEST).read_text())["hosts"].items()
                          if f["role"] == "township_router")[:10]
        routers = sorted(h for h, f in manifest["hosts"].items() if f["role"] == "township_router")
        step = max(1, len(routers) // 10)
        prov_hosts = routers[::step][:10]
        print("Ansible module, one process per host (check mode, stops before the session):")
        show(f"bundled county ({n_county} devices), 10 hosts", module_per_host(county, yx_hosts, work))
        show(f"{a.counties}-county build ({manifest['devices']} devices), 10 hosts",
             module_per_host(province, prov_hosts, work))


if __name__ == "__main__":
    main()
