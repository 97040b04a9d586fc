"""A copy of every audit record to the syslog servers: RFC 5424 over UDP (RFC 5426), one datagram each.

Written by hand on purpose: the standard library's SysLogHandler sends the old BSD (RFC 3164) format, and
the few lines of RFC 5424 framing do not justify a dependency. Sending is fire-and-forget (UDP); a
server that cannot be resolved is skipped with a warning in the returned list, never an exception, so a
syslog outage never stops a rollout (the local hash-chained log is the record of truth).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterable

FACILITY_LOCAL0 = 16
SEVERITY = {"info": 6, "notice": 5, "warning": 4}
APP = "countynet-deploy"
MAX_DATAGRAM = 8192


def parse_server(text: str, default_port: int = 514) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def format_5424(msg: str, severity: str = "info", msgid: str = "audit", hostname: str | None = None,
                when: dt.datetime | None = None) -> bytes:
    """One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - BOM MSG` (UTF-8, no structured data)."""
    import os

    pri = FACILITY_LOCAL0 * 8 + SEVERITY[severity]
    stamp = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-")[:255]
    head = f"<{pri}>1 {stamp} {host} {APP} {os.getpid()} {msgid} - ".encode("ascii", "replace")
    data = head + b"\xef\xbb\xbf" + msg.encode("utf-8")
    return data[:MAX_DATAGRAM]


def send(servers: Iterable[str], msg: str, severity: str = "info") -> list[str]:
    """Send `msg` to every server (`host[:port]`); returns warnings for servers it could not send to."""
    data = format_5424(msg, severity)
    warnings = []
    for srv in servers:
        try:
            host, port = parse_server(srv)
            for family, kind, proto, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM):
                with socket.socket(family, kind, proto) as s:
                    s.sendto(data, addr)
                break
        except (OSError, ValueError) as exc:
            warnings.append(f"syslog {srv}: {exc}")
    return warnings
