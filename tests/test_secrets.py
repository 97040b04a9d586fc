"""countynet.deploy.secrets: environment and ansible-vault lookup, clear errors, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from countynet.deploy.scrub import SCRUBBED, scrub
from countynet.deploy.secrets import SecretError, SecretStore, env_name


def vault_file(tmp_path: Path, text: str, password: str = "vault-pw") -> Path:
    p = tmp_path / "secrets.vault"
    p.write_bytes(VaultLib([("default", VaultSecret(password.encode()))]).encrypt(text))
    return p


def test_env_name() -> None:
    assert env_name("aaa-netadmin") == "COUNTYNET_SECRET_AAA_NETADMIN"
    assert env_name("ike.hub-1") == "COUNTYNET_SECRET_IKE_HUB_1"


def test_resolve_from_env_and_mask() -> None:
    s = SecretStore(environ={"COUNTYNET_SECRET_AAA_NETADMIN": "pa55"})
    text = "local-user netadmin password irreversible-cipher ${secret:aaa-netadmin}"
    out = s.resolve(text)
    assert out.endswith("pa55")
    assert s.mask(f"sent: {out}") == f"sent: {text}"


def test_missing_secret_names_it_without_values() -> None:
    s = SecretStore(environ={"COUNTYNET_SECRET_A": "value-a"})
    with pytest.raises(SecretError) as exc:
        s.resolve("${secret:a} ${secret:b-c}")
    assert "'b-c'" in str(exc.value) and "COUNTYNET_SECRET_B_C" in str(exc.value)
    assert "value-a" not in str(exc.value)


def test_vault_with_env_password(tmp_path: Path) -> None:
    p = vault_file(tmp_path, "aaa-netadmin: from-vault\nike-psk: psk-1\n")
    s = SecretStore.from_options(p, environ={"COUNTYNET_VAULT_PASSWORD": "vault-pw",
                                             "COUNTYNET_SECRET_IKE_PSK": "env-wins"})
    assert s.resolve("${secret:aaa-netadmin}/${secret:ike-psk}") == "from-vault/env-wins"


def test_vault_with_password_file_and_wrong_password(tmp_path: Path) -> None:
    p = vault_file(tmp_path, "x: y\n")
    pw = tmp_path / "pw"
    pw.write_text("vault-pw\n")
    assert SecretStore.from_options(p, pw, environ={}).resolve("${secret:x}") == "y"
    pw.write_text("nope\n")
    with pytest.raises(SecretError, match="wrong vault password"):
        SecretStore.from_options(p, pw, environ={})
    with pytest.raises(SecretError, match="COUNTYNET_VAULT_PASSWORD"):
        SecretStore.from_options(p, None, environ={})


def test_scrub_removes_secrets_hashes_and_volatile_lines() -> None:
    cfg = ("! Last configuration change at 10:00:01 UTC Fri Nov 27 2026\n"
           "username a secret 9 $9$abcdef\n"
           " local-user b password irreversible-cipher %^%#q w e%^%#\n"
           "snmp-agent usm-user v3 nms authentication-mode sha K1 privacy-mode aes128 K2\n"
           " ospf authentication-mode md5 1 plain K3\n ospf authentication-mode md5 1 cipher K4\n"
           " ospf authentication-mode hmac-sha256 1 cipher K5\n"
           " secret = \"psk-value\"\n"
           "interface X\n description keyword password is not a value here\n")
    out = scrub(cfg, ["psk-value"])
    assert "Last configuration" not in out
    for leaked in ("$9$abcdef", "q w e", "K1", "K2", "K3", "K4", "K5", "psk-value"):
        assert leaked not in out
    assert out.count(SCRUBBED) >= 8 and "interface X" in out
    assert " ospf authentication-mode md5 1 plain " + SCRUBBED in out


def test_mask_catches_a_value_wrapped_over_two_lines() -> None:
    s = SecretStore(environ={"COUNTYNET_SECRET_IKE_PSK": "Wrapped-Psk-Value-123"})
    s.resolve("${secret:ike-psk}")
    echo = "ike peer hub pre-shared-key cipher Wrapped-Psk\r\n-Value-123\nError: Unrecognized command"
    out = s.mask(echo)
    assert "Wrapped-Psk" not in out and "-Value-123" not in out and "Error: Unrecognized command" in out
    assert out.count("${secret:ike-psk}(part)") == 2
    assert s.mask("interface GigabitEthernet0/0/1\n description uplink") == \
        "interface GigabitEthernet0/0/1\n description uplink"
