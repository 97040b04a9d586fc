"""The rollout engine: Nornir (threaded) over the generated inventory, one safe change per device.

Per device: connect -> fetch running -> scrubbed backup -> remediation -> (dry-run stops) -> apply with
the platform's automatic rollback armed -> post-checks from the intent -> confirm + save, or roll back and
verify the old config is back. Devices go canary first, then in waves; a failure budget halts the rollout
and a state file lets `--resume` continue where it stopped. Every device ends with one Outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets as pysecrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from countynet.deploy import audit
from countynet.deploy.diff import count_changes, file_diff, pin_scrubbed_lines, remediation
from countynet.deploy.drivers import driver_for
from countynet.deploy.drivers.base import AuthFailed, DeployError, Driver, Rejected, Target, Unreachable, connect
from countynet.deploy.model import DeviceResult, Options, Outcome, Report, WaveSummary
from countynet.deploy.scrub import scrub
from countynet.deploy.secrets import SecretError, SecretStore, env_name, placeholders
from countynet.deploy.select import budget, plan, select
from countynet.deploy.state import StateFile
from countynet.intent.models import DeviceIntent

FILE_MARK = "### countynet-file: "


class UsageError(Exception):
    """Bad input from the user (missing build, bad limit, nothing to resume): message, no traceback."""


def new_change_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("chg-%Y%m%dT%H%M%SZ-") + pysecrets.token_hex(2)


# ---------------------------------------------------------------- inputs


def load_inventory(inv_dir: Path) -> dict[str, dict[str, Any]]:
    hosts_file = inv_dir / "hosts.yaml"
    if not hosts_file.exists():
        raise UsageError(f"no Nornir inventory at {hosts_file}: run `countynet build` first")
    hosts = yaml.safe_load(hosts_file.read_text(encoding="utf-8")) or {}
    defaults_file = inv_dir / "defaults.yaml"
    defaults = yaml.safe_load(defaults_file.read_text(encoding="utf-8")) if defaults_file.exists() else {}
    out = {}
    for name, h in hosts.items():
        data = dict((defaults or {}).get("data") or {})
        data.update(h.get("data") or {})
        out[name] = {"hostname": h.get("hostname"), "port": h.get("port") or (defaults or {}).get("port") or 22,
                     "device_type": h.get("platform"), "data": data}
    return out


def facts(inv: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {h: {**v["data"], "device_type": v["device_type"]} for h, v in inv.items()}


def load_intent(build: Path, host: str) -> DeviceIntent | None:
    p = build / "intent" / f"{host}.yaml"
    if not p.exists():
        return None
    return DeviceIntent.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))


def load_intended(build: Path, host: str, device_type: str) -> str | dict[str, str]:
    d = build / "configs" / host
    if device_type == "linux":
        files = {str(p.relative_to(d)): p.read_text(encoding="utf-8") for p in sorted(d.rglob("*")) if p.is_file()}
        if not files:
            raise DeployError(f"no rendered files under {d}: run `countynet build`")
        return files
    p = d / f"{host}.cfg"
    if not p.exists() or not p.read_text(encoding="utf-8").strip():
        raise DeployError(f"no rendered config {p}: run `countynet build`")
    return p.read_text(encoding="utf-8")


# ---------------------------------------------------------------- backups


def serialise(running: str | dict[str, str | None]) -> str:
    if isinstance(running, str):
        return running
    parts = []
    for rel, text in sorted(running.items()):
        if text is None:
            parts.append(f"{FILE_MARK}{rel} (absent)\n")
        else:
            parts.append(f"{FILE_MARK}{rel}\n{text}{'' if text.endswith(chr(10)) else chr(10)}")
    return "".join(parts)


def parse_files(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    cur: str | None = None
    buf: list[str] = []
    for line in text.splitlines(True):
        if line.startswith(FILE_MARK):
            if cur is not None:
                out[cur] = "".join(buf)
            name = line[len(FILE_MARK):].strip()
            if name.endswith(" (absent)"):
                out[name[:-9]] = None
                cur = None
            else:
                cur = name
            buf = []
        elif cur is not None:
            buf.append(line)
    if cur is not None:
        out[cur] = "".join(buf)
    return out


def write_backup(backup_dir: Path, host: str, change_id: str, running: str | dict[str, str | None],
                 values: list[str]) -> Path:
    d = backup_dir / host
    d.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    p = d / f"{stamp}-{change_id}.cfg"
    p.write_text(scrub(serialise(running), values), encoding="utf-8")
    os.chmod(p, 0o600)
    return p


def backups(backup_dir: Path, host: str) -> list[Path]:
    return sorted((backup_dir / host).glob("*.cfg"))


# ---------------------------------------------------------------- post-check targets


def uplink_target(d: DeviceIntent, intents: dict[str, DeviceIntent]) -> str | None:
    """Address that proves the path toward the centre: default-route next hop or the upstream peer."""
    for r in d.routing.static:
        if r.prefix == "0.0.0.0/0" and r.next_hop:
            return r.next_hop
    for i in d.interfaces:
        if not (i.peer and i.address):
            continue
        peer = intents.get(i.peer.host)
        if peer is None or not (peer.site == "centre" or peer.wave < d.wave):
            continue
        try:
            addr = peer.interface(i.peer.interface).address
        except KeyError:
            continue
        if addr:
            return addr.split("/")[0]
    return None


def expected_ospf(d: DeviceIntent) -> int:
    if not d.routing.ospf:
        return 0
    return sum(1 for i in d.interfaces if i.ospf and not i.ospf.passive and i.peer is not None
               and i.kind not in ("loopback", "lag_member"))


# ---------------------------------------------------------------- the per-device pipeline


@dataclass
class Context:
    opts: Options
    inv: dict[str, dict[str, Any]]
    intents: dict[str, DeviceIntent]
    store: SecretStore
    change_id: str
    username: str | None
    password: str | None
    key_file: str | None
    state: StateFile | None = None
    check_retries: int = 3
    check_interval: float = 2.0
    on_result: Callable[[DeviceResult], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def target(ctx: Context, host: str) -> Target:
    h = ctx.inv[host]
    return Target(host=host, address=str(h["hostname"]), port=int(h["port"]), device_type=str(h["device_type"]),
                  username=ctx.username, password=ctx.password, key_file=ctx.key_file,
                  known_hosts=ctx.opts.known_hosts, insecure=ctx.opts.insecure, conn_timeout=ctx.opts.conn_timeout,
                  command_timeout=ctx.opts.command_timeout, data=dict(h["data"]))


def _equal(drv: Driver, now: Any, before: Any) -> bool:
    if isinstance(before, dict):
        return all(now.get(k) == v for k, v in before.items())
    return not remediation(drv.t.device_type, now, before).commands


def _open(ctx: Context, t: Target) -> Driver:
    conn = connect(t)
    drv = driver_for(t.device_type)(t, conn)
    drv.mask = ctx.store.mask
    return drv


def wait_restored(ctx: Context, t: Target, before: Any, paths: list[str]) -> tuple[bool, str]:
    """After a lost session: reconnect until the old config is back (timer fired) or give up."""
    deadline = time.monotonic() + ctx.opts.rollback_timer + max(20.0, ctx.opts.rollback_timer * 0.5)
    quick = Target(**{**t.__dict__, "conn_timeout": min(t.conn_timeout, 3.0)})
    last = "no session"
    while time.monotonic() < deadline:
        try:
            drv = _open(ctx, quick)
        except DeployError as exc:
            last = str(exc)
            time.sleep(1.0)
            continue
        try:
            if isinstance(before, dict):
                drv.paths = paths
            now = drv.fetch_running()
            if _equal(drv, now, before):
                return True, "the device's automatic rollback restored the previous config (verified)"
            last = "device reachable but still running the new config"
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            drv.close()
        time.sleep(1.0)
    return False, f"previous config NOT verified after the rollback timer: {last}"


def post_checks(ctx: Context, drv: Driver, t: Target, d: DeviceIntent | None) -> dict[str, bool]:
    """Intent-derived checks; the fresh management session is opened in parallel with the others."""
    checks: dict[str, bool] = {}
    mgmt: dict[str, bool] = {}

    def management() -> None:
        try:
            fresh = _open(ctx, t)
            mgmt["ok"] = fresh.alive()
            fresh.close()
        except DeployError:
            mgmt["ok"] = False

    th = threading.Thread(target=management, daemon=True)
    th.start()
    if d is not None:
        want_ospf = int(t.data["expect_ospf"]) if t.data.get("expect_ospf") is not None else expected_ospf(d)
        want_bgp = {n.address for n in d.routing.bgp.neighbors} if d.routing.bgp else set()
        uplink = t.data.get("uplink_target") or uplink_target(d, ctx.intents)
        for attempt in range(ctx.check_retries):
            if want_ospf:
                checks["ospf"] = drv.ospf_full() >= want_ospf
            if want_bgp:
                checks["bgp"] = want_bgp <= drv.bgp_established()
            if uplink:
                checks["uplink"] = drv.ping(str(uplink))
            if all(checks.values()) or attempt == ctx.check_retries - 1:
                break
            time.sleep(ctx.check_interval)
    th.join(t.conn_timeout * 3 + 5)
    return {"management": mgmt.get("ok", False), **checks}


def process(ctx: Context, host: str, wave: str, intended: Any = None, from_backup: bool = False,
            action: str | None = None) -> DeviceResult:
    """Run one device through the pipeline; never raises."""
    start = time.monotonic()
    res = DeviceResult(host=host, outcome=Outcome.FAILED, wave=wave)
    action = action or ("commit" if ctx.opts.commit else "dry-run")
    drv: Driver | None = None
    try:
        t = target(ctx, host)
        intent = ctx.intents.get(host)
        if intended is None:
            intended = load_intended(ctx.opts.build_dir, host, t.device_type)
        # secrets first: a missing one is a clear error before any session
        names_text = intended if isinstance(intended, str) else "".join(v or "" for v in intended.values())
        missing = ctx.store.missing(placeholders(names_text))
        if missing and not from_backup:
            raise SecretError(f"missing secret(s) {', '.join(missing)} for {host}: export "
                              f"{', '.join(env_name(m) for m in missing)} or use --vault-file")
        drv = _open(ctx, t)
        if isinstance(intended, dict):
            drv.paths = sorted(intended)
        running = drv.fetch_running()
        res.backup = str(write_backup(ctx.opts.backup_dir, host, ctx.change_id, running, ctx.store.values))
        change: Any
        if isinstance(intended, dict):
            resolved = {}
            for rel, text in intended.items():
                if from_backup:
                    if text is None:
                        continue
                    resolved[rel] = pin_scrubbed_lines(running.get(rel) or "", text)
                else:
                    resolved[rel] = ctx.store.resolve(text)
            change = {rel: text for rel, text in resolved.items() if running.get(rel) != text}
            udiff = "".join(file_diff(rel, running.get(rel), change[rel]) for rel in sorted(change))
            res.diff = scrub(ctx.store.mask(udiff), ctx.store.values) if udiff else ""
            res.added, res.removed = count_changes(udiff)
        else:
            rem = remediation(t.device_type, running, intended, from_backup=from_backup)
            change = [ctx.store.resolve(c) for c in rem.commands]
            res.diff = scrub(ctx.store.mask(rem.text), ctx.store.values) if rem.commands else ""
            res.added, res.removed = rem.added, rem.removed
        if res.diff:
            res.diff_sha256 = hashlib.sha256(res.diff.encode()).hexdigest()
        if not change:
            res.outcome, res.detail = Outcome.UNCHANGED, "running config already matches"
            return res
        if not ctx.opts.commit:
            res.outcome, res.detail = Outcome.WOULD_CHANGE, f"+{res.added} -{res.removed} (dry-run, nothing sent)"
            return res
        _commit(ctx, drv, t, intent, running, change, res, intended, from_backup)
        return res
    except Unreachable as exc:
        res.outcome, res.detail = Outcome.UNREACHABLE, str(exc)
    except AuthFailed as exc:
        res.outcome, res.detail = Outcome.AUTH_FAILED, str(exc)
    except (SecretError, DeployError) as exc:
        res.outcome, res.detail = Outcome.FAILED, ctx.store.mask(str(exc))
    except Exception as exc:
        res.outcome, res.detail = Outcome.FAILED, ctx.store.mask(f"{type(exc).__name__}: {exc}")
    finally:
        if drv is not None:
            drv.close()
        res.seconds = round(time.monotonic() - start, 3)
        audit.append(ctx.opts.audit_log, {
            "who": audit.operator(ctx.opts.operator), "change_id": ctx.change_id, "device": host,
            "action": action, "diff_sha256": res.diff_sha256, "result": res.outcome.value,
            "detail": ctx.store.mask(res.detail), "backup": res.backup})
        if ctx.state is not None:
            ctx.state.record(host, res.outcome.value, res.detail)
        if ctx.on_result:
            ctx.on_result(res)
    return res


def _has_change(drv: Driver, now: Any, change: Any, intended: Any, from_backup: bool) -> bool:
    """After confirm: is the new config really in place (the timer did not fire first)?"""
    if isinstance(change, dict):
        return all(now.get(k) == v for k, v in change.items())
    return not remediation(drv.t.device_type, now, intended, from_backup=from_backup).commands


def _commit(ctx: Context, drv: Driver, t: Target, intent: DeviceIntent | None, running: Any, change: Any,
            res: DeviceResult, intended: Any, from_backup: bool) -> None:
    paths = sorted(running) if isinstance(running, dict) else []
    before = {k: running.get(k) for k in change} if isinstance(running, dict) else running
    try:
        drv.apply(change, ctx.opts.rollback_timer)
    except Rejected as exc:
        try:
            drv.abort(running)
            now = drv.fetch_running()
            ok = _equal(drv, now, before)
        except Exception:
            ok, _ = wait_restored(ctx, t, before, paths)
        res.outcome = Outcome.REJECTED if ok else Outcome.FAILED
        res.detail = ctx.store.mask(str(exc)) + ("; previous config restored (verified)" if ok
                                                   else "; previous config NOT verified")
        return
    except Exception as exc:
        drv.close()
        ok, how = wait_restored(ctx, t, before, paths)
        res.outcome = Outcome.ROLLED_BACK if ok else Outcome.FAILED
        res.detail = f"session lost after apply ({type(exc).__name__}); {how}"
        return
    try:
        res.checks = post_checks(ctx, drv, t, intent)
        if all(res.checks.values()):
            drv.confirm()
            if not _has_change(drv, drv.fetch_running(), change, intended, from_backup):
                res.outcome = Outcome.ROLLED_BACK if _equal(drv, drv.fetch_running(), before) else Outcome.FAILED
                res.detail = ("the rollback timer fired before the confirm: the device runs its previous config; "
                              "raise --rollback-timer")
                return
            drv.save()
            res.outcome = Outcome.COMMITTED
            res.detail = f"+{res.added} -{res.removed}; post-checks passed ({', '.join(res.checks)}); confirmed, saved"
            return
        failed = [k for k, v in res.checks.items() if not v]
        try:
            drv.abort(running)
            ok = _equal(drv, drv.fetch_running(), before)
            how = "rolled back explicitly (verified)" if ok else "explicit rollback NOT verified"
        except Exception:
            drv.close()
            ok, how = wait_restored(ctx, t, before, paths)
        res.outcome = Outcome.ROLLED_BACK if ok else Outcome.FAILED
        res.detail = f"post-check failed: {', '.join(failed)}; {how}"
    except Exception as exc:
        drv.close()
        ok, how = wait_restored(ctx, t, before, paths)
        res.outcome = Outcome.ROLLED_BACK if ok else Outcome.FAILED
        res.detail = f"session lost during post-checks/confirm ({type(exc).__name__}); {how}"


# ---------------------------------------------------------------- rollout


def credentials() -> tuple[str | None, str | None, str | None]:
    user = os.environ.get("COUNTYNET_USERNAME")
    password = os.environ.get("COUNTYNET_PASSWORD")
    key = os.environ.get("COUNTYNET_SSH_KEY")
    if not user:
        raise UsageError("set COUNTYNET_USERNAME (and COUNTYNET_PASSWORD or COUNTYNET_SSH_KEY)")
    if not password and not key:
        raise UsageError("set COUNTYNET_PASSWORD or COUNTYNET_SSH_KEY for the device login")
    return user, password, key


def make_context(opts: Options, store: SecretStore, change_id: str) -> Context:
    inv = load_inventory(opts.inventory_dir)
    intents: dict[str, DeviceIntent] = {}
    for host in inv:
        d = load_intent(opts.build_dir, host)
        if d is not None:
            intents[host] = d
    user, password, key = credentials()
    if not opts.insecure and (opts.known_hosts is None or not opts.known_hosts.exists()):
        raise UsageError(f"known_hosts file {opts.known_hosts} not found: pass --known-hosts FILE "
                         "(or --insecure, for labs only)")
    return Context(opts, inv, intents, store, change_id, user, password, key,
                   check_retries=max(1, opts.check_retries), check_interval=opts.check_interval)


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
        if not report.halted:
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
    return report


def rollback(opts: Options, host: str, to: Path | None = None, store: SecretStore | None = None) -> DeviceResult:
    """Restore one device to a backup (default: the newest backup that differs from its running config)."""
    store = store or SecretStore()
    ctx = make_context(opts, store, opts.change_id or new_change_id())
    if host not in ctx.inv:
        raise UsageError(f"unknown host {host!r} (not in {opts.inventory_dir}/hosts.yaml)")
    candidates = [to] if to else list(reversed(backups(opts.backup_dir, host)))
    if not candidates:
        raise UsageError(f"no backup for {host} under {opts.backup_dir / host}")
    if to is not None and not to.exists():
        raise UsageError(f"backup file {to} not found")
    opts.commit = True
    t = target(ctx, host)
    for cand in candidates:
        text = cand.read_text(encoding="utf-8")
        intended: Any = parse_files(text) if t.device_type == "linux" else text
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
