"""`countynet deploy` and `countynet rollback` (typer). `register(app)` adds both commands to the main CLI;
`python -m countynet.cli.deploy` runs them standalone.

Both read the build directory (`--build`, default `build/`) through its manifest: a device's files are
checked against their sha256 before anything is sent, and a hand-edited or stale build is refused unless
`--allow-modified`. Only the engine's light part is imported here; Netmiko and hier_config load with the
first device session.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from countynet.deploy.engine import UsageError, deploy, rollback
from countynet.deploy.model import DeviceResult, Options, Report, WaveSummary
from countynet.deploy.secrets import SecretError, SecretStore


def _store(vault_file: Path | None, vault_password_file: Path | None) -> SecretStore:
    return SecretStore.from_options(vault_file, vault_password_file)


def _print_result(r: DeviceResult, show_diff: bool) -> None:
    checks = " ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in r.checks.items())
    typer.echo(f"  {r.host:<24} {r.outcome.value:<13} {r.detail}" + (f" [{checks}]" if checks else ""))
    if show_diff and r.diff:
        for line in r.diff.rstrip("\n").splitlines():
            typer.echo(f"      {line}")


def _print_wave(w: WaveSummary) -> None:
    counts = ", ".join(f"{k}={v}" for k, v in sorted(w.counts.items()))
    typer.echo(f"== {w.name}: {len(w.hosts)} device(s): {counts}" + ("  -> HALTED" if w.halted else ""))


def _print_report(rep: Report, show_diff: bool) -> None:
    for note in rep.warnings:
        typer.echo(f"warning: {note}", err=True)
    typer.echo(f"change {rep.change_id} ({'commit' if rep.commit else 'dry-run'})")
    for w in rep.waves:
        _print_wave(w)
        for h in w.hosts:
            _print_result(rep.results[h], show_diff)
    totals: dict[str, int] = {}
    for r in rep.results.values():
        totals[r.outcome.value] = totals.get(r.outcome.value, 0) + 1
    typer.echo("total: " + ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))
    if rep.halted:
        typer.echo(f"HALTED: {rep.halt_reason}; fix and continue with --resume")


def deploy_cmd(
    limit: str = typer.Option(None, "--limit", "-l", help="hosts/globs, role=, township=, platform=, wave=; "
                              "comma-separated, !term excludes"),
    wave: int = typer.Option(None, "--wave", help="only devices of this rollout wave"),
    commit: bool = typer.Option(False, "--commit", help="change devices (default: dry-run)"),
    wave_by: str = typer.Option("wave", "--wave-by", help="wave | township | batch"),
    batch_size: int = typer.Option(10, "--batch-size"),
    canary: int = typer.Option(1, "--canary", help="devices deployed alone first (0: none)"),
    max_fail: str = typer.Option("0", "--max-fail", help="failures allowed before halting: count or N%"),
    workers: int = typer.Option(10, "--workers", help="devices in parallel"),
    rollback_timer: int = typer.Option(300, "--rollback-timer", help="seconds before an unconfirmed change rolls back"),
    resume: bool = typer.Option(False, "--resume", help="continue the interrupted/halted rollout in --state-file"),
    change_id: str = typer.Option(None, "--change-id"),
    build_dir: Path = typer.Option(Path("build"), "--build", "--build-dir", help="build directory to deploy"),
    allow_modified: bool = typer.Option(False, "--allow-modified",
                                        help="preview build files that differ from manifest.json (hand-edited/stale); "
                                             "preview-only: --commit refuses them"),
    inventory_dir: Path = typer.Option(None, "--inventory",
                                       help="a Nornir inventory directory overriding addresses/ports/data of the "
                                            "build's host table"),
    backup_dir: Path = typer.Option(Path("backups"), "--backup-dir"),
    state_file: Path = typer.Option(Path(".countynet/deploy-state.json"), "--state-file"),
    audit_log: Path = typer.Option(Path("audit/deploy.jsonl"), "--audit-log"),
    known_hosts: Path = typer.Option(Path.home() / ".ssh" / "known_hosts", "--known-hosts"),
    insecure: bool = typer.Option(False, "--insecure", help="LAB ONLY: do not verify SSH host keys"),
    vault_file: Path = typer.Option(None, "--vault-file", help="ansible-vault file of secrets"),
    vault_password_file: Path = typer.Option(None, "--vault-password-file"),
    conn_timeout: float = typer.Option(10.0, "--conn-timeout"),
    show_diff: bool = typer.Option(None, "--diff/--no-diff", help="show diffs (default: in dry-run only)"),
    json_out: Path = typer.Option(None, "--json", help="also write the report as JSON here"),
    syslog_server: list[str] = typer.Option(None, "--syslog-server",
                                            help="host[:port] to copy audit records to (RFC 5424/UDP), repeatable; "
                                                 "default: each device's intent syslog servers"),
    verify_audit: Path = typer.Option(None, "--verify-audit", help="check the hash chain of an audit log and exit "
                                      "(0: intact, 1: broken, 2: no such file)"),
    offline: bool = typer.Option(False, "--offline", help="preview against the last stored backups (intended vs "
                                 "backup, compliance per device): no device, credential or secret needed"),
) -> None:
    """Preview (default) or apply the intended configs, safely, in canary-first waves."""
    if verify_audit is not None:
        _verify_audit(verify_audit)
    if offline:
        if commit or resume:
            typer.echo("error: --offline only previews: leave out --commit and --resume", err=True)
            raise typer.Exit(2)
        _offline(build_dir, backup_dir, limit, allow_modified, show_diff, json_out)
        return
    opts = Options(build_dir=build_dir, allow_modified=allow_modified, inventory_dir=inventory_dir,
                   backup_dir=backup_dir, state_file=state_file, audit_log=audit_log, known_hosts=known_hosts,
                   insecure=insecure, commit=commit, limit=limit, wave=wave, wave_by=wave_by,
                   batch_size=batch_size, canary=canary, max_fail=max_fail, workers=workers,
                   rollback_timer=rollback_timer, conn_timeout=conn_timeout, change_id=change_id, resume=resume,
                   syslog_servers=list(syslog_server) if syslog_server else None)
    try:
        rep = deploy(opts, _store(vault_file, vault_password_file))
    except (UsageError, SecretError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _print_report(rep, (not rep.commit) if show_diff is None else show_diff)
    if json_out:
        json_out.write_text(json.dumps(rep.as_dict(), indent=1) + "\n", encoding="utf-8")
    raise typer.Exit(1 if rep.failed or rep.halted else 0)


def _verify_audit(path: Path) -> None:
    """Report the audit log's hash chain and exit: 0 intact, 1 broken, 2 missing."""
    from countynet.deploy import audit

    if not path.is_file():
        typer.echo(f"error: audit log {path} not found: pass the file written by --audit-log", err=True)
        raise typer.Exit(2)
    problems = audit.verify(path)
    for p in problems:
        typer.echo(p)
    n = len(audit.read_lines(path))
    typer.echo(f"审计日志哈希链{'完整' if not problems else '已被篡改'} / audit log {path}: {n} record(s), "
               + ("hash chain intact" if not problems else f"hash chain BROKEN ({len(problems)} problem(s))"))
    raise typer.Exit(1 if problems else 0)


def _offline(build_dir: Path, backup_dir: Path, limit: str | None, allow_modified: bool, show_diff: bool | None,
             json_out: Path | None) -> None:
    """`deploy --offline`: compliance of the build against the last backups; reports in <build>/reports."""
    from countynet.deploy.offline import NON_COMPLIANT, OfflineError, markdown, preview, summary
    from countynet.fileio import atomic_write_text

    try:
        results = preview(build_dir, backup_dir, limit, allow_modified)
    except OfflineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    s = summary(results)
    typer.echo(f"offline dry run against the backups in {backup_dir} (no device contacted, no secret used)")
    for r in results:
        detail = {"compliant": "intended == last backup",
                  "non-compliant": f"+{r.added} -{r.removed} ({', '.join(r.features)})",
                  "no-backup": "no backup stored: unproven"}[r.status]
        when = f" [backup {r.backup_time}]" if r.backup_time else ""
        typer.echo(f"  {r.host:<24} {r.status:<13} {detail}{when}")
        if (show_diff is None or show_diff) and r.status == NON_COMPLIANT:
            for line in r.diff.rstrip("\n").splitlines():
                typer.echo(f"      {line}")
    typer.echo(f"total: {s['devices']} device(s): compliant={s['compliant']}, non-compliant={s['non-compliant']}, "
               f"no-backup={s['no-backup']}")
    reports = build_dir / "reports"
    data = {"checker": "deploy --offline", "backup_dir": str(backup_dir), "summary": s,
            "devices": [r.as_dict() for r in results]}
    atomic_write_text(reports / "deploy-offline.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(reports / "deploy-offline.md", markdown(results, backup_dir))
    if json_out:
        atomic_write_text(json_out, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    typer.echo(f"reports in {reports}/deploy-offline.(json|md)")


def rollback_cmd(
    host: str = typer.Argument(..., help="device to restore"),
    to: Path = typer.Option(None, "--to", help="backup file (default: newest backup that differs)"),
    rollback_timer: int = typer.Option(300, "--rollback-timer"),
    build_dir: Path = typer.Option(Path("build"), "--build", "--build-dir", help="build directory"),
    allow_modified: bool = typer.Option(False, "--allow-modified",
                                        help="use build files that differ from manifest.json"),
    inventory_dir: Path = typer.Option(None, "--inventory", help="Nornir inventory overriding the build's hosts"),
    backup_dir: Path = typer.Option(Path("backups"), "--backup-dir"),
    audit_log: Path = typer.Option(Path("audit/deploy.jsonl"), "--audit-log"),
    known_hosts: Path = typer.Option(Path.home() / ".ssh" / "known_hosts", "--known-hosts"),
    insecure: bool = typer.Option(False, "--insecure", help="LAB ONLY: do not verify SSH host keys"),
    vault_file: Path = typer.Option(None, "--vault-file"),
    vault_password_file: Path = typer.Option(None, "--vault-password-file"),
    change_id: str = typer.Option(None, "--change-id"),
) -> None:
    """Restore a device to a backup, with the same armed rollback, post-checks and confirm as deploy."""
    opts = Options(build_dir=build_dir, allow_modified=allow_modified, inventory_dir=inventory_dir,
                   backup_dir=backup_dir, audit_log=audit_log, known_hosts=known_hosts, insecure=insecure,
                   rollback_timer=rollback_timer, change_id=change_id)
    try:
        res = rollback(opts, host, to, _store(vault_file, vault_password_file))
    except (UsageError, SecretError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _print_result(res, True)
    raise typer.Exit(1 if res.outcome.is_failure else 0)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy_cmd)
    app.command("rollback")(rollback_cmd)


def main() -> None:
    app = typer.Typer(add_completion=False, no_args_is_help=True, help="countynet deploy / rollback")
    register(app)
    app(prog_name="countynet")


if __name__ == "__main__":
    main()
    sys.exit(0)
