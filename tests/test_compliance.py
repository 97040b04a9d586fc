"""等保 2.0 level 3 (GB/T 22239-2019) network-device and server controls, checked on every rendered device of the
bundled build (issue 10, part 8; docs/compliance.md maps each control to its lines per platform).

For each device the rendered files are read from `build/configs/<host>/` (what deploy pushes) and each control's
required lines must be present and its forbidden lines absent, per template family and flavour. A control that
cannot be decided from configuration (password complexity: the values live in the secret store) is checked as far
as the configuration goes (no literal password anywhere) and docs/compliance.md says what remains. The checker is
proven able to fail: each family's mutations (telnet on, an SNMP community, a /24 management source, a dropped
idle timeout, a shared local secret, ...) are each reported.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from countynet.topology.ranges import expand_ports

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "compliance.md"

# control id -> (中文, English); the ids are the section anchors of docs/compliance.md
CONTROLS: dict[str, tuple[str, str]] = {
    "C1": ("身份鉴别", "identification: named administrators, AAA server, per-device local fallback"),
    "C2": ("口令复杂度", "password complexity: no literal password in any configuration"),
    "C3": ("登录失败处理", "login-failure lockout"),
    "C4": ("超时自动退出", "idle timeouts on every management line"),
    "C5": ("远程管理加密", "encrypted remote management: SSH only, telnet and HTTP off"),
    "C6": ("管理地址限制", "management source restriction: jump host and NMS only"),
    "C7": ("权限分离", "role separation: administrator, operator and auditor differ"),
    "C8": ("安全审计与时钟同步", "remote audit (syslog, AAA accounting) with time synchronisation"),
    "C9": ("SNMPv3", "SNMPv3 with authentication and privacy only, no community"),
    "C10": ("关闭不必要服务", "unused services off"),
    "C11": ("路由协议认证", "routing-protocol authentication (OSPF on every interface, BGP with MD5 and GTSM) and "
                           "route filters (township and WAN routers, area exports)"),
    "C12": ("接入层安全", "access layer: DHCP snooping, port security, source guard, unused ports shut"),
}

CATALOG = yaml.safe_load((ROOT / "topology" / "catalog.yaml").read_text(encoding="utf-8"))["hardware"]
# C12: the host-facing switches and, per flavour, the lines each host port / uplink / served LAN interface needs
ACCESS_ROLES = ("township_switch", "access_switch")
ACCESS = {
    "huawei_vrp5": {"global": r"^dhcp snooping enable$", "host": [r" dhcp snooping enable", r" port-security enable",
                                                                  r" port-security max-mac-num \d+"],
                    "uplink": [r" dhcp snooping trusted"], "served": []},
    "h3c_comware7": {"global": r"^ dhcp snooping enable$", "host": [r" port-security max-mac-count \d+",
                                                                    r" port-security port-mode autolearn"],
                     "uplink": [r" dhcp snooping trust"], "served": [r" ip verify source ip-address mac-address"]},
}
HOST_IP = r"\d+\.\d+\.\d+\.\d+"
SECRET = r"\$\{secret:[a-z0-9][a-z0-9_.-]*\}"


def sections(text: str) -> dict[str, list[str]]:
    """Top-level line -> its indented lines (Huawei/H3C `#`-separated or Cisco `!`-separated views); a header that
    appears twice gets both bodies."""
    out: dict[str, list[str]] = {}
    cur: list[str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.strip() in ("#", "!"):
            cur = None if line in ("#", "!") else cur
            continue
        if not line.startswith(" "):
            cur = out.setdefault(line, [])
        elif cur is not None:
            cur.append(line)
    return out


class Findings:
    """What one device fails, as 'C<n>: what' strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[str] = []

    def need(self, control: str, pattern: str, what: str = "") -> None:
        if not re.search(pattern, self.text, re.M):
            self.items.append(f"{control}: missing {what or pattern}")

    def forbid(self, control: str, pattern: str, what: str = "") -> None:
        m = re.search(pattern, self.text, re.M)
        if m:
            self.items.append(f"{control}: forbidden {what or pattern}: {m.group(0)!r}")

    def check(self, control: str, ok: bool, what: str) -> None:
        if not ok:
            self.items.append(f"{control}: {what}")


def _common_network(f: Findings, host: str) -> None:
    """Controls every Huawei / H3C / Cisco device shares: secrets as per-device references, no literal password."""
    refs = re.findall(r"\$\{secret:(aaa-[a-z0-9_.-]+)\}", f.text)
    f.check("C1", bool(refs), "no local user secret reference")
    f.check("C1", all(r.endswith(f".{host}") for r in refs),
            f"a local user secret is not per device (<secret>.{host}): {sorted(set(refs))}")
    f.forbid("C2", r"password (?:simple|cipher|irreversible-cipher) (?!\$\{secret:)\S+", "literal password")
    f.forbid("C2", r"^username \S+ .*secret (?!\$\{secret:)\S+", "literal secret")
    f.forbid("C9", r"community", "SNMP community")


def _huawei(f: Findings, host: str, flavour: str, text: str) -> None:
    s = sections(text)
    vty = s.get("user-interface vty 0 4", [])
    f.need("C1", r"^hwtacacs-server template \S+\n hwtacacs-server authentication " + HOST_IP, "HWTACACS server")
    f.need("C1", r"^  authentication-mode hwtacacs local$", "HWTACACS login with local fallback")
    if flavour == "huawei_vrp8_ne":
        f.need("C3", r"^ user-block failed-times \d+ period \d+$", "NE login-failure block")
        f.need("C3", r"^  user-block reactive \d+$|^ user-block reactive \d+$", "NE block reactivation")
    else:
        f.need("C3", r"^ local-aaa-user wrong-password retry-interval \d+ retry-time \d+ block-time \d+$", "lockout")
    f.check("C4", any(re.fullmatch(r" idle-timeout [1-9]\d* 0", x) for x in vty), "vty idle-timeout")
    # the console: VRP5 with AAA and a timeout; CE with AAA (its reference has no console idle-timeout, the
    # default 10 minutes applies); NE40E: factory default (docs/compliance.md)
    con = s.get("user-interface con 0", []) + s.get("user-interface console 0", [])
    if flavour == "huawei_vrp5":
        f.check("C4", any(re.fullmatch(r" idle-timeout [1-9]\d* 0", x) for x in con), "console idle-timeout")
    if flavour != "huawei_vrp8_ne":
        f.check("C1", " authentication-mode aaa" in con, "console AAA login")
    f.check("C5", " protocol inbound ssh" in vty and " authentication-mode aaa" in vty, "vty SSH + AAA only")
    f.need("C5", r"^stelnet server enable$", "stelnet server")
    f.need("C5", r"^telnet server disable$" if flavour == "huawei_vrp8_ce" else r"^undo telnet server enable$",
           "telnet off (flavour's form)")
    f.forbid("C5", r"^telnet server enable$", "telnet on")
    acl = s.get("acl number 2000", [])
    rules = [x for x in acl if x.startswith(" rule")]
    f.check("C6", " acl 2000 inbound" in vty and "ssh server acl 2000" in text.splitlines(), "ACL 2000 on vty/SSH")
    f.check("C6", bool(rules) and rules[-1] == " rule 1000 deny"
            and all(re.fullmatch(rf" rule \d+ permit source {HOST_IP} 0\.0\.0\.0", r) for r in rules[:-1]),
            f"ACL 2000 admits more than single hosts: {rules}")
    levels = re.findall(r"^ local-user (\S+) (?:privilege )?level (\d+)$", text, re.M)
    f.check("C7", len(levels) >= 3 and len({lv for _, lv in levels}) == len(levels), f"user levels {levels}")
    f.need("C8", rf"^info-center loghost {HOST_IP} ", "syslog host")
    f.need("C8", rf"^(?:ntp-service|ntp) unicast-server {HOST_IP}$", "NTP server")
    f.need("C8", r"^  accounting-mode hwtacacs$", "HWTACACS accounting")
    f.need("C9", r"^snmp-agent sys-info version v3$", "SNMPv3")
    f.need("C9", r"^snmp-agent sys-info version v1 disable$" if flavour == "huawei_vrp8_ce"
           else r"^undo snmp-agent sys-info version v1 v2c$", "v1/v2c off (flavour's form)")
    f.need("C9", r"^snmp-agent group v3 \S+ privacy ", "authPriv group")
    f.forbid("C10", r"^http server enable$|^undo http server disable$", "HTTP server")


def _comware(f: Findings, host: str, flavour: str, text: str) -> None:
    s = sections(text)
    vty = s.get("line vty 0 63", [])
    f.need("C1", rf"^hwtacacs scheme \S+\n primary authentication {HOST_IP}", "HWTACACS scheme")
    f.need("C1", r"^ authentication login hwtacacs-scheme \S+ local$", "HWTACACS login with local fallback")
    f.need("C3", r"^ password-control enable$", "password-control")
    f.need("C3", r"^ password-control login-attempt \d+ exceed lock-time \d+$", "lockout")
    f.check("C4", any(re.fullmatch(r" idle-timeout [1-9]\d* 0", x) for x in vty), "vty idle-timeout")
    f.check("C5", " protocol inbound ssh" in vty and " authentication-mode scheme" in vty, "vty SSH + scheme")
    f.need("C5", r"^ ssh server enable$", "SSH server")
    f.need("C5", r"^ undo telnet server enable$", "telnet off")
    f.forbid("C5", r"^ ?telnet server enable$", "telnet on")
    acl = s.get("acl basic 2001", [])
    rules = [x for x in acl if x.startswith(" rule")]
    f.need("C6", r"^ ssh server acl 2001$", "SSH ACL")
    f.check("C6", bool(rules) and rules[-1] == " rule 1000 deny"
            and all(re.fullmatch(rf" rule \d+ permit source {HOST_IP} 0\.0\.0\.0", r) for r in rules[:-1]),
            f"ACL 2001 admits more than single hosts: {rules}")
    roles = re.findall(r"^ authorization-attribute user-role (\S+)$", text, re.M)
    f.check("C7", sorted(roles) == ["network-admin", "network-operator", "security-audit"], f"roles {roles}")
    f.need("C8", rf"^ info-center loghost {HOST_IP} ", "syslog host")
    f.need("C8", rf"^ ntp-service unicast-server {HOST_IP} ", "NTP server")
    f.need("C8", r"^ accounting login hwtacacs-scheme \S+", "HWTACACS accounting")
    f.need("C9", r"^ snmp-agent sys-info version v3$", "SNMPv3 only")
    f.need("C9", r"^ snmp-agent group v3 \S+ privacy ", "authPriv group")
    f.forbid("C9", r"sys-info version .*v(?:1|2c)", "SNMP v1/v2c")
    f.need("C10", r"^ undo ip http enable$", "HTTP off")
    f.need("C10", r"^ undo ip https enable$", "HTTPS off")


def _cisco(f: Findings, host: str, flavour: str, text: str) -> None:
    s = sections(text)
    f.need("C1", rf"^tacacs server \S+\n address ipv4 {HOST_IP}", "TACACS+ server")
    f.need("C1", r"^aaa authentication login default group \S+ local$", "AAA login with local fallback")
    f.need("C3", r"^login block-for \d+ attempts \d+ within \d+$", "login block-for")
    for line in ("line vty 0 4", "line vty 5 15", "line con 0", "line aux 0"):
        f.check("C4", any(re.fullmatch(r" exec-timeout [1-9]\d* 0", x) for x in s.get(line, [])),
                f"{line} exec-timeout")
    for line in ("line vty 0 4", "line vty 5 15"):
        body = s.get(line, [])
        f.check("C5", " transport input ssh" in body, f"{line}: transport input ssh")
        f.check("C6", " access-class MGMT-ACCESS in" in body, f"{line}: access-class")
    f.forbid("C5", r"transport input (?:telnet|all|ssh telnet|telnet ssh)", "telnet on a line")
    f.need("C5", r"^ip ssh version 2$", "SSH version 2")
    acl = [x for x in s.get("ip access-list standard MGMT-ACCESS", [])]
    f.check("C6", bool(acl) and re.fullmatch(r" \d+ deny any log", acl[-1]) is not None
            and all(re.fullmatch(rf" \d+ permit {HOST_IP} 0\.0\.0\.0", r) for r in acl[:-1]),
            f"MGMT-ACCESS admits more than single hosts: {acl}")
    privs = re.findall(r"^username (\S+) privilege (\d+) ", text, re.M)
    f.check("C7", len(privs) >= 3 and len({p for _, p in privs}) == len(privs), f"privileges {privs}")
    # the operator's level (neither 1 nor 15) has a command set of its own, and `show` stays at level 1 for the auditor
    mid = sorted({int(p) for _, p in privs} - {1, 15})
    granted = re.findall(r"^privilege exec (?:all )?level (\d+) (.+)$", text, re.M)
    f.check("C7", len(mid) == 1 and {c for lv, c in granted if int(lv) == mid[0]} >= {
        "show running-config", "show startup-config", "show logging"}, f"operator level {mid}: commands {granted}")
    f.need("C7", r"^privilege exec level 1 show$", "`show` kept at level 1 (the auditor)")
    f.need("C8", rf"^logging host {HOST_IP}$", "syslog host")
    f.need("C8", rf"^ntp server {HOST_IP}$", "NTP server")
    f.need("C8", r"^aaa accounting commands 15 default start-stop group \S+$", "command accounting")
    f.need("C9", r"^snmp-server group \S+ v3 priv ", "SNMPv3 authPriv group")
    f.forbid("C9", r"^snmp-server (?:community|host \S+ (?:version (?:1|2c) )?[A-Za-z]\S* *$)", "v1/v2c")
    f.need("C10", r"^no ip http server$", "HTTP off")
    f.need("C10", r"^no ip http secure-server$", "HTTPS off")
    f.need("C10", r"^no service pad$", "PAD off")
    f.forbid("C10", r"^ip http (?:secure-)?server$", "HTTP on")


def _linux(f: Findings, host: str, files: dict[str, str], ntp_self: bool, syslog_self: bool) -> None:
    sshd = files.get("etc/ssh/sshd_config.d/60-countynet.conf", "")
    for line in ("PermitRootLogin no", "PasswordAuthentication no", "PermitEmptyPasswords no"):
        f.check("C1" if "Root" in line else "C2", line in sshd.splitlines(), f"sshd: {line}")
    f.check("C3", bool(re.search(r"^MaxAuthTries [1-9]\d*$", sshd, re.M)), "sshd MaxAuthTries")
    tmout = files.get("etc/profile.d/countynet-timeout.sh", "")
    f.check("C4", bool(re.search(r"^TMOUT=[1-9]\d*$", tmout, re.M)) and "readonly TMOUT" in tmout, "TMOUT")
    f.check("C4", bool(re.search(r"^ClientAliveInterval [1-9]\d*$", sshd, re.M)), "sshd ClientAliveInterval")
    allow = re.findall(r"^AllowUsers (.*)$", sshd, re.M)
    f.check("C6", len(allow) == 1 and all(re.fullmatch(rf"\S+@{HOST_IP}/32", x) for x in allow[0].split()),
            f"sshd AllowUsers not limited to single hosts: {allow}")
    rsyslog = files.get("etc/rsyslog.d/60-countynet.conf", "")
    chrony = files.get("etc/chrony/chrony.conf", "")
    f.check("C8", syslog_self or bool(re.search(r'^\*\.\* action\(type="omfwd" target="' + HOST_IP, rsyslog, re.M)),
            "rsyslog forwarding")
    f.check("C8", ntp_self or bool(re.search(rf"^server {HOST_IP} iburst$", chrony, re.M)), "chrony server")
    f.check("C9", not any("snmp" in name for name in files), "an SNMP agent file is rendered")
    for line in ("X11Forwarding no", "AllowTcpForwarding no", "AllowAgentForwarding no"):
        f.check("C10", line in sshd.splitlines(), f"sshd: {line}")


NETWORK: dict[str, Callable[[Findings, str, str, str], None]] = {
    "huawei_vrp": _huawei, "h3c_comware": _comware, "cisco_ios": _cisco}


def _routing(f: Findings, intent: dict, text: str, family: str) -> None:
    """C11: every non-loopback OSPF interface carries the key; the city session has MD5, GTSM and a limit."""
    ospf = (intent.get("routing") or {}).get("ospf")
    if ospf:
        ifs = [i for i in intent["interfaces"] if i.get("ospf") and i["kind"] != "loopback"]
        for i in ifs:  # HMAC-SHA-256, or MD5 towards an FRR 8.4 router (the intent says which)
            algo = i["ospf"].get("auth", "hmac-sha256")
            want = {"huawei_vrp": rf" ospf authentication-mode {algo} \d+ cipher {SECRET}",
                    "h3c_comware": rf" ospf authentication-mode {algo} \d+ plain {SECRET}",
                    "cisco_ios": r" ip ospf authentication key-chain \S+" if algo == "hmac-sha256"
                    else r" ip ospf authentication message-digest"}.get(family)
            if want:
                body = sections(text).get(f"interface {i['name']}", [])
                f.check("C11", any(re.fullmatch(want, x) for x in body),
                        f"interface {i['name']}: no OSPF {algo} authentication")
    if ospf and family in ("huawei_vrp", "h3c_comware"):
        _route_filters(f, intent, text, family)
    bgp = (intent.get("routing") or {}).get("bgp")
    if bgp and family == "cisco_ios":
        for n in bgp["neighbors"]:
            a = re.escape(n["address"])
            f.need("C11", rf"^ neighbor {a} password {SECRET}$", f"BGP {n['address']} password")
            f.need("C11", rf"^ neighbor {a} ttl-security hops 1$", f"BGP {n['address']} GTSM")
            f.need("C11", rf"^  neighbor {a} maximum-prefix \d+ \d+$", f"BGP {n['address']} maximum-prefix")


FILTERED_LINKS = {"township_router": ("uplink:village:",), "wan": ("uplink:township:", "uplink:unit:")}


def _route_filters(f: Findings, intent: dict, text: str, family: str) -> None:
    """C11 route filters: a township router (WAN router) takes OSPF routes through each village (township, unit)
    link only by a permit node that names that neighbour's next hop, and denies every other route through it; the
    WAN router's non-backbone areas each export through a filter."""
    links = FILTERED_LINKS.get(intent["role"], ())
    below = [i for i in intent["interfaces"] if i.get("ospf") and str(i.get("link") or "").startswith(links)]
    if not below:
        return
    pl = "ip-prefix" if family == "huawei_vrp" else "prefix-list"
    plist = "ip ip-prefix" if family == "huawei_vrp" else " ip prefix-list"
    ospf_body = next((b for k, b in sections(text).items() if re.fullmatch(r"ospf \d+ router-id \S+", k)), [])
    used = [m.group(1) for x in ospf_body if (m := re.fullmatch(r" filter-policy route-policy (\S+) import", x))]
    f.check("C11", len(used) == 1, f"OSPF import filter: {used}")
    if len(used) != 1:
        return
    entries: dict[str, set[str]] = {}
    for m in re.finditer(rf"^{plist} (\S+) index \d+ permit (\S+) 32$", text, re.M):
        entries.setdefault(m.group(1), set()).add(m.group(2))
    nodes = re.findall(rf"^route-policy {re.escape(used[0])} (permit|deny) node \d+\n((?: .*\n)*)", text, re.M)
    nh = re.compile(rf" if-match ip next-hop {pl} (\S+)")
    permitted, denied = set(), set()
    for action, body in nodes:
        hops = {a for m in nh.finditer(body) for a in entries.get(m.group(1), ())}
        if action == "permit" and hops and len(body.splitlines()) == 2:  # prefix AND next hop
            permitted |= hops
        elif action == "deny":
            denied |= hops
    f.check("C11", bool(nodes) and nodes[-1] == ("permit", ""), "the import policy ends with a permit of the rest")
    for i in below:
        net = ipaddress.IPv4Interface(i["address"]).network
        far = str(next(h for h in net.hosts() if str(h) != i["address"].split("/")[0]))
        f.check("C11", far in permitted and far in denied, f"{i['name']}: routes via {far} not filtered")
    if intent["role"] == "wan":
        areas: dict[str, list[str]] = {}
        for x in ospf_body:
            if x.startswith(" area "):
                cur = areas.setdefault(x.split()[1], [])
            elif x.startswith("  ") and areas:
                cur.append(x)
        for a, body in areas.items():
            if a != "0.0.0.0":
                f.check("C11", any(re.fullmatch(rf"  filter {pl} \S+ export", x) for x in body),
                        f"area {a}: no export filter")


def _access(f: Findings, intent: dict, text: str) -> None:
    """C12 on a township or centre access switch with host ports. Host ports are the spanning-tree edge ports (the
    stp section, not the access-security one); every other switched port is an uplink; the served LAN interfaces
    are the DHCP pools' interfaces; every port of the catalogue model the intent does not use must be shut."""
    want = ACCESS.get(intent["flavour"])
    hosts = set((intent.get("stp") or {}).get("edge_ports") or [])
    if intent["role"] not in ACCESS_ROLES or not want or not hosts:
        return
    s = sections(text)
    f.need("C12", want["global"], "DHCP snooping enabled globally")
    used = {i["name"] for i in intent["interfaces"]}
    for i in intent["interfaces"]:
        body = s.get(f"interface {i['name']}", [])
        if i["name"] in hosts:
            need = want["host"]
        elif i["kind"] in ("access", "trunk", "lag"):
            need = want["uplink"]
        elif i["name"] in {p["interface"] for p in intent.get("dhcp") or []}:
            need = want["served"]
        else:
            continue
        for line in need:
            f.check("C12", any(re.fullmatch(line, x) for x in body), f"interface {i['name']}: missing {line.strip()}")
    ports = expand_ports(p for group in CATALOG[intent["model"]]["ports"].values() for p in group)
    for p in ports:
        if p not in used:
            body = s.get(f"interface {p}", [])
            f.check("C12", " shutdown" in body and " description unused" in body, f"unused port {p} not shut")


def check_device(host: str, intent: dict, files: dict[str, str], servers: dict[str, set[str]]) -> list[str]:
    """Every control's findings for one rendered device ([] = compliant)."""
    family = intent["platform"]
    if family == "linux":
        own = {i["address"].split("/")[0] for i in intent["interfaces"] if i.get("address")}
        f = Findings("")
        _linux(f, host, files, bool(own & servers["ntp"]), bool(own & servers["syslog"]))
        frr = files.get("etc/frr/frr.conf", "")
        if (intent.get("routing") or {}).get("ospf"):
            f.check("C11", frr.count(" ip ospf authentication message-digest") ==
                    sum(1 for i in intent["interfaces"] if i.get("ospf") and i["kind"] != "loopback"),
                    "FRR: an OSPF interface without MD5 authentication")
        return f.items
    text = "".join(v for k, v in sorted(files.items()) if k.endswith(".cfg"))
    f = Findings(text)
    _common_network(f, host)
    NETWORK[family](f, host, intent["flavour"], text)
    _routing(f, intent, text, family)
    _access(f, intent, text)
    return f.items


def load_device(build: Path, host: str) -> tuple[dict, dict[str, str]]:
    intent = yaml.safe_load((build / "intent" / f"{host}.yaml").read_text(encoding="utf-8"))
    root = build / "configs" / host
    files = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}
    return intent, files


@pytest.fixture(scope="module")
def devices(bundled_build: Path) -> dict[str, tuple[dict, dict[str, str]]]:
    hosts = sorted(p.stem for p in (bundled_build / "intent").glob("*.yaml"))
    assert len(hosts) > 300, hosts[:5]
    return {h: load_device(bundled_build, h) for h in hosts}


@pytest.fixture(scope="module")
def servers(devices: dict[str, tuple[dict, dict[str, str]]]) -> dict[str, set[str]]:
    m = next(iter(devices.values()))[0]["management"]
    return {"ntp": set(m["ntp_servers"]), "syslog": set(m["syslog_servers"])}


def test_every_device_meets_every_control(devices, servers) -> None:
    """Each rendered device of the build passes each control of its family (docs/compliance.md)."""
    failing = {h: items for h, (intent, files) in devices.items() if (items := check_device(h, intent, files, servers))}
    families = {intent["flavour"] for intent, _ in devices.values()}
    assert {"huawei_vrp5", "huawei_vrp8_ce", "huawei_vrp8_ne", "h3c_comware7", "cisco_iosxe",
            "linux_debian"} <= families
    assert not failing, "\n".join(f"{h}: {x}" for h, items in sorted(failing.items())[:20] for x in items[:6])


# one device per family/flavour, and a mutation of its files each control must catch
MUTATIONS: list[tuple[str, str, str, str]] = [
    # host, control, old, new ('' old = append new)
    ("yx-core-1", "C5", "telnet server disable\n", "telnet server enable\n"),
    ("yx-wan-1", "C3", " user-block failed-times", " undo user-block failed-times"),
    ("yx-aonan-rt1", "C6", " rule 5 permit source 10.30.19.15 0.0.0.0", " rule 5 permit source 10.30.19.0 0.0.0.255"),
    ("yx-aonan-rt1", "C4", " idle-timeout 10 0\n#\nuser-interface vty", "#\nuser-interface vty"),
    ("yx-aonan-sw1", "C9", "", "snmp-agent community read public\n"),
    ("yx-aonan-sw1", "C1", "${secret:aaa-netops.yx-aonan-sw1}", "${secret:aaa-netops}"),
    ("yx-aonan-rt1", "C11", " ospf authentication-mode hmac-sha256 1 cipher ${secret:ospf-key-1}\n", ""),
    ("yx-gaoxi-rt1", "C7", "user-role network-operator", "user-role network-admin"),
    ("yx-gaoxi-rt1", "C10", " undo ip http enable\n", ""),
    ("yx-gaoxi-rt1", "C2", "password simple ${secret:aaa-auditor.yx-gaoxi-rt1}", "password simple auditor123"),
    ("yx-city-1", "C5", " transport input ssh\n", " transport input telnet ssh\n"),
    ("yx-city-1", "C11", " neighbor 10.36.255.1 ttl-security hops 1\n", ""),
    ("yx-city-1", "C8", "aaa accounting commands 15", "no aaa accounting commands 15"),
    ("yx-city-1", "C7", "privilege exec level 3 show logging\n", ""),
    ("yx-aonan-rt1", "C11", " filter-policy route-policy OSPF-IN import\n", ""),
    ("yx-gaoxi-rt1", "C11", "route-policy OSPF-IN deny node 65000\n", "route-policy OSPF-IN permit node 65000\n"),
    ("yx-wan-1", "C11", "  filter ip-prefix OSPF-OUT-0-0-0-1 export\n", ""),
    ("yx-db-1", "C1", "PermitRootLogin no", "PermitRootLogin yes"),
    ("yx-db-1", "C6", "@10.30.19.15/32", "@10.30.19.0/24"),
    ("yx-aonan-sw1", "C12", " dhcp snooping trusted\n", ""),
    ("yx-aonan-sw1", "C12", " description unused\n shutdown", " description unused\n undo shutdown"),
    ("yx-aonan-sw1", "C12", "dhcp snooping enable\n#", "#"),
    ("yx-gaoxi-sw1", "C12", " ip verify source ip-address mac-address\n", ""),
    ("yx-gaoxi-sw1", "C12", " port-security port-mode autolearn\n", ""),
    ("yx-acc-dmz", "C12", " port-security max-mac-count 4\n", ""),
]


@pytest.mark.parametrize(("host", "control", "old", "new"), MUTATIONS)
def test_checker_catches_a_mutation(devices, servers, host: str, control: str, old: str, new: str) -> None:
    """The checker can fail: one edit that breaks one control is reported under that control."""
    intent, files = devices[host]
    assert not check_device(host, intent, files, servers), host
    name = next(k for k, v in files.items() if (old in v if old else k.endswith(".cfg")))
    if not old and name.endswith(".cfg"):
        edited = {**files, name: files[name].replace("\nreturn\n", "\n" + new + "return\n")}
    else:
        assert old in files[name]
        edited = {**files, name: files[name].replace(old, new, 1)}
    found = check_device(host, intent, edited, servers)
    assert any(x.startswith(f"{control}:") for x in found), (control, found)


def test_compliance_doc_maps_every_control() -> None:
    """docs/compliance.md has a section per control, Chinese first, naming each platform's lines."""
    doc = DOC.read_text(encoding="utf-8")
    for cid, (zh, _) in CONTROLS.items():
        m = re.search(rf"^### {cid} {re.escape(zh)}", doc, re.M)
        assert m, f"docs/compliance.md: no '### {cid} {zh}' section"
        body = doc[m.end():].split("\n### ", 1)[0]
        for platform in ("VRP", "Comware", "IOS", "Linux"):
            assert platform in body, f"{cid}: {platform} not mapped"
