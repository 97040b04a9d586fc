"""Linux (FRR, nftables, strongSwan) driver: managed files, applied with an on-device watchdog.

Apply = stage the new files and keep the old ones on the device (secrets never travel back), write
`apply.sh` / `rollback.sh`, arm a watchdog (`setsid` shell: sleep <timer>; unless `confirmed` exists,
restore the old files and re-apply them), then install the new files and run each file's apply command
(FRR reload, `nft -f`, `swanctl --load-all`). Confirm = touch `confirmed` and kill the watchdog's process
group. A dropped session leaves the watchdog armed: the device restores itself.
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
import shlex
from typing import Any

from countynet.deploy.drivers.base import Driver, Rejected

DEFAULT_APPLY = {
    "etc/frr/frr.conf": "/usr/lib/frr/frr-reload.py --reload {path}",
    "etc/nftables.conf": "nft -f {path}",
    "etc/swanctl/swanctl.conf": "swanctl --load-all --file {path}",
}
ABSENT = "__COUNTYNET_ABSENT__"


class LinuxDriver(Driver):
    kind = "files"

    def __init__(self, target: Any, conn: Any):
        super().__init__(target, conn)
        self.root = str(target.data.get("config_root") or "/")
        self.state = str(target.data.get("state_dir") or "/var/lib/countynet/deploy")
        self.apply_cmds = {**DEFAULT_APPLY, **(target.data.get("apply_commands") or {})}
        self.vtysh = str(target.data.get("vtysh") or "vtysh")

    def sh(self, command: str, timeout: float | None = None) -> tuple[str, int]:
        out: str = self.conn.send_command(f"{command}; echo __RC=$?", read_timeout=timeout or self.t.command_timeout,
                                          strip_prompt=True, strip_command=True, cmd_verify=False)
        m = list(re.finditer(r"__RC=(\d+)", out))
        rc = int(m[-1].group(1)) if m else 255
        return (out[:m[-1].start()] if m else out), rc

    def dev(self, rel: str) -> str:
        return posixpath.join(self.root, rel)

    def upload(self, dest: str, text: str) -> None:
        """Write a file (mode 0600, atomically via a .part file) with its bytes on the standard input of a
        separate SSH exec channel: a file may hold resolved secrets, so its content is never part of a
        command line (visible in `ps`, shell history, audit logs) nor echoed by the interactive shell."""
        self.upload_many({dest: text})

    def upload_many(self, files: dict[str, str]) -> None:
        """Several files in one exec channel: a tar stream on standard input, unpacked with umask 077 and
        each file moved into place atomically. The shell command names only the destination paths."""
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for i, text in enumerate(files.values()):
                data = text.encode()
                info = tarfile.TarInfo(f"f{i}")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
        moves = []
        for i, dest in enumerate(files):
            q, qd = shlex.quote(dest), shlex.quote(posixpath.dirname(dest))
            moves.append(f"mkdir -p {qd} && chmod 600 \"$t/f{i}\" && mv -f \"$t/f{i}\" {q}.part && mv -f {q}.part {q}")
        script = ("umask 077; t=$(mktemp -d) || exit 1; trap 'rm -rf \"$t\"' EXIT; tar -x -C \"$t\" -f - || exit 1; "
                  + " && ".join(moves))
        rc, err = self._exec_stdin(script, buf.getvalue())
        if rc:
            raise RuntimeError(f"cannot write the staged files on the device (exit {rc}): {self.mask(err)[-200:]}")

    def _exec_stdin(self, command: str, data: bytes) -> tuple[int, str]:
        """Run `command` on a new exec channel of the session's SSH transport, `data` on its standard input;
        (exit status, stderr)."""
        transport = self.conn.remote_conn.get_transport()
        chan = transport.open_session(timeout=self.t.conn_timeout)
        try:
            chan.settimeout(max(self.t.command_timeout, 30.0))
            chan.exec_command(command)
            chan.sendall(data)
            chan.shutdown_write()
            err = b""
            while True:
                chunk = chan.recv_stderr(65536)
                if not chunk:
                    break
                err += chunk
            return chan.recv_exit_status(), err.decode(errors="replace")
        finally:
            chan.close()

    def fetch_running(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        if not self.paths:
            return out
        names = " ".join(shlex.quote(p) for p in self.paths)
        text, _ = self.sh(f"(cd {shlex.quote(self.root)} && for f in {names}; do echo \"@@F $f\"; "
                          f"if [ -f \"$f\" ]; then base64 -w0 \"$f\"; echo; else echo {ABSENT}; fi; done)",
                          timeout=max(self.t.command_timeout, 60))
        current = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("@@F ") and line[4:] in self.paths:
                current = line[4:]
                continue
            if current is not None and current not in out:
                out[current] = None if line == ABSENT else base64.b64decode(line).decode()
        for p in self.paths:
            out.setdefault(p, None)
        return out

    def _apply_line(self, rel: str) -> str:
        cmd = self.apply_cmds.get(rel)
        return cmd.format(path=shlex.quote(self.dev(rel)), root=shlex.quote(self.root)) if cmd else ""

    def _scripts(self, rels: list[str]) -> tuple[str, str]:
        s = self.state
        apply = ["#!/bin/sh", "# countynet: install the new files and apply them; stop at the first refusal"]
        back = ["#!/bin/sh", "# countynet: restore the files saved before the change and apply them"]
        for rel in rels:
            dst, new, prev = (shlex.quote(x) for x in (self.dev(rel), f"{s}/new/{rel}", f"{s}/prev/{rel}"))
            apply.append(f"mkdir -p $(dirname {dst}) && cp {new} {dst} || exit 3")
            line = self._apply_line(rel)
            if line:
                apply.append(f"if ! out=$({line} 2>&1); then echo \"@@REJECTED {rel}: $out\"; exit 4; fi")
            back.append(f"if [ -e {prev}.absent ]; then rm -f {dst}; else cp -p {prev} {dst}; fi")
            if line:
                back.append(f"[ -e {dst} ] && {{ {line} || echo \"@@RESTORE-FAILED {rel}\"; }}")
        back.append(f"touch {shlex.quote(s + '/rolledback')}")
        return "\n".join(apply) + "\n", "\n".join(back) + "\n"

    def apply(self, change: dict[str, str], timer: int) -> str:
        s = shlex.quote(self.state)
        rels = sorted(change)
        keep = []
        for rel in rels:
            src, prev = shlex.quote(self.dev(rel)), shlex.quote(f"{self.state}/prev/{rel}")
            keep.append(f"mkdir -p $(dirname {prev}) && if [ -e {src} ]; then cp -p {src} {prev}; "
                        f"else touch {prev}.absent; fi")
        _, rc = self.sh(f"umask 077 && mkdir -p {s} && chmod 700 {s} && rm -rf {s}/new {s}/prev {s}/confirmed "
                        f"{s}/rolledback && mkdir -p {s}/new {s}/prev && " + " && ".join(keep))
        if rc:
            raise RuntimeError("cannot keep the previous files on the device")
        apply_sh, back_sh = self._scripts(rels)
        watchdog = (f"#!/bin/sh\necho $$ > {s}/watchdog.pid\nsleep {int(timer)}\n"
                    f"[ -e {s}/confirmed ] || sh {s}/rollback.sh > {s}/rollback.log 2>&1\n")
        self.upload_many({**{f"{self.state}/new/{rel}": change[rel] for rel in rels},
                          f"{self.state}/apply.sh": apply_sh, f"{self.state}/rollback.sh": back_sh,
                          f"{self.state}/watchdog.sh": watchdog})
        _, rc = self.sh(f"setsid -f sh {s}/watchdog.sh > /dev/null 2>&1 < /dev/null; "
                        f"for i in $(seq 100); do [ -s {s}/watchdog.pid ] && break; sleep 0.02; done; "
                        f"[ -s {s}/watchdog.pid ]")
        if rc:
            raise RuntimeError("cannot arm the rollback watchdog on the device")
        out, rc = self.sh(f"sh {s}/apply.sh")
        if rc:
            m = re.search(r"@@REJECTED (.*)", out, flags=re.S)
            raise Rejected(m.group(1).split(":")[0] if m else "apply.sh", self.mask(m.group(1) if m else out))
        return out

    def _disarm(self, cleanup: bool = False) -> str:
        s = shlex.quote(self.state)
        extra = f"; rm -rf {s}/prev {s}/new; sync" if cleanup else ""
        out, _ = self.sh(f"touch {s}/confirmed; [ -s {s}/watchdog.pid ] && kill -TERM -- -$(cat {s}/watchdog.pid) "
                         f"2>/dev/null; rm -f {s}/watchdog.pid{extra}; true")
        return out

    def confirm(self) -> str:
        return self._disarm(cleanup=True)

    def abort(self, previous: Any) -> str:
        out = self._disarm()
        s = shlex.quote(self.state)
        text, rc = self.sh(f"sh {s}/rollback.sh")
        if rc or "@@RESTORE-FAILED" in text:
            raise RuntimeError(f"rollback script reported: {self.mask(text.strip()[-200:])}")
        # the staged new files (resolved secrets) and the kept old ones are not needed once restored
        self.sh(f"rm -rf {s}/new {s}/prev; sync")
        return out + text

    def push_plain(self, change: dict[str, str]) -> str:
        out = ""
        for rel in sorted(change):
            self.upload(self.dev(rel), change[rel])
            line = self._apply_line(rel)
            if line:
                text, rc = self.sh(line)
                if rc:
                    raise Rejected(rel, text)
                out += text
        return out

    def save(self) -> str:
        """The files are the saved config; confirm already ran `sync`."""
        return ""

    def ospf_full(self) -> int:
        text, rc = self.sh(f"{self.vtysh} -c 'show ip ospf neighbor json'")
        if rc:
            return 0
        try:
            data = json.loads(text[text.index("{"):])
        except ValueError:
            return 0
        n = 0
        for entries in (data.get("neighbors") or {}).values():
            for e in entries if isinstance(entries, list) else [entries]:
                state = str(e.get("nbrState") or e.get("state") or "")
                n += state.startswith("Full")
        return n

    def bgp_established(self) -> set[str]:
        text, rc = self.sh(f"{self.vtysh} -c 'show bgp summary json'")
        if rc:
            return set()
        try:
            data = json.loads(text[text.index("{"):])
        except ValueError:
            return set()
        peers = (data.get("ipv4Unicast") or {}).get("peers") or {}
        return {p for p, v in peers.items() if v.get("state") == "Established"}

    def ping(self, address: str) -> bool:
        _, rc = self.sh(f"ping -c 1 -W 1 {shlex.quote(address)} > /dev/null 2>&1 || "
                        f"ping -c 3 -i 0.2 -W 1 {shlex.quote(address)} > /dev/null 2>&1")
        return rc == 0
