"""Stable allocation of addresses, ports and VLANs, remembered in a committed lock file.

No library we know does *stable* allocation with a lock (netlab renumbers when the topology changes,
NetBox needs a server), so it is written here. The rules:

* manual pins (addresses written in the topology) always win;
* an owner found in the lock keeps its prefix if it still fits its pool/container;
* new owners take the lowest free aligned block, in sorted owner order, so the first allocation does not
  depend on file order and later ones never move anyone else;
* sub-pools (``within``) carve each owner's block of the parent pool (e.g. villages inside their
  township's /22), so a township stays summarisable;
* overlaps, exhausted pools and duplicate pins are errors naming both owners.

Addresses are handled as integers for speed (the province benchmark allocates ~150,000 prefixes).
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from dataclasses import dataclass, field

from countynet.topology.models import Pool, Pools


def _net(prefix: str) -> tuple[int, int]:
    n = ipaddress.IPv4Network(prefix)
    return int(n.network_address), n.num_addresses


def _fmt(start: int, length: int) -> str:
    return f"{ipaddress.IPv4Address(start)}/{length}"


@dataclass
class Request:
    pool: str
    owner: str
    parent: str | None = None  # owner of the parent allocation, for sub-pools
    pin: str | None = None
    src: tuple[str, list] | None = None  # where the pin is written


@dataclass
class Problem:
    owner: str
    pool: str
    message: str
    hint: str
    src: tuple[str, list] | None = None  # where a pin is written, when the problem is a pin


@dataclass
class _Space:
    """Used intervals inside one container, kept sorted for bisect."""

    start: int
    size: int
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    cursor: dict[int, int] = field(default_factory=dict)

    def clash(self, s: int, e: int) -> str | None:
        i = bisect.bisect_right(self.starts, s)
        if i and self.ends[i - 1] > s:
            return self.owners[i - 1]
        if i < len(self.starts) and self.starts[i] < e:
            return self.owners[i]
        return None

    def take(self, s: int, e: int, owner: str) -> None:
        i = bisect.bisect_right(self.starts, s)
        self.starts.insert(i, s)
        self.ends.insert(i, e)
        self.owners.insert(i, owner)

    def first_free(self, block: int, reserve: int) -> int | None:
        pos = self.cursor.get(block, self.start + reserve)
        pos = ((pos - self.start + block - 1) // block) * block + self.start
        end = self.start + self.size
        while pos + block <= end:
            i = bisect.bisect_right(self.starts, pos)
            if i and self.ends[i - 1] > pos:
                pos = ((self.ends[i - 1] - self.start + block - 1) // block) * block + self.start
                continue
            if i < len(self.starts) and self.starts[i] < pos + block:
                pos = ((self.ends[i] - self.start + block - 1) // block) * block + self.start
                continue
            self.cursor[block] = pos + block
            return pos
        return None


class AddressPlan:
    """Resolves address requests against pools, pins and the lock."""

    def __init__(self, pools: Pools, lock: dict[str, dict[str, str]] | None = None,
                 held: dict[str, dict[str, str]] | None = None):
        """`held`: pool -> prefix -> former owner, freed prefixes no new owner may take (countynet.ipam.hold);
        a former owner that asks again gets its prefix back. Prefixes of locked owners that are no longer
        asked for are held the same way: a prefix freed by a change is never reused in that change."""
        self.pools: dict[str, Pool] = {k: v for k, v in pools if v is not None}  # optional pools: absent
        self.lock = lock or {}
        self.held = held or {}
        self.requests: dict[tuple[str, str], Request] = {}
        self.result: dict[str, dict[str, str]] = {}
        self.problems: list[Problem] = []

    def request(self, pool: str, owner: str, parent: str | None = None, pin: str | None = None,
                src: tuple[str, list] | None = None) -> None:
        key = (pool, owner)
        if key in self.requests:
            self.problems.append(Problem(owner, pool, f"{owner!r} asks for a {pool} address twice",
                                         "give each owner a unique name", src))
            return
        self.requests[key] = Request(pool, owner, parent, pin, src)

    def _order(self) -> list[str]:
        order: list[str] = []
        names = list(self.pools)

        def visit(n: str, depth: int = 0) -> None:
            if n in order or depth > len(names):
                return
            parent = self.pools[n].within
            if parent:
                visit(parent, depth + 1)
            order.append(n)

        for n in names:
            visit(n)
        return order

    def resolve(self) -> dict[str, dict[str, str]]:
        spaces: dict[tuple[str, str | None], _Space] = {}
        allocated: dict[tuple[str, str], tuple[int, int]] = {}
        for name, pool in self.pools.items():
            if pool.within and pool.within not in self.pools:
                self.problems.append(Problem(name, name, f"pool {name} is within unknown pool {pool.within!r}",
                                             f"use one of {', '.join(self.pools)}"))
        self._check_pool_overlaps()
        self._pins = self._check_pins()
        by_pool: dict[str, list[Request]] = {}
        for req in self.requests.values():
            by_pool.setdefault(req.pool, []).append(req)
        # Phase A: pins and locked entries of every pool first, so that no new allocation (in any pool
        # sharing a space) can take a place that a locked owner already holds.
        pending: dict[str, list[Request]] = {}
        for pname in self._order():
            pool = self.pools[pname]
            for req in sorted(by_pool.get(pname, []), key=lambda r: r.owner):
                space = self._space(spaces, allocated, pname, pool, req, quiet=True)
                if space is None or not self._keep(space, allocated, pool, pname, req):
                    pending.setdefault(pname, []).append(req)
        # Phase B: everything else, in pool order (containers before their sub-pools), lowest free first.
        for pname in self._order():
            pool = self.pools[pname]
            block = 1 << (32 - pool.length)
            fresh = []
            for req in pending.get(pname, []):
                space = self._space(spaces, allocated, pname, pool, req)
                if space is None:
                    continue
                if not self._keep(space, allocated, pool, pname, req):
                    fresh.append((req, space))
            for req, space in fresh:
                if req.pin:
                    continue  # a pin that could not be kept has already been reported
                s2 = space.first_free(block, pool.reserve_first)
                if s2 is None:
                    where = f"{pool.within} block of {req.parent}" if pool.within else pool.prefix
                    self.problems.append(Problem(req.owner, pname, f"pool {pname} ({where}) is exhausted: "
                                                 f"no free /{pool.length} left for {req.owner}",
                                                 f"enlarge pools.{pname} or free some allocations"))
                    continue
                space.take(s2, s2 + block, req.owner)
                allocated[(pname, req.owner)] = (s2, block)
        self._check_overlaps(allocated)
        out: dict[str, dict[str, str]] = {}
        for (pname, owner), (s, n) in allocated.items():
            out.setdefault(pname, {})[owner] = _fmt(s, 32 - (n.bit_length() - 1))
        self.result = out
        return out

    def _keep(self, space: _Space, allocated: dict, pool: Pool, pname: str, req: Request) -> bool:
        """Place a pinned or locked request where it was; False when it must be allocated afresh."""
        if (pname, req.owner) in allocated:
            return True
        if req.pin:
            if req.owner in self._bad_pins:
                return True  # reported; leave it out
            s, n = _net(req.pin)
            if pool.within and not (space.start <= s and s + n <= space.start + space.size):
                self._bad_pins.add(req.owner)
                self.problems.append(Problem(req.owner, pname, f"pinned {req.pin} of {req.owner} lies "
                                             f"outside its {pool.within} {req.parent}",
                                             "pin an address inside the container", req.src))
                return True
            allocated[(pname, req.owner)] = (s, n)  # already reserved in the space by _with_pins
            return True
        old = self.lock.get(pname, {}).get(req.owner)
        if old is None:  # back within its hold: the same prefix again
            old = next((pfx for pfx, o in self.held.get(pname, {}).items() if o == req.owner), None)
        if old is None:
            return False
        try:
            s, n = _net(old)
        except ValueError:
            return False
        block = 1 << (32 - pool.length)
        if n == block and space.start + pool.reserve_first <= s and s + n <= space.start + space.size \
                and not space.clash(s, s + n):
            space.take(s, s + n, req.owner)
            allocated[(pname, req.owner)] = (s, n)
            return True
        return False

    def _check_pins(self) -> list[tuple[int, int, Request]]:
        """Pins must not overlap each other (unless one is the other's container)."""
        pins = sorted(((*_net(r.pin), r) for r in self.requests.values() if r.pin),
                      key=lambda x: (x[0], -x[1]))
        out: list[tuple[int, int, Request]] = []
        self._bad_pins: set[str] = set()
        for s, n, req in pins:
            for s2, n2, other in out:
                contains = self.pools[req.pool].within == other.pool and req.parent == other.owner
                if s < s2 + n2 and s2 < s + n and not contains:
                    self.problems.append(Problem(req.owner, req.pool, f"pinned {req.pin} of {req.owner} overlaps "
                                                 f"pinned {other.pin} of {other.owner}",
                                                 "change one of the two pins", req.src))
                    self._bad_pins.add(req.owner)
                    break
            else:
                out.append((s, n, req))
        return out

    def _check_overlaps(self, allocated: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Any two allocations may overlap only when one is the container of the other."""
        items = sorted(((s, -n, pname, owner) for (pname, owner), (s, n) in allocated.items()))
        stack: list[tuple[int, str, str]] = []  # (end, pool, owner)
        reported: set[tuple[str, str]] = set()
        for s, neg, pname, owner in items:
            while stack and stack[-1][0] <= s:
                stack.pop()
            if stack:
                _end, opool, oowner = stack[-1]
                req = self.requests.get((pname, owner))
                parent_ok = self.pools[pname].within == opool and req is not None and req.parent == oowner
                if req is not None and (self.pools[pname].within, req.parent) in reported:
                    parent_ok = True  # its container's overlap is already reported
                if not parent_ok and (pname, owner) not in reported and (opool, oowner) not in reported:
                    reported.add((pname, owner))
                    self.problems.append(Problem(owner, pname, f"{_fmt(s, 32 - ((-neg).bit_length() - 1))} "
                                                 f"of {owner} ({pname}) overlaps {oowner} ({opool})",
                                                 "change the pin, or the pool, so the two do not overlap",
                                                 req.src if req and req.pin else None))
            stack.append((s - neg, pname, owner))

    def _space(self, spaces: dict, allocated: dict, pname: str, pool: Pool, req: Request,
               quiet: bool = False) -> _Space | None:
        if pool.within is None:
            key: tuple[str, str | None] = (pname, None)
            if key not in spaces:
                assert pool.prefix is not None
                s, n = _net(pool.prefix)
                spaces[key] = self._with_pins(_Space(s, n), None, None)
            return spaces[key]
        parent = allocated.get((pool.within, req.parent or ""))
        if parent is None:
            if quiet:
                return None
            if req.parent is not None and (pool.within, req.parent) in self.requests:
                return None  # the parent itself failed; its problem is already reported
            self.problems.append(Problem(req.owner, pname, f"{req.owner} needs a {pool.within} block of "
                                         f"{req.parent!r}, which has none", "check the pools' 'within'"))
            return None
        key = (pool.within, req.parent)
        if key not in spaces:
            spaces[key] = self._with_pins(_Space(parent[0], parent[1]), pool.within, req.parent)
        return spaces[key]

    def _with_pins(self, space: _Space, container_pool: str | None, container_owner: str | None) -> _Space:
        """Reserve, in a new space, the pins of its level (top-level pools, or one container's sub-pools)."""
        for s, n, req in self._pins:
            level = self.pools[req.pool].within
            if level != container_pool or (container_pool and req.parent != container_owner):
                continue
            if space.start < s + n and s < space.start + space.size and not space.clash(s, s + n):
                space.take(s, s + n, req.owner)
        # held: the running holds, and what this change frees (locked owners no longer asked for)
        leaving = {pname: {prefix: owner for owner, prefix in entries.items() if (pname, owner) not in self.requests}
                   for pname, entries in self.lock.items()}
        for pname in sorted(set(self.held) | set(leaving)):
            pool = self.pools.get(pname)
            if pool is None or pool.within != container_pool:
                continue
            for prefix, owner in {**self.held.get(pname, {}), **leaving.get(pname, {})}.items():
                if (pname, owner) in self.requests:
                    continue  # the former owner is back: _keep gives it this prefix
                try:
                    s, n = _net(prefix)
                except ValueError:
                    continue
                if space.start <= s and s + n <= space.start + space.size and not space.clash(s, s + n):
                    space.take(s, s + n, f"held:{owner}")
        return space

    def _check_pool_overlaps(self) -> None:
        tops = sorted(((*_net(p.prefix), n) for n, p in self.pools.items() if p.prefix))
        for (s1, n1, a), (s2, _n2, b) in itertools.pairwise(tops):
            if s2 < s1 + n1:
                self.problems.append(Problem(b, b, f"pool {b} overlaps pool {a}",
                                             "give every top-level pool its own range"))


class SlotPlan:
    """Stable assignment of named slots (ports of a port group, transit VLANs) to owners, per device."""

    def __init__(self, lock: dict[str, dict[str, str | int]] | None = None):
        self.lock = lock or {}
        self.result: dict[str, dict[str, str | int]] = {}
        self._used: dict[str, set[str | int]] = {}
        self._pending: list[tuple[str, str, list]] = []
        self.problems: list[Problem] = []

    def request(self, device: str, owner: str, choices: list) -> None:
        self._pending.append((device, owner, choices))

    def pin(self, device: str, owner: str, value: str | int) -> None:
        used = self._used.setdefault(device, set())
        if value in used:
            self.problems.append(Problem(owner, device, f"{device} {value} is used twice",
                                         "name another port for one of the links"))
        used.add(value)
        self.result.setdefault(device, {})[owner] = value

    def resolve(self) -> dict[str, dict[str, str | int]]:
        fresh = []
        for device, owner, choices in self._pending:
            old = self.lock.get(device, {}).get(owner)
            used = self._used.setdefault(device, set())
            if old is not None and old in choices and old not in used:
                used.add(old)
                self.result.setdefault(device, {})[owner] = old
            else:
                fresh.append((device, owner, choices))
        for device, owner, choices in sorted(fresh, key=lambda x: (x[0], x[1])):
            used = self._used.setdefault(device, set())
            slot = next((c for c in choices if c not in used), None)
            if slot is None:
                self.problems.append(Problem(owner, device, f"{device} has no free slot left for {owner} "
                                             f"(all {len(choices)} in use)",
                                             "choose bigger hardware (more ports) or move a link"))
                continue
            used.add(slot)
            self.result.setdefault(device, {})[owner] = slot
        return self.result
