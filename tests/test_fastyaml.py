"""The fast intent emitter writes YAML that reads back to exactly the same data."""

from __future__ import annotations

import yaml

from countynet.outputs.fastyaml import dump
from countynet.outputs.pipeline import intent_yaml


def test_every_intent_round_trips(bundled) -> None:
    for d in bundled.intents.values():
        text = intent_yaml(d)
        assert yaml.load(text, Loader=yaml.CSafeLoader) == d.model_dump(mode="json", exclude_defaults=True), d.hostname


def test_tricky_scalars_round_trip() -> None:
    data = {"a": ["yes", "no", "on", "null", "~", "1", "1.5", "0x10", "10.30.0.0/16", "a: b", "#x", "-", "", " x",
                  "永新县", "line\nbreak", "'q'", '"dq"', "@at", "*star", "&amp", "!bang", "%p", "`tick`", "{x}",
                  "[y]", "2024-01-01", "NO", "True"],
            "b": {"nested": [{"k": 1, "l": [1, 2], "m": {}}, [], {}], "e": [], "f": {}},
            "c": [True, False, None, 0, -3, 2.5], "d": [[1, [2, 3]], {"x": {"y": {"z": "w"}}}]}
    assert yaml.safe_load(dump(data)) == data
