"""Bring a lab up: namespaces, links, addresses, then FRR, nftables, strongSwan and sshd per device.

Every object is recorded in the state file before it is created (see state.py), so `lab down` can always
remove exactly what exists. Steps that touch many namespaces run in a small thread pool: the work is
fork/exec of `ip`, `nft`, `vtysh` and friends, not Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from countynet.intent.models import DeviceIntent
from countynet.lab import configs
from countynet.lab import plan as planmod
from countynet.lab.plan import LabPlan, ns_of
from countynet.lab.sh import LabError, ip_batch, nsexec, run, swanctl
from countynet.lab.state import LabState, ProcRec, proc_start
from countynet.render.engine import render_device

FRR_BIN = Path("/usr/lib/frr")
CHARON = "/usr/lib/ipsec/charon"
LAB_USER = "cnlab"
WORKERS = 8
T = TypeVar("T")


def pmap(fn: Callable[[T], Any], items: Iterable[T]) -> list[Any]:
    with ThreadPoolExecutor(WORKERS) as ex:
        return list(ex.map(fn, items))


@dataclass
class Dev:
    host: str
    ns: str
    dir: Path
    files: dict[str, str]
    daemons: list[str] = field(default_factory=list)
    vpn: bool = False

    @property
    def run(self) -> Path:
        return self.dir / "run"

    @property
    def frr(self) -> Path:
        return self.dir / "frr"

    @property
    def ipsec(self) -> Path:
        return self.dir / "ipsec"


def kernel_has_esp(state: LabState) -> bool:
    """True when the kernel installs ESP SAs (XFRM); False -> strongSwan's user-space kernel-libipsec."""
    ns = f"cn-esp-check-{os.getpid()}"
    state.add_namespaces([ns])
    run(["ip", "netns", "add", ns])
    try:
        p = subprocess.run(["ip", "-n", ns, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2",
                            "proto", "esp", "spi", "0x100", "mode", "tunnel", "enc", "cbc(aes)",
                            "0x" + "00" * 16, "auth", "hmac(sha256)", "0x" + "00" * 32],
                           capture_output=True, text=True, check=False)
        return p.returncode == 0
    finally:
        run(["ip", "netns", "del", ns], check=False)
        state.namespaces.remove(ns)
        state.save()


def _popen(state: LabState, ns: str, what: str, script: str, log: Path, unshare_uts: bool = False) -> int:
    cmd = nsexec(ns, *(["unshare", "-u"] if unshare_uts else []), "sh", "-c", script)
    with open(log, "ab") as fh:
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    state.add_proc(p.pid, ns, what)
    return p.pid


def _wait_files(paths: list[Path], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while True:
        missing = [p for p in paths if not p.exists()]
        if not missing:
            return
        if time.monotonic() > end:
            raise LabError(f"{what}: still missing after {timeout:.0f}s: {', '.join(map(str, missing[:5]))}")
        time.sleep(0.05)


class Builder:
    def __init__(self, plan: LabPlan, lab_dir: Path, state: LabState, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.lab = lab_dir
        self.state = state
        self.log = log
        self.secrets = configs.Secrets(lab_dir / "secrets.json")
        self.devs: dict[str, Dev] = {}
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []
        self.roles: dict[str, str] = {}  # every device of the topology -> role (to substitute out-of-scope ones)
        self.build_dir: Path | None = None  # the build directory the lab emulates

    def step(self, name: str, fn: Callable[[], None]) -> None:
        t = time.monotonic()
        fn()
        self.timings[name] = round(time.monotonic() - t, 2)
        self.log(f"  {name}: {self.timings[name]:.2f}s")

    # ------------------------------------------------------------------ files
    def render(self) -> None:
        import pwd

        frr_pw = pwd.getpwnam("frr")
        for host, lx in self.plan.devices.items():
            files = render_device(lx.intent)  # the linux rendering, by the templates `countynet build` uses
            d = Dev(host, ns_of(host), self.lab / "dev" / host, files)
            for sub in ("etc", "run", "frr", "log", "ssh"):
                (d.dir / sub).mkdir(parents=True, exist_ok=True)
            for name, text in files.items():  # the rendering as is (placeholders, no secret values)
                p = d.dir / "etc" / name.removeprefix("etc/")
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
            if "etc/frr/frr.conf" in files:
                d.daemons = configs.frr_daemons(files.get("etc/frr/daemons", "staticd=yes\nospfd=yes\nbgpd=yes"))
                conf = configs.lab_frr(files["etc/frr/frr.conf"], lx.vrrp_backup)
                (d.frr / "frr.conf").write_text(self.secrets.resolve(conf))
                (d.frr / "vtysh.conf").write_text(f"hostname {host}\nusername root nopassword\n"
                                                  f"username {LAB_USER} nopassword\n")
                (d.run / "frr").mkdir(exist_ok=True)
                for p in (d.frr, d.run / "frr", *d.frr.iterdir()):
                    os.chown(p, frr_pw.pw_uid, frr_pw.pw_gid)
                d.frr.chmod(0o770)
            if "etc/swanctl/swanctl.conf" in files and lx.intent.vpn:
                d.vpn = True
                d.ipsec.mkdir(exist_ok=True)
                d.ipsec.chmod(0o700)
                text = self.secrets.resolve(files["etc/swanctl/swanctl.conf"])
                if not self.plan.kernel_esp:
                    text = configs.libipsec_swanctl(text)
                (d.ipsec / "swanctl.conf").write_text(text)
                (d.ipsec / "strongswan.conf").write_text(self._strongswan_conf(d))
            self.devs[host] = d
        self.secrets.save()

    def _strongswan_conf(self, d: Dev) -> str:
        libipsec = "" if self.plan.kernel_esp else "    kernel-libipsec {\n      load = yes\n    }\n"
        return ("charon {\n  load_modular = yes\n  plugins {\n    include /etc/strongswan.d/charon/*.conf\n"
                f"{libipsec}  }}\n  filelog {{\n    lab {{\n      path = {d.dir / 'log' / 'charon.log'}\n"
                "      default = 1\n      flush_line = yes\n    }\n  }\n}\n")

    # ------------------------------------------------------------------ network
    def namespaces(self) -> None:
        names = list(self.plan.namespaces)
        existing = set(run(["ip", "netns", "list"]).split())
        clash = [n for n in names if n in existing]
        if clash:
            raise LabError(f"namespace(s) already exist: {', '.join(clash[:5])} (another lab? run `lab down`)")
        self.state.add_namespaces(names)
        ip_batch([f"netns add {n}" for n in names])

    def links(self) -> None:
        p = self.plan
        if Path(f"/sys/class/net/{planmod.MGMT_BRIDGE}").exists():
            raise LabError(f"{planmod.MGMT_BRIDGE} already exists in the host namespace (another lab is up)")
        host_links = [planmod.MGMT_BRIDGE] + [n.mgmt_port for n in p.namespaces.values() if n.mgmt_port]
        self.state.add_host_links(host_links)
        cmds = [f"link add {planmod.MGMT_BRIDGE} type bridge",
                f"addr add {planmod.MGMT_HOST}/{planmod.MGMT_NET.prefixlen} dev {planmod.MGMT_BRIDGE}",
                f"link set {planmod.MGMT_BRIDGE} up"]
        for n in p.namespaces.values():
            if n.mgmt_port:
                cmds += [f"link add {n.mgmt_port} type veth peer name mgmt0 netns {n.name}",
                         f"link set {n.mgmt_port} master {planmod.MGMT_BRIDGE}",
                         f"link set dev {n.mgmt_port} type bridge_slave isolated on",
                         f"link set {n.mgmt_port} up"]
        for v in p.veths:
            cmds.append(f"link add {v.a_if} netns {v.a_ns} type veth peer name {v.b_if} netns {v.b_ns}")
        for pt in p.ports:
            cmds.append(f"link add {pt.ifname} netns {pt.ns} type veth peer name {pt.port} netns {pt.bridge_ns}")
        ip_batch(cmds)

    def ns_config(self) -> None:
        p = self.plan
        per: dict[str, list[str]] = {n: ["link set lo up"] for n in p.namespaces}
        for b in p.bridges:
            per[b.ns] += [f"link add {b.name} type bridge", f"link set {b.name} up"]
        for pt in p.ports:
            per[pt.bridge_ns] += [f"link set {pt.port} master {pt.bridge}", f"link set {pt.port} up"]
        ifaces: dict[str, set[str]] = {n: set() for n in p.namespaces}
        for v in p.veths:
            ifaces[v.a_ns].add(v.a_if)
            ifaces[v.b_ns].add(v.b_if)
        for pt in p.ports:
            ifaces[pt.ns].add(pt.ifname)
        routes: dict[str, list[str]] = {n: [] for n in p.namespaces}
        for a in p.addrs:  # every address of the plan: interfaces, loopbacks, VRRP masters, probes, outside
            have = ifaces[a.ns] | {b.name for b in p.bridges if b.ns == a.ns} | {"lo"}
            if a.ifname not in have:
                self.warnings.append(f"{p.namespaces[a.ns].host or a.ns}: interface {a.ifname} ({a.address}) "
                                     "has no lab link (skipped)")
                continue
            per[a.ns].append(f"addr add {a.address} dev {a.ifname}")
        for host, d in self.devs.items():
            if not d.daemons:  # hosts without FRR route statically, as their ifupdown stanzas say
                routes[d.ns] += static_routes(p.devices[host].intent)
        for n in p.namespaces.values():
            if n.mgmt:
                per[n.name] += [f"addr add {n.mgmt} dev mgmt0", "link set mgmt0 up"]
        for ns, names in ifaces.items():
            per[ns] += [f"link set {i} up" for i in sorted(names)]
        for r in p.routes:
            routes[r.ns].append(f"route add blackhole {r.prefix}" if r.via is None
                                else f"route add {r.prefix} via {r.via}")
        for ns in per:
            per[ns] += routes[ns]

        def one(ns: str) -> None:
            ip_batch(per[ns], ns)
            kind = p.namespaces[ns].kind
            host = p.namespaces[ns].host
            if kind == "device" and host:
                # the rendered sysctl file, plus: ospfd joins AllSPFRouters on every interface through ONE
                # socket, and the default limit of 20 memberships per socket would leave a WAN router
                # with 40 links half-adjacent
                d = self.devs[host]
                conf = d.dir / "sysctl.lab.conf"
                conf.write_text(d.files.get("etc/sysctl.d/60-countynet.conf", "") +
                                "\nnet.ipv4.igmp_max_memberships = 1024\n")
                run(nsexec(ns, "sysctl", "-q", "-p", str(conf)), check=False)
            elif kind in ("internet", "city"):
                run(nsexec(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))

        pmap(one, list(per))

    # ------------------------------------------------------------------ daemons
    def _frr_launch(self, d: Dev) -> None:
        """One shell per router: private /run and /etc/frr, then every daemon daemonised (-d); their PIDs
        come from their pid files (and `lab down` also kills whatever runs in the namespace)."""
        starts = " && ".join(f"{FRR_BIN / x} -d -u frr -g frr -P 0 --log file:{d.dir / 'log' / x}.log"
                             for x in d.daemons)
        script = f"mount --bind {d.run} /run && mount --bind {d.frr} /etc/frr && {starts}"
        _popen(self.state, d.ns, "frr:launcher", script, d.dir / "log" / "frr-stdout.log")

    def frr(self) -> None:
        t0 = time.monotonic()
        routers = [d for d in self.devs.values() if d.daemons]
        for d in routers:
            self._frr_launch(d)
        city = self._city_start()
        every = routers + ([city] if city else [])
        _wait_files([d.run / "frr" / f"{x}.vty" for d in every for x in d.daemons], 30, "FRR start")
        for d in every:
            for x in d.daemons:
                pid = (d.run / "frr" / f"{x}.pid").read_text().strip()
                if pid.isdigit():
                    self.state.procs.append(ProcRec(int(pid), d.ns, f"frr:{x}", proc_start(int(pid))))
        self.state.save()
        self.timings["frr-daemons"] = round(time.monotonic() - t0, 2)

        def load(d: Dev) -> None:
            # the daemons' sockets by a relative name (vtysh runs in their directory): an absolute path to a
            # deep lab directory can exceed what an AF_UNIX address holds
            p = subprocess.run(["vtysh", "--vty_socket", ".", "--config_dir", str(d.frr),
                                "-f", str(d.frr / "frr.conf")], capture_output=True, text=True, check=False,
                               cwd=d.run / "frr")
            if p.returncode != 0:
                self.warnings.append(f"{d.host}: vtysh -f frr.conf: {(p.stdout + p.stderr).strip()[:300]}")

        pmap(load, every)

    def _city_start(self) -> Dev | None:
        c = self.plan.city
        if not c or planmod.CITY_NS not in self.plan.namespaces:
            return None
        import pwd

        d = Dev("city", planmod.CITY_NS, self.lab / "dev" / "_city", {}, ["zebra", "staticd", "bgpd"])
        for sub in ("run/frr", "frr", "log"):
            (d.dir / sub).mkdir(parents=True, exist_ok=True)
        conf = [f"hostname city-as{c.asn}", "!", f"router bgp {c.asn}", f" bgp router-id {c.router_id}",
                " no bgp ebgp-requires-policy", f" neighbor {c.neighbor} remote-as {c.neighbor_as}",
                f" neighbor {c.neighbor} timers 1 3"]
        if c.password:  # the city side of the authenticated session: the same lab value as the county side
            conf.append(f" neighbor {c.neighbor} password {self.secrets.resolve('${secret:' + c.password + '}')}")
        if c.ttl_hops:
            conf.append(f" neighbor {c.neighbor} ttl-security hops {c.ttl_hops}")
        conf.append(" address-family ipv4 unicast")
        conf += [f"  network {p}" for p in c.prefixes] + [" exit-address-family", "!"]
        (d.frr / "frr.conf").write_text("\n".join(conf) + "\n")
        (d.frr / "vtysh.conf").write_text("username root nopassword\n")
        pw = pwd.getpwnam("frr")
        for p in (d.frr, d.run / "frr", *d.frr.iterdir()):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        self._frr_launch(d)
        self.state.info["city_dir"] = str(d.dir)
        return d

    def nft(self) -> None:
        def one(d: Dev) -> None:
            if "etc/nftables.conf" not in d.files:
                return
            text = configs.lab_nft(d.files["etc/nftables.conf"],
                                   stateless_forward=self.plan.devices[d.host].intent.role != "firewall")
            (d.dir / "nftables.lab.conf").write_text(text)
            run(nsexec(d.ns, "nft", "-f", str(d.dir / "nftables.lab.conf")))

        pmap(one, list(self.devs.values()))

    def ipsec(self) -> None:
        vpns = [d for d in self.devs.values() if d.vpn]
        for d in vpns:
            # strongSwan routes the remote selectors (10.30.0.0/16) in table 220, which also covers the
            # spoke's own LAN: keep traffic to the local selectors in the main table
            vpn = self.plan.devices[d.host].intent.vpn
            assert vpn
            if vpn.role == "spoke":
                nets = sorted({n for peer in vpn.peers for n in peer.local_networks})
                ip_batch([f"rule add to {n} lookup main pref 200" for n in nets], d.ns)
            (d.run / "charon.vici").unlink(missing_ok=True)
            script = (f"mount --bind {d.run} /run && STRONGSWAN_CONF={d.ipsec / 'strongswan.conf'} "
                      f"exec {CHARON}")
            _popen(self.state, d.ns, "charon", script, d.dir / "log" / "charon-stdout.log")
        _wait_files([d.run / "charon.vici" for d in vpns], 30, "strongSwan start")
        # hubs first: spokes initiate as soon as their config is loaded
        vpns.sort(key=lambda d: self.plan.devices[d.host].intent.vpn.role != "hub")  # type: ignore[union-attr]
        for d in vpns:
            swanctl(d.run, "--load-all", "--file", str(d.ipsec / "swanctl.conf"))

    def ssh(self) -> None:
        sshdir = self.lab / "ssh"
        (sshdir / "authorized_keys").mkdir(parents=True, exist_ok=True)
        key = sshdir / "id_ed25519"
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "countynet-lab", "-f", str(key)])
        (sshdir / "authorized_keys" / LAB_USER).write_text((sshdir / "id_ed25519.pub").read_text())
        home = self.lab / "home" / LAB_USER
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)
        users = [ln for ln in Path("/etc/passwd").read_text().splitlines() if ln and not ln.startswith(LAB_USER)]
        users.append(f"{LAB_USER}:x:0:0:countynet lab:{home}:/bin/bash")
        (sshdir / "passwd").write_text("\n".join(users) + "\n")
        (sshdir / "shadow").write_text("".join(f"{u.split(':')[0]}:*:19000:0:99999:7:::\n" for u in users))
        (sshdir / "shadow").chmod(0o600)

        for d in self.devs.values():
            host_key(d.dir / "ssh" / "host_ed25519", d.host)
        known = []
        for d in self.devs.values():
            mgmt = self.plan.namespaces[d.ns].mgmt
            assert mgmt
            addr = mgmt.split("/")[0]
            pub = (d.dir / "ssh" / "host_ed25519.pub").read_text().split()
            known.append(f"{addr} {pub[0]} {pub[1]}")
            (d.dir / "ssh" / "sshd_config").write_text(
                f"ListenAddress {addr}\nPort 22\nHostKey {d.dir / 'ssh' / 'host_ed25519'}\n"
                f"PidFile {d.dir / 'run' / 'sshd.pid'}\nUsePAM no\nPermitRootLogin prohibit-password\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
                f"AuthorizedKeysFile {sshdir / 'authorized_keys'}/%u\nStrictModes no\nAllowUsers {LAB_USER}\n"
                "PrintMotd no\nUseDNS no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
            binds = [f"mount --bind {d.run} /run", "mkdir -p -m 755 /run/sshd",
                     f"mount --bind {sshdir / 'passwd'} /etc/passwd", f"mount --bind {sshdir / 'shadow'} /etc/shadow",
                     f"hostname {d.host}"]
            if d.daemons:
                binds.append(f"mount --bind {d.frr} /etc/frr")
            script = " && ".join(binds) + f" && exec /usr/sbin/sshd -D -e -f {d.dir / 'ssh' / 'sshd_config'}"
            _popen(self.state, d.ns, "sshd", script, d.dir / "log" / "sshd.log", unshare_uts=True)
        (sshdir / "known_hosts").write_text("\n".join(known) + "\n")
        _wait_files([d.dir / "run" / "sshd.pid" for d in self.devs.values()], 30, "sshd start")

    def write_inventory(self) -> None:
        devices = {}
        for host, d in self.devs.items():
            n = self.plan.namespaces[d.ns]
            lx = self.plan.devices[host]
            devices[host] = {"namespace": d.ns, "mgmt": (n.mgmt or "").split("/")[0], "dir": str(d.dir),
                             "role": lx.intent.role, "frr": bool(d.daemons), "vpn": d.vpn,
                             "loopback": (lx.intent.loopback or "").split("/")[0],
                             "zone": lx.intent.server.zone if lx.intent.server else None,
                             "interfaces": lx.names}
        nat: dict[str, str] = {}  # inside:proto:port -> outside, first firewall (by name) wins: the primary
        for _, lx in sorted(self.plan.devices.items()):
            for st in lx.intent.nat.static if lx.intent.nat else []:
                nat.setdefault(f"{st.inside}:{st.protocol}:{st.port}", st.outside)
        ssh = {"username": LAB_USER, "key": str(self.lab / "ssh" / "id_ed25519"),
               "known_hosts": str(self.lab / "ssh" / "known_hosts")}
        info = {"devices": devices, "roles": self.roles, "ssh": ssh,
                "build": str(self.build_dir) if self.build_dir else None,
                "kernel_esp": self.plan.kernel_esp,
                "nat": nat,
                "probes": [vars(p) for p in self.plan.probes],
                "ospf_expect": {h: sorted(v) for h, v in self.plan.ospf_expect.items()},
                "bgp_expect": {h: sorted(v) for h, v in self.plan.bgp_expect.items()},
                "timings": self.timings, "warnings": self.warnings}
        (self.lab / "lab.json").write_text(json.dumps(info, indent=1, ensure_ascii=False))
        self.state.info.update({"devices": len(devices), "timings": self.timings})


def static_routes(d: DeviceIntent) -> list[str]:
    """`ip route` commands (for `ip -batch`) of a host without FRR: its static routes whose next hop is on
    one of its subnets (the others are not installable), blackholes for null routes."""
    import ipaddress

    nets = [ipaddress.IPv4Interface(i.address).network for i in d.interfaces if i.address]
    out = []
    for r in d.routing.static:
        prefix = "default" if r.prefix == "0.0.0.0/0" else r.prefix
        metric = f" metric {r.distance}" if r.distance else ""
        if r.interface == "blackhole":
            out.append(f"route replace blackhole {prefix}")
        elif r.interface:
            via = f" via {r.next_hop}" if r.next_hop else ""
            out.append(f"route replace {prefix}{via} dev {r.interface}{metric}")
        elif r.next_hop and any(ipaddress.IPv4Address(r.next_hop) in n for n in nets):
            out.append(f"route replace {prefix} via {r.next_hop}{metric}")
    return out


def host_key(path: Path, comment: str) -> None:
    """An ed25519 host key pair in OpenSSH format (in-process: no ssh-keygen per device)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        return
    key = Ed25519PrivateKey.generate()
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.touch(mode=0o600)
    path.write_bytes(priv)
    path.with_suffix(".pub").write_text(pub.decode() + f" {comment}\n")


def build_lab(plan: LabPlan, lab_dir: Path, state: LabState, log: Callable[[str], None],
              roles: dict[str, str] | None = None, build_dir: Path | None = None) -> Builder:
    """Create everything of the plan, step by step (timed), and write the lab inventory `lab.json`."""
    b = Builder(plan, lab_dir, state, log)
    b.roles = roles or {}
    b.build_dir = build_dir
    b.step("render", b.render)
    b.step("namespaces", b.namespaces)
    b.step("links", b.links)
    b.step("addresses", b.ns_config)
    b.step("frr", b.frr)
    b.step("nftables", b.nft)
    b.step("ipsec", b.ipsec)
    b.step("sshd", b.ssh)
    b.write_inventory()
    return b
