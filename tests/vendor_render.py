"""Helpers shared by the Huawei VRP and H3C Comware rendering tests (one `.cfg` per device)."""

from __future__ import annotations

import difflib
import re

import pytest

from countynet.intent.models import DeviceIntent
from countynet.render.engine import render_device
from tests.update_golden import golden_path


def lint_lines(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    """Lines matching none of the allowed command patterns."""
    return [f"{n}: {line!r}" for n, line in enumerate(text.splitlines(), 1)
            if not any(p.fullmatch(line) for p in patterns)]


def config(d: DeviceIntent) -> str:
    return render_device(d)[f"{d.hostname}.cfg"]


def block(text: str, header: str) -> list[str]:
    """The lines of one `#`-delimited section, starting with its header line."""
    lines = text.splitlines()
    start = lines.index(header)
    end = next((n for n in range(start + 1, len(lines)) if lines[n] == "#"), len(lines))
    return lines[start:end]


def check_golden(bundled, platform: str, host: str) -> None:
    path = golden_path(platform, host)
    assert path.exists(), f"{path} missing: run .venv/bin/python -m tests.update_golden"
    want = path.read_text(encoding="utf-8").splitlines(keepends=True)
    got = config(bundled.intents[host]).splitlines(keepends=True)
    if want != got:
        diff = "".join(difflib.unified_diff(want, got, f"golden/{host}.cfg", f"rendered/{host}.cfg"))
        pytest.fail(f"{host} differs from its golden config:\n{diff}\nIf the change is intended, run "
                    ".venv/bin/python -m tests.update_golden and review `git diff tests/golden`.")
