"""No secret value lands in any generated file or log; every secret in a config is a placeholder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from countynet.render.engine import SECRET_PATTERN
from tests.conftest import ROOT

# Lines that hold a secret keyword but no secret value, matched over the WHOLE stripped line (a substring
# allowlist let `sha` excuse every "pre-shared-key" line and `auth` every SNMPv3 line).
ALLOWED_WITHOUT_PLACEHOLDER = [re.compile(p) for p in (
    r"[#!].*",                                   # comments
    r"ssh server cipher(?: [\w-]+)+",            # cipher suite list, not a key
    r"key chain \S+",                            # Cisco key chain header (its key-string is a placeholder)
    r"key \d+",                                  # key id inside a key chain
)]


def secret_bearing(line: str) -> bool:
    """A line whose value the deploy scrubber would hide (its recogniser of secret keywords, SNMPv3 auth/priv
    keys, hashes): such a line must carry a placeholder, never a value."""
    from countynet.deploy.scrub import scrub_line

    return scrub_line(line) != line


def test_secret_line_recogniser_sees_psk_snmp_and_community_lines() -> None:
    for line in ("pre-shared-key cipher Abc123xyz", "ike peer hub pre-shared-key simple Abc123xyz",
                 "snmp-agent usm-user v3 nms authentication-mode sha K1abcdef privacy-mode aes128 K2abcdef",
                 "snmp-server user nms NMS v3 auth sha K1abcdef priv aes 128 K2abcdef",
                 "crypto isakmp key Abc123xyz address 0.0.0.0", "secret = \"Abc123xyz\"",
                 "snmp-server community public RW", "local-user a password irreversible-cipher Abc123xyz"):
        assert secret_bearing(line), line
        assert not any(p.fullmatch(line) for p in ALLOWED_WITHOUT_PLACEHOLDER), line
    for line in ("interface GigabitEthernet0/0/1", "service password-encryption", "PasswordAuthentication no"):
        assert not secret_bearing(line), line


def test_build_outputs_and_logs_hold_no_secret_values(tmp_path: Path, bundled) -> None:
    # local users and the AAA key are per device (`<secret>.<host>`): every network device's own references
    # (Linux servers log in with keys: no password secret is rendered for them)
    net = [d for d in bundled.intents.values() if d.platform != "linux"]
    names = {u.secret for d in net for u in d.management.users}
    names |= {d.management.aaa_key for d in net if d.management.aaa_key}
    names |= {s.auth_secret for s in bundled.topology.county.management.snmp_users}
    names |= {s.priv_secret for s in bundled.topology.county.management.snmp_users}
    values = {n: f"Zz{abs(hash(n)) % 10**8}-not-for-files" for n in names}
    env = dict(os.environ, **{f"COUNTYNET_SECRET_{n.upper().replace('-', '_').replace('.', '_')}": v
                              for n, v in values.items()})
    topo = tmp_path / "topology"
    subprocess.run(["cp", "-r", str(ROOT / "topology"), str(topo)], check=True)
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo), "--out", str(tmp_path / "build")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    logs = proc.stdout + proc.stderr
    placeholders: set[str] = set()
    for path in [*(tmp_path / "build").rglob("*"), *(tmp_path / "inventory").rglob("*")]:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for v in values.values():
            assert v not in text, f"secret value in {path}"
        placeholders |= set(re.findall(SECRET_PATTERN, text))
    for v in values.values():
        assert v not in logs
    assert names <= placeholders, "every declared secret is referenced by placeholder somewhere"


def test_every_secret_bearing_config_line_uses_a_placeholder(bundled) -> None:
    from countynet.render.engine import render_all

    bad = []
    for host, files in render_all(bundled.intents).items():
        for name, text in files.items():
            for line in text.splitlines():
                if "${secret:" in line:
                    continue
                stripped = line.strip()
                if secret_bearing(stripped) and not any(p.fullmatch(stripped)
                                                        for p in ALLOWED_WITHOUT_PLACEHOLDER):
                    bad.append(f"{host} {name}: {stripped}")
    assert not bad, bad[:10]
