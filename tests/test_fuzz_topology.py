"""Property: random edits to the topology never crash the tool; they pass or give located errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from countynet.errors import TopologyError
from countynet.outputs.pipeline import compile_topology
from tests.conftest import TOPOLOGY

FILES = ["county.yaml", "centre.yaml", "units.yaml", "policy.yaml", "catalog.yaml", "townships/litian.yaml",
         "townships/yange.yaml"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12),
                   st.lists(st.integers(0, 5), max_size=3), st.just("10.30.4.0/22"), st.just("yx-core-1"),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:4]):
            out += paths(v, (*prefix, i))
    return out


def mutate(data: object, path: tuple, op: str, value: object) -> object:
    if not path:
        return value
    parent = data
    for step in path[:-1]:
        parent = parent[step]  # type: ignore[index]
    last = path[-1]
    if op == "delete":
        del parent[last]  # type: ignore[union-attr]
    elif op == "rename" and isinstance(parent, dict):
        parent[f"{last}x"] = parent.pop(last)
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    else:
        parent[last] = value  # type: ignore[index]
    return data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_edits_never_crash(data: st.DataObject, tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("fuzz") / "topology"
    shutil.copytree(TOPOLOGY, root)
    fname = data.draw(st.sampled_from(FILES))
    doc = yaml.safe_load((root / fname).read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(paths(doc)))
    op = data.draw(st.sampled_from(["set", "delete", "rename", "duplicate"]))
    value = data.draw(VALUES)
    doc = mutate(doc, path, op, value)
    (root / fname).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        compile_topology(root)
    except TopologyError as exc:
        for d in exc.diagnostics:
            assert d.file and d.message and d.hint, d
            assert d.file.startswith("topology"), d


def test_raw_garbage_file_is_a_located_error(topo_copy: Path) -> None:
    (topo_copy / "units.yaml").write_bytes(b"\xff\xfe garbage")
    try:
        compile_topology(topo_copy)
    except TopologyError as exc:
        assert "UTF-8" in exc.render()
    else:
        raise AssertionError("garbage accepted")
