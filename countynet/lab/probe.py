"""Policy probes with real packets: listeners in destination namespaces, connects/pings from probe hosts.

The flows are the build's probe matrix (`build/policy/flows.json`, the same flows `verify --offline` and
Batfish check) and the results are :class:`countynet.outputs.flows.Verdict`s in the same vocabulary.

A flow is observed `allowed` when the TCP connect / UDP echo / ping succeeds from the source probe. It is
observed `denied` only when the same listener answers a local check inside the destination namespace (so
the drop is proven to be on the path, not a dead listener; a dead listener is an `error`). A flow whose
ends are not in the lab's scope is `unproven`. Everything runs in threads that enter the namespaces with
setns(2): no process per probe.
"""

from __future__ import annotations

import ipaddress
import json
import selectors
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from countynet.lab.plan import CITY_HOST_NS, INET_HOST_NS, ns_of
from countynet.lab.sh import enter_netns, nsexec
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import ALLOWED, DENIED, UNPROVEN, Flow, Verdict
from countynet.outputs.probes import Probe
from countynet.outputs.reports import write_verdict_report

TIMEOUT = 1.5
MATRIX = "policy/flows.json"


def _in_threads(one: Callable[[int], None], n: int, timeout: float = 60) -> None:
    """Run `one(0)` .. `one(n - 1)` each in its own thread; wait up to `timeout` s for each (a hung one is left)."""
    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


def load_flows(build: BuildReader) -> tuple[list[Flow], str]:
    """The build's probe matrix (checked against its manifest) and where it came from."""
    return build.flows(), f"{build.dir}/{MATRIX}"


# ---------------------------------------------------------------------------------------------- listeners
class Listeners:
    """TCP/UDP listeners inside destination namespaces, for the duration of a probe run: on 0.0.0.0, or on
    each of the namespace's addresses when a real service (sshd on the management address) holds the port."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def add(self, ns: str, proto: str, port: int, addrs: list[str]) -> None:
        ready = threading.Event()
        t = threading.Thread(target=self._serve, args=(ns, proto, port, addrs, ready), daemon=True)
        t.start()
        ready.wait(5)
        self.threads.append(t)

    @staticmethod
    def _bind(proto: str, addr: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        if proto == "tcp":
            s.listen(64)
        s.setblocking(False)
        return s

    def _serve(self, ns: str, proto: str, port: int, addrs: list[str], ready: threading.Event) -> None:
        socks: list[socket.socket] = []
        try:
            enter_netns(ns)
            if proto == "udp" and addrs:
                # one socket per address: a UDP socket bound to 0.0.0.0 answers from the interface's primary
                # address, not from the address the datagram was sent to; a stand-in that was lent a server's
                # address (a secondary one) would then answer as itself, and the path's filters, which admit
                # the server's replies only, drop the answer (the NTP/AAA stand-in disagreement)
                for a in addrs:
                    try:
                        socks.append(self._bind(proto, a, port))
                    except OSError as exc:  # a real service holds it there: that address is not ours to test
                        self.errors.append(f"{ns} {proto}/{port} on {a}: {exc}")
            else:
                try:
                    socks.append(self._bind(proto, "0.0.0.0", port))
                except OSError:
                    socks += [self._bind(proto, a, port) for a in addrs]
        except OSError as exc:
            self.errors.append(f"{ns} {proto}/{port}: {exc}")
        ready.set()
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while socks and not self.stop.is_set():
            for key, _ in sel.select(0.2):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    if proto == "tcp":
                        c, _ = sock.accept()
                        c.close()
                    else:
                        data, peer = sock.recvfrom(2048)
                        sock.sendto(data, peer)
                except OSError:
                    continue
        for s in socks:
            s.close()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(2)


def ns_addresses(ns: str) -> list[str]:
    """IPv4 addresses of a namespace, without loopback-net and management addresses."""
    data = json.loads(subprocess.run(["ip", "-n", ns, "-j", "-4", "addr"], capture_output=True, text=True,
                                     check=False).stdout or "[]")
    return [a["local"] for link in data if link.get("ifname") != "mgmt0" for a in link.get("addr_info", [])
            if not a["local"].startswith("127.")]


# ---------------------------------------------------------------------------------------------- probes
def _attempt(ns: str, proto: str, addr: str, port: int | None, out: list[str], bind: str | None,
             sport: int = 0) -> None:
    """Run in its own thread: enter `ns`, try the flow once (from `bind`:`sport` when given), append 'allow' or
    'deny: <why>'."""
    try:
        if proto == "icmp":
            src = ["-I", bind] if bind else []
            p = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", str(int(TIMEOUT + 0.5)), *src,
                                addr], capture_output=True, check=False)
            out.append("allow" if p.returncode == 0 else "deny: no echo reply")
            return
        enter_netns(ns)
        assert port is not None
        if proto == "tcp":
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                if bind or sport:
                    # a fixed source port: the probe is the packet the engine chose. Closed with a reset (linger 0),
                    # so no TIME_WAIT keeps the same four-tuple from being probed again
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((bind or "0.0.0.0", sport))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.settimeout(TIMEOUT)
                s.connect((addr, port))
                out.append("allow")
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                if bind or sport:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((bind or "0.0.0.0", sport))
                s.settimeout(TIMEOUT)
                # connected: the kernel hands the answer to the socket whose four-tuple it matches, even when
                # other probes share the source address and port
                s.connect((addr, port))
                s.send(b"countynet-probe")
                s.recv(2048)
                out.append("allow")
    except TimeoutError:
        out.append("deny: timed out (dropped)")
    except OSError as exc:
        out.append(f"deny: {exc.strerror or exc}")


def attempt(ns: str, proto: str, addr: str, port: int | None, bind: str | None = None, sport: int = 0) -> str:
    """'allow' or 'deny: <why>' for one try of the flow from namespace `ns` (in a thread: setns is per thread)."""
    out: list[str] = []
    t = threading.Thread(target=_attempt, args=(ns, proto, addr, port, out, bind, sport), daemon=True)
    t.start()
    t.join(TIMEOUT + 3)
    return out[0] if out else "deny: probe hung"


SERVER_ZONES = ("dmz", "servers", "management")


def _router(inv: dict[str, Any], prefer: str | None) -> str | None:
    """An in-scope router: `prefer` itself, else one of the same role, else the first."""
    routers = [h for h, d in sorted(inv["devices"].items()) if d["frr"] and d.get("loopback")]
    if prefer in routers:
        return prefer
    role = inv.get("roles", {}).get(prefer or "")
    same = [h for h in routers if inv["devices"][h]["role"] == role]
    return (same or routers or [None])[0]


def _src(f: Flow, inv: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """(namespace, source address to bind or None, note) for the flow's source."""
    probes = inv["probes"]
    src_addr = getattr(f, "src_address", None)
    for p in probes:
        if src_addr and p["address"].split("/")[0] == src_addr:
            return p["ns"], None, ""
    if f.src_zone == "device-mgmt":  # a router's loopback: probe from inside the router, bound to it
        r = _router(inv, f.src_device)
        note = "" if r == f.src_device else f"substitute router {r} ({f.src_device or '-'} not in scope)"
        return (ns_of(r), inv["devices"][r]["loopback"], note) if r else (None, None, "")
    same = [p for p in probes if p["zone"] == f.src_zone]
    exact = [p for p in same if p["device"] == f.src_device]
    if exact:
        return exact[0]["ns"], None, ""
    if same:
        note = f"substitute probe in {f.src_zone} ({f.src_device or '-'} not in scope)"
        bind = _borrow(same[0], src_addr)
        return same[0]["ns"], bind, note + (f", bound to its address {bind}" if bind else "")
    return None, None, ""


def _borrow(probe: dict[str, Any], addr: str | None) -> str | None:
    """Give the substitute probe the missing source's own address when it lies in the probe's subnet (management
    planes admit single hosts: the jump host, the NMS), so the devices' source filters see the real source.
    Returns the address to bind, or None when it is not in the subnet or cannot be added."""
    if not addr:
        return None
    net = ipaddress.IPv4Interface(probe["address"]).network
    if ipaddress.IPv4Address(addr) not in net or addr in (str(net.network_address), str(net.broadcast_address)):
        return None
    p = subprocess.run(nsexec(probe["ns"], "ip", "addr", "add", f"{addr}/{net.prefixlen}", "dev", "eth0"),
                       capture_output=True, text=True)
    # a second flow from the same source finds the address there already (iproute2 wording varies by version)
    return addr if p.returncode == 0 or "File exists" in p.stderr or "already assigned" in p.stderr else None


def _dst(f: Flow, inv: dict[str, Any], sns: str) -> tuple[str | None, str, str]:
    """(namespace, address to probe, note) for the flow's destination."""
    probes = inv["probes"]
    for p in probes:  # a probe host itself (a LAN zone, the internet or the city)
        if p["address"].split("/")[0] == f.dst_address:
            return p["ns"], f.dst_address, ""
    if f.dst_zone in ("internet", "city"):
        hns = INET_HOST_NS if f.dst_zone == "internet" else CITY_HOST_NS
        hp = [p for p in probes if p["ns"] == hns]
        return (hns, hp[0]["address"].split("/")[0], "") if hp else (None, f.dst_address, "")
    if f.dst_device and f.dst_device in inv["devices"]:
        addr = f.dst_address
        if sns == INET_HOST_NS:  # published servers are reached on their static-NAT (outside) address
            addr = inv.get("nat", {}).get(f"{f.dst_address}:{f.protocol}:{f.port}", addr)
        return ns_of(f.dst_device), addr, ""
    if f.dst_zone == "device-mgmt":
        r = _router(inv, None)
        if r:
            return ns_of(r), inv["devices"][r]["loopback"], f"substitute router {r} ({f.dst_device} not in scope)"
    same = [p for p in probes if p["zone"] == f.dst_zone]
    if same:
        note = f"substitute probe in {f.dst_zone} ({f.dst_device or '-'} not in scope)"
        lent = _borrow(same[0], f.dst_address)  # filters admit the real server (a single host), not the probe
        if lent:
            if sns == INET_HOST_NS:  # a published server: from the internet, on its static-NAT address
                public = inv.get("nat", {}).get(f"{lent}:{f.protocol}:{f.port}")
                if public:
                    return same[0]["ns"], public, note + f", given its address {lent} (static NAT {public})"
            return same[0]["ns"], lent, note + f", given its address {lent}"
        return same[0]["ns"], same[0]["address"].split("/")[0], note
    if f.dst_zone in SERVER_ZONES:
        srv = [h for h, d in sorted(inv["devices"].items()) if d.get("zone") == f.dst_zone]
        if srv:
            return ns_of(srv[0]), "", f"substitute server {srv[0]} ({f.dst_device} not in scope)"
    return None, f.dst_address, ""


def run_probes(lab_dir: Path, flows: Sequence[Flow], workers: int = 32) -> list[Verdict]:
    """Probe every flow; listeners are started for the run and stopped after it."""
    inv = json.loads((lab_dir / "lab.json").read_text())
    plans: list[tuple[Flow, str | None, str | None, str | None, str, str]] = []
    for f in flows:
        sns, bind, note1 = _src(f, inv)
        dns, addr, note2 = _dst(f, inv, sns or "")
        if dns and not addr:
            addr = ns_addresses(dns)[-1] if ns_addresses(dns) else f.dst_address
        plans.append((f, sns, bind, dns, addr, "; ".join(x for x in (note1, note2) if x)))
    own = {p["ns"]: p["address"].split("/")[0] for p in inv["probes"]}
    nat: dict[str, str] = inv.get("nat") or {}
    lst = Listeners()
    addrs = {dns: ns_addresses(dns) for _, sns, _, dns, _, _ in plans if sns and dns}
    needed = sorted({(dns, f.protocol, f.port) for f, sns, _, dns, _, _ in plans
                     if sns and dns and f.protocol in ("tcp", "udp") and f.port})
    for dns, proto, port in needed:
        lst.add(dns, proto, int(port or 0), addrs[dns])
    results: list[Verdict | None] = [None] * len(plans)
    sem = threading.Semaphore(workers)

    def one(k: int) -> None:
        f, sns, bind, dns, addr, note = plans[k]
        where = f"{sns or '-'} -> {f.dst_device or dns or '-'} {addr}"
        if not sns or not dns:
            why = "no probe host in scope for the source zone" if not sns else "destination not in scope"
            results[k] = Verdict(f, UNPROVEN, why, where)
            return
        with sem:
            got = attempt(sns, f.protocol, addr, f.port, bind)
            observed, detail = (ALLOWED, "") if got == "allow" else (DENIED, got.removeprefix("deny: "))
            if observed == DENIED and f.protocol != "icmp":
                here = addr if addr in addrs[dns] else (addrs[dns] or [addr])[-1]
                local = attempt(dns, f.protocol, here, f.port)
                if local != "allow":
                    results[k] = Verdict(f, UNPROVEN, f"listener not answering locally ({local})", where,
                                         error=True)
                    return
                detail += "; listener answers locally"
        # a stand-in with another address sent another packet: the filters may tell the two apart, so what it
        # saw neither confirms nor contradicts the flow (a published server's static-NAT address is the same one)
        sent_from = bind or own.get(sns, "")
        swap = [f"from {sent_from} instead of {f.src_address}"] if sent_from != f.src_address else []
        if addr not in (f.dst_address, nat.get(f"{f.dst_address}:{f.protocol}:{f.port}")):
            swap.append(f"to {addr} instead of {f.dst_address}")
        if swap:
            results[k] = Verdict(f, UNPROVEN, f"stand-in sent another packet ({', '.join(swap)}): it was {observed}"
                                 + "".join(f"; {x}" for x in (detail, note) if x), where)
            return
        results[k] = Verdict(f, observed, "; ".join(x for x in (detail, note) if x), where)

    _in_threads(one, len(plans))
    lst.close()
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------- probe sets
def sendable(p: Probe) -> str:
    """'' when the lab can send probe `p` as it is, else why not (it sends TCP SYN by connect(), a UDP datagram
    answered by the listener's echo, ICMP echo by ping; ports 1-65535)."""
    if p.protocol == "tcp" and p.flags != SYN_ONLY:
        return f"TCP flags {p.flags}: the lab opens connections (SYN) only"
    if p.protocol == "icmp" and (p.icmp_type, p.icmp_code) != (8, 0):
        return f"ICMP type {p.icmp_type} code {p.icmp_code}: the lab sends ICMP echo only"
    if p.protocol not in ("tcp", "udp", "icmp"):
        return f"protocol {p.protocol}: the lab sends tcp, udp and icmp only"
    if p.protocol in ("tcp", "udp") and not (p.dport and p.sport):
        return "port 0 cannot be sent"
    return ""


SYN_ONLY = 2


def _holders(inv: dict[str, Any]) -> tuple[dict[str, str], list[tuple[ipaddress.IPv4Network, dict[str, Any]]]]:
    """Address -> namespace holding it (devices and probe hosts), and each probe host's subnet."""
    names = sorted({d["namespace"] for d in inv["devices"].values()} | {p["ns"] for p in inv["probes"]})
    held = {a: ns for ns in names for a in ns_addresses(ns)}
    subnets = [(ipaddress.IPv4Interface(p["address"]).network, p) for p in inv["probes"]]
    return held, subnets


def _place(addr: str, held: dict[str, str], subnets: list[tuple[ipaddress.IPv4Network, dict[str, Any]]]
           ) -> tuple[str | None, str]:
    """The namespace that sends from / answers at `addr`: the one holding it, else the probe host of its subnet,
    lent the address (a stand-in: the filters on the path see the real address; the host itself is not the
    real one). (None, why) when no namespace of the lab can have it."""
    if addr in held:
        return held[addr], ""
    ip = ipaddress.IPv4Address(addr)
    for net, p in sorted(subnets, key=lambda x: -x[0].prefixlen):
        if ip in net and ip not in (net.network_address, net.broadcast_address):
            lent = _borrow(p, addr)
            if lent:
                held[addr] = p["ns"]
                return p["ns"], f"{addr} lent to the probe host {p['ns']} (stand-in)"
    return None, f"no namespace of this lab has or can be lent {addr} (not in lab scope)"


def run_probe_set(lab_dir: Path, probes: Sequence[Probe], workers: int = 32) -> list[Verdict]:
    """Send every probe of a probe set with real packets; one Verdict per probe (its `flow()`), in order.

    Allowed: the connect / UDP echo / ping from the probe's source address and port succeeded. Denied: it failed
    and the destination's listener answers the same probe sent inside its own namespace (for ICMP: no echo
    reply). Unproven: the lab cannot send the packet, or has no namespace for one of its addresses."""
    inv = json.loads((lab_dir / "lab.json").read_text())
    held, subnets = _holders(inv)
    plans: list[tuple[Probe, str | None, str | None, str]] = []
    for p in probes:
        why = sendable(p)
        if why:
            plans.append((p, None, None, why))
            continue
        sns, n1 = _place(p.src, held, subnets)
        dns, n2 = _place(p.dst, held, subnets) if sns else (None, "")
        plans.append((p, sns, dns, "; ".join(x for x in (n1, n2) if x)))
    lst = Listeners()
    addrs = {dns: ns_addresses(dns) for _, sns, dns, _ in plans if sns and dns}
    for dns, proto, port in sorted({(dns, p.protocol, p.dport) for p, sns, dns, _ in plans
                                    if sns and dns and p.protocol in ("tcp", "udp")}):
        lst.add(dns, proto, port, addrs[dns])
    results: list[Verdict | None] = [None] * len(plans)
    sem = threading.Semaphore(workers)
    # probes with the same five-tuple (one packet standing for two regions) run one after the other
    locks = {key: threading.Lock() for key in {(p.protocol, p.src, p.sport, p.dst, p.dport) for p, *_ in plans}}
    nat: dict[str, str] = inv.get("nat") or {}

    def one(k: int) -> None:
        p, sns, dns, note = plans[k]
        f = p.flow()
        where = f"{sns or '-'} -> {dns or '-'}"
        if not sns or not dns:
            results[k] = Verdict(f, UNPROVEN, note, where)
            return
        dst = p.dst
        if sns == INET_HOST_NS:  # from the internet a published server is reached on its static-NAT address
            dst = nat.get(f"{p.dst}:{p.protocol}:{p.dport}", p.dst)
            if dst != p.dst:
                note = "; ".join(x for x in (note, f"sent to its static-NAT address {dst}") if x)
        with sem, locks[(p.protocol, p.src, p.sport, p.dst, p.dport)]:
            got = attempt(sns, p.protocol, dst, p.dport or None, p.src, p.sport)
            observed, detail = (ALLOWED, "") if got == "allow" else (DENIED, got.removeprefix("deny: "))
            if observed == DENIED and p.protocol != "icmp":
                local = attempt(dns, p.protocol, p.dst, p.dport)
                if local != "allow":
                    results[k] = Verdict(f, UNPROVEN, f"listener not answering locally ({local})", where, error=True)
                    return
                detail += "; listener answers locally"
        results[k] = Verdict(f, observed, "; ".join(x for x in (detail, note) if x), where)

    _in_threads(one, len(plans))
    lst.close()
    return [r if r is not None else Verdict(plans[k][0].flow(), UNPROVEN, "probe hung", error=True)
            for k, r in enumerate(results)]


def write_reports(results: Sequence[Verdict], out_dir: Path, source: str, extra: dict[str, Any]
                  ) -> tuple[Path, Path]:
    """`lab-test.json` / `lab-test.md` in out_dir, in the shared report shape."""
    _, js, md = write_verdict_report(out_dir, "lab-test", "countynet lab test", "lab", results, [],
                                     {"matrix": source, **extra})
    return js, md


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t = time.monotonic()
    r = fn(*args)
    return r, round(time.monotonic() - t, 2)
