"""Compare two builds (before = a git ref, after = the working build) into one :class:`Review`.

Everything is read through each build's manifest (`BuildReader`: files checked against their sha256), plus
the two allocation locks for the address story. Pure data: rendering is `countynet.review.page`.

Moves: a device whose site changed under the same host name is moved in place; a village that changes
township also changes host name (`yx-<township>-<id>`), so a removed and an added device of the same role
whose names differ only in the township part (a village's id is its pinyin, which a move keeps) are
paired as one move (the address story then shows the old addresses freed and new ones taken). A village's
label is its site name (Chinese name, pinyin and official code, as the build writes it).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from countynet.outputs.build_reader import LOADER, BuildReader

RULES_FILE = "policy/rules.json"
FLOWS_FILE = "policy/flows.json"
EVERY_HOST = "(every host of the zones)"
EXHAUSTIVE_PENDING = (
    "穷举（全报文空间）策略差异尚未接入：此处列出规则层面的变化（每条许可的增减）"
    "和 policy/flows.json 中判定改变的探测流。"
    "The exhaustive (header-space) policy diff is pending: listed here are the rule-level changes "
    "(every permit gained or lost) and the probe flows of policy/flows.json whose verdict changes.")


@dataclass
class Device:
    """One device as a review shows it: name, role, where it is, and what the diagrams need."""

    host: str
    role: str
    site: str
    site_name: str
    township: str | None
    unit: str | None
    areas: list[str] = field(default_factory=list)
    attach: str = ""          # villages: leased | vpn
    uplink: str | None = None  # the device it hangs off (diagram edge), when known
    label: str = ""           # a person's name for it (village name when the build has one)


@dataclass
class DeviceChange:
    kind: str                 # added | removed | moved | changed
    host: str                 # the host name after the change (before, for removed)
    role: str
    before: Device | None
    after: Device | None
    old_host: str | None = None   # a move that renamed the device
    diffs: dict[str, str] = field(default_factory=dict)  # file -> unified diff
    added: int = 0
    removed: int = 0

    @property
    def where(self) -> str:
        b = self.before.site_name if self.before else ""
        a = self.after.site_name if self.after else ""
        if self.kind == "moved":
            return f"{b} → {a}"
        return a or b


@dataclass
class AddressChange:
    kind: str                 # freed | new | moved
    key: str                  # section.group.owner
    before: str | None
    after: str | None
    reused_by: list[str] = field(default_factory=list)   # freed: new owners that take (part of) the value
    reuses: list[str] = field(default_factory=list)      # new: freed owners whose value it takes
    same_device: str | None = None  # the same device's entry under its new (or old) name, when it moved
    held_until: str | None = None   # freed: the allocator holds the value until this date (not reusable before)


@dataclass
class RuleChange:
    name: str
    kind: str                 # added | removed | changed
    owner: str
    reason: str
    expires: str | None
    gained: dict[str, list[str]] = field(default_factory=dict)  # field -> values gained
    lost: dict[str, list[str]] = field(default_factory=dict)    # field -> values lost
    permits_gained: list[str] = field(default_factory=list)     # "from > to host port [scope]" the rule now allows
    permits_lost: list[str] = field(default_factory=list)       # ... and no longer allows
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass
class FlowChange:
    flow: str
    rule_before: str
    rule_after: str
    before: str               # allowed | denied | absent
    after: str


@dataclass
class Review:
    before_label: str
    after_label: str
    devices_before: dict[str, Device]
    devices_after: dict[str, Device]
    devices: list[DeviceChange]
    addresses: list[AddressChange]
    rules: list[RuleChange]
    flows: list[FlowChange]
    policy_note: str = EXHAUSTIVE_PENDING
    regions: list[dict[str, Any]] = field(default_factory=list)  # exhaustive diff rows, when a verifier gives one

    def of_kind(self, kind: str) -> list[DeviceChange]:
        return [d for d in self.devices if d.kind == kind]

    @property
    def changed_hosts(self) -> set[str]:
        """Every host name the change touches (both names of a renaming move)."""
        out = {d.host for d in self.devices}
        out |= {d.old_host for d in self.devices if d.old_host}
        return out

    def summary(self) -> dict[str, int]:
        return {"added": len(self.of_kind("added")), "removed": len(self.of_kind("removed")),
                "moved": len(self.of_kind("moved")), "changed": len(self.of_kind("changed")),
                "addresses": len(self.addresses),
                "reused": sum(1 for a in self.addresses if a.reuses),
                "rules": len(self.rules), "flows": len(self.flows)}


# ------------------------------------------------------------------------------------------------ devices


def _raw_intent(reader: BuildReader, host: str) -> dict[str, Any]:
    # plain YAML (checked against the manifest by read_text): the review needs a few fields of every
    # device, not the validated model
    data = yaml.load(reader.read_text(f"intent/{host}.yaml"), Loader=LOADER)
    return data if isinstance(data, dict) else {}


def _village_label(d: Mapping[str, Any]) -> str:
    for key in ("village_name", "name_zh", "site_label"):
        v = d.get(key)
        if isinstance(v, str) and v:
            return v
    v = d.get("village")
    if isinstance(v, dict):
        return " ".join(str(v[k]) for k in ("name_zh", "pinyin", "code") if v.get(k))
    return ""


def devices_of(reader: BuildReader) -> dict[str, Device]:
    """Every device of a build with its site, OSPF areas, attachment and uplink (from its intent)."""
    out: dict[str, Device] = {}
    for host, h in reader.hosts.items():
        d = _raw_intent(reader, host)
        areas = sorted({str(a.get("id")) for a in ((d.get("routing") or {}).get("ospf") or {}).get("areas") or []})
        uplink = None
        ifaces = [i for i in d.get("interfaces") or [] if isinstance(i, dict) and isinstance(i.get("peer"), dict)]
        ifaces.sort(key=lambda i: not str(i.get("link") or "").startswith("uplink"))  # uplinks first
        for i in ifaces:
            if i["peer"].get("host") in reader.hosts:
                uplink = str(i["peer"]["host"])
                break
        if uplink is None and d.get("vpn"):
            names = [p.get("name") for p in (d["vpn"].get("peers") or []) if isinstance(p, dict)]
            uplink = next((str(n) for n in names if n in reader.hosts), None)
        attach = ""
        if h.get("role") == "village_cpe":
            attach = "vpn" if d.get("vpn") else "leased"
        out[host] = Device(host=host, role=str(h.get("role", "")), site=str(h.get("site", "")),
                           site_name=str(d.get("site_name") or h.get("site") or ""),
                           township=h.get("township"), unit=h.get("unit"), areas=areas, attach=attach,
                           uplink=uplink,
                           label=_village_label(d) or (str(d.get("site_name") or "") if attach else ""))
    return out


def _identity(dev: Device) -> str | None:
    """What stays the same when a device changes township: its name without the township (a village's id is
    its pinyin and stays; its name, code and site change with the township)."""
    if dev.township and f"-{dev.township}-" in dev.host:
        return f"{dev.role}|{dev.host.replace(f'-{dev.township}-', '-*-', 1)}"
    return None


def _file_diffs(old: Mapping[str, str], new: Mapping[str, str], old_host: str, new_host: str
                ) -> tuple[dict[str, str], int, int]:
    diffs: dict[str, str] = {}
    added = removed = 0
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        text = "".join(difflib.unified_diff((a or "").splitlines(True), (b or "").splitlines(True),
                                            fromfile=f"before/{old_host}/{name}" if a is not None else "/dev/null",
                                            tofile=f"after/{new_host}/{name}" if b is not None else "/dev/null"))
        for line in text.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        diffs[name] = text if text.endswith("\n") else text + "\n"
    return diffs, added, removed


def _config_files(reader: BuildReader, host: str) -> dict[str, str]:
    return reader.config_files(host)


def _config_shas(reader: BuildReader, host: str) -> dict[str, str]:
    prefix = f"configs/{host}/"
    return {rel.removeprefix(prefix): sha for rel, sha in (reader.host(host).get("files") or {}).items()
            if rel.startswith(prefix)}


def device_changes(before: BuildReader, after: BuildReader, dev_b: Mapping[str, Device],
                   dev_a: Mapping[str, Device]) -> list[DeviceChange]:
    """Devices added, removed, moved (site change, or a renaming move) and changed (configuration)."""
    gone = sorted(set(dev_b) - set(dev_a))
    new = sorted(set(dev_a) - set(dev_b))
    by_id: dict[str, list[str]] = {}
    for h in gone:
        k = _identity(dev_b[h])
        if k:
            by_id.setdefault(k, []).append(h)
    pairs: dict[str, str] = {}  # new host -> old host
    for h in new:
        k = _identity(dev_a[h])
        olds = by_id.get(k or "", [])
        if k and len(olds) == 1 and sum(_identity(dev_a[x]) == k for x in new) == 1:
            pairs[h] = olds[0]
    paired_old = set(pairs.values())
    out: list[DeviceChange] = []
    for h in new:
        if h in pairs:
            o = pairs[h]
            diffs, a, r = _file_diffs(_config_files(before, o), _config_files(after, h), o, h)
            out.append(DeviceChange("moved", h, dev_a[h].role, dev_b[o], dev_a[h], old_host=o, diffs=diffs,
                                    added=a, removed=r))
        else:
            diffs, a, r = _file_diffs({}, _config_files(after, h), h, h)
            out.append(DeviceChange("added", h, dev_a[h].role, None, dev_a[h], diffs=diffs, added=a, removed=r))
    for h in gone:
        if h not in paired_old:
            out.append(DeviceChange("removed", h, dev_b[h].role, dev_b[h], None))
    for h in sorted(set(dev_a) & set(dev_b)):
        moved = dev_a[h].site != dev_b[h].site
        if not moved and _config_shas(before, h) == _config_shas(after, h):
            continue
        diffs, a, r = _file_diffs(_config_files(before, h), _config_files(after, h), h, h)
        if not moved and not diffs:
            continue
        out.append(DeviceChange("moved" if moved else "changed", h, dev_a[h].role, dev_b[h], dev_a[h], diffs=diffs,
                                added=a, removed=r))
    order = {"added": 0, "moved": 1, "removed": 2, "changed": 3}
    out.sort(key=lambda c: (order[c.kind], c.host))
    return out


# ---------------------------------------------------------------------------------------------- addresses


def _flat(lock: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for section in ("addresses", "ports", "vlans", "lags"):
        for group, entries in (lock.get(section) or {}).items():
            for owner, value in (entries or {}).items():
                out[f"{section}.{group}.{owner}"] = str(value)
    return out


def _overlap(key_a: str, a: str, key_b: str, b: str) -> bool:
    sa, ga = key_a.split(".", 2)[:2]
    sb, gb = key_b.split(".", 2)[:2]
    if sa != sb:
        return False
    if sa == "addresses":
        try:
            return ipaddress.ip_network(a, strict=False).overlaps(ipaddress.ip_network(b, strict=False))
        except ValueError:
            return a == b
    return ga == gb and a == b


def _holds(lock: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Held (freed, not yet reusable) prefixes of a lock's `freed:` section: prefix -> {owner, until, pool}."""
    out: dict[str, dict[str, Any]] = {}
    for pool, entries in (lock.get("freed") or {}).items():
        for prefix, info in (entries or {}).items():
            out[str(prefix)] = {**(info if isinstance(info, dict) else {}), "pool": pool}
    return out


def _renamed(key: str, renames: Mapping[str, str]) -> str:
    """A lock key with a moved device's old owner names replaced by its new ones."""
    section, group, owner = key.split(".", 2)
    for old, new in renames.items():
        owner = owner.replace(old, new)
    return f"{section}.{group}.{owner}"


def address_changes(old_lock: Mapping[str, Any], new_lock: Mapping[str, Any],
                    renames: Mapping[str, str] | None = None) -> list[AddressChange]:
    """The lock diff with its story: freed values, new ones, moved owners, and which new owner reuses
    (overlaps) a value freed in the same change. `renames` maps a moved device's old owner names (host,
    `<township>/<id>`) to its new ones: a value that stays with the same device is not a reuse."""
    a, b = _flat(old_lock), _flat(new_lock)
    renames = dict(renames or {})
    out: list[AddressChange] = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            out.append(AddressChange("freed", key, a[key], None))
        elif key not in a:
            out.append(AddressChange("new", key, None, b[key]))
        elif a[key] != b[key]:
            out.append(AddressChange("moved", key, a[key], b[key]))
    held_old, held_new = _holds(old_lock), _holds(new_lock)
    for c in out:
        if c.kind == "freed" and c.before in held_new:
            c.held_until = str(held_new[c.before].get("until", "?"))
    for prefix in sorted(set(held_old) - set(held_new)):   # a hold that ended: the prefix may be reused now
        h = held_old[prefix]
        out.append(AddressChange("hold-ended", f"freed.{h['pool']}.{prefix}", f"{h.get('owner', '?')} until "
                                 f"{h.get('until', '?')}", None))
    released = [c for c in out if c.before is not None and c.kind in ("freed", "moved")]
    taken = [c for c in out if c.after is not None and c.kind in ("new", "moved")]
    for f in released:
        assert f.before is not None
        for t in taken:
            assert t.after is not None
            if t.key != f.key and renames and _renamed(f.key, renames) == t.key:
                f.same_device, t.same_device = t.key, f.key
                continue
            if t.key != f.key and _overlap(f.key, f.before, t.key, t.after):
                f.reused_by.append(t.key)
                t.reuses.append(f.key)
    return out


# ------------------------------------------------------------------------------------------------- policy


def _ports(rule: Mapping[str, Any]) -> list[str]:
    out = []
    for p in rule.get("ports") or []:
        lo, hi = p.get("low"), p.get("high")
        out.append(f"{p.get('protocol')}/{lo}" + (f"-{hi}" if hi not in (None, lo) else ""))
    return out


def _values(rule: Mapping[str, Any] | None, key: str) -> list[str]:
    if rule is None:
        return []
    if key == "ports":
        return _ports(rule)
    if key == "scope":
        s = rule.get("scope")
        return [json.dumps(s, sort_keys=True, ensure_ascii=False) if s else "(no scope: every site)"]
    v = rule.get(key)
    if key == "destination_hosts" and not v:
        return [EVERY_HOST]
    return [str(x) for x in (v or [])]


RULE_FIELDS = ("services", "ports", "destination_hosts", "from", "to", "scope")


def permits(rule: Mapping[str, Any] | None) -> set[str]:
    """Every (source zone, destination zone, destination host, port, scope) a rule allows, as text: the
    rule's own meaning, so a narrowed rule lists each permit it loses (not only the probed ones)."""
    if rule is None:
        return set()
    scope = _values(rule, "scope")[0]
    scope = "" if scope.startswith("(no scope") else f" [{scope}]"
    ports = _ports(rule) or ["any"]
    return {f"{a} > {b} {h} {p}{scope}" for a in _values(rule, "from") for b in _values(rule, "to")
            for h in _values(rule, "destination_hosts") for p in ports}


def rule_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[RuleChange]:
    """Every rule added, removed or changed, with each service, host, zone, port and scope gained or lost,
    and the rule's owner, reason and expiry (the new rule's, or the removed rule's)."""
    ra = {r["name"]: r for r in old.get("rules") or []}
    rb = {r["name"]: r for r in new.get("rules") or []}
    out: list[RuleChange] = []
    for name in sorted(set(ra) | set(rb)):
        a, b = ra.get(name), rb.get(name)
        if a == b:
            continue
        cur = b or a
        assert cur is not None
        kind = "added" if a is None else "removed" if b is None else "changed"
        gained: dict[str, list[str]] = {}
        lost: dict[str, list[str]] = {}
        for f in RULE_FIELDS:
            va, vb = _values(a, f), _values(b, f)
            g = [x for x in vb if x not in va]
            lo = [x for x in va if x not in vb]
            if g:
                gained[f] = g
            if lo:
                lost[f] = lo
        for f in ("owner", "reason", "expires"):
            if a is not None and b is not None and a.get(f) != b.get(f):
                lost[f] = [str(a.get(f))]
                gained[f] = [str(b.get(f))]
        pa, pb = permits(a), permits(b)
        out.append(RuleChange(name, kind, str(cur.get("owner") or ""), str(cur.get("reason") or ""),
                              cur.get("expires"), gained, lost, sorted(pb - pa), sorted(pa - pb), a, b))
    return out


def _flow_key(f: Mapping[str, Any]) -> str:
    return (f"{f.get('src_zone')}>{f.get('dst_zone')} {f.get('protocol')}"
            + (f"/{f.get('port')}" if f.get("port") is not None else "")
            + f" {f.get('src_address')}>{f.get('dst_address')}")


def flow_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FlowChange]:
    """Probe flows whose expected verdict changes, appears or disappears between the two builds."""
    fa = {_flow_key(f): f for f in old.get("flows") or []}
    fb = {_flow_key(f): f for f in new.get("flows") or []}
    out = []
    for key in sorted(set(fa) | set(fb)):
        a, b = fa.get(key), fb.get(key)
        ea = a.get("expected") if a else "absent"
        eb = b.get("expected") if b else "absent"
        if ea == eb:
            continue
        out.append(FlowChange(key, str(a.get("rule") if a else ""), str(b.get("rule") if b else ""), str(ea),
                              str(eb)))
    return out


def _json(reader: BuildReader, rel: str) -> dict[str, Any]:
    if rel not in reader.expected:
        return {}
    data = reader.read_json(rel)
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------------------------------- all


def compare(before: BuildReader, after: BuildReader, old_lock: Mapping[str, Any], new_lock: Mapping[str, Any],
            before_label: str = "before", after_label: str = "after",
            regions: Iterable[Mapping[str, Any]] | None = None, policy_note: str | None = None) -> Review:
    """The whole review of `before` -> `after`. `regions` (with `policy_note`) is an exhaustive policy diff
    from a verifier, when the caller has one; without it the note says the exhaustive diff is pending."""
    dev_b, dev_a = devices_of(before), devices_of(after)
    devices = device_changes(before, after, dev_b, dev_a)
    renames: dict[str, str] = {}
    for c in devices:
        if c.kind == "moved" and c.old_host and c.before and c.after and c.before.township and c.after.township:
            renames[c.old_host] = c.host
            vid = c.host.split(f"-{c.after.township}-", 1)[-1]
            renames[f"{c.before.township}/{vid}"] = f"{c.after.township}/{vid}"
    return Review(
        before_label=before_label, after_label=after_label, devices_before=dev_b, devices_after=dev_a,
        devices=devices,
        addresses=address_changes(old_lock, new_lock, renames),
        rules=rule_changes(_json(before, RULES_FILE), _json(after, RULES_FILE)),
        flows=flow_changes(_json(before, FLOWS_FILE), _json(after, FLOWS_FILE)),
        policy_note=policy_note or (EXHAUSTIVE_PENDING if regions is None else ""),
        regions=[dict(r) for r in regions or []],
    )
