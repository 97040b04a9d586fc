"""The rollout engine: Nornir (threaded) over the build's devices, one safe change per device.

Inputs come from the build directory only, through its manifest: the host table selects devices (role,
township, wave, platform...), and a device's intent and configs are read when that device is processed,
each file checked against its sha256 first (a hand-edited or stale build is refused unless
`allow_modified`). A rollout of one device reads one device's files, not the county's.

Per device: connect -> fetch running -> scrubbed backup -> remediation -> (dry-run stops) -> apply with
the platform's automatic rollback armed -> post-checks from the intent -> confirm + save, or roll back and
verify the old config is back. Devices go canary first, then in waves; a failure budget halts the rollout
and a state file lets `--resume` continue where it stopped. Every device ends with one Outcome.

Netmiko, hier_config and Nornir are imported when the first device is processed, so that input errors
(no build, bad limit, no credentials) are reported at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from countynet import platforms
from countynet.deploy.inputs import (
    Context,
    LazyIntents,
    UsageError,
    credentials,
    facts,
    load_inventory,
    new_change_id,
    open_build,
)
from countynet.deploy.model import DeviceResult, Options, Outcome, Report, WaveSummary
from countynet.deploy.secrets import SecretStore
from countynet.deploy.select import budget, plan, select
from countynet.deploy.state import StateFile
from countynet.outputs.build_reader import BuildError

__all__ = ["UsageError", "deploy", "make_context", "rollback"]


# ---------------------------------------------------------------- rollout


def make_context(opts: Options, store: SecretStore, change_id: str) -> Context:
    """Open the build (manifest only), the connection facts and the credentials; no intent is read yet.
    From here on every log record is masked with the store's resolved values."""
    store.guard_logs()
    if opts.commit and opts.allow_modified:
        raise UsageError("--allow-modified is preview-only: --commit never pushes build files that differ from "
                         "manifest.json; rebuild (`countynet build`) and deploy the fresh build")
    build = open_build(opts)
    inv = load_inventory(build, opts.inventory_dir)
    user, password, key = credentials()
    if not opts.insecure and (opts.known_hosts is None or not opts.known_hosts.exists()):
        raise UsageError(f"known_hosts file {opts.known_hosts} not found: pass --known-hosts FILE "
                         "(or --insecure, for labs only)")
    return Context(opts, inv, LazyIntents(build), store, change_id, user, password, key,
                   check_retries=max(1, opts.check_retries), check_interval=opts.check_interval, build=build)


def check_files(ctx: Context, hosts: list[str]) -> None:
    """Refuse (UsageError naming every file) unless these devices' intent and config files match the
    manifest, before any device is touched; with allow_modified the differences are kept as warnings."""
    assert ctx.build is not None
    try:
        ctx.build.check_hosts(hosts)
    except BuildError as exc:
        raise UsageError(exc.render()) from None


def _nornir(ctx: Context, hosts: list[str]) -> Any:
    from nornir.core import Nornir
    from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
    from nornir.plugins.runners import ThreadedRunner

    inv = Inventory(hosts=Hosts({h: Host(name=h, hostname=ctx.inv[h]["hostname"], port=ctx.inv[h]["port"],
                                         platform=ctx.inv[h]["device_type"], data=ctx.inv[h]["data"])
                                 for h in hosts}), groups=Groups(), defaults=Defaults())
    return Nornir(inventory=inv, runner=ThreadedRunner(num_workers=max(1, ctx.opts.workers)))


def run_wave(ctx: Context, name: str, hosts: list[str], **kw: Any) -> dict[str, DeviceResult]:
    from nornir.core.task import Result, Task

    from countynet.deploy.device import process

    def task(t: Task) -> Result:
        return Result(host=t.host, result=process(ctx, t.host.name, name, **kw))

    agg = _nornir(ctx, hosts).run(task=task, name=f"countynet deploy {name}")
    out: dict[str, DeviceResult] = {}
    for h in hosts:
        r = agg[h][0]
        if isinstance(r.result, DeviceResult):
            out[h] = r.result
        else:  # nornir caught an exception outside process(): report it, never lose a device
            out[h] = DeviceResult(host=h, outcome=Outcome.FAILED, wave=name, detail=str(r.exception or r.result))
    return out


def deploy(opts: Options, store: SecretStore | None = None,
           on_result: Callable[[DeviceResult], None] | None = None,
           on_wave: Callable[[WaveSummary], None] | None = None) -> Report:
    store = store or SecretStore()
    try:
        budget(opts.max_fail, 1)   # validate before touching anything
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    sf = StateFile(opts.state_file)
    skip: set[str] = set()
    if opts.resume:
        prev = sf.load()
        if prev is None:
            raise UsageError(f"nothing to resume: no state file {opts.state_file}")
        if prev.get("status") == "complete":
            raise UsageError(f"nothing to resume: rollout {prev['change_id']} in {opts.state_file} completed")
        change_id = prev["change_id"]
        opts.commit = bool(prev["commit"])
        waves = [(w["name"], list(w["hosts"])) for w in prev["plan"]]
        skip = {h for h, v in (prev.get("hosts") or {}).items() if Outcome(v["outcome"]).is_done}
        ctx = make_context(opts, store, change_id)
        unknown = sorted({h for _, hosts in waves for h in hosts} - set(ctx.inv))
        if unknown:
            raise UsageError(f"cannot resume: {', '.join(unknown[:5])} not in the build {opts.build_dir}")
        check_files(ctx, [h for _, hosts in waves for h in hosts if h not in skip])
        sf.data["status"] = "running"
    else:
        change_id = opts.change_id or new_change_id()
        ctx = make_context(opts, store, change_id)
        f = facts(ctx.inv)
        try:
            chosen = select(f, opts.limit)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if opts.wave is not None:
            chosen = [h for h in chosen if int(f[h].get("wave") or 0) == opts.wave]
        if not chosen:
            raise UsageError(f"no device matches --limit {opts.limit!r}" +
                             (f" in wave {opts.wave}" if opts.wave is not None else ""))
        try:
            waves = plan(f, chosen, opts.wave_by, opts.batch_size, opts.canary)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_files(ctx, chosen)
        sf.start(change_id, opts.commit, waves, {"limit": opts.limit, "wave": opts.wave})
    ctx.state, ctx.on_result = sf, on_result
    total = sum(len(h) for _, h in waves)
    try:
        allowed = budget(opts.max_fail, total)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = Report(change_id=change_id, commit=opts.commit)
    failures = 0
    for name, hosts in waves:
        todo = [h for h in hosts if h not in skip]
        summary = WaveSummary(name=name, hosts=hosts)
        if report.halted:
            for h in todo:
                report.results[h] = DeviceResult(host=h, outcome=Outcome.SKIPPED, wave=name,
                                                 detail=f"rollout halted: {report.halt_reason}")
        elif todo:
            report.results.update(run_wave(ctx, name, todo))
        for h in hosts:
            if h in skip:
                report.results[h] = DeviceResult(host=h, outcome=Outcome.UNCHANGED, wave=name,
                                                 detail="done in an earlier run of this rollout (resumed)")
        counts: dict[str, int] = {}
        for h in hosts:
            o = report.results[h].outcome.value
            counts[o] = counts.get(o, 0) + 1
        summary.counts = counts
        if not report.halted and opts.commit:  # a dry run sends nothing: it previews every device, never halts
            failures += sum(1 for h in todo if report.results[h].outcome.is_failure)
            if name == "canary" and failures:
                report.halted, report.halt_reason = True, f"canary failed ({failures} device(s))"
            elif failures > allowed:
                report.halted = True
                report.halt_reason = f"{failures} failure(s) exceed the budget --max-fail {opts.max_fail} ({allowed})"
            summary.halted = report.halted
        report.waves.append(summary)
        if on_wave:
            on_wave(summary)
    sf.finish("halted" if report.halted else ("complete" if not report.failed else "failed"))
    if ctx.build is not None:
        report.warnings = [f"--allow-modified: {p.render()}" for p in ctx.build.accepted]
    return report


def rollback(opts: Options, host: str, to: Path | None = None, store: SecretStore | None = None) -> DeviceResult:
    """Restore one device to a backup (default: the newest backup that differs from its running config)."""
    store = store or SecretStore()
    ctx = make_context(opts, store, opts.change_id or new_change_id())
    if host not in ctx.inv:
        raise UsageError(f"unknown host {host!r}: no device of that name in the build {opts.build_dir}")
    assert ctx.build is not None
    try:
        ctx.build.check([f"intent/{host}.yaml"])  # the post-checks come from the intent
    except BuildError as exc:
        raise UsageError(exc.render()) from None
    from countynet.deploy.device import backups, parse_files, process

    candidates = [to] if to else list(reversed(backups(opts.backup_dir, host)))
    if not candidates:
        raise UsageError(f"no backup for {host} under {opts.backup_dir / host}")
    if to is not None and not to.exists():
        raise UsageError(f"backup file {to} not found")
    opts.commit = True
    for cand in candidates:
        text = cand.read_text(encoding="utf-8")
        intended: Any = parse_files(text) if platforms.configured_by_files(ctx.inv[host]["device_type"]) else text
        if to is None:  # skip backups equal to the running config (e.g. taken by the last dry-run)
            probe = process(Context(**{**ctx.__dict__, "opts": Options(**{**opts.__dict__, "commit": False})}),
                            host, "rollback", intended=intended, from_backup=True, action="rollback-probe")
            if probe.outcome == Outcome.UNCHANGED:
                continue
            if probe.outcome != Outcome.WOULD_CHANGE:
                return probe
        res = process(ctx, host, "rollback", intended=intended, from_backup=True, action="rollback")
        res.detail = f"to {cand.name}: {res.detail}"
        return res
    return DeviceResult(host=host, outcome=Outcome.UNCHANGED, wave="rollback",
                        detail="every backup equals the running config; nothing to roll back")
