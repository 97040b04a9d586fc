"""The config parsers read every rendered filter back exactly: parsed space == the intent's filter space.

Each test renders (builds) the bundled county, parses the rendered text of one device per platform family, and
proves with the symbolic engine that the parsed filter admits exactly the packets the compiled intent's filter
admits (first match, the platform's default action). A permit/deny swap, a narrowed port range or a dropped
line in the rendered text is then a non-empty difference with a counterexample. The intent's filter is turned
into engine terms here, in the test, from the intent model (not by the compiler and not by the parsers).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from countynet.intent.models import AclRule, DeviceIntent
from countynet.outputs.build_reader import BuildReader
from countynet.verify.symbolic import ESTABLISHED, Engine, Filter, Label, Line, Match, PortRange
from countynet.verify.symbolic import Path as FilterPath
from countynet.verify.symbolic.parsers import DeviceConfig, ParseError, parse_device

PROTO = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1}


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> BuildReader:
    return BuildReader(bundled_build)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _nets(prefix: str) -> tuple[ipaddress.IPv4Network, ...] | None:
    n = ipaddress.IPv4Network(prefix)
    return None if n.prefixlen == 0 else (n,)


def intent_filter(d: DeviceIntent, name: str, default: str) -> Filter:
    """The compiled intent's filter in engine terms (the reference the parsed text must equal)."""
    f = next(f for f in d.filters if f.name == name)
    lines = []
    for r in f.rules:
        lines.append(Line(r.action, _match(r), Label(d.hostname, name, r.seq)))
    return Filter(name, tuple(lines), default, d.hostname)  # type: ignore[arg-type]


def _match(r: AclRule) -> Match:
    dport = None if r.port_min is None else (PortRange(r.port_min, r.port_max or r.port_min),)
    sport = (None if r.source_port_min is None
             else (PortRange(r.source_port_min, r.source_port_max or r.source_port_min),))
    return Match(_nets(r.source), _nets(r.destination), PROTO[r.protocol], sport, dport,
                 ESTABLISHED if r.established else None, r.icmp_type, r.icmp_code)


def parsed(built: BuildReader, host: str, files: dict[str, str] | None = None) -> DeviceConfig:
    return parse_device(host, built.host(host)["platform"], files or built.config_files(host))


def bound_filter(d: DeviceIntent, cfg: DeviceConfig) -> list[tuple[str, Filter]]:
    """(intent filter name, parsed filter) for every interface with an acl_in, by the parsed bindings."""
    out = []
    for i in d.interfaces:
        if i.acl_in:
            got = cfg.bound(i.name, "inbound")
            assert len(got) == 1, f"{d.hostname} {i.name}: parsed bindings {got}"
            out.append((i.acl_in, got[0]))
    return out


@pytest.mark.parametrize("host", ["yx-aonan-sw1", "yx-aonan-aonan", "yx-core-1", "yx-gaoxi-sw1", "yx-u-pbc",
                                  "yx-u-audit"])
def test_parsed_filters_equal_the_intent(built: BuildReader, engine: Engine, host: str) -> None:
    d = built.intent(host)
    cfg = parsed(built, host)
    pairs = bound_filter(d, cfg)
    assert pairs
    for name, flt in pairs:
        ref = intent_filter(d, name, flt.default)
        diff = engine.compare(engine.admitted(ref), engine.admitted(flt))
        assert diff.equal, (host, name, engine.summarise(diff.only_a)[:3], engine.summarise(diff.only_b)[:3])
        assert len(flt.lines) == len(ref.lines)
        assert [x.label.line for x in flt.lines] == [x.label.line for x in ref.lines]


def test_platform_defaults(built: BuildReader) -> None:
    """Huawei traffic-filter and traffic-policy and Comware packet-filter forward what no rule matches; Cisco
    ACLs and nftables chains with policy drop deny it."""
    assert {f.default for f in parsed(built, "yx-aonan-sw1").filters.values()} == {"permit"}
    assert {f.default for f in parsed(built, "yx-core-1").filters.values()} == {"permit"}
    assert {f.default for f in parsed(built, "yx-gaoxi-sw1").filters.values()} == {"permit"}
    assert {f.default for f in parsed(built, "yx-city-1").filters.values()} == {"deny"}
    oa = parsed(built, "yx-oa-1")
    assert oa.host_input is not None and oa.host_input.policy.default == "deny"
    assert oa.host_input.reverse is not None and oa.host_input.reverse.default == "permit"


def _edit(files: dict[str, str], old: str, new: str) -> dict[str, str]:
    out = {}
    hits = 0
    for k, v in files.items():
        hits += v.count(old)
        out[k] = v.replace(old, new, 1)
    assert hits >= 1, old
    return out


@pytest.mark.parametrize(("host", "pattern"), [
    ("yx-aonan-sw1", r"^ rule (\d+) (permit) tcp"),         # Huawei VRP5 traffic-filter
    ("yx-core-1", r"^ rule (\d+) (permit) tcp"),            # CE traffic-policy
    ("yx-gaoxi-sw1", r"^ rule (\d+) (permit) tcp"),         # Comware packet-filter
    ("yx-u-pbc", r"^ (\d+) (permit) tcp"),                  # Cisco extended ACL
])
def test_a_swapped_line_in_the_text_is_a_difference(built: BuildReader, engine: Engine, host: str,
                                                    pattern: str) -> None:
    """The first permit line of the device's gateway filter turned into a deny: found, with a counterexample
    that the parsed filter denies at exactly that line."""
    d = built.intent(host)
    files = built.config_files(host)
    name = next(k for k in files if k.endswith(".cfg"))
    m = re.search(pattern, files[name], flags=re.M)
    assert m, pattern
    line = int(m.group(1))
    edited = files[name][:m.start(2)] + "deny" + files[name][m.end(2):]
    cfg = parse_device(host, built.host(host)["platform"], {**files, name: edited})
    diffs = []
    for fname, flt in bound_filter(d, cfg):
        diff = engine.compare(engine.admitted(intent_filter(d, fname, flt.default)), engine.admitted(flt))
        if not diff.equal:
            diffs.append((flt, diff))
    assert len(diffs) >= 1
    flt, diff = diffs[0]
    assert diff.only_b == engine.false  # a permit turned deny only takes packets away
    pkt = engine.example(diff.only_a)  # admitted by the intent, refused by the edited text
    steps = engine.explain(pkt, FilterPath((flt,)))
    assert steps[-1].action == "deny" and steps[-1].label is not None and steps[-1].label.line == line


def test_narrowed_port_range_is_a_difference(built: BuildReader, engine: Engine) -> None:
    host = "yx-core-1"
    d = built.intent(host)
    old = "destination-port range 1812 1813"
    cfg = parse_device(host, "huawei_vrp",
                       _edit(built.config_files(host), old, old.replace("1812 1813", "1812 1812")))
    lost = []
    for name, flt in bound_filter(d, cfg):
        diff = engine.compare(engine.admitted(intent_filter(d, name, flt.default)), engine.admitted(flt))
        if not diff.equal:
            assert diff.only_b == engine.false
            lost.append(engine.example(diff.only_a))
    assert lost and lost[0].dport == 1813 and lost[0].protocol == 17


def test_nftables_chain(built: BuildReader, engine: Engine) -> None:
    from countynet.verify.symbolic import Packet

    cfg = parsed(built, "yx-oa-1")
    text = built.config_files("yx-oa-1")["etc/nftables.conf"]
    mgmt = re.search(r"elements = \{ ([0-9.]+)", text)
    assert mgmt
    hop = cfg.host_input
    assert hop is not None
    u = engine.admitted(hop.policy)
    assert engine.contains(u, Packet.of("tcp", "10.30.128.5", "10.30.17.25", sport=40000, dport=443, flags="S"))
    assert not engine.contains(u, Packet.of("tcp", "10.30.128.5", "10.30.17.25", sport=40000, dport=22, flags="S"))
    assert engine.contains(u, Packet.of("tcp", mgmt.group(1), "10.30.17.25", sport=40000, dport=22, flags="S"))
    assert cfg.addresses["eth0"] == ipaddress.IPv4Interface("10.30.17.25/24")


@pytest.mark.parametrize(("old", "new", "what"), [
    (r" permit tcp", " allow tcp", "neither permit nor deny"),
    (r"destination (10\.\d+\.\d+\.\d+) 0 destination-port", r"destination \1 0.0.1.0 destination-port",
     "not a prefix"),
    (r"destination-port eq", "destination-port equals", "unknown port operator"),
    (r" permit tcp (.*)$", r" permit tcp \1 vpn-instance x", "unknown keyword"),
])
def test_unreadable_lines_are_refused_with_their_line(built: BuildReader, old: str, new: str, what: str) -> None:
    files = built.config_files("yx-aonan-sw1")
    name = "yx-aonan-sw1.cfg"
    edited = re.sub(old, new, files[name], count=1, flags=re.M)
    assert edited != files[name]
    with pytest.raises(ParseError) as exc:
        parse_device("yx-aonan-sw1", "huawei_vrp", {**files, name: edited})
    assert what in str(exc.value) and "yx-aonan-sw1.cfg:" in str(exc.value)
