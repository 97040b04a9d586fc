"""The vendor-evidence register (docs/vendor-evidence.yaml) against the build (issue 11).

Every command form the build renders for a Huawei / H3C / Cisco device (see tests/vendor_forms.py for what a form
is) must be listed in the register under the device's platform flavour with a verdict and a source; no listed
`wrong` form may still be rendered; and the CloudEngine / NE40E configurations must pass the vendor's own command
grammar (../shared/vendor-syntax), except forms the register waives with a source.

How a device's flavour is found: the intent's `flavour` when it has one (the platform registry), else its `model`
through FLAVOUR_BY_MODEL below.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from tests.doc_syntax import SyntaxNotationError, form_matches_syntax
from tests.iosxe_yang import RELEASE, command_tokens, fetch_models, keyword_tree, match_command
from tests.vendor_forms import Form, command_forms, iter_forms, normalise_line, parse_lines

ROOT = Path(__file__).resolve().parent.parent
REGISTER = ROOT / "docs" / "vendor-evidence.yaml"
VENDOR_SYNTAX = ROOT.parent / "shared" / "vendor-syntax"
VERDICTS = {"confirmed", "wrong", "unverified"}
SOURCE_KINDS = {"grammar", "public-config", "public-text", "vendor-doc", "yang"}
MAX_UNVERIFIED_SHARE = 0.10
# Where the Cisco-IOS-XE YANG models fetched from PyPI are kept between runs (tests/iosxe_yang.py).
YANG_CACHE = Path(os.environ.get("COUNTYNET_YANG_CACHE", str(Path.home() / ".cache" / "countynet" / "yang")))

# Until the intent carries the registry's `flavour`: model -> flavour for the vendors this register covers.
FLAVOUR_BY_MODEL = {"ce6881": "huawei_vrp8_ce", "ne40e-m2k": "huawei_vrp8_ne"}
FLAVOUR_BY_VENDOR = {"Huawei": "huawei_vrp5", "H3C": "h3c_comware7", "Cisco": "cisco_iosxe"}
GRAMMARS = {"huawei_vrp8_ce": "huawei-ce6800-v300r023.jsonl", "huawei_vrp8_ne": "huawei-ne40e-v800r012.jsonl"}
def flavour_of(intent: dict) -> str | None:
    """The register flavour of a device intent, or None for platforms the register does not cover (Linux)."""
    if intent.get("flavour"):
        return str(intent["flavour"])
    model = str(intent.get("model", ""))
    if model in FLAVOUR_BY_MODEL:
        return FLAVOUR_BY_MODEL[model]
    if model.startswith("ne40e"):
        return "huawei_vrp8_ne"
    return FLAVOUR_BY_VENDOR.get(str(intent.get("vendor", "")))


@pytest.fixture(scope="module")
def build_dir(bundled_build: Path) -> Path:
    """The bundled topology built once for the session through the CLI's build path (tests/conftest.py)."""
    return bundled_build


@pytest.fixture(scope="module")
def devices(build_dir: Path) -> dict[str, tuple[str, list[Path]]]:
    """host -> (flavour, its rendered .cfg files) for every device the register covers."""
    out: dict[str, tuple[str, list[Path]]] = {}
    for intent_file in sorted((build_dir / "intent").glob("*.yaml")):
        intent = yaml.safe_load(intent_file.read_text(encoding="utf-8"))
        flavour = flavour_of(intent)
        if flavour is None or flavour.startswith("linux"):
            continue
        host = intent_file.stem
        files = sorted((build_dir / "configs" / host).glob("*.cfg"))
        assert files, f"{host}: no rendered .cfg file"
        out[host] = (flavour, files)
    assert out, "no Huawei/H3C/Cisco device in the build"
    return out


@pytest.fixture(scope="module")
def rendered(devices: dict[str, tuple[str, list[Path]]]) -> dict[str, dict[Form, list[str]]]:
    """flavour -> form -> hosts that render it."""
    out: dict[str, dict[Form, list[str]]] = defaultdict(lambda: defaultdict(list))
    for host, (flavour, files) in devices.items():
        for f in files:
            for form in command_forms(f.read_text(encoding="utf-8")):
                out[flavour][form].append(host)
    return out


@pytest.fixture(scope="module")
def register() -> dict:
    return yaml.safe_load(REGISTER.read_text(encoding="utf-8"))


def entries(register: dict) -> dict[str, dict[Form, dict]]:
    return {fl: {Form(e["view"], e["form"]): e for e in spec["forms"]} for fl, spec in register["flavours"].items()}


# A line quoted as typed at a device prompt (`[Huawei-GigabitEthernet0/0/1] ospf cost 10`, `R1(config-if)# ...`):
# the prompt is not part of the command.
_PROMPT = re.compile(r"^(?:\[[^\]]+\]|<[^>\s]+>|[\w.-]+\([\w-]+\)#)\s*")


def _same_command(form: str, example_form: str) -> bool:
    """Whether a public example's form is the register form: keywords equal, and each placeholder of the register
    form matched by one token of the example (a public `ipsec proposal 10` is our `ipsec proposal <name>`, a
    published password hash is our `<secret>`)."""
    pattern = " ".join(r"\S+" if re.fullmatch(r"<[^>]+>", t) else re.escape(t) for t in form.split(" "))
    return re.fullmatch(pattern, example_form) is not None


def _syntax_problems(where: str, form: str, verdict: str, syntax: str | list[str]) -> list[str]:
    """What is wrong with a source's quoted vendor syntax for this entry: not well formed, or (for a confirmed
    form) not covering the form."""
    try:
        covers = form_matches_syntax(form, syntax)
    except SyntaxNotationError as exc:
        return [f"{where}: quoted syntax is not well formed: {exc}"]
    if verdict == "confirmed" and not covers:
        return [f"{where}: the quoted vendor syntax {syntax!r} does not allow this form (check the manual page; "
                "parameters are written <name>, keywords as words)"]
    return []


def test_register_entries_are_well_formed(register: dict) -> None:
    problems: list[str] = []
    for fl, spec in register["flavours"].items():
        tally = {v: sum(e.get("verdict") == v for e in spec["forms"]) for v in sorted(VERDICTS)}
        if spec.get("counts") != {"forms": len(spec["forms"]), **tally}:
            problems.append(f"{fl}: counts {spec.get('counts')} disagree with the entries ({len(spec['forms'])} "
                            f"forms, {tally}); the README and docs/vendor-evidence.md quote these counts")
        seen: set[Form] = set()
        for e in spec["forms"]:
            key = Form(e["view"], e["form"])
            where = f"{fl} {key}"
            if key in seen:
                problems.append(f"{where}: listed twice")
            seen.add(key)
            verdict = e.get("verdict")
            if verdict not in VERDICTS:
                problems.append(f"{where}: verdict {verdict!r} not in {sorted(VERDICTS)}")
            sources = e.get("sources") or []
            if verdict in ("confirmed", "wrong") and not sources:
                problems.append(f"{where}: {verdict} without a source")
            if verdict == "wrong" and not (e.get("correct") and e.get("current")):
                problems.append(f"{where}: wrong without `current` and `correct` lines")
            if verdict == "unverified" and not e.get("tried"):
                problems.append(f"{where}: unverified without `tried`")
            for s in sources:
                if s.get("kind") not in SOURCE_KINDS:
                    problems.append(f"{where}: source kind {s.get('kind')!r} not in {sorted(SOURCE_KINDS)}")
                if s.get("kind") in ("public-config", "public-text") and not (s.get("repo") or s.get("index_id")):
                    problems.append(f"{where}: public source without repo/path or index id")
                if s.get("syntax"):
                    problems.extend(_syntax_problems(where, e["form"], verdict, s["syntax"]))
                line = s.get("line")
                if line and not s.get("partial") and verdict != "wrong":
                    got = normalise_line(_PROMPT.sub("", line.strip()))
                    if not _same_command(e["form"], got):
                        problems.append(f"{where}: evidence line {line.strip()!r} is the form {got!r}, not this "
                                        "one (mark the source `partial: true` and say what it shows)")
    assert not problems, "\n".join(problems)


def test_every_rendered_form_is_in_the_register(rendered: dict[str, dict[Form, list[str]]], register: dict) -> None:
    """(a) A form the build renders and the register does not list has no evidence yet."""
    listed = entries(register)
    missing = [f"  {fl}  {form.view}: {form.form}    (e.g. {hosts[0]})"
               for fl, forms in sorted(rendered.items()) for form, hosts in sorted(forms.items())
               if form not in listed.get(fl, {})]
    assert not missing, (
        f"{len(missing)} rendered command form(s) are not in docs/vendor-evidence.yaml:\n" + "\n".join(missing)
        + "\nAdd each under its flavour with view, form, verdict (confirmed / wrong / unverified) and a source: a "
        "vendor document and section, a public configuration (repo, path, the line), or the grammar check "
        "(CE/NE). tests/vendor_forms.py documents how a line becomes a form.")


def test_no_stale_unverified_entry(rendered: dict[str, dict[Form, list[str]]], register: dict) -> None:
    """An `unverified` entry the build no longer renders would only move the measured shares: it must go (confirmed
    and wrong entries stay, as evidence for when a policy change brings the form back)."""
    stale = [f"  {fl}  {form.view}: {form.form}" for fl, listed in sorted(entries(register).items())
             for form, e in sorted(listed.items()) if e["verdict"] == "unverified" and form not in rendered.get(fl, {})]
    assert not stale, "unverified register entries the build does not render (remove them):\n" + "\n".join(stale)


def test_no_wrong_form_is_rendered(rendered: dict[str, dict[Form, list[str]]], register: dict,
                                   devices: dict[str, tuple[str, list[Path]]]) -> None:
    """(b) A form the register knows to be wrong must not be rendered, and a form that needs a companion line
    (`requires`) must come with it."""
    problems: list[str] = []
    for fl, listed in entries(register).items():
        for form, e in listed.items():
            hosts = rendered.get(fl, {}).get(form, [])
            if e["verdict"] == "wrong" and hosts:
                problems.append(f"{fl} {form} is wrong (use {e['correct']}) but rendered on {len(hosts)} "
                                f"device(s), e.g. {hosts[0]}")
            for req in e.get("requires", []):
                view, _, req_form = req.partition(": ")
                lacking = [h for h in hosts if h not in rendered.get(fl, {}).get(Form(view, req_form), [])]
                if lacking:
                    problems.append(f"{fl} {form} needs `{req}` on {len(lacking)} device(s), e.g. {lacking[0]}")
    assert not problems, "\n".join(problems)


def _grammar_findings(devices: dict[str, tuple[str, list[Path]]]) -> list[tuple[str, str, Form, str]]:
    """(flavour, verdict, form, line) for every FAIL / WARN / UNKNOWN-VIEW line of every CE and NE device."""
    findings = []
    checker = VENDOR_SYNTAX / "vendor_syntax_check.py"
    line_re = re.compile(r"^(?P<path>.+?):(?P<no>\d+): (?P<v>FAIL|WARN|UNKNOWN-VIEW) \[[^\]]*\] (?P<text>.*)$")
    for fl, grammar in GRAMMARS.items():
        files = [f for _, (f_fl, fs) in devices.items() if f_fl == fl for f in fs]
        assert files, f"no {fl} device in the build"
        proc = subprocess.run([sys.executable, str(checker), "--grammar", str(VENDOR_SYNTAX / grammar),
                               *map(str, files)], capture_output=True, text=True, timeout=600)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert "checked=" in proc.stdout, proc.stdout[-2000:]
        forms_by_file = {str(f): dict(iter_forms(f.read_text(encoding="utf-8"))) for f in files}
        for out_line in proc.stdout.splitlines():
            m = line_re.match(out_line)
            if m:
                form = forms_by_file[m["path"]][int(m["no"])]
                findings.append((fl, m["v"], form, m["text"]))
    return findings


def test_core_and_wan_pass_the_vendor_grammar(devices: dict[str, tuple[str, list[Path]]], register: dict) -> None:
    """(c) The vendor's own command grammar (CE6800 V300R023C00, NE40E V800R012C10) over every CE and NE device:
    no FAIL and no WARN unless the register waives that form with a source."""
    if not (VENDOR_SYNTAX / "vendor_syntax_check.py").exists():
        print(f"SKIP: {VENDOR_SYNTAX} is absent (the shared vendor-syntax checker and grammars)")
        pytest.skip(f"{VENDOR_SYNTAX} is absent: the vendor grammar check needs ../shared/vendor-syntax")
    listed = entries(register)
    bad = sorted({f"{fl} {v}: {form}    e.g. {text[:100]!r}" for fl, v, form, text in _grammar_findings(devices)
                  if not listed.get(fl, {}).get(form, {}).get("waiver")})
    assert not bad, "vendor grammar findings not waived in docs/vendor-evidence.yaml:\n" + "\n".join(bad)


FLAVOURS = ("huawei_vrp8_ce", "huawei_vrp8_ne", "huawei_vrp5", "h3c_comware7", "cisco_iosxe")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_unverified_share_per_flavour(register: dict, flavour: str) -> None:
    """At most 10% of a flavour's forms without evidence either way (docs/vendor-evidence.md says what was tried
    for the rest)."""
    forms = register["flavours"][flavour]["forms"]
    unverified = [f"{e['view']}: {e['form']}" for e in forms if e["verdict"] == "unverified"]
    share = len(unverified) / len(forms)
    assert share <= MAX_UNVERIFIED_SHARE, (
        f"{flavour}: {len(unverified)}/{len(forms)} unverified ({share:.0%}), above {MAX_UNVERIFIED_SHARE:.0%}:\n"
        + "\n".join(unverified))


def test_every_flavour_has_a_share_test(register: dict) -> None:
    """The parametrisation above covers every flavour of the register."""
    assert set(register["flavours"]) == set(FLAVOURS)


@pytest.fixture(scope="module")
def iosxe_tree() -> dict:
    """The Cisco-IOS-XE-native keyword tree, fetched from PyPI (ydk-models-cisco-ios-xe) into YANG_CACHE on first
    use; skips, saying why, when the package cannot be fetched."""
    try:
        return keyword_tree(fetch_models(YANG_CACHE))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"SKIP: the Cisco-IOS-XE YANG models could not be fetched from PyPI: {exc}")
        pytest.skip(f"the Cisco-IOS-XE YANG models could not be fetched from PyPI: {exc}")


@pytest.fixture(scope="module")
def iosxe_examples(devices: dict[str, tuple[str, list[Path]]]) -> dict[Form, tuple[tuple[str, ...], str, str]]:
    """IOS-XE form -> (its parent lines, the line, the host) where the build first renders it."""
    out: dict[Form, tuple[tuple[str, ...], str, str]] = {}
    for host, (flavour, files) in sorted(devices.items()):
        if flavour != "cisco_iosxe":
            continue
        for f in files:
            text = f.read_text(encoding="utf-8")
            lines = dict((no, (parents, line)) for no, parents, line in parse_lines(text))
            for no, form in iter_forms(text):
                out.setdefault(form, (*lines[no], host))
    assert out, "no IOS-XE device in the build"
    return out


def test_iosxe_forms_are_looked_up_in_the_native_yang(iosxe_examples: dict[Form, tuple[tuple[str, ...], str, str]],
                                                      register: dict, iosxe_tree: dict) -> None:
    """(d) Every IOS-XE form the build renders is looked up in the Cisco-IOS-XE-native keyword tree
    (tests/iosxe_yang.py says what a match is). The register records the result per form: a `yang` source with
    the release, module and path of the deepest node matched, or `yang_not_found` with the release and a note;
    the lookup made now must give the same result."""
    listed = entries(register).get("cisco_iosxe", {})
    problems: list[str] = []
    for form, (parents, line, host) in sorted(iosxe_examples.items()):
        e = listed.get(form)
        if e is None:
            continue    # test_every_rendered_form_is_in_the_register names it
        got = match_command(iosxe_tree, command_tokens(parents, line, normalise_line))
        recorded = [s for s in e.get("sources") or [] if s.get("kind") == "yang" and s.get("release") == RELEASE]
        absent = e.get("yang_not_found") or {}
        where = f"{form} (`{line}` on {host})"
        if got:
            path, module = got[-1]
            if not recorded:
                problems.append(f"{where}: matches {path} ({module}); record it as a `yang` source")
            elif (recorded[0].get("path"), recorded[0].get("module")) != (path, module):
                problems.append(f"{where}: the register cites {recorded[0].get('path')}, the model gives {path}")
        elif recorded:
            problems.append(f"{where}: the register cites {recorded[0].get('path')} but no path matches now")
        elif absent.get("release") != RELEASE or not absent.get("note"):
            problems.append(f"{where}: no node path in {RELEASE}; record `yang_not_found` with the release and a note")
    assert not problems, "\n".join(problems)


def test_yang_lookup_rejects_what_the_model_does_not_have(iosxe_tree: dict) -> None:
    """The YANG lookup can fail: misspelt keywords, keywords in the wrong place, Huawei syntax and values that are
    not an enumeration's are not found; real IOS lines are."""
    def found(parents: tuple[str, ...], line: str) -> bool:
        return match_command(iosxe_tree, command_tokens(parents, line, normalise_line)) is not None

    intf = ("interface GigabitEthernet0/0/1",)
    for parents, line in [((), "logging trap verbose"), ((), "ntp unicast-server 10.1.1.1"),
                          (intf, "ip ospf dead-time 40"), (intf, "undo shutdown"), (intf, "ospf cost 10"),
                          ((), "ip ssh source-interface2 Loopback0"),
                          (("router bgp 65000",), "neighbor 10.0.0.1 remote-as 1 activate"),
                          (("ip access-list extended X",), "10 permit tcp any any eq 22 syn-only"),
                          ((), "snmp-server user a b v3 auth sha x priv des56 y"),
                          (("line vty 0 4",), "transport input sshv2")]:
        assert not found(parents, line), f"`{line}` is not IOS-XE but was found in the model"
    for parents, line in [((), "hostname r1"), (intf, "ip ospf dead-interval 40"), (intf, "no shutdown"),
                          (("ip access-list extended X",), "10 permit tcp any host 10.0.0.1 eq 22"),
                          ((), "logging trap informational")]:
        assert found(parents, line), f"`{line}` should be found in the model"


def test_form_normalisation_is_value_independent() -> None:
    """Two configurations that differ only in values give the same forms."""
    a = ("#\nsysname yx-a\n#\ninterface Vlanif10\n description to a\n ip address 10.0.0.1 255.255.255.0\n"
         " traffic-filter inbound acl 3000\n#\nacl number 3000\n rule 5 permit tcp source 10.0.0.0 0.0.0.255 "
         "destination 10.1.1.1 0 destination-port eq 443\n#\nvlan batch 10 20 to 30\n#\naaa\n local-user bob "
         "password irreversible-cipher ${secret:aaa-bob}\n#\n")
    b = ("#\nsysname yx-b\n#\ninterface Vlanif20\n description other words here\n ip address 172.16.0.1 "
         "255.255.0.0\n traffic-filter inbound acl 3001\n#\nacl number 3001\n rule 10 permit tcp source "
         "172.16.0.0 0.0.255.255 destination 10.9.9.9 0 destination-port eq 22\n#\nvlan batch 99\n#\naaa\n "
         "local-user alice password irreversible-cipher ${secret:aaa-alice}\n#\n")
    assert command_forms(a) == command_forms(b)
    assert Form("interface(vlanif)", "traffic-filter inbound acl <int>") in command_forms(a)
    assert Form("aaa", "local-user <name> password irreversible-cipher <secret>") in command_forms(a)
    cisco = "hostname r1\n!\nrouter bgp 65030\n neighbor 10.0.0.1 remote-as 65036\n address-family ipv4\n" \
            "  neighbor 10.0.0.1 activate\n exit-address-family\n!\nbanner login ^C\nhello\nworld\n^C\nend\n"
    forms = command_forms(cisco)
    assert Form("router bgp/address-family ipv4", "neighbor <ip> activate") in forms
    assert Form("system", "banner login <text>") in forms
    assert not any("hello" in f.form for f in forms)


def test_quoted_syntax_check_tells_covered_from_not_covered() -> None:
    """The vendor-syntax matcher (tests/doc_syntax.py) accepts what a Format line allows and refuses a changed
    keyword, a wrong order of fixed keywords, a missing mandatory part and malformed notation."""
    acl = ("rule [ <rule-id> ] { deny | permit } <protocol> [ { destination { <dest-address> <dest-wildcard> | any }"
           " | destination-port <operator> <port1> [ <port2> ] | source { <source-address> <source-wildcard> | any }"
           " | established } ] *")
    assert form_matches_syntax("rule <int> permit tcp source <ip> <int> destination <ip> <mask> established", acl)
    assert form_matches_syntax("rule <int> deny ip source any destination any", acl)
    assert not form_matches_syntax("rule <int> allow ip source any", acl)
    assert not form_matches_syntax("rule <int> permit tcp source <ip> <int> counting", acl)
    tunnel = "source { <interface-type> <interface-number> | <ipv4-address> }"
    assert form_matches_syntax("source <if>", tunnel)
    assert not form_matches_syntax("destination <ip>", tunnel)
    assert form_matches_syntax("ospf timer dead <int>", ["ospf timer hello <seconds>", "ospf timer dead <seconds>"])
    assert not form_matches_syntax("ospf timer dead", "ospf timer dead <seconds>")
    assert not form_matches_syntax("pfs dh-group14", "pfs { dh-group1 | dh-group2 | dh-group5 }")
    with pytest.raises(SyntaxNotationError):
        form_matches_syntax("rule <int>", "rule [ <rule-id> { deny | permit }")
