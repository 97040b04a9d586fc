"""Offline dry run: the build's intended configs against the last stored backups, Golden-Config style.

Needs neither a device nor a credential nor a secret: the backup (`<backup-dir>/<host>/<stamp>-<change>.cfg`,
written scrubbed by every deploy) is the running config as last seen. A line of the intended config that holds
a `${secret:..}` placeholder and the backup's line showing `<scrubbed>` or a hash compare by their setting
(the text before the secret), as the engine's remediation compares them with a running config. Network OS
configs are compared with hier_config (the remediation a push would send, grouped by feature: the first word
of each top-level line), Linux devices file by file.

Every selected device ends in one compliance state:

* ``compliant``: the backup equals the intent;
* ``non-compliant``: a push would change it (the diff and the features concerned are given);
* ``no-backup``: nothing stored to compare with: unproven, never counted as compliant.

The preview says how old each backup is: it shows what a push would have done to the device as it was then.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from countynet import platforms
from countynet.deploy.diff import count_changes, file_diff, remediation
from countynet.deploy.scrub import scrub
from countynet.deploy.select import LimitError, select
from countynet.outputs.build_reader import BuildError, BuildReader

COMPLIANT = "compliant"
NON_COMPLIANT = "non-compliant"
NO_BACKUP = "no-backup"
_STAMP_RX = re.compile(r"^(\d{8}T\d{6})(\d*)Z")


class OfflineError(Exception):
    """Bad input for the offline preview (no build, bad limit): message, no traceback."""


@dataclass
class Compliance:
    host: str
    status: str                       # compliant | non-compliant | no-backup
    backup: str = ""                  # the backup compared with
    backup_time: str = ""             # when it was taken (UTC, from its name)
    added: int = 0
    removed: int = 0
    features: list[str] = field(default_factory=list)  # non-compliant features (sections / files)
    diff: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def latest_backup(backup_dir: Path, host: str) -> Path | None:
    """The newest backup of a device (names sort by their UTC timestamp), or None."""
    found = sorted(p for p in (backup_dir / host).glob("*.cfg") if p.is_file())
    return found[-1] if found else None


def _stamp(path: Path) -> str:
    m = _STAMP_RX.match(path.name)
    if not m:
        return ""
    return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC).isoformat()


def _parse_files(text: str) -> dict[str, str | None]:
    from countynet.deploy.device import parse_files

    return parse_files(text)


def _feature(line: str) -> str:
    words = line.split()
    if words and words[0] in ("undo", "no"):
        words = words[1:]
    return words[0] if words else "?"


_PLACEHOLDER_RX = re.compile(r"\$\{secret:[a-z0-9][a-z0-9_.-]*\}")


def _pin_placeholders(intended: str, backup: str | None) -> str:
    """A line holding a secret placeholder takes the backup's line with the same text before the secret
    (the backup shows `<scrubbed>` or a hash there): the setting is compared, never the secret."""
    if backup is None:
        return intended
    have = backup.splitlines()
    out = []
    for line in intended.splitlines():
        m = _PLACEHOLDER_RX.search(line)
        if m and line[:m.start()].strip():
            same = [h for h in have if h.startswith(line[:m.start()])]
            line = same[0] if same else line
        out.append(line)
    return "\n".join(out) + ("\n" if intended.endswith("\n") else "")


def compare_device(host: str, device_type: str, intended: str | dict[str, str], backup: str) -> Compliance:
    """One device's intended config (build, with secret placeholders) against its backup text (scrubbed).
    Secret lines compare by their setting (the text before the secret), as the engine's remediation does."""
    if platforms.configured_by_files(device_type):
        assert isinstance(intended, dict)
        running = _parse_files(backup)
        parts, feats = [], []
        for name in sorted(set(intended) | {n for n, t in running.items() if t is not None}):
            have = running.get(name)
            want = scrub(_pin_placeholders(intended[name], have)) if name in intended else None
            if want is None:
                continue  # a file the build does not manage
            d = file_diff(name, have, want)
            if d:
                parts.append(d)
                feats.append(name)
        text = "".join(parts)
        added, removed = count_changes(text)
        return Compliance(host, NON_COMPLIANT if text else COMPLIANT, added=added, removed=removed,
                          features=feats, diff=text)
    assert isinstance(intended, str)
    rem = remediation(device_type, backup, intended)  # pins placeholder lines to the backup's same setting
    feats = sorted({_feature(line) for line in rem.text.splitlines() if line and not line.startswith(" ")})
    return Compliance(host, NON_COMPLIANT if rem.commands else COMPLIANT, added=rem.added, removed=rem.removed,
                      features=feats, diff=rem.text)


def preview(build_dir: Path, backup_dir: Path, limit: str | None = None, allow_modified: bool = False,
            topology: Path | None = None) -> list[Compliance]:
    """The compliance of every selected device of the build against its last backup (OfflineError on bad
    input: no build, a stale or edited one, a limit that matches nothing)."""
    from countynet.deploy.device import load_intended

    try:
        build = BuildReader(build_dir, allow_modified=allow_modified, topology=topology)
        hosts = select({h: {**v, "device_type": v.get("device_type")} for h, v in build.hosts.items()}, limit)
    except BuildError as exc:
        raise OfflineError(exc.render()) from None
    except LimitError as exc:
        raise OfflineError(str(exc)) from None
    if not hosts:
        raise OfflineError(f"--limit {limit!r} selects no device of {build_dir}")
    out: list[Compliance] = []
    for host in hosts:
        device_type = str(build.host(host).get("device_type"))
        path = latest_backup(backup_dir, host)
        if path is None:
            out.append(Compliance(host, NO_BACKUP))
            continue
        try:
            intended = load_intended(build, host, device_type)
        except BuildError as exc:
            raise OfflineError(exc.render()) from None
        res = compare_device(host, device_type, intended, path.read_text(encoding="utf-8"))
        res.backup, res.backup_time = str(path), _stamp(path)
        out.append(res)
    return out


def summary(results: list[Compliance]) -> dict[str, int]:
    counts = {COMPLIANT: 0, NON_COMPLIANT: 0, NO_BACKUP: 0}
    for r in results:
        counts[r.status] += 1
    return {"devices": len(results), **counts}


def markdown(results: list[Compliance], backup_dir: Path) -> str:
    """The compliance report, Chinese first: a summary, one row per device, then each non-compliant diff."""
    s = summary(results)
    lines = ["# 离线预演 Offline dry run: 意图配置与最近备份对比 intended vs last backup", "",
             f"备份目录 Backups: `{backup_dir}`. 无需设备与密钥 No device and no secret was used.", "",
             f"- 设备 devices: {s['devices']}", f"- 合规 compliant: {s[COMPLIANT]}",
             f"- 不合规 non-compliant (推送会改变 a push would change them): {s[NON_COMPLIANT]}",
             f"- 无备份 no backup (未证实 unproven): {s[NO_BACKUP]}", "",
             "| 设备 device | 状态 status | 备份时间 backup taken | 变更行 lines | 不合规项 features |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| `{r.host}` | {r.status} | {r.backup_time or '—'} | "
                     f"{f'+{r.added} −{r.removed}' if r.status == NON_COMPLIANT else ''} | {', '.join(r.features)} |")
    for r in results:
        if r.diff:
            lines += ["", f"<details><summary><code>{r.host}</code> (+{r.added} −{r.removed})</summary>", "",
                      "```diff", r.diff.rstrip("\n"), "```", "", "</details>"]
    return "\n".join(lines) + "\n"
