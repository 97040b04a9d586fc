"""Command forms of a rendered Huawei VRP / H3C Comware / Cisco IOS-XE configuration.

A *command form* is one configuration line with its view, its keywords kept and its values replaced by typed
placeholders, so that two devices whose configurations differ only in values (addresses, numbers, names,
descriptions, secrets) have the same set of forms. The evidence register (`docs/vendor-evidence.yaml`) lists every
form the build renders, per platform flavour, with a verdict and a source; `tests/test_vendor_evidence.py` compares
the two.

Normalisation rules, applied to each line in this order (deterministic, no vendor knowledge beyond the tables
below):

1. Structure. Blank lines, `#` (Huawei/H3C) and `!` (Cisco) comment lines and the closing `return` / `end` are
   skipped. A `#` line at the left margin closes every open view (Huawei and H3C separate sections with it);
   otherwise a line belongs to the nearest preceding line with less indentation (its parent), as in
   `display current-configuration` / `show running-config`. Cisco `banner <kind> <delimiter>` blocks are one
   command whose body (up to the closing delimiter) is `<text>`.
2. View. The view of a line is its chain of parents, each shown by its leading keywords (the tokens of its form
   before the first placeholder), joined with `/`; `system` when it has no parent. An interface parent is shown
   by its class, e.g. `interface(vlanif)`, `interface(ethernet)`, `interface(loopback)`, `interface(lag)`,
   `interface(tunnel)`; a sub-interface adds `.sub`. The line that opens an interface view keeps its interface
   type: `interface Vlanif<n>`, `interface 10GE<n>`, `interface Bridge-Aggregation<n>`.
3. Secrets `${secret:NAME}` become `<secret>`.
4. Free text becomes `<text>`: everything after `description`, `remark`, Comware's `rule N comment`,
   `header login information`, `header login` (H3C `%...%`), `banner login`.
5. Names become `<name>` where a table of keyword contexts (`NAME_CONTEXTS`) says the next token is a name
   (`sysname X`, `local-user X`, `ike peer X`, `ip access-list extended X`, `source-zone X`, ...). Vendor-defined
   names (built-in user roles such as `network-admin` / `level-3`, MIB subtree `iso`, algorithm names) are
   keywords and stay.
6. Interface names (a known type prefix followed by numbers, e.g. `LoopBack0`, `GigabitEthernet0/0/1`,
   `Vlan-interface10`, `Tunnel0/0/1`) become `<if>`, except in the opening `interface X` line (rule 2).
7. Values by shape: `A.B.C.D/N` becomes `<prefix>`; a dotted quad becomes `<ip>`, except one that directly follows
   an `<ip>` (or the keyword `mask`) and has contiguous bits (a netmask such as 255.255.255.252 or a wildcard such
   as 0.0.0.3) becomes `<mask>`; `HH:MM:SS` becomes `<time>`; a plain integer becomes `<int>`.
8. Lists of variable length become one placeholder: the VLAN list after `vlan batch`, `allow-pass vlan`,
   `permit vlan`, `allowed vlan` (with its `to` ranges) is `<vlan-list>`.

Everything else stays as written. A new name context that rule 5 does not know shows up as a new form with a
literal value in it; add the keyword to `NAME_CONTEXTS` rather than to the register.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["NAME_CONTEXTS", "Form", "command_forms", "forms_of_files", "interface_class", "iter_forms",
           "normalise_line", "parse_lines"]

_SECRET = re.compile(r"\$\{secret:[^}]*\}")
_TEXT = re.compile(r"^(?P<head>.*?\b(?:description|remark|rule \d+ comment|header login information|header login|"
                   r"banner login))(?: .*)?$")
# Interface type prefixes (Huawei VRP5/VRP8, H3C Comware 7, Cisco IOS-XE), longest first.
_IF_TYPES = sorted([
    "LoopBack", "Loopback", "Vlanif", "Vlan-interface", "Vlan", "GigabitEthernet", "XGigabitEthernet",
    "Ten-GigabitEthernet", "TenGigabitEthernet", "FortyGigE", "HundredGigE", "10GE", "25GE", "40GE", "100GE",
    "400GE", "Eth-Trunk", "Bridge-Aggregation", "Route-Aggregation", "Port-channel", "Tunnel", "NULL", "Null",
    "MEth", "M-GigabitEthernet", "Ethernet", "Serial", "Dialer", "Cellular", "Virtual-Template",
], key=len, reverse=True)
_IFNAME = re.compile(r"^(?P<type>" + "|".join(re.escape(t) for t in _IF_TYPES) + r")(?P<num>\d+(?:/\d+)*(?:\.\d+)?)$")
_CLASSES = {
    "loopback": ("LoopBack", "Loopback"),
    "vlanif": ("Vlanif", "Vlan-interface", "Vlan"),
    "lag": ("Eth-Trunk", "Bridge-Aggregation", "Route-Aggregation", "Port-channel"),
    "tunnel": ("Tunnel",),
    "null": ("NULL", "Null"),
    "dialer": ("Dialer", "Virtual-Template", "Cellular"),
}
_QUAD = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_PREFIX = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
_INT = re.compile(r"^\d+$")
_VLAN_LIST = re.compile(r"^(?P<head>(?:undo )?(?:vlan batch|port trunk allow-pass vlan|port trunk permit vlan|"
                        r"switchport trunk allowed vlan(?: add)?|vlan)) (?P<list>\d[\d ,\-to]*)$")

# Keyword contexts after which the next token is a name (rule 5). Each pattern is matched against the line
# (secrets and text already replaced) and its group `v` becomes `<name>`; patterns are applied repeatedly
# until none matches a token that is not a placeholder.
NAME_CONTEXTS: tuple[str, ...] = (
    # identity
    r"^(?:sysname|hostname) (?P<v>\S+)",
    r"^ip domain name (?P<v>\S+)",
    r"^domain-name (?P<v>\S+)",
    r"^clock timezone (?P<v>\S+)",
    r"^name (?P<v>\S+)$",
    # users and roles
    r"^(?:undo )?local-user (?P<v>\S+)",
    r"^ssh user (?P<v>\S+)",
    r"^username (?P<v>\S+)",
    # DHCP, VRRP-less pools
    r"^ip pool (?P<v>\S+)",
    r"^ip dhcp pool (?P<v>\S+)",
    r"^dhcp server ip-pool (?P<v>\S+)",
    # IPsec / IKE
    r"^ike peer (?P<v>\S+)",
    r"^ike-peer (?P<v>\S+)",
    r"^ike profile (?P<v>\S+)",
    r"^ike keychain (?P<v>\S+)",
    r"^keychain (?P<v>\S+)",
    r"^ipsec profile (?P<v>\S+)",
    r"^ipsec proposal (?P<v>\S+)",
    r"^ipsec transform-set (?P<v>\S+)",
    r"^transform-set (?P<v>\S+)",
    r"^ipsec policy (?P<v>\S+)",
    r"^ipsec apply policy (?P<v>\S+)",
    r"^ipsec policy (?P<v>\S+)$",
    r"^ipsec apply profile (?P<v>\S+)",
    r"^ipsec profile (?P<v>\S+) isakmp$",
    r"^tunnel protection ipsec profile (?P<v>\S+)",
    r"^proposal (?P<v>\S+)$",
    r"^(?:local|remote)-id (?:fqdn |user-fqdn )?(?P<v>\S+)$",
    r"^(?:local-identity|match remote identity) (?:fqdn|address) (?P<v>\S+)",
    r"^profile (?P<v>\S+)$",
    r"^ikev2 (?:keychain|policy|profile|proposal) (?P<v>\S+)",
    r"^ikev2-profile (?P<v>\S+)",
    r"^peer (?P<v>\S+)$",
    r"^identity (?:local )?fqdn (?P<v>\S+)",
    r"^ike-profile (?P<v>\S+)$",
    # SNMP (Huawei/H3C)
    r"^snmp-agent mib-view (?:included|excluded) (?P<v>\S+)",
    r"^snmp-agent group v3 (?P<v>\S+)",
    r"\b(?:read-view|write-view|notify-view) (?P<v>\S+)",
    r"^snmp-agent usm-user v3 (?P<v>\S+)",
    r"^snmp-agent usm-user v3 <name> (?:group )?(?P<v>[^<\s]\S*)(?= simple| cipher| authentication-mode|$)",
    r"\bsecurityname (?P<v>\S+)",
    # SNMP (Cisco)
    r"^snmp-server view (?P<v>\S+)",
    r"^snmp-server group (?P<v>\S+)",
    r"^snmp-server group <name> v3 \S+ read (?P<v>\S+)",
    r"^snmp-server user (?P<v>\S+)",
    r"^snmp-server user <name> (?P<v>\S+)",
    r"^snmp-server host \S+ version 3 \S+ (?P<v>\S+)$",
    r"\baccess (?P<v>[A-Za-z]\S*)$",
    # ACL names, route policies, prefix lists (Cisco)
    r"^ip access-list (?:standard|extended) (?P<v>\S+)",
    r"^ip access-group (?P<v>\S+)",
    r"^access-class (?P<v>\S+)",
    r"^route-map (?P<v>\S+)",
    r"\broute-map (?P<v>\S+)$",
    r"^ip prefix-list (?P<v>\S+)",
    r"\bprefix-list (?P<v>\S+)(?= in| out|$)",
    r"^match ip address prefix-list (?P<v>\S+)",
    r"^ip route .* name (?P<v>\S+)$",
    # route policies and prefix lists (Huawei VRP `ip ip-prefix` / H3C `ip prefix-list`): OSPF route filters
    r"^ip ip-prefix (?P<v>\S+)",
    r"^route-policy (?P<v>\S+) (?:permit|deny) node",
    r"^if-match ip(?: next-hop)? ip-prefix (?P<v>\S+)$",
    r"^if-match ip-prefix (?P<v>\S+)$",
    r"^filter-policy route-policy (?P<v>\S+) (?:import|export)$",
    r"^filter (?:ip-prefix|prefix-list) (?P<v>\S+) (?:import|export)$",
    r"^path (?P<v>\S+)$",
    # MQC (Huawei CloudEngine packet filters): classifier / behavior / policy names
    r"^traffic (?:classifier|behavior|policy) (?P<v>\S+)",
    r"^traffic-policy (?P<v>\S+)",
    r"^classifier (?P<v>\S+) behavior",
    r"^classifier <name> behavior (?P<v>\S+)$",
    # MSTP region
    r"^region-name (?P<v>\S+)$",
    # H3C security zones and policies
    r"^security-zone name (?P<v>\S+)",
    r"^(?:source|destination)-zone (?P<v>\S+)",
    r"^rule \S+ name (?P<v>\S+)",
    r"^object-group (?:ip address|service) (?P<v>\S+)",
)
_NAME_RES = tuple(re.compile(p) for p in NAME_CONTEXTS)


@dataclass(frozen=True, order=True)
class Form:
    """One command form: the view it is entered in and the normalised command."""

    view: str
    form: str

    def __str__(self) -> str:
        return f"{self.view}: {self.form}"


def interface_class(name: str) -> str:
    """The class of an interface name (`vlanif`, `ethernet`, `lag`, ...) for the view label of its sub-commands."""
    m = _IFNAME.match(name)
    if not m:
        return "other"
    cls = next((c for c, types in _CLASSES.items() if m["type"] in types), "ethernet")
    return cls + (".sub" if "." in m["num"] else "")


def _contiguous(octets: list[int]) -> bool:
    """A netmask (ones then zeros) or a wildcard (zeros then ones)."""
    bits = "".join(f"{o:08b}" for o in octets)
    return "01" not in bits or "10" not in bits


def _value_tokens(tokens: list[str], opener: bool) -> list[str]:
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.startswith("<") and tok.endswith(">"):
            out.append(tok)
            continue
        m = _IFNAME.match(tok)
        if m:
            out.append(f"{m['type']}<n>" if opener and i == 1 else "<if>")
            continue
        q = _QUAD.match(tok)
        if q and all(int(o) <= 255 for o in q.groups()):
            prev = out[-1] if out else ""
            is_mask = prev in ("<ip>", "mask") and _contiguous([int(o) for o in q.groups()])
            out.append("<mask>" if is_mask else "<ip>")
        elif _PREFIX.match(tok):
            out.append("<prefix>")
        elif _TIME.match(tok):
            out.append("<time>")
        elif _INT.match(tok):
            out.append("<int>")
        else:
            out.append(tok)
    return out


def normalise_line(line: str) -> str:
    """The command form of one configuration line (without its indentation): rules 3 to 8 of the module doc."""
    text = " ".join(line.split())
    text = _SECRET.sub("<secret>", text)
    m = _VLAN_LIST.match(text)
    if m and m["head"] != "vlan":
        text = f"{m['head']} <vlan-list>"
    m = _TEXT.match(text)
    if m and m["head"].split()[0] != "undo":
        text = m["head"] + " <text>"
    for _ in range(8):
        changed = False
        for rx in _NAME_RES:
            for mm in rx.finditer(text):
                if not (mm["v"].startswith("<") and mm["v"].endswith(">")):
                    text = text[:mm.start("v")] + "<name>" + text[mm.end("v"):]
                    changed = True
                    break
        if not changed:
            break
    tokens = text.split(" ")
    return " ".join(_value_tokens(tokens, opener=tokens[0] == "interface"))


def _view_label(form: str, raw: str) -> str:
    tokens = form.split(" ")
    if tokens[0] == "interface" and len(tokens) > 1:
        return f"interface({interface_class(raw.split()[1])})"
    keep: list[str] = []
    for tok in tokens:
        if "<" in tok:
            break
        keep.append(tok)
    return " ".join(keep) or tokens[0]


@dataclass(frozen=True)
class _Line:
    indent: int
    text: str


def parse_lines(config: str) -> Iterator[tuple[int, tuple[str, ...], str]]:
    """Each command line of a configuration: its 1-based line number, the raw texts of its parents, its text
    (rule 1)."""
    stack: list[_Line] = []
    lines = config.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        lineno = i
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if raw.startswith("#"):
                stack.clear()
            continue
        if stripped.startswith("!") or stripped in ("return", "end"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        banner = re.match(r"^banner (\S+) (\S+)", stripped)
        if banner and indent == 0:
            delim = banner[2][:2] if banner[2].startswith("^") else banner[2][:1]
            rest = stripped.split(delim, 1)[1] if delim in stripped else ""
            if delim not in rest:
                while i < len(lines) and delim not in lines[i]:
                    i += 1
                i += 1
            stack.clear()
            yield lineno, (), f"banner {banner[1]} <text>"
            continue
        while stack and stack[-1].indent >= indent:
            stack.pop()
        yield lineno, tuple(p.text for p in stack), stripped
        stack.append(_Line(indent, stripped))


def iter_forms(config: str) -> Iterator[tuple[int, Form]]:
    """The command form of every command line of a configuration, with its 1-based line number."""
    labels: dict[str, str] = {}
    for lineno, parents, text in parse_lines(config):
        form = text if text.startswith("banner ") and text.endswith("<text>") else normalise_line(text)
        view_parts = []
        for p in parents:
            if p not in labels:
                labels[p] = _view_label(normalise_line(p), p)
            view_parts.append(labels[p])
        yield lineno, Form("/".join(view_parts) or "system", form)


def command_forms(config: str) -> set[Form]:
    """The distinct command forms of one rendered Huawei / H3C / Cisco configuration, with their views.

    >>> sorted(map(str, command_forms("#\\ninterface Vlanif10\\n ip address 10.0.0.1 255.255.255.0\\n#")))
    ['interface(vlanif): ip address <ip> <mask>', 'system: interface Vlanif<n>']
    """
    return {form for _, form in iter_forms(config)}


def forms_of_files(texts: Iterable[str]) -> set[Form]:
    """The union of the command forms of several configurations."""
    out: set[Form] = set()
    for t in texts:
        out |= command_forms(t)
    return out
