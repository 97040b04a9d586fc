"""JSON Schema export of the topology file formats (editors complete and check YAML with these)."""

from __future__ import annotations

from typing import Any

from countynet.topology.models import FILE_MODELS
from countynet.topology.policy_models import PolicyFile


def export() -> dict[str, dict[str, Any]]:
    models = dict(FILE_MODELS)
    models["policy"] = PolicyFile
    out = {}
    for name, model in models.items():
        s = model.model_json_schema(by_alias=True)
        s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        s["title"] = f"countynet {name} file"
        out[name] = s
    return out
