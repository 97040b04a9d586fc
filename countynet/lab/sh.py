"""Small process helpers: run a command, run `ip -batch` in a namespace, enter a namespace in-process."""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000


class LabError(RuntimeError):
    """A lab step failed; the message names the step and the command's error output."""


def run(cmd: Sequence[str], check: bool = True, input: str | None = None, timeout: float = 60) -> str:
    p = subprocess.run(list(cmd), input=input, capture_output=True, text=True, timeout=timeout, check=False)
    if check and p.returncode != 0:
        raise LabError(f"{' '.join(cmd[:6])}...: {(p.stderr or p.stdout).strip()[:800]}")
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
