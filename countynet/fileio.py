"""Atomic output: a build appears whole or not at all.

Files are written into a temporary sibling directory, which replaces the old output in one rename; a
single file is written to a temporary name and renamed over the old one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Outputs are for the team: readable by the owner's group, never by others (mkstemp/mkdtemp give 0600/0700,
# which left build/ and inventory/ unreadable to colleagues and CI runners of the same group).
FILE_MODE = 0o640
DIR_MODE = 0o750


def _umask() -> int:
    """The process umask, read without changing it (os.umask sets it, a race with writer threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` in one rename. A new file gets FILE_MODE (less the umask); a replaced file
    keeps the mode it had (a checked-out lock file stays as git left it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = FILE_MODE & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` atomically unless the file already holds exactly it; True when it was written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


class StagedDir:
    """Collects files under a temporary directory, then swaps it in for `target` on commit()."""

    def __init__(self, target: Path):
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging.", dir=target.parent))
        os.chmod(self.tmp, DIR_MODE & ~_umask())  # mkdtemp's 0700 would hide the output from the group
        self._dirs: set[Path] = set()

    def write(self, rel: str, text: str) -> Path:
        path = self.tmp / rel
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path

    def commit(self) -> None:
        """Mark the staged tree as countynet's own output and swap it in for the target."""
        (self.tmp / OUTPUT_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old.{os.getpid()}")
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> StagedDir:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


# ----------------------------------------------------------------------------------------- output safety
OUTPUT_MARKER = ".countynet-output"
_MARKER_TEXT = "This directory is written by countynet and replaced whole by the next build. Do not keep files here.\n"


class UnsafeOutput(Exception):
    """An output directory that countynet must not replace; `hint` says what to do instead."""

    def __init__(self, path: Path, reason: str, hint: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.hint = path, reason, hint


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_output_dir(out: Path, sources: list[Path], legacy: tuple[str, ...] = ()) -> None:
    """Refuse an output directory that countynet must never replace.

    Refused: `/`, a home directory, a directory that holds or contains a topology source directory or lies
    inside one, a project root (holds `pyproject.toml` or `.git`), and any existing non-empty directory that
    no previous countynet output marked as its own (the marker file, or the `legacy` entries an older build
    wrote: for example `manifest.json`). Raises UnsafeOutput; returns None when `out` may be replaced."""
    target = out.resolve()
    if target == Path(target.anchor):
        raise UnsafeOutput(out, "is the filesystem root", "write the build into its own directory, e.g. --out build")
    homes = {Path.home().resolve(), Path("/root"), *Path("/home").glob("*")}
    if target in {h.resolve() for h in homes if h.exists()}:
        raise UnsafeOutput(out, "is a home directory", "write the build into its own directory, e.g. --out build")
    for src in sources:
        s = src.resolve()
        if _inside(s, target) or _inside(target, s):
            raise UnsafeOutput(out, f"holds or lies inside the topology sources {src}",
                               "choose an output directory outside the topology, e.g. --out build")
    if (target / "pyproject.toml").exists() or (target / ".git").exists():
        raise UnsafeOutput(out, "is a project root (it holds pyproject.toml or .git)",
                           "write the build into a sub-directory, e.g. --out build")
    if target.is_dir() and any(target.iterdir()):
        if (target / OUTPUT_MARKER).is_file():
            return
        names = {p.name for p in target.iterdir()}
        if legacy and names and names <= set(legacy):
            return
        raise UnsafeOutput(out, "exists and holds files that no countynet build wrote",
                           "choose an empty or new directory, or move those files away first")
    if target.exists() and not target.is_dir():
        raise UnsafeOutput(out, "exists and is not a directory", "choose a directory path")


# ------------------------------------------------------------------------------------- bounded YAML input
MAX_YAML_BYTES = 32 * 1024 * 1024  # the bundled county's largest file (the lock) is about 80 kB
MAX_YAML_NODES = 2_000_000  # nodes after alias expansion; the bundled county's lock has about 4,300


class YamlTooLarge(Exception):
    """A YAML document over the size or alias-expansion bounds; `line`/`column` point at the offending node."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.line, self.column = line, column


def check_yaml_size(text: str) -> None:
    """Raise YamlTooLarge when a document is larger than MAX_YAML_BYTES."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlTooLarge(f"file is {len(text) // 1_048_576} MB, over the {MAX_YAML_BYTES // 1_048_576} MB limit")


def check_yaml_expansion(node: Any, limit: int = MAX_YAML_NODES) -> int:
    """Count the nodes of a composed YAML graph as if every alias were expanded; raise YamlTooLarge past
    `limit` (a "billion laughs" alias bomb stays small as a graph but explodes once turned into data).
    Returns the expanded count. Linear in the graph's size: each shared node is counted once and reused."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        cur, done = stack.pop()
        key = id(cur)
        if key in sizes and not done:
            continue
        children: list[Any] = []
        if isinstance(cur.value, list):
            for item in cur.value:
                children.extend(item if isinstance(item, tuple) else (item,))
        if not done:
            sizes.setdefault(key, -1)
            stack.append((cur, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(max(sizes.get(id(c), 0), 0) for c in children)
        if total > limit:
            mark = cur.start_mark
            raise YamlTooLarge(f"aliases expand this document past {limit:,} nodes (an alias bomb?)",
                               mark.line + 1, mark.column + 1)
        sizes[key] = total
    return max(sizes.get(id(node), 0), 0)


def load_yaml_bounded(text: str, loader_cls: type) -> Any:
    """Compose one YAML document with `loader_cls`, check its size and alias expansion, then construct it.
    Raises YamlTooLarge past a bound (before any data is built) and the loader's own YAMLError otherwise."""
    check_yaml_size(text)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_yaml_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
