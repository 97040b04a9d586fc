"""Open a build directory the way its consumers (verify, lab, deploy) must: through its manifest.

:class:`BuildReader` reads `manifest.json`, serves the host table for selection, and reads files only after
checking them against their sha256 in the manifest. A file edited by hand, missing, or not written by the
build (an extra file where the consumer lists a directory) makes it refuse with :class:`BuildError`, which
names every such file; so does a stale build (the topology beside it changed after the build). With
``allow_modified=True`` the files are used as they are and the problems are kept in ``accepted`` for the
caller to print as warnings.

One host's intent is loaded on demand (`intent(host)`), never all of them: deploy acts on one device of a
county of hundreds without reading the others.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from countynet.outputs.manifest import FORMAT, MANIFEST, NOT_BUILD_DIRS, NOT_BUILD_FILES, sha256_bytes, source_paths

if TYPE_CHECKING:
    from countynet.intent.models import DeviceIntent
    from countynet.intent.policy.zones import ZoneMap
    from countynet.outputs.flows import Flow

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
REBUILD = "run `countynet build` again"


@dataclass(frozen=True, order=True)
class Problem:
    """One way a build differs from its manifest."""

    kind: str  # modified | missing | extra | stale
    path: str  # relative to the build directory (to the topology directory for `stale`)

    def render(self) -> str:
        why = {"modified": "its sha256 differs from manifest.json (edited after the build)",
               "missing": "listed in manifest.json but not on disk",
               "extra": "on disk but not written by the build",
               "stale": "the topology file changed after the build"}[self.kind]
        return f"{self.kind}: {self.path} ({why})"


class BuildError(Exception):
    """The build directory cannot be used as it is; `render()` says why, which files, and how to fix it."""

    def __init__(self, build_dir: Path, message: str, problems: Iterable[Problem] = (), hint: str = ""):
        self.build_dir = build_dir
        self.message = message
        self.problems = sorted(set(problems))
        self.hint = hint or (f"{REBUILD}, or pass --allow-modified to use the files as they are"
                             if self.problems else REBUILD)
        super().__init__(self.render())

    def render(self, limit: int = 40) -> str:
        lines = [f"{self.build_dir}: {self.message}"]
        lines += [f"    {p.render()}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"    ... and {len(self.problems) - limit} more")
        lines.append(f"    fix: {self.hint}")
        return "\n".join(lines)


class BuildReader:
    """A build directory opened through its manifest (see the module docstring)."""

    def __init__(self, build_dir: Path, *, allow_modified: bool = False, topology: Path | None = None):
        """Read the manifest; refuse a missing or malformed one, or a stale build (unless allow_modified).

        `topology` is the directory to check staleness against; default: `topology/` beside the build
        directory, when it exists (a build copied elsewhere cannot be checked, and is not)."""
        self.dir = Path(build_dir)
        self.allow_modified = allow_modified
        self.accepted: list[Problem] = []
        self._verified: set[str] = set()
        self._intents: dict[str, DeviceIntent] = {}
        self._lock = threading.Lock()
        path = self.dir / MANIFEST
        if not path.is_file():
            raise BuildError(self.dir, f"no countynet build here ({MANIFEST} not found)",
                             hint="run `countynet build` first, or pass --build DIR")
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BuildError(self.dir, f"{MANIFEST} is unreadable ({exc})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise BuildError(self.dir, f"{MANIFEST} has another layout (format {self.manifest.get('format')!r}, "
                             f"this countynet reads format {FORMAT}): the build was made by another version"
                             if isinstance(self.manifest, dict) else f"{MANIFEST} is not a JSON object")
        self.hosts: dict[str, dict[str, Any]] = self.manifest.get("hosts") or {}
        self._expected: dict[str, str] | None = None
        topo = topology if topology is not None else self.dir.resolve().parent / "topology"
        if topology is not None and not topology.is_dir():
            raise BuildError(self.dir, f"topology directory {topology} not found",
                             hint="pass the topology directory the build was made from")
        if topo.is_dir() and self.manifest.get("sources"):
            self._refuse_or_accept(self.stale(topo), f"is stale: {topo} changed after the build")

    # ------------------------------------------------------------------ checks
    @property
    def expected(self) -> dict[str, str]:
        """Every build file (relative path) -> its sha256, from the manifest."""
        if self._expected is None:
            out = dict(self.manifest.get("files") or {})
            for h in self.hosts.values():
                out.update(h.get("files") or {})
            self._expected = out
        return self._expected

    def stale(self, topology: Path) -> list[Problem]:
        """Topology files that differ from the ones the build was made from (added, removed or changed)."""
        want: dict[str, str] = self.manifest.get("sources") or {}
        have = {p.relative_to(topology).as_posix(): p for p in source_paths(topology)}
        out = [Problem("stale", f"{topology.name}/{rel}") for rel in sorted(set(want) ^ set(have))]
        out += [Problem("stale", f"{topology.name}/{rel}") for rel in sorted(set(want) & set(have))
                if sha256_bytes(have[rel].read_bytes()) != want[rel]]
        return out

    def problems(self, paths: Iterable[str] = (), prefixes: Iterable[str] = ()) -> list[Problem]:
        """Differences between disk and manifest for these files, and for every file under these directory
        prefixes (`intent/`, `batfish/`), including files there that the build did not write."""
        exp = self.expected
        wanted = set(paths)
        out: list[Problem] = []
        for prefix in prefixes:
            listed = {p for p in exp if p.startswith(prefix)}
            wanted |= listed
            base = self.dir / prefix
            if base.is_dir():
                for f in base.rglob("*"):
                    rel = f.relative_to(self.dir).as_posix()
                    if f.is_file() and rel not in exp and not _ignored(rel):
                        out.append(Problem("extra", rel))
        for rel in sorted(wanted - self._verified):
            if rel not in exp:
                out.append(Problem("extra" if (self.dir / rel).exists() else "missing", rel))
                continue
            try:
                data = (self.dir / rel).read_bytes()
            except FileNotFoundError:
                out.append(Problem("missing", rel))
                continue
            if sha256_bytes(data) != exp[rel]:
                out.append(Problem("modified", rel))
            else:
                self._verified.add(rel)
        return out

    def check(self, paths: Iterable[str] = (), prefixes: Iterable[str] = ()) -> None:
        """Refuse (BuildError naming every file) unless these files match the manifest or allow_modified."""
        found = self.problems(paths, prefixes)
        self._refuse_or_accept(found, f"does not match its manifest.json: {len(found)} file(s) differ")

    def check_hosts(self, hosts: Iterable[str]) -> None:
        """check() every intent and config file of these hosts, and refuse extra files in their config dirs."""
        paths: list[str] = []
        prefixes: list[str] = []
        for h in hosts:
            paths += list(self.host(h).get("files") or {})
            prefixes.append(f"configs/{h}/")
        self.check(paths, prefixes)

    def _refuse_or_accept(self, problems: list[Problem], message: str) -> None:
        if not problems:
            return
        if not self.allow_modified:
            raise BuildError(self.dir, message, problems)
        with self._lock:
            self.accepted.extend(p for p in problems if p not in self.accepted)

    # ------------------------------------------------------------------ reading
    def host(self, name: str) -> dict[str, Any]:
        """The manifest's entry of one device; BuildError (with a close name) when the build has none."""
        try:
            return self.hosts[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, list(self.hosts), n=1)
            raise BuildError(self.dir, f"no device {name!r} in this build",
                             hint=f"did you mean {close[0]!r}?" if close else "check the host name") from None

    def read_bytes(self, rel: str) -> bytes:
        """A build file's bytes, checked against the manifest first (refused unless allow_modified)."""
        if rel not in self._verified:
            self.check([rel])
        try:
            return (self.dir / rel).read_bytes()
        except FileNotFoundError:
            raise BuildError(self.dir, "a file the build lists is missing", [Problem("missing", rel)],
                             hint=REBUILD) from None

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8")

    def read_json(self, rel: str) -> Any:
        try:
            return json.loads(self.read_text(rel))
        except json.JSONDecodeError as exc:
            raise BuildError(self.dir, f"{rel} is not valid JSON ({exc})") from None

    def intent(self, host: str) -> DeviceIntent:
        """One device's intent, read (and checked) on first use, then cached. Thread-safe."""
        with self._lock:
            got = self._intents.get(host)
        if got is not None:
            return got
        from countynet.intent.models import DeviceIntent

        rel = f"intent/{host}.yaml"
        if rel not in self.expected:
            self.host(host)  # a clear "no device" error first
        data = yaml.load(self.read_text(rel), Loader=LOADER)
        d = DeviceIntent.model_validate(data)
        with self._lock:
            self._intents[host] = d
        return d

    def intents(self, hosts: Iterable[str] | None = None) -> dict[str, DeviceIntent]:
        """The intents of these hosts (default: every host of the build), in the manifest's order."""
        names = list(self.hosts) if hosts is None else list(hosts)
        return {h: self.intent(h) for h in names}

    def config_files(self, host: str) -> dict[str, str]:
        """A device's rendered files, relative to `configs/<host>/` -> text (each checked)."""
        prefix = f"configs/{host}/"
        return {rel.removeprefix(prefix): self.read_text(rel)
                for rel in sorted(self.host(host).get("files") or {}) if rel.startswith(prefix)}

    def zone_map(self) -> ZoneMap:
        """The zones of `policy/zones.json` (kinds, members, city prefixes, internal aggregates)."""
        from countynet.outputs.policy_data import ZONES_FILE, zone_map_from

        return zone_map_from(self.read_json(ZONES_FILE))

    def flows(self) -> list[Flow]:
        """The probe matrix of `policy/flows.json`."""
        from countynet.outputs.flows import FLOWS_FILE, parse_flows

        try:
            return parse_flows(self.read_text(FLOWS_FILE))
        except (KeyError, TypeError, ValueError) as exc:
            raise BuildError(self.dir, f"{FLOWS_FILE} is malformed ({exc})") from None

    def path(self, rel: str) -> Path:
        return self.dir / rel


def _ignored(rel: str) -> bool:
    return rel in NOT_BUILD_FILES or rel.startswith(NOT_BUILD_DIRS)
