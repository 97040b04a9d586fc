"""No secret value lands in any generated file or log; every secret in a config is a placeholder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from countynet.render.engine import SECRET_PATTERN
from tests.conftest import ROOT

SECRET_LINE = re.compile(r"(password|secret|pre-shared-key|cipher|auth-password|priv-password|psk|key\s+\S+\s+\S)",
                         re.IGNORECASE)
ALLOWED_WITHOUT_PLACEHOLDER = re.compile(
    r"(wrong-password|service password-encryption|password-control|password-recovery|no service password|"
    r"authentication-mode|pre-shared-key$|secrets\s*\{|keychain|ike keychain|#|!|^\s*$|PasswordAuthentication|"
    r"PermitEmptyPasswords|ikev2 keyring|keyring local|authentication (local|remote) pre-share|"
    r"crypto key generate|public-key|HostKey|PubkeyAuthentication|KbdInteractive|ChallengeResponse|"
    r"AuthorizedKeys|ssh user|local-user .* service-type|snmp-agent usm-user v3 \S+ group|"
    r"key-exchange|keepalive|ipsec|hmac|sha|auth|secret\s*\{?\s*$|id-|type\s*=)", re.IGNORECASE)


def test_build_outputs_and_logs_hold_no_secret_values(tmp_path: Path, bundled) -> None:
    names = {u.secret for u in bundled.topology.county.management.users}
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
                if re.search(r"\b(password|secret|pre-shared-key)\b\s+(cipher|irreversible-cipher|simple|0|7|\S{6,})",
                             stripped, re.IGNORECASE) and not ALLOWED_WITHOUT_PLACEHOLDER.search(stripped):
                    bad.append(f"{host} {name}: {stripped}")
    assert not bad, bad[:10]
