"""Diagnostics: every user-facing error names file:line:column, the YAML path, what is wrong and how to fix it.

A phase collects all of its diagnostics and raises them together as one :class:`TopologyError`, so a user
fixes every problem of a phase in one pass instead of one per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the input, pointing at where it is."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""
    severity: str = "error"

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.path}: {self.message}" if self.path else (
            f"{where}: {self.severity}: {self.message}"
        )
        if self.hint:
            text += f"\n    fix: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }


class TopologyError(Exception):
    """All diagnostics of one phase; the CLI prints them and exits 2."""

    def __init__(self, phase: str, diagnostics: Iterable[Diagnostic]):
        self.phase = phase
        self.diagnostics = sorted(set(diagnostics))
        super().__init__(f"{phase}: {len(self.diagnostics)} error(s)")

    def render(self) -> str:
        lines = [d.render() for d in self.diagnostics]
        lines.append(f"{self.phase}: {len(self.diagnostics)} error(s); nothing was written")
        return "\n".join(lines)


@dataclass
class Collector:
    """Gathers the diagnostics of one phase, then raises them all at once."""

    phase: str
    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise TopologyError(self.phase, self.errors)
