"""Extra build outputs beyond intent/configs/inventories (docs, Batfish snapshot), each from the intent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from countynet.pipeline import BuildResult


def build_extras(result: BuildResult) -> dict[str, str]:
    out: dict[str, str] = {}
    from countynet.docs import device_docs

    out.update(device_docs(result.intents))
    return out
