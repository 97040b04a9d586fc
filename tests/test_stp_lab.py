"""Loop freedom of the centre's layer 2, proven with real packets (issue 11 part 7; docs/lab.md "Spanning tree").

The lab proper collapses every VLAN into one Linux bridge (docs/lab.md, "L2 collapsed"), which cannot loop, so it
says nothing about spanning tree. This test builds the centre's layer-2 part AS IT IS in a real build's intents:
one network namespace per switch (the two cores and every switch dual-homed to them), one Linux bridge in each,
one veth per switch-to-switch link (the core Eth-Trunk is one veth: an aggregate is one STP port), the hosts on
the intent's edge ports (one namespace each, with the server's address) and every switch's VLAN interfaces. The
bridges run the kernel's STP (`stp_state 1`, IEEE 802.1D: one tree per bridge, not MSTP, no rapid transitions),
with the bridge priority of the intent's root role (primary 0, secondary 4096, others the default 32768:
Huawei/H3C `stp instance 0 root primary|secondary`), 802.1t port costs from the port speeds, and BPDU guard on the
edge ports of a switch with BPDU protection. Every VLAN is in instance 0 in the design, so the one 802.1D tree has
the shape of the MSTP CIST: the property proved is the loop freedom of the same topology with the same root
placement. This kernel has no bridge VLAN filtering, no 802.1Q devices and no tc classifiers, so the bridges carry
every VLAN as one broadcast domain (a broadcast crosses every forwarding link); the VLANs' continuity over the tree
is checked on the kernel's real port states with the trunks' VLAN lists from the intents. Not proved here: MSTP's
region and instance handling, rapid transitions, edge ports forwarding at once, VLAN separation with tagged
frames, and the vendors' own BPDU protection on real hardware.

Proved with packets: the primary core is root of every bridge; exactly the redundant ports (one per loop) block;
an Ethernet broadcast with a unique payload sent from a host port reaches every other endpoint exactly once; a
BPDU arriving on a guarded edge port disables it; when the primary core's bridge goes down (its BPDUs stop: the
others notice by max age) the secondary becomes root and a ping from a host to another access switch recovers;
and the control: with STP off on the same topology the same broadcast arrives many times (a storm), so the
exactly-once check can fail.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest

from countynet.intent.models import DeviceIntent, Stp
from countynet.lab.sh import enter_netns, ip_batch, run
from countynet.outputs.build_reader import BuildReader
from tests.test_stp import PRIORITY, cist, l2_graph, port_cost

pytestmark = pytest.mark.root

PREFIX = "stp-"  # every namespace this test creates (the lab's are cn-*/cnp-*): deleted by name
# centiseconds: hello and max age at the kernel's minimum, 4 s forward delay; learnt addresses age in 8 s (the
# kernel's short ageing after a topology change is 2 x forward delay; MSTP flushes instead, and an entry the kernel
# keeps past the change would hold a flow on the failed core for the default 300 s)
FORWARD_DELAY, HELLO, MAX_AGE, AGEING = 400, 100, 600, 800
ETH_P = 0x88B5  # IEEE 802 local experimental ethertype: the test's broadcast frames
PACKET_OUTGOING = 4
STATES = {0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, bridges)"
    missing = [t for t in ("ip", "bridge", "ping") if shutil.which(t) is None]
    if missing:
        return f"missing tools {' '.join(missing)} (iproute2, iputils-ping: scripts/lab-packages.txt)"
    return None


@dataclass
class Port:
    """One bridge port: its Linux name in the switch's namespace and what the intent calls it."""

    switch: str
    linux: str
    intent: str
    peer: str  # the switch or host at the other end
    link: str | None = None  # topology link id (switch-to-switch ports)


@dataclass
class Endpoint:
    """Something in a VLAN that can send and receive frames: a host on an edge port or a switch's VLAN
    interface."""

    name: str
    ns: str
    ifname: str
    vlan: int
    address: str | None


@dataclass
class Centre:
    switches: dict[str, DeviceIntent]
    ports: list[Port] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    graph: nx.MultiGraph | None = None

    def ns(self, host: str) -> str:
        return PREFIX + host.removeprefix("yx-")

    def namespaces(self) -> list[str]:
        return [self.ns(h) for h in self.switches] + [e.ns for e in self.endpoints if e.name.split()[0]
                                                       not in self.switches]


def centre_l2(build: BuildReader) -> Centre:
    """The layer-2 component of the primary core in the build's intents: switches joined by trunks and
    aggregates that run STP, their edge ports (with the hosts' intent addresses) and VLAN interfaces."""
    everything = build.intents([h for h, row in build.hosts.items() if row.get("site") == "centre"])
    switches = {h: d for h, d in everything.items() if d.stp}
    beyond = {(h, i.peer.host) for h, d in switches.items() for i in d.interfaces
              if i.kind in ("trunk", "lag") and i.peer and i.peer.host not in switches}
    assert not beyond, f"trunks from the centre to switches outside it: {beyond}"
    primary = next(h for h, d in switches.items() if d.stp and d.stp.root == "primary")
    graph = l2_graph(switches)
    part = {h: switches[h] for h in nx.node_connected_component(graph, primary)}
    c = Centre(part, graph=graph.subgraph(part).copy())
    count = {h: 0 for h in part}

    def port(host: str, intent: str, peer: str, link: str | None = None) -> Port:
        p = Port(host, f"p{count[host]}", intent, peer, link)
        count[host] += 1
        c.ports.append(p)
        return p

    for h, d in part.items():
        assert d.stp is not None
        carried: set[int] = set()
        for i in d.interfaces:
            if i.kind in ("trunk", "lag") and i.peer and i.peer.host in part and i.name not in d.stp.off_ports:
                port(h, i.name, i.peer.host, i.link)
                carried |= set(i.vlans)
            elif i.kind == "access" and i.name in d.stp.edge_ports and i.peer and i.vlan is not None:
                port(h, i.name, i.peer.host)
                peer_if = next((x for x in everything[i.peer.host].interfaces if x.name == i.peer.interface), None) \
                    if i.peer.host in everything else None
                c.endpoints.append(Endpoint(i.peer.host, c.ns(i.peer.host), "eth0", i.vlan,
                                            peer_if.address if peer_if else None))
                carried.add(i.vlan)
        for i in d.interfaces:
            if i.kind == "svi" and i.vlan in carried:
                c.endpoints.append(Endpoint(f"{h} {i.name}", c.ns(h), f"v{i.vlan}", i.vlan, i.address))
    return c


def _cmd(ns: str, *args: str, check: bool = True) -> str:
    return run(["ip", "netns", "exec", ns, *args], check=check, timeout=20)


def delete_namespaces(names: list[str]) -> None:
    """Delete these namespaces (by name; the veths in them go with them). Missing ones are fine."""
    have = {line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()}
    for n in names:
        if n in have:
            run(["ip", "netns", "del", n], check=False)


def build_bridges(c: Centre, stp: bool = True) -> None:
    """Namespaces, bridges, veths and endpoints as the intents say (see the module docstring)."""
    ip_batch([f"netns add {n}" for n in c.namespaces()])
    for n in c.namespaces():  # no IPv6: its link-local chatter would be the first frame to storm in the control
        _in_netns(n, _no_ipv6)
    veths = []
    by_link: dict[str, list[Port]] = {}
    for p in c.ports:
        if p.link:
            by_link.setdefault(p.link, []).append(p)
        else:
            veths.append(f"link add {p.linux} netns {c.ns(p.switch)} type veth peer name eth0 netns {c.ns(p.peer)}")
    for a, b in by_link.values():
        veths.append(f"link add {a.linux} netns {c.ns(a.switch)} type veth peer name {b.linux} netns {c.ns(b.switch)}")
    ip_batch(veths)
    for h, d in c.switches.items():
        assert d.stp is not None
        by_name = {i.name: i for i in d.interfaces}
        links = ["link set lo up",
                 f"link add br0 type bridge priority {PRIORITY[d.stp.root]} forward_delay {FORWARD_DELAY} "
                 f"hello_time {HELLO} max_age {MAX_AGE} ageing_time {AGEING} stp_state {int(stp)}"]
        costs = []
        for p in (p for p in c.ports if p.switch == h):
            i = by_name[p.intent]
            links += [f"link set {p.linux} master br0", f"link set {p.linux} up"]
            members = [m.name for m in d.interfaces if m.kind == "lag_member" and m.lag == i.name]
            cost = port_cost(members[0]) // len(members) if members else port_cost(i.name)
            costs.append(f"link set dev {p.linux} cost {cost}"
                         + (" guard on" if p.link is None and d.stp.bpdu_protection else ""))
        for e in (e for e in c.endpoints if e.ns == c.ns(h)):
            # a VLAN interface: the bridge's own port in that VLAN, a veth pair inside the switch
            links += [f"link add s{e.vlan} type veth peer name {e.ifname}", f"link set s{e.vlan} master br0",
                      f"link set s{e.vlan} up", f"link set {e.ifname} up"]
            if e.address:
                links.append(f"address add {e.address} dev {e.ifname}")
        # the bridge itself has no address: multicast off keeps its IGMP reports out of the control's storm
        ip_batch([*links, "link set br0 multicast off", "link set br0 up"], ns=c.ns(h))
        run(["bridge", "-n", c.ns(h), "-batch", "-"], input="\n".join(costs) + "\n")
    for e in c.endpoints:
        if e.ifname == "eth0":
            ip_batch(["link set lo up", "link set eth0 up"] + ([f"address add {e.address} dev eth0"] if e.address
                                                               else []), ns=e.ns)


def _no_ipv6() -> None:
    for scope in ("all", "default"):  # /proc/sys/net is the calling thread's namespace
        Path(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6").write_text("1\n")


def _in_netns(ns: str, fn: Callable[[], None]) -> None:
    """Run fn in a thread that entered namespace `ns` (the thread ends with it); its exception is raised."""
    err: list[BaseException] = []

    def body() -> None:
        try:
            enter_netns(ns)
            fn()
        except BaseException as exc:  # handed to the caller
            err.append(exc)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if err:
        raise err[0]


# ------------------------------------------------------------------ reading the bridges' state
def bridge_info(c: Centre, host: str) -> dict[str, str]:
    """root_id and bridge_id of a switch's bridge, from sysfs (`ip -j -d link` here prints the bridge's own id
    as root_id: iproute2 6.x, seen on this machine)."""
    keys = ("root_id", "bridge_id")
    out = _cmd(c.ns(host), "cat", *(f"/sys/class/net/br0/bridge/{k}" for k in keys)).split()
    return dict(zip(keys, out, strict=True))


def port_states(c: Centre) -> dict[tuple[str, str], str]:
    """(switch, Linux port) -> STP state of every bridge port, as the kernel reports it."""
    out = {}
    for h in c.switches:
        for p in json.loads(run(["bridge", "-n", c.ns(h), "-j", "link", "show"])):
            if p.get("master") == "br0":
                out[(h, p["ifname"])] = p["state"]
    return out


def wait_converged(c: Centre, timeout: float) -> float:
    """Seconds until no port is listening or learning and every bridge agrees on the root; fails after
    timeout."""
    t0 = time.monotonic()
    while True:
        states = port_states(c)
        roots = {bridge_info(c, h)["root_id"] for h in c.switches}
        if roots and len(roots) == 1 and not {"listening", "learning"} & set(states.values()):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"no convergence in {timeout} s: roots {roots}, states {states}")
        time.sleep(0.25)


# ------------------------------------------------------------------ packets
def _open(ns: str, ifname: str) -> socket.socket:
    """A packet socket for the test's ethertype, bound to `ifname` in namespace `ns` (opened by a thread that
    enters the namespace; the socket stays there)."""
    box: list[socket.socket] = []

    def opener() -> None:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P))
        s.bind((ifname, ETH_P))
        s.setblocking(False)
        box.append(s)

    _in_netns(ns, opener)
    return box[0]


class Listeners:
    """One packet socket per endpoint, opened once (entering a namespace costs ~30 ms here) and closed by
    close()."""

    def __init__(self, c: Centre):
        self.c = c
        self.socks: dict[str, socket.socket] = {}
        try:
            for e in c.endpoints:
                self.socks[e.name] = _open(e.ns, e.ifname)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for s in self.socks.values():
            s.close()

    def broadcast(self, sender: Endpoint, settle: float = 0.5, stop: Callable[[], None] | None = None
                  ) -> dict[str, int]:
        """Send ONE Ethernet broadcast with a unique payload from `sender`; return how many copies every other
        endpoint received (frames the kernel delivered to its packet socket; the sender's own copy excluded).
        `stop` runs right after the wait, before the sockets are read (ends a storm)."""
        for s in self.socks.values():  # drop anything queued before the send (none of it carries the token)
            for _ in range(10000):
                if not select.select([s], [], [], 0)[0]:
                    break
                s.recv(65535)
        token = f"countynet-stp {uuid.uuid4().hex}".encode()
        out = self.socks[sender.name]
        out.send(b"\xff" * 6 + out.getsockname()[4] + ETH_P.to_bytes(2, "big") + token)
        time.sleep(settle)
        if stop:
            stop()
        counts = {}
        for e in self.c.endpoints:
            if e.name == sender.name:
                continue
            n, s = 0, self.socks[e.name]
            while True:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING and token in data:
                    n += 1
            counts[e.name] = n
        return counts


def ping(ns: str, addr: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", ns, "ping", "-c1", "-W1", "-n", "-q", addr],
                          capture_output=True, check=False).returncode == 0


# ------------------------------------------------------------------ expectations from the intents
def expected_blocking(c: Centre) -> set[tuple[str, str]]:
    """(switch, intent port) that 802.1D blocks on this graph: on each link outside the tree of root ports,
    the end whose bridge offers the worse (root path cost, bridge id); the other end is designated."""
    g = c.graph
    assert g is not None
    root, root_port = cist(g, c.switches)
    bid = {h: (PRIORITY[_stp(c, h).root], h) for h in g.nodes}
    dist = nx.single_source_dijkstra_path_length(nx.Graph(
        [(u, v, {"cost": min(d["cost"] for d in g.get_edge_data(u, v).values())}) for u, v in g.edges()]),
        root, weight="cost")
    tree = {k for _, _, k in root_port.values()}
    out = set()
    for u, v, k in g.edges(keys=True):
        if k in tree:
            continue
        worse = max((u, v), key=lambda h: (dist[h], bid[h]))
        out.add((worse, next(p.intent for p in c.ports if p.switch == worse and p.link == k)))
    return out


def blocking_now(c: Centre) -> set[tuple[str, str]]:
    linux = {(p.switch, p.linux): p.intent for p in c.ports}
    return {(h, linux[(h, n)]) for (h, n), s in port_states(c).items() if s == "blocking"}


# ------------------------------------------------------------------ the test
@pytest.fixture(scope="module")
def centre(bundled_build: Path) -> Iterator[Centre]:
    why = _skip_reason()
    if why:
        print(f"SKIP STP lab test: {why}")
        pytest.skip(why)
    c = centre_l2(BuildReader(bundled_build))
    delete_namespaces(c.namespaces())  # left over from an interrupted run: ours by name
    try:
        yield c
    finally:
        delete_namespaces(c.namespaces())


def test_the_centre_has_no_layer2_loop_with_real_packets(centre: Centre, request: pytest.FixtureRequest) -> None:
    c = centre
    primary = next(h for h, d in c.switches.items() if d.stp and d.stp.root == "primary")
    secondary = next(h for h, d in c.switches.items() if d.stp and d.stp.root == "secondary")
    g = c.graph
    assert g is not None
    loops = g.number_of_edges() - g.number_of_nodes() + 1
    assert loops >= 2, f"the centre's layer 2 has {loops} loops: nothing for STP to prove"
    t0 = time.monotonic()
    build_bridges(c, stp=True)
    print(f"STP: built in {time.monotonic() - t0:.1f} s")
    took = wait_converged(c, timeout=4 * FORWARD_DELAY / 100 + 10)
    print(f"STP: {len(c.switches)} bridges, {len(c.ports)} ports, {loops} loops, converged in {took:.1f} s")

    # (1) the root is the core the intent names primary, on every bridge
    root_bid = bridge_info(c, primary)["bridge_id"]
    for h in c.switches:
        assert bridge_info(c, h)["root_id"] == root_bid, f"{h}: root {bridge_info(c, h)['root_id']}, not {primary}"

    # (2) exactly the redundant ports block: one per loop, where 802.1D puts them on this graph (each dual-homed
    # switch's uplink to the secondary root)
    want = expected_blocking(c)
    assert len(want) == loops
    assert all(p.peer == secondary for p in c.ports if (p.switch, p.intent) in want)
    assert blocking_now(c) == want
    assert set(port_states(c).values()) == {"forwarding", "blocking"}

    # every VLAN stays whole on the tree: the switches with a port or an interface in it are connected by
    # forwarding ports of trunks that carry it at both ends (with one tree for all VLANs, a VLAN missing from a
    # forwarding trunk would be cut off: the MSTP single-instance pitfall)
    now = port_states(c)
    fwd = {(p.switch, p.intent) for p in c.ports if now[(p.switch, p.linux)] == "forwarding"}
    for vlan in sorted({e.vlan for e in c.endpoints}):
        need = {_switch_of(c, e) for e in c.endpoints if e.vlan == vlan}
        tree = nx.Graph()
        tree.add_nodes_from(need)
        for x, y in _links(c).values():
            if {(x.switch, x.intent), (y.switch, y.intent)} <= fwd and vlan in _vlans(c, x) and vlan in _vlans(c, y):
                tree.add_edge(x.switch, y.switch)
        assert all(nx.has_path(tree, u, v) for u in need for v in need), f"VLAN {vlan} is split by the tree"

    # (3) one Ethernet broadcast from a host port of each access switch (a VLAN interface where it has no hosts):
    # exactly one copy at every other endpoint. This kernel has no VLAN filtering and no 802.1Q devices, so the
    # bridges carry every VLAN as one broadcast domain: each frame reaches every endpoint of the centre, which
    # crosses every forwarding link (a harder test than one VLAN's subset)
    senders = []
    for h in c.switches:
        mine = [e for e in c.endpoints if _switch_of(c, e) == h]
        if mine:
            senders.append(next((e for e in mine if e.ifname == "eth0"), mine[0]))
    ears = Listeners(c)
    request.addfinalizer(ears.close)
    for sender in senders:
        counts = ears.broadcast(sender)
        wrong = {n: k for n, k in counts.items() if k != 1}
        assert not wrong, f"broadcast from {sender.name}: copies {wrong} (everyone else: 1)"
    print(f"STP: {len(senders)} broadcasts (one per switch), exactly one copy at each of "
          f"{len(c.endpoints) - 1} other endpoints")

    # BPDU protection: a BPDU on a guarded edge port (someone plugs in a switch) disables the port
    guarded = next(p for p in c.ports if p.link is None and _stp(c, p.switch).bpdu_protection)
    rogue = next(e for e in c.endpoints if e.name == guarded.peer)
    s = _open(rogue.ns, "eth0")
    try:
        # IEEE 802.1D configuration BPDU (LLC 42/42/03) claiming root priority 0: a switch plugged into a host port
        bpdu = bytes.fromhex("0000000000000000" "0000aabbccddeeff" "00000000" "0000aabbccddeeff" "8001"
                             "0000" "1400" "0200" "0f00")
        frame = bytes.fromhex("0180c2000000") + s.getsockname()[4] + (3 + len(bpdu)).to_bytes(2, "big") \
            + b"\x42\x42\x03" + bpdu
        s.send(frame)
    finally:
        s.close()
    time.sleep(0.5)
    state = port_states(c)[(guarded.switch, guarded.linux)]
    assert state == "disabled", f"{guarded.switch} {guarded.intent}: a BPDU on a guarded edge port left it {state}"
    assert bridge_info(c, guarded.switch)["root_id"] == root_bid

    # (5) the primary core's bridge goes down (its BPDUs stop; the links stay up): the secondary becomes root
    # and a ping between endpoints of one VLAN on two different access switches recovers
    hosts = [e for e in c.endpoints if e.ifname == "eth0" and e.address and e is not rogue]
    far = [e for e in c.endpoints if e.ifname != "eth0" and e.address and _switch_of(c, e) not in (primary, secondary)]
    src, dst = next((a, b) for a in hosts for b in far if a.vlan == b.vlan and _switch_of(c, a) != _switch_of(c, b))
    target = str(dst.address).split("/")[0]
    assert ping(src.ns, target), f"{src.name} -> {dst.name}: no ping before the failure"
    run(["ip", "-n", c.ns(primary), "link", "set", "br0", "down"])
    t0 = time.monotonic()
    while not ping(src.ns, target):
        assert time.monotonic() - t0 < (MAX_AGE + 2 * FORWARD_DELAY + AGEING) / 100 + 5, \
            f"{src.name} -> {dst.name}: no ping {time.monotonic() - t0:.0f} s after {primary}'s bridge went down; " \
            f"roots {[bridge_info(c, h)['root_id'] for h in c.switches]}, states {port_states(c)}"
    recovered = time.monotonic() - t0
    wait_converged_without(c, primary, timeout=10)
    new_root = bridge_info(c, secondary)["bridge_id"]
    for h in c.switches:
        if h != primary:
            assert bridge_info(c, h)["root_id"] == new_root, f"{h}: root is not {secondary} after {primary} failed"
    print(f"STP: {primary} down, {secondary} root, {src.name} -> {dst.name} ping back after {recovered:.1f} s")

    # (4) the control: STP off on the same topology (every port forwarding): the same broadcast storms
    for h in c.switches:  # STP off and every port forwarding (the kernel leaves a blocked port blocked)
        ip_batch(["link set br0 type bridge stp_state 0", "link set br0 up"], ns=c.ns(h))
    # turning STP off takes effect asynchronously on a loaded machine: force held ports forwarding until none is
    # left (at most 10 s)
    deadline = time.monotonic() + 10
    while True:
        time.sleep(0.2)
        stuck = {k: v for k, v in port_states(c).items() if v != "forwarding"}
        if not stuck or time.monotonic() > deadline:
            break
        for h in c.switches:
            held = [p for (sw, p) in stuck if sw == h]
            if held:
                run(["bridge", "-n", c.ns(h), "-batch", "-"],
                    input="".join(f"link set dev {p} state 3\n" for p in held))
    sender = senders[0]
    assert not stuck, f"STP off, yet not forwarding: {stuck}"

    def stop() -> None:
        for h in c.switches:
            run(["ip", "-n", c.ns(h), "link", "set", "br0", "down"], check=False)

    counts = ears.broadcast(sender, settle=0.3, stop=stop)
    storm = {n: k for n, k in counts.items() if k > 1}
    print(f"STP off: one broadcast from {sender.name}: {sum(counts.values())} copies "
          f"(max {max(counts.values())} at one endpoint)")
    assert len(storm) >= 2 and max(counts.values()) >= 10, f"no storm without STP: {counts}"


def _stp(c: Centre, host: str) -> Stp:
    stp = c.switches[host].stp
    assert stp is not None
    return stp


def _switch_of(c: Centre, e: Endpoint) -> str:
    """The switch an endpoint hangs off (a host's edge port, or the switch of a VLAN interface)."""
    if e.ifname != "eth0":
        return e.name.split()[0]
    return next(p.switch for p in c.ports if p.link is None and p.peer == e.name)


def _links(c: Centre) -> dict[str, tuple[Port, Port]]:
    out: dict[str, list[Port]] = {}
    for p in c.ports:
        if p.link:
            out.setdefault(p.link, []).append(p)
    return {k: (a, b) for k, (a, b) in out.items()}


def _vlans(c: Centre, p: Port) -> list[int]:
    return next(i.vlans for i in c.switches[p.switch].interfaces if i.name == p.intent)


def wait_converged_without(c: Centre, down: str, timeout: float) -> None:
    t0 = time.monotonic()
    while True:
        states = {k: v for k, v in port_states(c).items() if k[0] != down}
        if not {"listening", "learning"} & set(states.values()):
            return
        assert time.monotonic() - t0 < timeout, f"no convergence after the failure: {states}"
        time.sleep(0.25)
