"""`build/manifest.json`: what a build holds, with the sha256 of every file, and what it was built from.

Layout (format 2):

* `hosts`: one entry per device with the facts consumers select on (role, platform, os, model, township,
  unit, site, wave, management address, Netmiko `device_type`) and `files`, the sha256 of its intent and
  config files; deploy reads this table instead of every intent;
* `files`: the sha256 of every other file (inventories, docs, Batfish snapshot, kits, policy data);
* `sources`: the sha256 of every topology file the build was made from (relative to the topology
  directory, the lock as the build left it), so a consumer can tell a stale build from a current one.

The manifest never records where the build or the topology lived, so the same topology gives the same
manifest in any directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 2
# written beside the build's files but not part of it: the manifest itself, the output marker, and the
# reports that `verify` and the lab write into <build>/reports/ by default
NOT_BUILD_FILES = (MANIFEST, ".countynet-output")
NOT_BUILD_DIRS = ("reports/",)
LOCK_NAME = "addresses.lock.yaml"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def host_of(rel: str) -> str | None:
    """The device a build file belongs to (`intent/<host>.yaml`, `configs/<host>/...`), else None."""
    if rel.startswith("intent/") and rel.endswith(".yaml") and rel.count("/") == 1:
        return rel[len("intent/"):-len(".yaml")]
    if rel.startswith("configs/") and rel.count("/") >= 2:
        return rel.split("/", 2)[1]
    return None


def make_manifest(county: str, files: Mapping[str, str], hosts: Mapping[str, Mapping[str, Any]],
                  sources: Mapping[str, str]) -> dict[str, Any]:
    """The manifest of a build whose files (relative path -> text) are `files`; `hosts` gives each device's
    facts (without `files`, which are filled in here); `sources` the topology fingerprints."""
    own: dict[str, dict[str, str]] = {h: {} for h in hosts}
    other: dict[str, str] = {}
    for rel in sorted(files):
        h = host_of(rel)
        if h is not None and h in own:
            own[h][rel] = sha256(files[rel])
        else:
            other[rel] = sha256(files[rel])
    return {
        "format": FORMAT,
        "county": county,
        "devices": len(hosts),
        "hosts": {h: {**facts, "files": own[h]} for h, facts in hosts.items()},
        "files": other,
        "sources": dict(sorted(sources.items())),
    }


def manifest_text(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def source_paths(topology_root: Path) -> list[Path]:
    """The topology files a build reads: every `*.yaml` of the directory and of `townships/`."""
    return sorted([*topology_root.glob("*.yaml"), *(topology_root / "townships").glob("*.yaml")])


def source_fingerprints(topology_root: Path, lock_text: str | None = None) -> dict[str, str]:
    """sha256 of each topology file, keyed by its path relative to the topology directory. `lock_text`
    stands for the lock file as the build will leave it (the build may rewrite it)."""
    out = {p.relative_to(topology_root).as_posix(): sha256_bytes(p.read_bytes()) for p in source_paths(topology_root)}
    if lock_text is not None:
        out[LOCK_NAME] = sha256(lock_text)
    return out
