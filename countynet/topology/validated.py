"""The validated topology: every file's model, and where each came from (for located diagnostics).

Its own module so that the cross-file checks (which read it) and the loader (which builds it and runs them)
do not import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from countynet.errors import Diagnostic
from countynet.topology.models import CatalogFile, CentreFile, CountyFile, TownshipFile, UnitsFile
from countynet.topology.policy_models import PolicyFile
from countynet.topology.source import Pos, dotted, locate


@dataclass
class Source:
    """One loaded file: its display name and located raw data, for pointing errors back into it."""

    name: str
    raw: Any


@dataclass
class Topology:
    """The validated topology: every file's model plus where each came from."""

    root: Path
    county: CountyFile
    catalog: CatalogFile
    centre: CentreFile
    units: UnitsFile
    townships: list[TownshipFile]
    policy: PolicyFile
    sources: dict[str, Source] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)
    # hosted servers expanded into the centre (countynet.intent.hosting): server -> its placed switch
    # port, and -> where it is declared (units.yaml), so diagnostics point at the unit's line
    placed_ports: dict[str, str] = field(default_factory=dict)
    # policy rules generated from units.yaml (countynet.topology.hosting): rule index -> where it comes from
    rule_origins: dict[int, tuple[str, list[Any]]] = field(default_factory=dict)
    placed_src: dict[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)

    def where(self, key: str, path: Sequence[Any]) -> tuple[str, Pos]:
        src = self.sources[key]
        return src.name, locate(src.raw, path, Pos(src.name, 1, 1))

    def diag(self, key: str, path: Sequence[Any], message: str, hint: str, severity: str = "error"
             ) -> Diagnostic:
        if key == "policy" and len(path) > 1 and path[0] == "rules" and path[1] in self.rule_origins:
            key, origin = self.rule_origins[path[1]]  # a generated rule: point at the declaration it comes from
            name, pos = self.where(key, origin)
            return Diagnostic(name, pos.line, pos.column, dotted(path), message, hint, severity)
        name, pos = self.where(key, path)
        return Diagnostic(name, pos.line, pos.column, dotted(path), message, hint, severity)
