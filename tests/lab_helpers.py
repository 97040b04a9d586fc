"""Shared pieces of the root lab tests: why a lab cannot run here, and one running lab per machine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from countynet.lab import api, packages


def lab_skip_reason() -> str | None:
    """Why no lab can run here (not root, or Debian packages of scripts/lab-packages.txt missing), else None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, daemons); CI runs as root"
    miss = packages.missing()
    if miss:
        return f"missing Debian packages {' '.join(miss)} (scripts/lab-packages.txt)"
    return None


def skip_without_lab(what: str) -> None:
    """Skip the calling test, printing the reason under `what`, when no lab can run here."""
    why = lab_skip_reason()
    if why:
        print(f"SKIP {what}: {why}")
        pytest.skip(why)


@contextlib.contextmanager
def running_lab(scope: str, lab_dir: Path, build: Path) -> Iterator[api.LabHandle]:
    """A lab of `scope` from `build` in `lab_dir`, torn down afterwards (one lab per machine: api.exclusive)."""
    with api.exclusive():
        try:
            yield api.up(scope, lab_dir, build=build)
        finally:
            api.down(lab_dir)


def module_lab(scope: str, what: str) -> Callable[..., Iterator[api.LabHandle]]:
    """A module-scoped `lab` fixture: a running lab of `scope` from the bundled build, shared by the module's
    tests; skipped, printing why under `what`, when no lab can run here."""
    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory, bundled_build: Path) -> Iterator[api.LabHandle]:
        skip_without_lab(what)
        with running_lab(scope, tmp_path_factory.mktemp("lab"), bundled_build) as handle:
            yield handle

    return lab
