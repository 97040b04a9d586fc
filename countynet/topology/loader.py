"""Load a topology directory into one validated model, reporting every error of the phase together.

Phase 1 parses and schema-checks each file (positions come from :mod:`countynet.topology.source`);
phase 2 checks what spans files: unique names, references, platform choices, uplinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from countynet.errors import Collector, Diagnostic
from countynet.suggest import did_you_mean
from countynet.topology.checks import check_topology
from countynet.topology.hosting import expand_policy
from countynet.topology.models import (
    PATTERN_HINTS,
    CatalogFile,
    CentreFile,
    CountyFile,
    TownshipFile,
    UnitsFile,
)
from countynet.topology.policy_models import PolicyFile
from countynet.topology.source import LocDict, Pos, dotted, load_yaml, locate
from countynet.topology.validated import Source, Topology

__all__ = ["REQUIRED", "Source", "Topology", "did_you_mean", "load", "validation_diagnostics"]


def _model_fields(model: type[BaseModel], path: Sequence[Any]) -> list[str]:
    """Field names allowed at `path` inside `model`, for "did you mean" suggestions."""
    current: Any = model
    for step in path:
        if current is None:
            return []
        fields = getattr(current, "model_fields", None)
        if fields is None:  # inside a list or dict: the step is an index or a user's key
            current = _inner_model(current, skip_outer=True)
            continue
        info = fields.get(step) or next((f for f in fields.values() if f.alias == step), None)
        if info is None:
            return []
        current = info.annotation
    current = _inner_model(current)
    fields = getattr(current, "model_fields", {})
    return [f.alias or name for name, f in fields.items()]


def _field_description(model: type[BaseModel], loc: Sequence[Any]) -> str:
    current: Any = model
    for step in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if fields is None:
            current = _inner_model(current, skip_outer=True)
            continue
        info = fields.get(step)
        current = info.annotation if info else None
    current = _inner_model(current) if current is not None else None
    info = getattr(current, "model_fields", {}).get(loc[-1]) if current is not None else None
    return (info.description or "") if info else ""


def _inner_model(annotation: Any, skip_outer: bool = False) -> Any:
    """The pydantic model inside an annotation such as `list[X]`, `dict[str, X]` or `X | None`."""
    if not skip_outer and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(getattr(annotation, "__args__", ()) or ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_HINTS = {
    "missing": "add this key",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' only",
    "literal_error": "use one of the values listed",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "string_type": "write a text value (quote it if it looks like a number)",
    "list_type": "write a YAML list (lines starting with '- ')",
    "dict_type": "write a YAML mapping (key: value lines)",
    "model_type": "write a YAML mapping (key: value lines)",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
    "too_short": "add at least one entry",
    "value_error": "correct the value as the message says",
}


def validation_diagnostics(exc: ValidationError, model: type[BaseModel], src: Source) -> list[Diagnostic]:
    """Turn pydantic's errors into located diagnostics with a fix for each."""
    out = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = _model_fields(model, loc[:-1])
            message = f"unknown key {key!r}"
            hint = did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(allowed)}"
        else:
            message = err["msg"].removeprefix("Value error, ")
            hint = _HINTS.get(kind, "see `countynet schema` for what this key takes")
            if kind == "missing":
                desc = _field_description(model, loc)
                hint = desc if desc and desc.startswith("every") else (
                    f"add `{loc[-1]}:`" + (f" ({desc})" if desc else ""))
            if kind == "string_pattern_mismatch":
                pattern = str(err.get("ctx", {}).get("pattern"))
                message = f"{err.get('input')!r} is not allowed here"
                hint = PATTERN_HINTS.get(pattern) or f"write a value that matches {pattern}"
            if kind == "literal_error":
                hint = message
                message = f"value {err.get('input')!r} is not allowed"
        pos = locate(src.raw, loc, Pos(src.name, 1, 1))
        out.append(Diagnostic(src.name, pos.line, pos.column, dotted(loc), message, hint))
    return out


def _load_file(path: Path, root: Path, model: type[BaseModel], col: Collector
               ) -> tuple[Source | None, BaseModel | None]:
    display = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    raw, diags = load_yaml(path, display)
    src = Source(display, raw)
    if diags:
        col.extend(diags)
        return src, None
    if not isinstance(raw, LocDict):
        col.add(Diagnostic(display, 1, 1, "", "the file must hold a YAML mapping at the top level",
                           f"start the file with the keys of {model.__name__}"))
        return src, None
    try:
        return src, model.model_validate(raw)
    except ValidationError as exc:
        col.extend(validation_diagnostics(exc, model, src))
        return src, None


REQUIRED: dict[str, type[BaseModel]] = {"county": CountyFile, "catalog": CatalogFile, "centre": CentreFile,
                                        "units": UnitsFile,
            "policy": PolicyFile}


def load(root: Path) -> Topology:
    """Load and validate the topology directory `root`; raise TopologyError with every problem found."""
    col = Collector("validate")
    root = root.resolve() if root.exists() else root
    if not root.is_dir():
        col.add(Diagnostic(str(root), 0, 0, "", "topology directory not found",
                           "pass the folder that holds county.yaml (default: topology/)"))
        col.raise_if_errors()
    models: dict[str, BaseModel] = {}
    sources: dict[str, Source] = {}
    for key, model in REQUIRED.items():
        path = root / f"{key}.yaml"
        if not path.exists():
            col.add(Diagnostic(f"{root.name}/{key}.yaml", 0, 0, "", "required file is missing",
                               f"create {key}.yaml (see the bundled topology for an example)"))
            continue
        src, obj = _load_file(path, root, model, col)
        if src:
            sources[key] = src
        if obj is not None:
            models[key] = obj
    townships: list[TownshipFile] = []
    tdir = root / "townships"
    files = sorted(tdir.glob("*.yaml")) if tdir.is_dir() else []
    for odd in sorted(tdir.iterdir()) if tdir.is_dir() else []:
        if odd.suffix.lower() in (".yml", ".yaml", ".json") and odd.suffix != ".yaml":
            col.add(Diagnostic(f"{root.name}/townships/{odd.name}", 0, 0, "",
                               f"township file with extension {odd.suffix!r} would be ignored",
                               f"rename it to {odd.stem}.yaml"))
    if not files:
        col.add(Diagnostic(f"{root.name}/townships/", 0, 0, "", "no township files found",
                           "add one <township>.yaml per township in townships/"))
    for path in files:
        src, obj = _load_file(path, root, TownshipFile, col)
        key = f"township:{path.stem}"
        if src:
            sources[key] = src
        if isinstance(obj, TownshipFile):
            if obj.id != path.stem:
                d = sources[key]
                pos = locate(d.raw, ["id"], Pos(d.name, 1, 1))
                col.add(Diagnostic(d.name, pos.line, pos.column, "id",
                                   f"township id {obj.id!r} differs from the file name {path.stem!r}",
                                   f"rename the file to {obj.id}.yaml or set id: {path.stem}"))
            townships.append(obj)
    col.raise_if_errors()
    topo = Topology(root, models["county"], models["catalog"], models["centre"],  # type: ignore[arg-type]
                    models["units"], townships, models["policy"], sources)  # type: ignore[arg-type]
    topo.policy, origins = expand_policy(topo)  # the hosting room's generated zones and rules, checked below
    topo.rule_origins = {i: ("units", origins[r.name]) for i, r in enumerate(topo.policy.rules) if r.name in origins}
    check = Collector("validate")
    check.extend(check_topology(topo))
    topo.warnings = check.warnings
    check.raise_if_errors()
    return topo

