"""Driver interface and the connection helper shared by all platforms."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DeployError(Exception):
    """Base of the errors a driver raises on purpose."""


class Unreachable(DeployError):
    pass


class AuthFailed(DeployError):
    pass


class Rejected(DeployError):
    """The device refused a command; `line` is the command (masked by the caller)."""

    def __init__(self, line: str, output: str):
        rows = [r.strip() for r in output.splitlines() if r.strip() and r.strip() != "^"]
        errs = [r for r in rows if "error" in r.lower() or r.startswith("%")]
        why = (errs or rows or [""])[0]
        super().__init__(f"device rejected {line!r}: {why}")
        self.line = line
        self.output = output


@dataclass
class Target:
    """Everything needed to open a session to one device."""

    host: str
    address: str
    port: int
    device_type: str
    username: str | None
    password: str | None = None
    key_file: str | None = None
    known_hosts: Path | None = None
    insecure: bool = False
    conn_timeout: float = 10.0
    command_timeout: float = 30.0
    data: dict[str, Any] = field(default_factory=dict)


def connect(t: Target) -> Any:
    """A Netmiko session; Unreachable / AuthFailed for the two faults engineers must tell apart."""
    from netmiko import ConnectHandler  # imported on the first session: deploy answers input errors at once
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
    from paramiko.ssh_exception import SSHException

    params: dict[str, Any] = {
        "device_type": t.device_type, "host": t.address, "port": t.port, "username": t.username or "",
        "password": t.password or "", "conn_timeout": t.conn_timeout, "auth_timeout": t.conn_timeout,
        "banner_timeout": t.conn_timeout, "timeout": t.command_timeout, "fast_cli": True,
        "allow_agent": False, "system_host_keys": False,
    }
    if t.key_file:
        params.update(use_keys=True, key_file=t.key_file)
    if t.insecure:
        params["ssh_strict"] = False
    else:
        if t.known_hosts is None or not t.known_hosts.exists():
            raise AuthFailed(f"known_hosts file {t.known_hosts} not found (use --known-hosts, or --insecure in a lab)")
        params.update(ssh_strict=True, alt_host_keys=True, alt_key_file=str(t.known_hosts))
    try:
        return ConnectHandler(**params)
    except NetmikoAuthenticationException as exc:
        raise AuthFailed(f"authentication failed for {t.username!r}: {_first_line(exc)}") from None
    except NetmikoTimeoutException as exc:
        if "known_hosts" in str(exc) or "host key" in str(exc).lower():
            raise AuthFailed(f"host key of {t.address}:{t.port} not trusted: "
                             f"{str(exc).strip().splitlines()[-1]}") from None
        raise Unreachable(f"no SSH session to {t.address}:{t.port}: {_first_line(exc)}") from None
    except SSHException as exc:
        text = str(exc)
        if "known_hosts" in text or "host key" in text.lower():
            raise AuthFailed(f"host key of {t.address} not trusted: {text}") from None
        raise Unreachable(f"SSH to {t.address}:{t.port} failed: {text}") from None
    except (TimeoutError, OSError, EOFError) as exc:
        raise Unreachable(f"no SSH session to {t.address}:{t.port}: {exc}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Driver:
    """One device's dialogue. Subclasses implement the platform's commands."""

    kind = "cli"   # "cli" (hier_config remediation) or "files" (Linux)

    def __init__(self, target: Target, conn: Any):
        self.t = target
        self.conn = conn
        self.mask: Callable[[str], str] = lambda text: text   # the engine sets SecretStore.mask
        self.paths: list[str] = []                            # managed files (Linux)

    # --- reading
    def fetch_running(self) -> Any:
        raise NotImplementedError

    # --- changing
    def apply(self, change: Any, timer: int) -> str:
        """Arm the automatic rollback (timer in seconds), apply; raise Rejected on a refused line."""
        raise NotImplementedError

    def confirm(self) -> str:
        raise NotImplementedError

    def abort(self, previous: Any) -> str:
        """Roll back now to `previous` (the running config before apply) and disarm the timer."""
        raise NotImplementedError

    def save(self) -> str:
        raise NotImplementedError

    def push_plain(self, change: Any) -> str:
        """Apply without a timer (used by `rollback`, which restores a known-good config)."""
        raise NotImplementedError

    # --- post-checks
    def ospf_full(self) -> int:
        raise NotImplementedError

    def bgp_established(self) -> set[str]:
        raise NotImplementedError

    def ping(self, address: str) -> bool:
        raise NotImplementedError

    def alive(self) -> bool:
        try:
            return bool(self.conn.find_prompt())
        except Exception:
            return False

    logout = "exit"

    def close(self) -> None:
        """Log out and close. Our dialogue always ends in user view, so skip Netmiko's slower cleanup
        (config-mode probing) and just send the logout command."""
        with contextlib.suppress(Exception):
            self.conn.write_channel(self.logout + self.conn.RETURN)
        with contextlib.suppress(Exception):
            self.conn.paramiko_cleanup()


IP_RX = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")
