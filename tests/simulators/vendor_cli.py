"""SSH CLI simulator of Huawei VRP5/VRP8, H3C Comware 7 and Cisco IOS - for tests only.

A paramiko SSH server on 127.0.0.1 that speaks enough of each vendor's CLI to exercise the push engine's
dialogue and error paths: prompts (`<H>`, `[H]`, `[~H]`/`[*H]`, `H#`/`H(config)#`), paging-off commands,
`display current-configuration` / `show running-config`, the vendors' error messages, VRP8 candidate +
`commit` / `commit trial` / `abort trial`, Comware `configuration commit delay`, IOS `configure terminal
revert timer` / `configure confirm` / `configure revert now`, and for VRP5 `save <file>`,
`startup saved-configuration`, `schedule reboot delay` (a reboot loads the next-startup file).
Timer expiry restores the previous running config. Faults: `reject` (regex of lines the simulator
refuses) and `drop_on` (regex of a command after which the session is cut). Minutes are scaled by
`minute` seconds so tests do not wait real minutes. It is a simulator, not a device.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import paramiko

SECTION_RX = {
    "vrp": re.compile(r"^(interface |ospf |area |bgp |ipv4-family|aaa$|acl |user-interface |ike |ipsec |"
                      r"vlan \d+$|nat |dhcp |snmp-agent target|rip |isis |ip pool )"),
    "ios": re.compile(r"^(interface |router |line |ip access-list |crypto |class-map |policy-map |vlan \d+$|"
                      r"archive$|address-family |ip dhcp pool )"),
}
SINGLE = ("description ", "ip address ", "router-id ", "sysname ", "hostname ", "port default vlan ",
          "port access vlan ")
PASSWORD_RX = re.compile(r"^(?:local-user \S+ password \S+ |username \S+ (?:privilege \d+ )?secret )")
ERR = {
    "vrp5": "Error: Unrecognized command found at '^' position.",
    "vrp8": "Error: Unrecognized command found at '^' position.",
    "comware": " % Unrecognized command found at '^' position.",
    "ios": "% Invalid input detected at '^' marker.",
}


@dataclass
class Node:
    text: str
    children: list[Node] = field(default_factory=list)

    def find(self, text: str) -> Node | None:
        return next((c for c in self.children if c.text == text), None)


def parse(text: str) -> Node:
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    for raw in text.splitlines():
        if not raw.strip() or raw.strip() in ("#", "!", "return", "end"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        while stack[-1][0] >= indent:
            stack.pop()
        node = Node(raw.strip())
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root


def lines(node: Node, depth: int = 0) -> list[str]:
    out = []
    for c in node.children:
        out.append(" " * depth + c.text)
        out.extend(lines(c, depth + 1))
    return out


class Device:
    """State shared by every session to one simulated device (so reconnects see timers' effects)."""

    def __init__(self, hostname: str, flavor: str, config: str, *, minute: float = 1.0,
                 ospf_peers: list[tuple[str, str]] | None = None, bgp_peers: list[str] | None = None,
                 reject: str = r"\bbogus\b", drop_on: str | None = None):
        assert flavor in ERR, flavor
        self.hostname, self.flavor, self.minute = hostname, flavor, minute
        self.running = parse(config)
        self.candidate: Node | None = None
        self.snapshot: Node | None = None
        self.timer: threading.Timer | None = None
        self.reboot_timer: threading.Timer | None = None
        self.files: dict[str, str] = {"vrpcfg.zip": self.render()}
        self.startup = "vrpcfg.zip"
        self.saved = 0
        self.reboots = 0
        self.events: list[str] = []
        self.ospf_peers = ospf_peers or []
        self.bgp_peers = bgp_peers or []
        self.reject = re.compile(reject) if reject else None
        self.drop_on = re.compile(drop_on) if drop_on else None
        self.lock = threading.RLock()
        self.sessions: list[Any] = []

    # ----- rendering
    def render(self, node: Node | None = None) -> str:
        node = node or self.running
        if self.flavor == "ios":
            body = []
            for c in node.children:
                body.extend(lines(Node("", [c])))
                body.append("!")
            text = "\n".join(body)
            return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n!\n{text}\nend\n"
        body = []
        for c in node.children:
            body.append("#")
            body.extend(lines(Node("", [c])))
        return "\n".join(body) + "\n#\nreturn\n"

    # ----- timers
    def _arm(self, seconds: float, what: str) -> None:
        self._cancel()
        self.snapshot = copy.deepcopy(self.running)
        self.timer = threading.Timer(seconds, self._expire, args=(what,))
        self.timer.daemon = True
        self.timer.start()
        self.events.append(f"armed {what}")

    def _cancel(self) -> bool:
        had = self.timer is not None
        if self.timer:
            self.timer.cancel()
        self.timer = None
        return had

    def _expire(self, what: str) -> None:
        with self.lock:
            if self.snapshot is not None:
                self.running = self.snapshot
                self.snapshot = None
                self.candidate = None
            self.timer = None
            self.events.append(f"{what} expired: previous running config restored")

    def rollback_now(self, what: str) -> None:
        with self.lock:
            self._cancel()
            if self.snapshot is not None:
                self.running, self.snapshot, self.candidate = self.snapshot, None, None
            self.events.append(f"{what}: rolled back")

    def confirm(self, what: str) -> None:
        self._cancel()
        self.snapshot = None
        self.events.append(f"{what}: confirmed")

    def schedule_reboot(self, minutes: int) -> None:
        self.cancel_reboot()
        self.reboot_timer = threading.Timer(minutes * self.minute, self.reboot)
        self.reboot_timer.daemon = True
        self.reboot_timer.start()

    def cancel_reboot(self) -> bool:
        had = self.reboot_timer is not None
        if self.reboot_timer:
            self.reboot_timer.cancel()
        self.reboot_timer = None
        return had

    def reboot(self) -> None:
        with self.lock:
            self.running = parse(self.files.get(self.startup, ""))
            self.reboot_timer = None
            self.reboots += 1
            self.events.append(f"rebooted into {self.startup}")
            for s in list(self.sessions):
                s.close()

    # ----- checks
    def _interfaces(self) -> list[Node]:
        return [c for c in self.running.children if c.text.startswith("interface ")]

    def _up(self, name: str) -> bool:
        n = self.running.find(f"interface {name}")
        return n is not None and n.find("shutdown") is None

    def reachable(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        for i in self._interfaces():
            if i.find("shutdown") is not None:
                continue
            for c in i.children:
                m = re.match(r"ip address (\S+) (\S+)", c.text)
                if m and ip in ipaddress.ip_interface(f"{m.group(1)}/{m.group(2)}").network and \
                        ip != ipaddress.ip_address(m.group(1)):
                    return True
        return False

    def bgp_up(self, peer: str) -> bool:
        text = "\n".join(lines(self.running))
        return bool(re.search(rf"(?:peer|neighbor) {re.escape(peer)} (?:as-number|remote-as)", text))


class _Server(paramiko.ServerInterface):
    def __init__(self, username: str, password: str):
        self.username, self.password = username, password
        self.shell = threading.Event()

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self.username and password == self.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: Any) -> bool:
        self.shell.set()
        return True


class Session:
    """One CLI session: views, the command interpreter, echo."""

    def __init__(self, dev: Device, chan: Any, transport: Any):
        self.dev, self.chan, self.transport = dev, chan, transport
        self.view = "user"        # user | system (vrp/comware) | config (ios)
        self.stack: list[Node] = []
        self.pending: Any = None  # a [Y/N] question: callable(answer) -> str
        self.closed = False
        self.family = "ios" if dev.flavor == "ios" else "vrp"

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self.transport.close()

    # ----- prompt
    def tree(self) -> Node:
        if self.dev.flavor == "vrp8" and self.view == "system":
            if self.dev.candidate is None:
                self.dev.candidate = copy.deepcopy(self.dev.running)
            return self.dev.candidate
        return self.dev.running

    def prompt(self) -> str:
        h = self.dev.hostname
        if self.family == "ios":
            if self.view == "user":
                return f"{h}#"
            if not self.stack:
                return f"{h}(config)#"
            word = self.stack[-1].text.split()[0]
            return f"{h}(config-{'if' if word == 'interface' else word[:6]})#"
        if self.view == "user":
            return f"<{h}>"
        mark = ""
        if self.dev.flavor == "vrp8":
            pending = self.dev.candidate is not None and lines(self.dev.candidate) != lines(self.dev.running)
            mark = "*" if pending else "~"
        sub = ""
        if self.stack:
            sub = "-" + "-".join(self.stack[-1].text.split()[:2]).replace(" ", "-")
        return f"[{mark}{h}{sub}]"

    # ----- main loop
    def run(self) -> None:
        self.write(f"\r\nInfo: This is the countynet test simulator ({self.dev.flavor}), not a device.\r\n"
                   f"{self.prompt()}")
        buf = ""
        while not self.closed:
            try:
                data = self.chan.recv(4096)
            except Exception:
                break
            if not data:
                break
            text = data.decode(errors="replace")
            buf += text
            self.write(text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n"))
            while True:
                m = re.search(r"\r\n|\n|\r", buf)
                if not m:
                    break
                line, buf = buf[:m.start()], buf[m.end():]
                if m.group() == "\r" and buf.startswith("\n"):
                    buf = buf[1:]
                with self.dev.lock:
                    out = self.handle(line.strip())
                if self.closed:
                    return
                if out == "\x00":   # a [Y/N] question was written; wait for the answer
                    continue
                self.write((out.replace("\n", "\r\n") + "\r\n" if out else "") + self.prompt())
                if self.dev.drop_on and self.dev.drop_on.search(line.strip()):
                    self.dev.events.append(f"session dropped after {line.strip()!r}")
                    self.close()
                    return

    def write(self, s: str) -> None:
        try:
            self.chan.sendall(s.encode())
        except Exception:
            self.closed = True

    def error(self) -> str:
        return "                ^\n" + ERR[self.dev.flavor]

    # ----- interpreter
    def handle(self, line: str) -> str:
        if self.pending is not None:
            fn, self.pending = self.pending, None
            return str(fn(line.lower()))
        if not line:
            return ""
        if self.view == "user":
            return self.exec_cmd(line)
        return self.config_cmd(line)

    def ask(self, question: str, fn: Any) -> str:
        self.pending = fn
        self.write(question)
        return "\x00"

    def exec_cmd(self, line: str) -> str:
        d = self.dev
        words = line.split()
        if line in ("screen-length 0 temporary", "screen-length disable"):
            return "Info: The configuration takes effect on the current user terminal interface only."
        if line in ("terminal length 0", "terminal width 511", "terminal no monitor"):
            return ""
        if line in ("display current-configuration", "show running-config"):
            want = "display" if self.family == "vrp" else "show"
            if not line.startswith(want):
                return self.error()
            return d.render().rstrip("\n")
        if self.family == "vrp" and line == "system-view":
            self.view = "system"
            return "Enter system view, return user view with return command."
        if self.family == "ios" and line.startswith("configure terminal"):
            m = re.fullmatch(r"configure terminal(?: revert timer (\d+))?", line)
            if not m:
                return self.error()
            if m.group(1):
                d._arm(int(m.group(1)) * d.minute, "revert timer")
            self.view = "config"
            return "Enter configuration commands, one per line.  End with CNTL/Z."
        if self.family == "ios" and line == "configure confirm":
            d.confirm("configure confirm")
            return ""
        if self.family == "ios" and line == "configure revert now":
            d.rollback_now("configure revert now")
            return "Rollback Done"
        if line in ("write memory", "save force"):
            d.files[d.startup] = d.render()
            d.saved += 1
            return "[OK]" if self.family == "ios" else "Configuration is saved to device successfully."
        if d.flavor in ("vrp5", "vrp8") and words[0] == "save" and len(words) <= 2:
            name = words[1] if len(words) == 2 else d.startup

            def do_save(ans: str) -> str:
                if ans.startswith("y"):
                    d.files[name.split("/")[-1]] = d.render()
                    d.saved += 1
                    return "Info: Save the configuration successfully."
                return ""
            return self.ask("Warning: The current configuration will be written to the device. Continue? "
                            "[Y/N]:", do_save)
        if d.flavor == "vrp5" and line == "display startup":
            return (f"MainBoard:\n  Configured startup system software:        flash:/vrp.cc\n"
                    f"  Startup saved-configuration file:          flash:/vrpcfg.zip\n"
                    f"  Next startup saved-configuration file:     flash:/{d.startup}")
        if d.flavor == "vrp5" and line.startswith("startup saved-configuration "):
            name = words[2].split("/")[-1]
            if name not in d.files:
                return "Error: The file does not exist."
            d.startup = name
            return ""
        if d.flavor == "vrp5" and line.startswith("schedule reboot delay "):
            m = re.fullmatch(r"schedule reboot delay (\d{1,2}):(\d{2})", line)
            if not m:
                return self.error()
            mins = int(m.group(1)) * 60 + int(m.group(2))

            def do_sched(ans: str) -> str:
                if ans.startswith("y"):
                    d.schedule_reboot(mins)
                return ""
            return self.ask(f"Info: Reboot system after {mins} minute(s). Confirm? [Y/N]:", do_sched)
        if d.flavor == "vrp5" and line == "undo schedule reboot":
            d.cancel_reboot()
            return "Info: The scheduled reboot has been cancelled."
        if line.startswith(("display ospf peer", "show ip ospf neighbor")):
            return self.show_ospf()
        if line.startswith(("display bgp peer", "show ip bgp summary")):
            return self.show_bgp()
        if words[0] == "ping" and len(words) >= 2:
            return self.ping(words)
        if line in ("quit", "exit", "logout"):
            self.close()
            return ""
        if line == "return":
            return ""
        return self.error()

    def config_cmd(self, line: str) -> str:
        d = self.dev
        exit_word = "exit" if self.family == "ios" else "quit"
        if line == exit_word:
            if self.stack:
                self.stack.pop()
            else:
                self.view = "user"
            return ""
        if line in ("return", "end"):
            if d.flavor == "vrp8" and d.candidate is not None and lines(d.candidate) != lines(d.running):
                def leave(ans: str) -> str:
                    if ans.startswith("y"):
                        d.running, d.candidate = d.candidate, None
                    elif ans.startswith("n"):
                        d.candidate = None
                    else:
                        return ""
                    self.view, self.stack = "user", []
                    return ""
                return self.ask("Warning: Uncommitted configurations found. Are you sure to commit them before "
                                "exiting? [Y(yes)/N(no)/C(cancel)]:", leave)
            if d.flavor == "vrp8":
                d.candidate = None
            self.view, self.stack = "user", []
            return ""
        if d.flavor == "vrp8" and not self.stack:
            m = re.fullmatch(r"commit(?: trial (\d+))?", line)
            if m:
                cand = self.tree()
                if m.group(1):
                    d._arm(int(m.group(1)) * d.minute / 60, "commit trial")
                    d.running = copy.deepcopy(cand)
                else:
                    if d.timer is not None:
                        d.confirm("commit")
                    d.running = copy.deepcopy(cand)
                d.candidate = None
                return ""
            if line == "abort trial":
                d.rollback_now("abort trial")
                return "Info: The trial has been aborted."
            if line == "clear configuration candidate":
                d.candidate = None
                return ""
            if line == "display configuration candidate changes":
                return "\n".join(lines(self.tree()))
        if d.flavor == "comware" and not self.stack:
            m = re.fullmatch(r"configuration commit delay (\d+)", line)
            if m:
                d._arm(int(m.group(1)) * d.minute, "configuration commit delay")
                return ""
            if line == "configuration commit":
                d.confirm("configuration commit")
                return ""
        if d.reject and d.reject.search(line):
            return self.error()
        self.set_line(line)
        return ""

    def set_line(self, line: str) -> None:
        parent = self.stack[-1] if self.stack else self.tree()
        neg = "no " if self.family == "ios" else "undo "
        if line.startswith(neg):
            body = line[len(neg):]
            for c in list(parent.children):
                if c.text == body or c.text.startswith(body + " "):
                    parent.children.remove(c)
                    break
            return
        if SECTION_RX[self.family].match(line):
            node = parent.find(line)
            if node is None:
                node = Node(line)
                parent.children.append(node)
            self.stack.append(node)
            return
        for key in SINGLE:
            if line.startswith(key):
                parent.children[:] = [c for c in parent.children if not c.text.startswith(key)]
        m = PASSWORD_RX.match(line)   # a user's new password replaces the old one, as on the devices
        if m:
            parent.children[:] = [c for c in parent.children if not c.text.startswith(m.group(0))]
        if parent.find(line) is None:
            parent.children.append(Node(line))

    def show_ospf(self) -> str:
        """The neighbour table in each vendor's layout (parsed by countynet.deploy.postcheck)."""
        d = self.dev
        up = [(iface, rid) for iface, rid in d.ospf_peers if d._up(iface)]
        if self.family == "ios":
            rows = ["Neighbor ID     Pri   State           Dead Time   Address         Interface"]
            rows += [f"{rid:<15}   0   FULL/  -        00:00:33    10.9.9.9        {iface}" for iface, rid in up]
            return "\n".join(rows)
        if d.flavor == "comware":
            rows = ["         OSPF Process 1 with Router ID 10.0.0.1", "               Neighbor Brief Information",
                    "", " Area: 0.0.0.0",
                    " Router ID       Address         Pri Dead-Time  State             Interface"]
            rows += [f" {rid:<15} 10.9.9.9        1   37         Full/BDR          {iface}" for iface, rid in up]
            return "\n".join(rows)
        rows = ["          OSPF Process 1 with Router ID 10.0.0.1", "                   Peer Statistic Information",
                " Area Id          Interface                        Neighbor id      State"]
        rows += [f" 0.0.0.0          {iface:<32} {rid:<16} Full" for iface, rid in up]
        rows.append(f" Total Peer(s):     {len(up)}")
        return "\n".join(rows)

    def show_bgp(self) -> str:
        d = self.dev
        est = sum(1 for p in d.bgp_peers if d.bgp_up(p))
        if self.family == "ios":
            rows = ["BGP router identifier 10.0.0.1, local AS number 65001",
                    "BGP table version is 5, main routing table version 5", "",
                    "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd"]
            for p in d.bgp_peers:
                st = "3" if d.bgp_up(p) else "Idle"
                rows.append(f"{p:<15} 4        65000      10      12        5    0    0 00:05:00 {st:>8}")
            return "\n".join(rows)
        if d.flavor == "comware":
            rows = [" BGP local router ID: 10.0.0.1", " Local AS number: 65001",
                    f" Total number of peers: {len(d.bgp_peers)}                  Peers in established state: {est}",
                    "", "  * - Dynamically created peer",
                    "  Peer                    AS  MsgRcvd  MsgSent OutQ PrefRcv Up/Down  State", ""]
            for p in d.bgp_peers:
                st = "Established" if d.bgp_up(p) else "Idle"
                rows.append(f"  {p:<15}      65000       10       12    0       3 00:05:00 {st}")
            return "\n".join(rows)
        rows = [" BGP local router ID : 10.0.0.1", " Local AS number : 65001",
                f" Total number of peers : {len(d.bgp_peers)}                 Peers in established state : {est}",
                "", "  Peer            V          AS  MsgRcvd  MsgSent  OutQ  Up/Down       State  PrefRcv", ""]
        for p in d.bgp_peers:
            st = "Established" if d.bgp_up(p) else "Idle"
            rows.append(f"  {p:<15} 4       65000       10       12     0 00:05:00 {st:>11}        3")
        return "\n".join(rows)

    def ping(self, words: list[str]) -> str:
        addr = next((w for w in words[1:] if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w)), None)
        if addr is None:
            return self.error()
        ok = self.dev.reachable(addr)
        if self.family == "ios":
            return (f"Type escape sequence to abort.\nSending 2, 100-byte ICMP Echos to {addr}, timeout is 2 seconds:\n"
                    f"{'!!' if ok else '..'}\nSuccess rate is {100 if ok else 0} percent ({2 if ok else 0}/2)")
        if self.dev.flavor == "comware":
            return (f"Ping {addr} ({addr}): 56 data bytes, press CTRL_C to break\n\n"
                    f"--- Ping statistics for {addr} ---\n"
                    f"2 packet(s) transmitted, {2 if ok else 0} packet(s) received, {0 if ok else 100}.0% packet loss")
        return (f"  PING {addr}: 56  data bytes, press CTRL_C to break\n  --- {addr} ping statistics ---\n"
                f"    2 packet(s) transmitted\n    {2 if ok else 0} packet(s) received\n"
                f"    {0 if ok else 100}.00% packet loss")


class Simulator:
    """A listening simulator for one Device on 127.0.0.1:<port>; start() / stop()."""

    _KEY: paramiko.RSAKey | None = None

    def __init__(self, device: Device, username: str = "netadmin", password: str = "sim-pass"):
        if Simulator._KEY is None:
            Simulator._KEY = paramiko.RSAKey.generate(2048)
        self.key = Simulator._KEY
        self.device, self.username, self.password = device, username, password
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.threads: list[threading.Thread] = []

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n"

    def start(self) -> Simulator:
        self.sock.listen(16)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self) -> None:
        self.stopping = True
        self.device._cancel()
        self.device.cancel_reboot()
        for s in list(self.device.sessions):
            s.close()
        with contextlib.suppress(OSError):   # shutdown wakes the accept() thread; close() alone would not
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.key)
        server = _Server(self.username, self.password)
        try:
            transport.start_server(server=server)
            chan = transport.accept(10)
            if chan is None or not server.shell.wait(10):
                transport.close()
                return
        except Exception:
            transport.close()
            return
        s = Session(self.device, chan, transport)
        self.device.sessions.append(s)
        try:
            s.run()
        finally:
            if s in self.device.sessions:
                self.device.sessions.remove(s)
            s.close()
