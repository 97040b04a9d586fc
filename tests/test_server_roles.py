"""playbooks/servers.yml (role countynet_server_baseline) against two real "servers" in network namespaces.

What is real here: each server is its own network namespace with its own sshd, reached over SSH by Ansible, which
runs in a controller namespace holding a management address (a host of the intent's management sources, so inside
the rendered `mgmt_sources`); each server's sshd runs in a private mount namespace where /etc and /home are
bind-mounted copies, so the role's users, groups, home directories and authorized_keys are made by the real
`user`/`group` modules in that server's own /etc/passwd, and the files of yx-db-1 land at the real /etc paths.
yx-ntp-1 is run with `countynet_server_baseline_root` set to a prefix directory (the staged-image mode). Validation
before install runs the real `sshd -t`, `nft -c`, `chronyd -p` and `rsyslogd -N1`. Handlers log each firing, then:
the nftables handler really loads the ruleset into the server's namespace, the sysctl handler really applies the
file there, the sshd handler really sends SIGHUP to that server's sshd. Not exercised: restarting the host's
chrony, rsyslog or auditd (handlers only log), and loading the audit rules (`auditctl -R` has no dry-run and audit
is not namespaced, so it would change the host kernel).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "servers.yml"
SERVERS = ("yx-db-1", "yx-ntp-1")
USERS = ("netadmin", "netops", "auditor")
HANDLERS = ("sshd", "nftables", "chrony", "rsyslog", "auditd", "auditd_conf", "sysctl")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

pytestmark = pytest.mark.root


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def need_tools() -> Path:
    """Skip (with a printed reason) unless root with every tool the test runs; returns ansible-playbook."""
    if os.geteuid() != 0:
        print("SKIP: server role tests need root (network and mount namespaces, sshd)")
        pytest.skip("needs root (network and mount namespaces, sshd)")
    exe = Path(sys.executable).parent / "ansible-playbook"
    tools = ["ip", "unshare", "mount", "ssh", "ssh-keygen", "/usr/sbin/sshd", "/usr/sbin/nft", "/usr/sbin/chronyd",
             "/usr/sbin/rsyslogd", "dpkg-query", str(exe)]
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print(f"SKIP: missing {missing} (apt-get install -y $(grep -v '^#' scripts/lab-packages.txt); "
              "pip install -e '.[dev]')")
        pytest.skip(f"missing tools: {missing}")
    return exe


@dataclass
class Server:
    name: str
    ns: str
    address: str
    dir: Path          # etc/ and home/ are this server's private /etc and /home
    root: str          # countynet_server_baseline_root
    pidfile: Path
    handlers: Path     # one line per handler firing

    @property
    def files_root(self) -> Path:
        """Where the role's files land, seen from the host."""
        return self.dir / "etc" if self.root == "/" else Path(self.root) / "etc"

    def nft(self) -> str:
        return sh("ip", "netns", "exec", self.ns, "nft", "list", "ruleset").stdout

    def sysctl(self, key: str) -> str:
        return sh("ip", "netns", "exec", self.ns, "sysctl", "-n", key).stdout.strip()


def controller_address(build: Path) -> str:
    """An address every test server's rendered firewall admits SSH from: a host of the intent's management
    sources (read from the build, so a narrowed source, e.g. the jump host only, is followed)."""
    nets = []
    for name in SERVERS:
        intent = yaml.safe_load((build / "intent" / f"{name}.yaml").read_text(encoding="utf-8"))
        nets.append([ipaddress.ip_network(n) for n in intent["management"]["allowed_sources"]])
    for net in nets[0]:
        for host in ([net.network_address] if net.prefixlen == 32 else list(net.hosts())[-3:]):
            if all(any(host in n for n in other) for other in nets):
                return str(host)
    raise AssertionError(f"no management source common to {SERVERS}: {nets}")


class ServerLab:
    """A controller namespace (Ansible and ssh run in it, from a management address) and server namespaces with
    sshd in private mount namespaces; close() kills only their processes, by PID, and deletes the namespaces."""

    def __init__(self, tmp: Path, exe: Path, controller: str) -> None:
        self.tmp = tmp
        self.exe = exe
        self.tag = f"{os.getpid() % 10000:04d}"
        self.controller = controller
        self.ctl = f"cnctl{self.tag}"
        self.nss: list[str] = []
        self.servers: list[Server] = []
        sh("ip", "netns", "add", self.ctl)
        self.nss.append(self.ctl)
        sh("ip", "netns", "exec", self.ctl, "ip", "link", "set", "lo", "up")
        self.key = tmp / "controller_key"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key))
        (tmp / "root_authorized_keys").write_text((tmp / "controller_key.pub").read_text())
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text("")
        Path("/run/sshd").mkdir(exist_ok=True)

    def in_ctl(self, *args: str) -> list[str]:
        """A command run in the controller's namespace."""
        return ["ip", "netns", "exec", self.ctl, *args]

    def add(self, name: str, prefixed: bool) -> Server:
        i = len(self.servers)
        ns, ctl_if, addr = f"cnsrv{self.tag}{i}", f"srv{i}", f"198.18.{i}.2"
        sh("ip", "netns", "add", ns)
        self.nss.append(ns)
        sh("ip", "link", "add", ctl_if, "netns", self.ctl, "type", "veth", "peer", "name", "eth0", "netns", ns)
        for cmd in (["ip", "addr", "add", f"{self.controller}/32", "dev", ctl_if], ["ip", "link", "set", ctl_if, "up"],
                    ["ip", "route", "add", f"{addr}/32", "dev", ctl_if, "src", self.controller]):
            sh(*self.in_ctl(*cmd))
        for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{addr}/32", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"],
                    ["ip", "route", "add", f"{self.controller}/32", "dev", "eth0"]):
            sh("ip", "netns", "exec", ns, *cmd)
        d = self.tmp / name
        d.mkdir()
        sh("cp", "-a", "/etc", str(d / "etc"))
        (d / "home").mkdir()
        root = str(d / "prefix") if prefixed else "/"
        if prefixed:
            (d / "prefix").mkdir()
        hk = d / "host_key"
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hk))
        cfg = d / "sshd_config"
        cfg.write_text(f"ListenAddress {addr}\nPort 22\nHostKey {hk}\nPidFile {d}/sshd.pid\n"
                       f"AuthorizedKeysFile {self.tmp}/root_authorized_keys .ssh/authorized_keys\n"
                       "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                       "KbdInteractiveAuthentication no\nUsePAM yes\nStrictModes no\nMaxStartups 50\n"
                       "Subsystem sftp /usr/lib/openssh/sftp-server\n")
        boot = (f"mount --bind {d}/etc /etc && mount --bind {d}/home /home && "
                f"exec /usr/sbin/sshd -f {cfg} -E {d}/sshd.log")
        sh("ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", boot)
        with self.known_hosts.open("a") as f:
            f.write(f"{addr} {' '.join(hk.with_suffix('.pub').read_text().split()[:2])}\n")
        for _ in range(100):
            if (d / "sshd.pid").exists():
                break
            time.sleep(0.05)
        server = Server(name, ns, addr, d, root, d / "sshd.pid", d / "handlers.log")
        self.servers.append(server)
        return server

    def close(self) -> None:
        for ns in self.nss:
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", ns, check=False)


def handler_commands(s: Server) -> dict[str, list[str]]:
    """Each handler logs its firing; nftables, sysctl and sshd then act for real inside the server's namespace."""
    prefix = "" if s.root == "/" else s.root
    real = {
        "sshd": f"kill -HUP $(cat {s.pidfile})",
        "nftables": f"nft -f {prefix}/etc/nftables.conf",
        "sysctl": f"sysctl -q -p {prefix}/etc/sysctl.d/60-countynet.conf",
        "chrony": "true", "rsyslog": "true", "auditd": "true", "auditd_conf": "true",
    }
    return {k: ["sh", "-c", f"echo {k} >> {s.handlers} && {cmd}"] for k, cmd in real.items()}


@pytest.fixture()
def lab(tmp_path: Path, bundled_build: Path) -> Iterator[tuple[ServerLab, Path, Path]]:
    """Two fresh servers, an inventory (the build's own, plus connection host_vars) and an SSH keys vars file."""
    exe = need_tools()
    lab = ServerLab(tmp_path, exe, controller_address(bundled_build))
    try:
        servers = [lab.add(SERVERS[0], prefixed=False), lab.add(SERVERS[1], prefixed=True)]
        inv = tmp_path / "inventory"
        (inv / "host_vars").mkdir(parents=True)
        shutil.copy(bundled_build / "inventory/ansible/hosts.yml", inv / "hosts.yml")
        for s in servers:
            (inv / "host_vars" / f"{s.name}.yml").write_text(yaml.safe_dump({
                "ansible_host": s.address, "ansible_user": "root", "ansible_become": False,
                "ansible_ssh_private_key_file": str(lab.key),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes",
                "ansible_python_interpreter": sys.executable,
                "countynet_server_baseline_build_dir": str(bundled_build),
                "countynet_server_baseline_root": s.root,
                "countynet_server_baseline_reload": handler_commands(s),
            }))
        keys = {}
        for user in USERS:
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{user}@test", "-f", str(tmp_path / f"key_{user}"))
            keys[user] = [(tmp_path / f"key_{user}.pub").read_text().strip()]
        (tmp_path / "keys.yml").write_text(yaml.safe_dump({"countynet_server_baseline_ssh_keys": keys}))
        yield lab, inv, tmp_path / "keys.yml"
    finally:
        lab.close()


def run(lab: ServerLab, inv: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, list[int]]]:
    """ansible-playbook playbooks/servers.yml on the two servers; returns the result and host -> recap counts."""
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_RETRY_FILES_ENABLED": "False",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(lab.tmp / "cp"),
           "ANSIBLE_PIPELINING": "True"}
    args = [*lab.in_ctl(str(lab.exe)), "-i", str(inv / "hosts.yml"), str(PLAYBOOK),
            "--limit", ",".join(SERVERS), *extra]
    res = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    recap = {m[1]: [int(x) for x in m.groups()[1:]] for m in RECAP.finditer(res.stdout)}
    return res, recap


def flat(text: str) -> str:
    """Ansible's output with its line wrapping undone (a message may be folded over several lines)."""
    return " ".join(text.split())


def snapshot(*dirs: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every file, directory and link under dirs: mode, owner, group and content hash (or link target)."""
    out: dict[str, tuple[int, int, int, str]] = {}
    for top in dirs:
        if not top.exists():
            continue
        for p in [top, *top.rglob("*")]:
            st = p.lstat()
            if p.is_symlink():
                what = os.readlink(p)
            elif p.is_file():
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = "dir"
            out[str(p)] = (st.st_mode, st.st_uid, st.st_gid, what)
    return out


def test_check_mode_then_apply_then_idempotent(lab: tuple[ServerLab, Path, Path], bundled_build: Path) -> None:
    lab_, inv, keys = lab
    db, ntp = lab_.servers
    watched = [db.dir / "etc", db.dir / "home", ntp.dir / "etc", ntp.dir / "home", Path(ntp.root)]
    before = snapshot(*watched)
    assert "5432" not in db.nft()

    # --check on fresh servers: the play passes and nothing on disk or in the kernel changes
    res, recap = run(lab_, inv, "-e", f"@{keys}", "--check", "--diff")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert set(recap) == set(SERVERS) and all(r[1] > 0 for r in recap.values()), res.stdout[-2000:]
    assert snapshot(*watched) == before
    assert not db.handlers.exists() and not ntp.handlers.exists()
    assert "5432" not in db.nft() and "dport 123" not in ntp.nft()

    # first real run: changes, every handler fires exactly once per server
    res, recap = run(lab_, inv, "-e", f"@{keys}")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert all(r[1] > 0 and r[3] == 0 for r in recap.values()), recap
    for s in (db, ntp):
        assert sorted(s.handlers.read_text().split()) == sorted(HANDLERS), s.name
        for rel in ("ssh/sshd_config.d/60-countynet.conf", "nftables.conf", "chrony/chrony.conf",
                    "rsyslog.d/60-countynet.conf", "sysctl.d/60-countynet.conf", "issue.net",
                    "profile.d/countynet-timeout.sh"):
            assert (s.files_root / rel).read_bytes() == (bundled_build / "configs" / s.name / "etc" / rel).read_bytes()
        audit = (s.files_root / "audit/auditd.conf").read_text()
        assert "max_log_file_action = KEEP_LOGS" in audit and "num_logs = 30" in audit
        rules = (s.files_root / "audit/rules.d/60-countynet.rules").read_text()
        assert all(f"-k {k}" in rules for k in ("identity", "sudo", "sshd_config", "time-change"))
        passwd = (s.dir / "etc/passwd").read_text()
        assert all(re.search(rf"^{u}:x:\d+:\d+:countynet \w+:/home/{u}:/bin/bash$", passwd, re.M) for u in USERS)
        group = (s.dir / "etc/group").read_text()
        assert re.search(r"^sudo:x:\d+:netadmin$", group, re.M) and re.search(r"^adm:x:\d+:auditor$", group, re.M)
        ak = s.dir / "home/netadmin/.ssh/authorized_keys"
        assert ak.read_text().strip() == (lab_.tmp / "key_netadmin.pub").read_text().strip()
        assert oct(ak.stat().st_mode & 0o777) == "0o600"
    # the servers' private /etc took the users: the host's own /etc did not
    assert "countynet admin" not in Path("/etc/passwd").read_text()
    # the handlers acted inside the namespaces: rulesets loaded, sysctl applied
    assert 'tcp dport 5432 accept comment "postgres"' in db.nft()
    assert 'udp dport 123 accept comment "ntp"' in ntp.nft()
    assert db.sysctl("net.ipv4.conf.all.rp_filter") == "1" and ntp.sysctl("net.ipv4.conf.all.rp_filter") == "1"
    # the keys work: netadmin logs in with the test key (the server's sshd, through its loaded firewall)
    who = sh(*lab_.in_ctl("ssh"), "-i", str(lab_.tmp / "key_netadmin"), "-o", f"UserKnownHostsFile={lab_.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"netadmin@{db.address}", "id", check=False)
    assert who.returncode == 0 and "(sudo)" in who.stdout, who.stderr

    # second run: nothing changes, no handler fires
    fired = {s.name: s.handlers.read_text() for s in (db, ntp)}
    after_first = snapshot(*watched)
    res, recap = run(lab_, inv, "-e", f"@{keys}")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert {h: r[1] for h, r in recap.items()} == dict.fromkeys(SERVERS, 0), res.stdout[-3000:]
    assert {s.name: s.handlers.read_text() for s in (db, ntp)} == fired
    assert snapshot(*watched) == after_first


def test_refusals(lab: tuple[ServerLab, Path, Path], bundled_build: Path, tmp_path: Path) -> None:
    lab_, inv, keys = lab
    db, ntp = lab_.servers
    watched = [db.dir / "etc", db.dir / "home", ntp.dir / "etc", ntp.dir / "home", Path(ntp.root)]
    before = snapshot(*watched)

    # no keys file: every server refuses before any change, naming the users without a key and how to pass keys
    res, _ = run(lab_, inv)
    assert res.returncode != 0
    assert "no SSH public key for netadmin, netops, auditor" in flat(res.stdout)
    assert "-e @/secure/countynet-ssh-keys.yml" in flat(res.stdout)
    assert snapshot(*watched) == before

    # a hand-edited build is refused by the manifest check before anything is installed (on every server: the
    # play's failure budget is 0)
    edited = tmp_path / "edited-build"
    shutil.copytree(bundled_build, edited)
    conf = edited / "configs" / SERVERS[0] / "etc/nftables.conf"
    conf.write_text(conf.read_text().replace("policy drop", "policy accept"))
    res, _ = run(lab_, inv, "-e", f"@{keys}", "-e", f"countynet_server_baseline_build_dir={edited}")
    assert res.returncode != 0
    refused = f"build/configs/{SERVERS[0]}/etc/nftables.conf is missing or differs from build/manifest.json"
    assert refused in flat(res.stdout)
    assert snapshot(*watched) == before
    assert not db.handlers.exists() and not ntp.handlers.exists()

    # a rendered file its daemon refuses is not installed (validate: runs the real sshd -t); the play stops there,
    # so neither the firewall nor any handler runs
    broken = tmp_path / "broken-build"
    shutil.copytree(bundled_build, broken)
    sshd = broken / "configs" / SERVERS[0] / "etc/ssh/sshd_config.d/60-countynet.conf"
    sshd.write_text(sshd.read_text() + "PermitRootLogin sometimes\n")
    res, _ = run(lab_, inv, "-e", f"@{keys}", "-e", f"countynet_server_baseline_build_dir={broken}",
                 "-e", "countynet_server_baseline_check_manifest=false")
    assert res.returncode != 0
    assert "failed to validate" in flat(res.stdout), res.stdout[-3000:]
    assert not (db.dir / "etc/ssh/sshd_config.d/60-countynet.conf").exists()
    assert not db.handlers.exists() and not ntp.handlers.exists()
    assert "5432" not in db.nft() and "dport 123" not in ntp.nft()
