"""The address lock file (`topology/addresses.lock.yaml`): every automatic allocation, committed.

It is what keeps addresses, ports and VLANs from moving when the topology changes. `countynet build`
rewrites it; `countynet validate --locked` fails when a build would change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from countynet.errors import Diagnostic
from countynet.fileio import YamlTooLarge, load_yaml_bounded

LOCK_NAME = "addresses.lock.yaml"
HEADER = (
    "# countynet allocation lock: written by `countynet build`, checked by `countynet validate --locked`.\n"
    "# It keeps every automatically allocated address, port and VLAN where it is when the topology changes.\n"
    "# Review changes to it like code. To move something on purpose, pin it in the topology instead.\n"
)


def empty() -> dict[str, Any]:
    return {"version": 1, "addresses": {}, "ports": {}, "vlans": {}, "lags": {}}


def read(topology_dir: Path) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Read the lock beside the topology: (data, []) or (empty lock, diagnostics); never writes anything."""
    path = topology_dir / LOCK_NAME
    if not path.exists():
        return empty(), []
    name = f"{topology_dir.name}/{LOCK_NAME}"
    try:
        data = load_yaml_bounded(path.read_text(encoding="utf-8"), yaml.CSafeLoader)
    except YamlTooLarge as big:
        return empty(), [Diagnostic(name, big.line, big.column, "", f"lock file refused: {big}",
                                    "restore it from git, or delete it to allocate everything afresh")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return empty(), [Diagnostic(name, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0, "",
                                    f"lock file is not valid YAML: {getattr(exc, 'problem', exc)}",
                                    "restore it from git (git checkout -- topology/addresses.lock.yaml)")]
    if not isinstance(data, dict) or data.get("version") != 1:
        return empty(), [Diagnostic(name, 1, 1, "version", "lock file has an unknown layout",
                                    "restore it from git, or delete it to allocate everything afresh")]
    out = empty()
    for key in ("addresses", "ports", "vlans", "lags"):
        section = data.get(key) or {}
        if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
            return empty(), [Diagnostic(name, 1, 1, key, f"lock section {key!r} is malformed",
                                        "restore the lock file from git")]
        out[key] = section
    placement = data.get("placement")  # hosted servers' places (countynet.ipam.placement)
    if placement is not None:
        if not isinstance(placement, dict) or not all(isinstance(v, dict) for v in placement.values()):
            return empty(), [Diagnostic(name, 1, 1, "placement", "lock section 'placement' is malformed",
                                        "restore the lock file from git")]
        out["placement"] = placement
    freed = data.get("freed")  # held prefixes (countynet.ipam.hold): pool -> prefix -> {owner, freed, until}
    if freed is not None:
        if not isinstance(freed, dict) or not all(isinstance(v, dict) and all(isinstance(i, dict) for i in v.values())
                                                  for v in freed.values()):
            return empty(), [Diagnostic(name, 1, 1, "freed", "lock section 'freed' is malformed",
                                        "restore the lock file from git")]
        out["freed"] = freed
    return out, []


def dump(data: dict[str, Any]) -> str:
    body = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False, width=200,
                     allow_unicode=True)
    return HEADER + body


def write(topology_dir: Path, data: dict[str, Any]) -> bool:
    """Write the lock atomically; return True when it changed."""
    from countynet.fileio import write_if_changed

    return write_if_changed(topology_dir / LOCK_NAME, dump(data))
