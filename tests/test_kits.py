"""Field kits beyond the shell run (issue 13, part 7): the Windows script checked statically, the day-0 files of
a new village router, and names from YAML staying text in PowerShell.

The PowerShell script cannot run here: Debian packages no PowerShell (`pwsh` is not in the archive), so these
tests check it statically with a small tokenizer (PowerShell's quoting rules: '...' with '' inside, "..." with
`-escapes, # comments): the file is UTF-8 with BOM (PowerShell 5.1 reads a BOM-less file as the ANSI code
page and garbles the Chinese), lines end CRLF, braces/brackets/parentheses balance outside strings, every
error code the script can raise has its text, every function it calls is defined, and a hostile name stays
one string literal. The shell script runs for real in tests/test_bootstrap.py.
"""

from __future__ import annotations

import re

import pytest

from countynet.outputs.kits import ERRORS, bootstrap_files, centre_of, sites_of
from countynet.outputs.kits import powershell as ps1
from countynet.outputs.kits.day0 import SECRET


def tokens(text: str) -> list[tuple[str, str]]:
    """PowerShell source as (kind, text) tokens: 'str', 'comment', 'code' (one character at a time)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                    j += 2
                    continue
                if text[j] == "'":
                    break
                assert text[j] not in "\r\n", f"single-quoted string runs over a line at {i}"
                j += 1
            assert j < n, f"unterminated single-quoted string at {i}"
            out.append(("str", text[i:j + 1]))
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "`" else 1
            assert j < n, f"unterminated double-quoted string at {i}"
            out.append(("str", text[i:j + 1]))
            i = j + 1
        elif c == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(("comment", text[i:j]))
            i = j
        else:
            out.append(("code", c))
            i += 1
    return out


def balanced(toks: list[tuple[str, str]]) -> bool:
    stack: list[str] = []
    pairs = {")": "(", "}": "{", "]": "["}
    for kind, t in toks:
        if kind != "code":
            continue
        if t in "({[":
            stack.append(t)
        elif t in ")}]" and (not stack or stack.pop() != pairs[t]):
            return False
    return not stack


@pytest.fixture(scope="module")
def kits(bundled) -> dict[str, str]:
    return bootstrap_files(bundled.intents, configs={h: {f"{h}.cfg": "sysname x\n"} for h in bundled.intents})


def test_every_site_has_a_windows_kit_with_bom_crlf_and_balanced_code(kits) -> None:
    ps_files = {p: t for p, t in kits.items() if p.endswith(".ps1")}
    assert len(ps_files) == 23 + 238
    for path, text in ps_files.items():
        assert text.startswith("\ufeff"), path
        assert "\n" not in text.replace("\r\n", ""), path
        body = text[1:]
        body.encode("utf-8")
        toks = tokens(body)
        assert balanced(toks), path
        code = "".join(t for k, t in toks if k == "code")
        defined = set(re.findall(r"function (\w+)", code))
        assert {"Say", "Ok", "Fail", "Finish", "Reach", "Tcp", "DnsA", "InNet", "ToInt"} <= defined
        # every code raised has its text in $Codes, and every code has a Fail somewhere
        raised = set(re.findall(r"Fail\s*('E0\d(?:-tool)?')", body))
        table = set(re.findall(r"^\s*('E0\d(?:-tool)?') = @\(", body, re.M))
        assert raised == table == {f"'{c}'" for c, *_ in ERRORS} | {"'E01-tool'"}, path
        assert "Resolve-DnsName" in body and "nslookup.exe" in body and "check-result-" in body
    cmd = kits["bootstrap/litian/run-check.cmd"]
    assert "-ExecutionPolicy Bypass -File \"%~dp0check-network.ps1\"" in cmd and cmd.endswith("pause\r\n")


def test_a_hostile_name_stays_one_powershell_string(bundled) -> None:
    site = sites_of(bundled.intents)[0]
    centre = centre_of(bundled.intents)
    assert centre
    for name in ["x'; Remove-Item -Recurse C:\\; '", "澧田镇’; calc; ‘", "a\r\nStart-Process calc"]:
        text = ps1.script(site.__class__(site.key, site.host, name, site.kind, site.uplink, site.nets,
                                         site.gateways), centre)[1:]
        line = next(ln for ln in text.split("\r\n") if ln.startswith("$Site = "))
        toks = tokens(line[len("$Site = "):])
        assert [k for k, _ in toks] == ["str"], (name, line)  # exactly one string literal, nothing after it
        assert balanced(tokens(text))


def test_village_kits_name_the_village_and_their_uplink(kits, bundled) -> None:
    sh = kits["bootstrap/shiqiao/bailu/check-network.sh"]
    ps = kits["bootstrap/shiqiao/bailu/check-network.ps1"]
    lan = next(i for i in bundled.intents["yx-shiqiao-bailu"].interfaces if i.zone == "village-lan")
    for text in (sh, ps):
        assert "石桥镇白鹭村" in text and "360830101208" in text and lan.address.split("/")[0] in text
    assert "宽带和VPN隧道" in sh  # bailu is a VPN village
    assert "专线 leased line" in kits["bootstrap/litian/luxi/check-network.sh"]  # luxi is on a leased line
    readme = kits["bootstrap/shiqiao/bailu/使用说明-README.txt"]
    assert readme.index("网络自检") < readme.index("network self-check") and "run-check.cmd" in readme


def test_day0_files_carry_the_built_config_and_console_steps(bundled_build) -> None:
    """From a real build: every village has its router's configuration (byte for byte the one in
    build/configs/<host>/) and console steps for its vendor that list the secrets to fill in."""
    from countynet.outputs.build_reader import BuildReader

    build = BuildReader(bundled_build)
    root = bundled_build / "bootstrap"
    seen = {"huawei_vrp": 0, "h3c_comware": 0}
    for tw in sorted(p for p in root.iterdir() if p.is_dir()):
        for vil in sorted(p for p in tw.iterdir() if p.is_dir()):
            host = f"yx-{tw.name}-{vil.name}"
            d = build.intent(host)
            cfg = next((bundled_build / "configs" / host).iterdir())
            assert (vil / "day0" / cfg.name).read_bytes() == cfg.read_bytes()
            steps = (vil / "day0" / "console-steps-控制台步骤.txt").read_text(encoding="utf-8")
            assert steps.startswith(d.site_name) and "9600" in steps and cfg.name in steps
            for s in SECRET.findall(cfg.read_text(encoding="utf-8")):
                assert f"${{secret:{s}}}" in steps
            assert ("save force" in steps) == (d.platform == "h3c_comware")
            assert ("stop Auto-Config? [y/n]" in steps) == (d.platform == "huawei_vrp")
            seen[d.platform] += 1
    assert sum(seen.values()) == 238 and all(seen.values())
