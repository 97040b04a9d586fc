"""One device through the safe-change sequence: connect -> fetch running -> scrubbed backup -> remediation ->
(dry-run stops) -> apply with the platform's automatic rollback armed -> post-checks from the intent ->
confirm + save, or roll back and verify the old config is back. `process` never raises: every device ends
with one Outcome. Imported by the engine when the first device runs (it loads Netmiko and hier_config).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from countynet import platforms
from countynet.deploy import audit, syslog
from countynet.deploy.diff import count_changes, file_diff, pin_scrubbed_lines, remediation
from countynet.deploy.drivers import driver_for
from countynet.deploy.drivers.base import AuthFailed, DeployError, Driver, Rejected, Target, Unreachable, connect
from countynet.deploy.fingerprints import Fingerprints
from countynet.deploy.inputs import Context
from countynet.deploy.model import DeviceResult, Outcome
from countynet.deploy.scrub import scrub
from countynet.deploy.secrets import SecretError, env_name, placeholders
from countynet.outputs.build_reader import BuildError, BuildReader

if TYPE_CHECKING:
    from countynet.intent.models import DeviceIntent

FILE_MARK = "### countynet-file: "


def load_intended(build: BuildReader, host: str, device_type: str) -> str | dict[str, str]:
    """The rendered config of one device (Linux: its files), each checked against the manifest."""
    files = build.config_files(host)
    if platforms.configured_by_files(device_type):
        if not files:
            raise DeployError(f"no rendered files for {host} in {build.dir}/configs/{host}: run `countynet build`")
        return files
    text = files.get(f"{host}.cfg", "")
    if not text.strip():
        raise DeployError(f"no rendered config {build.dir}/configs/{host}/{host}.cfg: run `countynet build`")
    return text


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


def uplink_target(d: DeviceIntent, intents: Mapping[str, DeviceIntent]) -> str | None:
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


@dataclass(frozen=True)
class CheckPlan:
    """What the post-checks of one device expect, worked out from the intents before any session."""

    ospf: int = 0
    bgp: frozenset[str] = frozenset()
    uplink: str | None = None


def check_plan(ctx: Context, t: Target, d: DeviceIntent | None) -> CheckPlan:
    """The post-checks of a device: OSPF neighbours, BGP sessions and the uplink to ping (from its intent
    and its upstream peer's; inventory data `expect_ospf` / `uplink_target` override)."""
    if d is None:
        return CheckPlan()
    ospf = int(t.data["expect_ospf"]) if t.data.get("expect_ospf") is not None else expected_ospf(d)
    bgp = frozenset(n.address for n in d.routing.bgp.neighbors) if d.routing.bgp else frozenset()
    uplink = t.data.get("uplink_target") or uplink_target(d, ctx.intents)
    return CheckPlan(ospf, bgp, str(uplink) if uplink else None)


def syslog_servers(ctx: Context, host: str) -> list[str]:
    """Where the audit copy of this device's record goes: the override, else its intent's syslog servers."""
    if ctx.opts.syslog_servers is not None:
        return list(ctx.opts.syslog_servers)
    try:
        return list(ctx.intents[host].management.syslog_servers)
    except Exception:  # no readable intent (the record is still written locally)
        return []


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


def post_checks(ctx: Context, drv: Driver, t: Target, cp: CheckPlan) -> dict[str, bool]:
    """The planned checks; the fresh management session is opened in parallel with the others."""
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
    if cp.ospf or cp.bgp or cp.uplink:
        for attempt in range(ctx.check_retries):
            if cp.ospf:
                checks["ospf"] = drv.ospf_full() >= cp.ospf
            if cp.bgp:
                checks["bgp"] = set(cp.bgp) <= drv.bgp_established()
            if cp.uplink:
                checks["uplink"] = drv.ping(cp.uplink)
            if all(checks.values()) or attempt == ctx.check_retries - 1:
                break
            time.sleep(ctx.check_interval)
    th.join(t.conn_timeout * 3 + 5)
    return {"management": mgmt.get("ok", False), **checks}


def process(ctx: Context, host: str, wave: str, intended: Any = None, from_backup: bool = False,
            action: str | None = None) -> DeviceResult:
    """Run one device through the safe-change sequence; never raises."""
    start = time.monotonic()
    res = DeviceResult(host=host, outcome=Outcome.FAILED, wave=wave)
    action = action or ("commit" if ctx.opts.commit else "dry-run")
    drv: Driver | None = None
    try:
        t = target(ctx, host)
        # every build file this device needs is read (and checked) before any session
        cp = check_plan(ctx, t, ctx.intents.get(host))
        if intended is None:
            assert ctx.build is not None
            intended = load_intended(ctx.build, host, t.device_type)
        # secrets first: a missing one is a clear error before any session
        names_text = intended if isinstance(intended, str) else "".join(v or "" for v in intended.values())
        missing = ctx.store.missing(placeholders(names_text))
        if missing and not from_backup:
            raise SecretError(f"missing secret(s) {', '.join(missing)} for {host}: export "
                              f"{', '.join(env_name(m) for m in missing)} or use --vault-file")
        fps = Fingerprints(ctx.opts.backup_dir)
        secret_values: dict[str, str] = {}
        rotate: frozenset[str] = frozenset()
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
            if not from_backup:
                secret_values = {n: ctx.store.get(n) for n in placeholders(intended)}
                rotate = frozenset(fps.changed(host, secret_values))
            rem = remediation(t.device_type, running, intended, from_backup=from_backup, rotate=rotate)
            change = [ctx.store.resolve(c) for c in rem.commands]
            res.diff = scrub(ctx.store.mask(rem.text), ctx.store.values) if rem.commands else ""
            res.added, res.removed = rem.added, rem.removed
        if res.diff:
            res.diff_sha256 = hashlib.sha256(res.diff.encode()).hexdigest()
        if not change:
            res.outcome, res.detail = Outcome.UNCHANGED, "running config already matches"
            if ctx.opts.commit and secret_values:
                fps.record(host, secret_values)   # baseline: the device holds these settings
            return res
        if not ctx.opts.commit:
            res.outcome, res.detail = Outcome.WOULD_CHANGE, f"+{res.added} -{res.removed} (dry-run, nothing sent)"
            return res
        _commit(ctx, drv, t, cp, running, change, res, intended, from_backup)
        if res.outcome == Outcome.COMMITTED and secret_values:
            fps.record(host, secret_values)
        if rotate and res.outcome == Outcome.COMMITTED:
            res.detail += f"; rotated secret(s): {', '.join(sorted(rotate))}"
        return res
    except Unreachable as exc:
        res.outcome, res.detail = Outcome.UNREACHABLE, str(exc)
    except AuthFailed as exc:
        res.outcome, res.detail = Outcome.AUTH_FAILED, str(exc)
    except (SecretError, DeployError) as exc:
        res.outcome, res.detail = Outcome.FAILED, ctx.store.mask(str(exc))
    except BuildError as exc:
        res.outcome, res.detail = Outcome.FAILED, exc.render()
    except Exception as exc:
        res.outcome, res.detail = Outcome.FAILED, ctx.store.mask(f"{type(exc).__name__}: {exc}")
    finally:
        if drv is not None:
            drv.close()
        res.seconds = round(time.monotonic() - start, 3)
        res.detail = ctx.store.mask(res.detail)
        servers = syslog_servers(ctx, host)
        sev = "warning" if res.outcome.is_failure else "info"

        def to_syslog(line: str) -> None:
            syslog.send(servers, ctx.store.mask(line), sev)

        audit.append(ctx.opts.audit_log, {
            "who": audit.operator(ctx.opts.operator), "change_id": ctx.change_id, "device": host,
            "action": action, "diff_sha256": res.diff_sha256, "result": res.outcome.value,
            "detail": res.detail, "backup": res.backup},
            on_line=to_syslog)
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


def _commit(ctx: Context, drv: Driver, t: Target, cp: CheckPlan, running: Any, change: Any,
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
        res.checks = post_checks(ctx, drv, t, cp)
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
