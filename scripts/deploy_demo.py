"""Demo of `countynet deploy` / `countynet rollback` on real SSH devices (root): three Linux devices in
network namespaces (tests/linux_fixture.py), a workspace with build/ + inventory, then the real CLI.
Used to produce the command output shown in docs/deploy.md.

    sudo .venv/bin/python scripts/deploy_demo.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.deploy_helpers import Workspace, make_intent  # noqa: E402
from tests.linux_fixture import NetnsLab, sh  # noqa: E402
from tests.test_deploy_linux import NFT, OLD, new_files  # noqa: E402


def cli(ws: Workspace, *args: str) -> None:
    common = ["--build-dir", "build", "--inventory", "inventory", "--backup-dir", "backups",
              "--audit-log", "audit/deploy.jsonl", "--known-hosts", "known_hosts"]
    extra = ["--rollback-timer", "20"] + (["--state-file", "state.json"] if args[0] == "deploy" else [])
    shown = " ".join(("countynet", *args))
    print(f"$ {shown}")
    res = subprocess.run([sys.executable, "-m", "countynet", *args, *common, *extra], cwd=ws.root,
                         capture_output=True, text=True)
    sys.stdout.write(res.stdout + res.stderr)
    print(f"(exit {res.returncode})\n")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cn-demo-"))
    lab = NetnsLab(tmp)
    try:
        ws = Workspace(tmp / "ws")
        ws.root.mkdir()
        for i, (name, wave) in enumerate([("yx-dns-1", 1), ("yx-ntp-1", 1), ("yx-portal-1", 2)]):
            dev = lab.add(name)
            for rel, text in OLD.items():
                (dev.root / rel).parent.mkdir(parents=True, exist_ok=True)
                (dev.root / rel).write_text(text)
            sh("ip", "netns", "exec", dev.ns, "nft", "-f", str(dev.root / NFT))
            files = new_files(body="tcp dport 22 acccept") if i == 1 else new_files()
            intent = make_intent(name, "linux", dev.address, wave=wave, iface="eth0", address=f"{dev.address}/30",
                                 gateway=dev.gateway)
            ws.add(intent, "linux", dev.address, 22, files,
                   data={"config_root": str(dev.root), "state_dir": str(dev.state)})
        (ws.root / "known_hosts").write_text(lab.known_hosts.read_text())
        os.environ.update(COUNTYNET_USERNAME="root", COUNTYNET_SSH_KEY=str(lab.client_key), COUNTYNET_OPERATOR="demo")
        cli(ws, "deploy", "--limit", "yx-dns-1")
        cli(ws, "deploy", "--commit", "--canary", "0")
        ws.set_config("yx-ntp-1", new_files())
        print("# (the engineer fixes yx-ntp-1's nftables typo and rebuilds)\n")
        cli(ws, "deploy", "--resume")
        cli(ws, "rollback", "yx-portal-1")
        cli(ws, "deploy", "--limit", "township=*,!yx-ntp-1", "--wave", "9")
        print("$ tail -n 3 audit/deploy.jsonl")
        print("\n".join((ws.root / "audit/deploy.jsonl").read_text().splitlines()[-3:]))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
