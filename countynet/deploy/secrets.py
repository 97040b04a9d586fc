"""Secret resolution at push time: `${secret:name}` placeholders -> values, and masking on the way back.

Rendered configs never hold a secret; the push engine resolves placeholders just before a config goes to a
device, from environment variables (`COUNTYNET_SECRET_<NAME>`, `-`/`.` -> `_`, upper-case) or an
ansible-vault file (a YAML mapping name -> value, opened with ansible-core's VaultLib). Every text that
leaves the engine (logs, diffs, backups, audit, reports) goes through :meth:`SecretStore.mask` first.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

MASK = "********"
FRAGMENT = 6   # shortest piece of a wrapped value that is still masked


class SecretError(Exception):
    """A secret is missing or the vault cannot be opened. The message never contains a value."""


@functools.cache
def _rx() -> re.Pattern[str]:
    """The placeholder pattern the render stage writes (imported on first use: rendering is not needed
    to answer a deploy's input errors)."""
    from countynet.render.engine import SECRET_PATTERN

    return re.compile(SECRET_PATTERN)


def _placeholder(name: str) -> str:
    from countynet.render.engine import SECRET_FMT

    return SECRET_FMT.format(name=name)


def env_name(name: str) -> str:
    return "COUNTYNET_SECRET_" + re.sub(r"[-.]", "_", name).upper()


def placeholders(text: str) -> list[str]:
    """Secret names referenced by a rendered text, in order of first use."""
    return list(dict.fromkeys(_rx().findall(text)))


def _read_vault(path: Path, password: str) -> dict[str, str]:
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, VaultSecret

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SecretError(f"cannot read vault file {path}: {exc.strerror}") from None
    try:
        plain = VaultLib([("default", VaultSecret(password.encode()))]).decrypt(raw)
    except AnsibleError:
        raise SecretError(f"cannot decrypt vault file {path}: wrong vault password or not a vault file") from None
    data = yaml.safe_load(plain) or {}
    if not isinstance(data, dict):
        raise SecretError(f"vault file {path} must hold a mapping of secret name -> value")
    return {str(k): str(v) for k, v in data.items()}


class SecretStore:
    """Looks secrets up (environment first, then the vault) and remembers every value it handed out."""

    def __init__(self, vault: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None):
        self._vault = dict(vault or {})
        self._env = os.environ if environ is None else environ
        self._used: dict[str, str] = {}

    @classmethod
    def from_options(cls, vault_file: Path | None = None, vault_password_file: Path | None = None,
                     environ: Mapping[str, str] | None = None) -> SecretStore:
        env = os.environ if environ is None else environ
        vault: dict[str, str] = {}
        if vault_file is not None:
            if vault_password_file is not None:
                try:
                    password = vault_password_file.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SecretError(f"cannot read vault password file {vault_password_file}: "
                                      f"{exc.strerror}") from None
            elif env.get("COUNTYNET_VAULT_PASSWORD"):
                password = env["COUNTYNET_VAULT_PASSWORD"]
            else:
                raise SecretError("--vault-file needs COUNTYNET_VAULT_PASSWORD or --vault-password-file")
            vault = _read_vault(vault_file, password)
        return cls(vault, env)

    def get(self, name: str) -> str:
        value = self._env.get(env_name(name))
        if value is None:
            value = self._vault.get(name)
        if value is None:
            raise SecretError(f"secret {name!r} is not set: export {env_name(name)} or add {name!r} to the "
                              "vault file")
        self._used[name] = value
        return value

    def missing(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if self._env.get(env_name(n)) is None and n not in self._vault]

    def resolve(self, text: str) -> str:
        """Replace every placeholder by its value; SecretError names the first missing secret."""
        absent = self.missing(placeholders(text))
        if absent:
            raise SecretError(f"missing secret(s) {', '.join(repr(a) for a in absent)}: export "
                              f"{', '.join(env_name(a) for a in absent)} or add them to the vault file")
        return _rx().sub(lambda m: self.get(m.group(1)), text)

    def mask(self, text: str) -> str:
        """Put placeholders back in place of every value handed out so far (longest first). A device that
        wraps its echo at the terminal width splits a value over two lines: a line that ends with the value's
        first part and a line that starts with its rest (each at least FRAGMENT characters) are masked too."""
        for name, value in sorted(self._used.items(), key=lambda kv: -len(kv[1])):
            if value:
                text = text.replace(value, _placeholder(name))
        wrapped = [(n, v) for n, v in self._used.items() if len(v) >= 2 * FRAGMENT]
        if wrapped and "\n" in text:
            text = "\n".join(self._mask_fragments(line, wrapped) for line in text.split("\n"))
        return text

    @staticmethod
    def _mask_fragments(line: str, values: list[tuple[str, str]]) -> str:
        body = line.rstrip("\r")
        for name, v in values:
            for cut in range(FRAGMENT, len(v) - FRAGMENT + 1):
                head, tail = v[:cut], v[cut:]
                if body.endswith(head):
                    body = body[:-len(head)] + _placeholder(name) + "(part)"
                    break
                if body.startswith(tail):
                    body = _placeholder(name) + "(part)" + body[len(tail):]
                    break
        return body + line[len(line.rstrip("\r")):]

    @property
    def values(self) -> list[str]:
        return [v for v in self._used.values() if v]

    def guard_logs(self) -> None:
        """Mask this store's values in every log record created from now on, whoever logs it (Netmiko's and
        paramiko's debug logs echo every line sent to a device). Idempotent; lasts while the store lives."""
        _install_log_mask()
        _STORES.add(self)


_STORES: weakref.WeakSet[SecretStore] = weakref.WeakSet()
_INSTALL = threading.Lock()
_installed = False


def mask_all(text: str) -> str:
    """`text` with the values of every guarded store masked: the one function every log line goes through."""
    for store in list(_STORES):
        text = store.mask(text)
    return text


def _install_log_mask() -> None:
    """Wrap the logging record factory once, so that a record's message is masked before any handler or
    filter sees it (a logger filter would miss records propagated from child loggers such as netmiko's)."""
    global _installed
    with _INSTALL:
        if _installed:
            return
        base = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = base(*args, **kwargs)
            if _STORES:
                try:
                    msg = record.getMessage()
                except Exception:  # a malformed record: leave it to logging's own error path
                    return record
                masked = mask_all(msg)
                if masked != msg:
                    record.msg, record.args = masked, None
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
