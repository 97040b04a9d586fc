"""What every sub-command of the CLI shares: the consoles, how errors end a command, and the build path.

Kept apart from `countynet.cli.main` (which mounts the sub-commands) so that sub-command modules import
this, never `main`: the CLI package has no import cycle.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from countynet.errors import TopologyError

# Wide output when piped (logs, CI): tables must not truncate addresses and interface names.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 220)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 220)


def fail(exc: TopologyError, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": False, "phase": exc.phase,
                          "errors": [d.as_dict() for d in exc.diagnostics]}, ensure_ascii=False, indent=1))
    else:
        err.print(exc.render(), markup=False, highlight=False)
    raise typer.Exit(2)


BUILD_ENTRIES = ("manifest.json", "intent", "configs", "inventory", "docs", "batfish", "bootstrap", "policy",
                 "reports")


def build_into(directory: Path, out_dir: Path, *, write_lock: bool = True, inventory_dir: Path | None = None
               ) -> tuple[Any, dict[str, Any]]:
    """The CLI's build path: refuse an unsafe output directory, compile, render, write build/ (with its
    extras and manifest), inventory/ and the lock. Returns (result, manifest); raises TopologyError on bad
    input and `countynet.fileio.UnsafeOutput` for an output directory countynet must not replace."""
    from countynet.fileio import check_output_dir
    from countynet.outputs.pipeline import compile_topology, render, write_build

    inv = inventory_dir or (directory.resolve().parent / "inventory" if directory.exists() else None)
    if directory.exists():
        check_output_dir(out_dir, sources=[directory], legacy=BUILD_ENTRIES)
        if inv is not None:
            check_output_dir(inv, sources=[directory], legacy=("nornir", "ansible"))
    result = render(compile_topology(directory))
    manifest = write_build(result, out_dir, write_lock=write_lock, inventory_dir=inv)
    return result, manifest


def fail_unsafe(exc: Any) -> None:
    err.print(f"error: {exc.path}: {exc.reason}; nothing was written\n    fix: {exc.hint}", markup=False,
              highlight=False)
    raise typer.Exit(2)
