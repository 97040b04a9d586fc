"""Network OS drivers over Netmiko: Huawei VRP5 / VRP8, H3C Comware 7, Cisco IOS / IOS-XE.

Each arms the platform's own automatic way back before the first changed line:
- VRP8: candidate + `commit trial <s>`; confirm with `commit`; explicit rollback `abort trial`.
- Comware: `configuration commit delay <min>` in system view; confirm `configuration commit`.
- IOS: `configure terminal revert timer <min>`; confirm `configure confirm`; explicit `configure revert now`.
- VRP5 (no two-phase commit): save the running config to `countynet-rollback.cfg`, make it the next
  startup file, `schedule reboot delay HH:MM`; the confirm step cancels the reboot (`undo schedule reboot`),
  restores the original startup file and saves. A lost session means the device reboots into the saved
  pre-change config (see docs/deploy.md).
Explicit rollbacks without a native command replay the hier_config remediation back to the old config.
"""

from __future__ import annotations

import math
import re
from typing import Any

from countynet import platforms
from countynet.deploy import postcheck
from countynet.deploy.diff import remediation
from countynet.deploy.drivers.base import Driver, Rejected

YN_RX = r"\[[Yy](?:\(yes\))?/[Nn](?:\(no\))?(?:/[Cc](?:\(cancel\))?)?\]\s*:?\s*$"
ROLLBACK_FILE = "countynet-rollback.cfg"


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


class CliDriver(Driver):
    show_run = "display current-configuration"
    error_rx = re.compile(r"^\s*Error:.*$", re.M)
    enter = "system-view"
    leave = "return"
    logout = "quit"

    def __init__(self, target: Any, conn: Any):
        super().__init__(target, conn)
        bp = re.escape(conn.base_prompt)
        self.prompt_rx = rf"(?:<{bp}>|\[[~*]?{bp}(?:-[^\]\r\n]*)?\])\s*$"

    # ----- dialogue helpers
    def cmd(self, command: str, timeout: float | None = None) -> str:
        out: str = self.conn.send_command(command, expect_string=self.prompt_rx,
                                          read_timeout=timeout or self.t.command_timeout,
                                          strip_prompt=True, strip_command=True)
        return out

    def cmd_yn(self, command: str, answer: str = "y") -> str:
        out: str = self.conn.send_command(command, expect_string=rf"(?:{YN_RX}|{self.prompt_rx})",
                                          read_timeout=self.t.command_timeout, strip_prompt=False,
                                          strip_command=True)
        if re.search(YN_RX, out):
            out += self.cmd(answer)
        return out

    def config_lines(self, commands: list[str]) -> str:
        out = ""
        for line in commands:
            got = self.cmd(line)
            out += got
            if self.error_rx.search(got):
                raise Rejected(self.mask(line), self.mask(got))
        return out

    def fetch_running(self) -> str:
        out = self.cmd(self.show_run, timeout=max(self.t.command_timeout, 60))
        # without command echo verification (Comware) the echo and a prompt fragment may lead the output
        return "\n".join(line for line in out.splitlines() if not line.rstrip().endswith(self.show_run))

    def replay_back(self, previous: str) -> str:
        """Explicit rollback by remediation: whatever is running now -> `previous`."""
        rem = remediation(self.t.device_type, self.fetch_running(), previous, from_backup=True)
        if not rem.commands:
            return ""
        out = self.cmd(self.enter)
        for line in rem.commands:
            out += self.cmd(line)
        return out + self.cmd(self.leave)

    def push_plain(self, change: list[str]) -> str:
        out = self.cmd(self.enter)
        try:
            out += self.config_lines(change)
        finally:
            out += self.cmd(self.leave)
        return out

    # ----- post-checks (countynet.deploy.postcheck parses; output it cannot read counts as a failed check)
    ospf_cmd = "display ospf peer brief"
    bgp_cmd = "display bgp peer"

    @property
    def platform(self) -> str:
        """The ntc-templates platform name the post-checks parse this device's output under (its flavour's
        `tools.ntc_templates` in countynet/platforms)."""
        name = platforms.lookup(self.t.device_type).tools.ntc_templates
        if name is None:
            raise postcheck.Unparsed(f"{self.t.device_type}: no ntc-templates platform in its flavour")
        return name

    def ospf_full(self) -> int:
        try:
            return postcheck.ospf_full(self.platform, self.cmd(self.ospf_cmd))
        except postcheck.Unparsed:
            return 0

    def bgp_established(self) -> set[str]:
        try:
            return postcheck.bgp_established(self.platform, self.cmd(self.bgp_cmd))
        except postcheck.Unparsed:
            return set()

    def ping_cmd(self, address: str) -> str:
        return f"ping -c 2 {address}"

    def ping(self, address: str) -> bool:
        out = self.cmd(self.ping_cmd(address), timeout=max(self.t.command_timeout, 20))
        try:
            return postcheck.ping_ok(self.platform, out)
        except postcheck.Unparsed:
            return False


class Vrp8Driver(CliDriver):
    """Huawei VRP8: two-phase commit with `commit trial`."""

    def _discard(self) -> str:
        """Drop the uncommitted candidate from whatever view a rejected line left us in: `return` asks
        "Uncommitted configurations found. Are you sure to commit them before exiting? [Y/N/C]", answered N
        (`clear configuration candidate` is a system-view command and would be refused in a sub-view)."""
        return self.cmd_yn(self.leave, "n")

    def apply(self, change: list[str], timer: int) -> str:
        out = self.cmd(self.enter)
        try:
            out += self.config_lines(change)
        except Rejected:
            self._discard()
            raise
        got = self.cmd(f"commit trial {timer}")
        if self.error_rx.search(got):
            self._discard()
            raise Rejected(f"commit trial {timer}", self.mask(got))
        return out + got + self.cmd(self.leave)

    def confirm(self) -> str:
        return self.cmd(self.enter) + self.cmd("commit") + self.cmd(self.leave)

    def abort(self, previous: str) -> str:
        return self.cmd(self.enter) + self.cmd("abort trial") + self.cmd(self.leave)

    def push_plain(self, change: list[str]) -> str:
        out = self.cmd(self.enter)
        try:
            out += self.config_lines(change)
        except Rejected:
            self._discard()
            raise
        return out + self.cmd("commit") + self.cmd(self.leave)

    def replay_back(self, previous: str) -> str:
        rem = remediation(self.t.device_type, self.fetch_running(), previous, from_backup=True)
        if not rem.commands:
            return ""
        return self.push_plain(rem.commands)

    def save(self) -> str:
        return self.cmd_yn("save")


class Vrp5Driver(CliDriver):
    """Huawei VRP5: no two-phase commit; the guard is a saved rollback file + a scheduled reboot into it."""

    startup = ""

    def _arm(self, timer: int) -> str:
        out = self.cmd("display startup")
        m = re.search(r"Next startup saved-configuration file:\s*(\S+)", out)
        self.startup = m.group(1) if m and m.group(1) != "NULL" else "vrpcfg.zip"
        out += self.cmd_yn(f"save {ROLLBACK_FILE}")
        out += self.cmd(f"startup saved-configuration {ROLLBACK_FILE}")
        mins = minutes(timer)
        out += self.cmd_yn(f"schedule reboot delay {mins // 60:02d}:{mins % 60:02d}")
        if self.error_rx.search(out):
            self._disarm()
            raise Rejected("rollback guard (save / startup / schedule reboot)", self.mask(out))
        return out

    def _disarm(self) -> str:
        out = self.cmd_yn("undo schedule reboot")
        if self.startup:
            out += self.cmd(f"startup saved-configuration {self.startup}")
        return out

    def apply(self, change: list[str], timer: int) -> str:
        out = self._arm(timer)
        out += self.cmd(self.enter)
        try:
            out += self.config_lines(change)
        finally:
            out += self.cmd(self.leave)
        return out

    def confirm(self) -> str:
        return self._disarm()

    def abort(self, previous: str) -> str:
        out = self.replay_back(previous)
        return out + self._disarm()

    def save(self) -> str:
        return self.cmd_yn("save")


class ComwareDriver(CliDriver):
    """H3C Comware 7: `configuration commit delay` arms a rollback to the config at arming time."""

    error_rx = re.compile(r"^\s*% ?(?:Unrecognized|Incomplete|Too many|Wrong|Ambiguous).*$", re.M)
    ospf_cmd = "display ospf peer"
    bgp_cmd = "display bgp peer ipv4"

    def apply(self, change: list[str], timer: int) -> str:
        out = self.cmd(self.enter)
        got = self.cmd(f"configuration commit delay {minutes(timer)}")
        if self.error_rx.search(got):
            self.cmd(self.leave)
            raise Rejected(f"configuration commit delay {minutes(timer)}", self.mask(got))
        try:
            out += got + self.config_lines(change)
        finally:
            out += self.cmd(self.leave)
        return out

    def confirm(self) -> str:
        return self.cmd(self.enter) + self.cmd("configuration commit") + self.cmd(self.leave)

    def abort(self, previous: str) -> str:
        return self.replay_back(previous) + self.confirm()

    def save(self) -> str:
        return self.cmd("save force")


class IosDriver(CliDriver):
    """Cisco IOS / IOS-XE: `configure terminal revert timer` (needs `archive`), `configure confirm`."""

    show_run = "show running-config"
    error_rx = re.compile(r"^\s*% ?(?:Invalid input|Incomplete command|Ambiguous command).*$", re.M)
    enter = "configure terminal"
    leave = "end"
    logout = "exit"

    def __init__(self, target: Any, conn: Any):
        super().__init__(target, conn)
        bp = re.escape(conn.base_prompt)
        self.prompt_rx = rf"{bp}[\w.-]*(?:\([^)\r\n]*\))?#\s*$"

    def apply(self, change: list[str], timer: int) -> str:
        got = self.cmd(f"configure terminal revert timer {minutes(timer)}")
        if self.error_rx.search(got):
            self.cmd(self.leave)
            raise Rejected(f"configure terminal revert timer {minutes(timer)}", self.mask(got))
        try:
            out = got + self.config_lines(change)
        finally:
            self.cmd(self.leave)
        return out

    def confirm(self) -> str:
        return self.cmd("configure confirm")

    def abort(self, previous: str) -> str:
        return self.cmd("configure revert now")

    def save(self) -> str:
        return self.cmd("write memory")

    ospf_cmd = "show ip ospf neighbor"
    bgp_cmd = "show ip bgp summary"

    def ping_cmd(self, address: str) -> str:
        return f"ping {address} repeat 2"
