"""Small process helpers: run a command, run `ip -batch` in a namespace, enter a namespace in-process."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000


class LabError(RuntimeError):
    """A lab step failed; the message names the step and the command's error output."""


# strongSwan's tools list every plugin they could not load before the real error: noise in a message
_NOISE = re.compile(r"^plugin '[^']+': failed to load .*$\n?", re.M)


def run(cmd: Sequence[str], check: bool = True, input: str | None = None, timeout: float = 60) -> str:
    p = subprocess.run(list(cmd), input=input, capture_output=True, text=True, timeout=timeout, check=False)
    if check and p.returncode != 0:
        why = _NOISE.sub("", p.stderr or p.stdout).strip() or (p.stderr or p.stdout).strip()
        raise LabError(f"{' '.join(cmd[:6])}...: {why[:800]}")
    return p.stdout


def swanctl(run_dir: str | os.PathLike[str], *args: str, check: bool = True, timeout: float = 60) -> str:
    """swanctl against the charon whose vici socket is `<run_dir>/charon.vici`. The socket is named relative
    to run_dir (the command runs there): an absolute path to a lab directory deep in /tmp can exceed the
    108 bytes an AF_UNIX address holds, and then the connection fails with "No such file or directory"."""
    cmd = ["swanctl", *args, "--uri", "unix://charon.vici"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=run_dir)
    if check and p.returncode != 0:
        why = _NOISE.sub("", p.stderr or p.stdout).strip() or (p.stderr or p.stdout).strip()
        raise LabError(f"{' '.join(cmd[:4])} (in {run_dir}): {why[:800]}")
    return p.stdout


def ip_batch(lines: list[str], ns: str | None = None) -> None:
    """Run ip commands in one process (`ip [-n NS] -batch -`); stops at the first error."""
    if not lines:
        return
    cmd = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
    run(cmd, input="\n".join(lines) + "\n")


def nsexec(ns: str, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *cmd]


_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(ns: str) -> None:
    """Move the CALLING THREAD into network namespace `ns` (sockets it opens afterwards live there)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {ns}: {os.strerror(err)}")
    finally:
        os.close(fd)
