"""Benchmark: countynet deploy (dry-run diff, commit+confirm) vs the same push by an Ansible playbook.

Needs root: N real SSH devices (sshd in network namespaces, tests/linux_fixture.py), each with two managed
files (nftables ruleset applied with `nft -f`, a motd). For each concurrency level it measures
- engine dry-run (connect, fetch, scrubbed backup, diff) in devices/second,
- engine commit+confirm (backup, stage, watchdog armed, apply, post-checks, confirm, save),
- an Ansible playbook doing the same push natively (fetch backups, copy with backup, nft -f, ping check)
  with forks = the same concurrency, and prints the ratio. Devices are reset between runs.

    sudo .venv/bin/python benchmarks/bench_deploy.py --devices 12 --levels 1,4,12
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from countynet.deploy.engine import deploy  # noqa: E402
from countynet.deploy.model import Outcome  # noqa: E402
from tests.deploy_helpers import Workspace, make_intent  # noqa: E402
from tests.linux_fixture import NetnsLab, sh  # noqa: E402
from tests.test_deploy_linux import MOTD, NFT, OLD, new_files  # noqa: E402

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: backup running files
      ansible.builtin.fetch: {src: "{{ root }}/{{ item }}", dest: "{{ bdir }}/{{ inventory_hostname }}/", flat: false}
      loop: ["etc/nftables.conf", "etc/countynet/motd"]
    - name: push nftables
      ansible.builtin.copy: {src: "{{ cfg }}/{{ inventory_hostname }}/etc/nftables.conf",
                             dest: "{{ root }}/etc/nftables.conf", backup: true}
      register: nft
    - name: push motd
      ansible.builtin.copy: {src: "{{ cfg }}/{{ inventory_hostname }}/etc/countynet/motd",
                             dest: "{{ root }}/etc/countynet/motd", backup: true}
    - name: apply nftables
      ansible.builtin.command: "nft -f {{ root }}/etc/nftables.conf"
      when: nft.changed
    - name: post-check uplink
      ansible.builtin.command: "ping -c 2 -W 1 {{ gw }}"
      changed_when: false
"""


def reset(lab: NetnsLab) -> None:
    for dev in lab.devices:
        for rel, text in OLD.items():
            (dev.root / rel).write_text(text)
        sh("ip", "netns", "exec", dev.ns, "nft", "-f", str(dev.root / NFT))


def run_engine(ws: Workspace, workers: int, commit: bool, tag: str) -> float:
    opts = ws.options(commit=commit, workers=workers, canary=0, max_fail="100%", rollback_timer=60,
                      wave_by="batch", batch_size=10_000, state_file=ws.root / f"state-{tag}.json")
    t = time.perf_counter()
    rep = deploy(opts)
    dt = time.perf_counter() - t
    want = Outcome.COMMITTED if commit else Outcome.WOULD_CHANGE
    bad = {h: r.outcome.value for h, r in rep.results.items() if r.outcome != want}
    if bad:
        raise SystemExit(f"engine run {tag} failed: {bad}")
    return dt


def run_ansible(lab: NetnsLab, ws: Workspace, forks: int, key: Path) -> float:
    exe = Path(sys.executable).parent / "ansible-playbook"
    inv = ws.root / "ansible.ini"
    rows = ["[all]"]
    for dev in lab.devices:
        rows.append(f"{dev.name} ansible_host={dev.address} root={dev.root} gw={dev.gateway}")
    rows += ["[all:vars]", "ansible_user=root", f"ansible_ssh_private_key_file={key}",
             f"ansible_ssh_common_args='-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes'",
             f"ansible_python_interpreter={sys.executable}", f"cfg={ws.root / 'build' / 'configs'}",
             f"bdir={ws.root / 'ansible-backups'}"]
    inv.write_text("\n".join(rows) + "\n")
    pb = ws.root / "push.yml"
    pb.write_text(PLAYBOOK)
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=/tmp/cn-bench-%h-%C",
           "ANSIBLE_PIPELINING": "True"}
    t = time.perf_counter()
    res = subprocess.run([str(exe), "-i", str(inv), str(pb), "-f", str(forks)], capture_output=True, text=True,
                         env=env)
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"ansible run failed:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=12)
    ap.add_argument("--levels", default="1,4,12")
    ap.add_argument("--no-ansible", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces + sshd)")
    levels = [int(x) for x in a.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="cn-bench-"))
    lab = NetnsLab(tmp)
    try:
        ws = Workspace(tmp / "ws")
        ws.root.mkdir()
        for i in range(a.devices):
            dev = lab.add(f"srv{i:02d}")
            for rel, text in OLD.items():
                (dev.root / rel).parent.mkdir(parents=True, exist_ok=True)
                (dev.root / rel).write_text(text)
            intent = make_intent(dev.name, "linux", dev.address, iface="eth0", address=f"{dev.address}/30",
                                 gateway=dev.gateway)
            ws.add(intent, "linux", dev.address, 22, new_files(),
                   data={"config_root": str(dev.root), "state_dir": str(dev.state)})
        (ws.root / "known_hosts").write_text(lab.known_hosts.read_text())
        os.environ.update(COUNTYNET_USERNAME="root", COUNTYNET_SSH_KEY=str(lab.client_key))
        os.environ.pop("COUNTYNET_PASSWORD", None)
        n = a.devices
        print(f"{n} real SSH devices (sshd in network namespaces), 2 managed files each")
        print(f"{'workers':>7} {'dry-run s':>9} {'dev/s':>7} {'commit s':>9} {'dev/s':>7} "
              f"{'ansible s':>9} {'dev/s':>7} {'ratio':>6}")
        for w in levels:
            reset(lab)
            dry = run_engine(ws, w, False, f"dry{w}")
            reset(lab)
            com = run_engine(ws, w, True, f"commit{w}")
            for dev in lab.devices:
                assert dev.file(MOTD) == "motd v2\n"
            ans = float("nan")
            if not a.no_ansible:
                reset(lab)
                ans = run_ansible(lab, ws, w, lab.client_key)
                for dev in lab.devices:
                    assert dev.file(MOTD) == "motd v2\n"
            print(f"{w:>7} {dry:>9.2f} {n / dry:>7.2f} {com:>9.2f} {n / com:>7.2f} {ans:>9.2f} {n / ans:>7.2f} "
                  f"{ans / com:>6.2f}x", flush=True)
    finally:
        lab.close()


if __name__ == "__main__":
    main()
