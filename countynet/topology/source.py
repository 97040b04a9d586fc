"""YAML loading that remembers where every key and item came from.

PyYAML's C parser is fast but hands back plain dicts without positions; pydantic reports errors as paths.
This module keeps a position for every mapping key and sequence item (`Located` containers) so that any
error path can be turned back into `file:line:column`. Duplicate keys are errors here, because PyYAML
silently keeps the last one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from countynet.errors import Diagnostic
from countynet.fileio import YamlTooLarge, load_yaml_bounded

try:  # libyaml is a dependency of PyYAML wheels; fall back to pure Python only if it is missing
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Pos:
    file: str
    line: int
    column: int


class LocDict(dict[str, Any]):
    """A mapping that knows where it and each of its keys sit in the source."""

    __slots__ = ("key_pos", "pos")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pos: Pos | None = None
        self.key_pos: dict[Hashable, Pos] = {}


class LocList(list[Any]):
    """A sequence that knows where it and each of its items sit in the source."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pos: Pos | None = None
        self.item_pos: list[Pos] = []


class _DuplicateKey(Exception):
    def __init__(self, key: object, pos: Pos, first: Pos):
        self.key, self.pos, self.first = key, pos, first


def _mark(node: yaml.Node, file: str) -> Pos:
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _make_loader(file: str) -> type:
    class Loader(_BaseLoader):
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> LocDict:
        loader.flatten_mapping(node)
        out = LocDict()
        out.pos = _mark(node, file)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                key = str(key)
            kpos = _mark(key_node, file)
            if key in out:
                raise _DuplicateKey(key, kpos, out.key_pos[key])
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_pos[key] = kpos
        return out

    def construct_sequence(loader: Any, node: yaml.SequenceNode) -> LocList:
        out = LocList()
        out.pos = _mark(node, file)
        for item in node.value:
            out.append(loader.construct_object(item, deep=True))
            out.item_pos.append(_mark(item, file))
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, list[Diagnostic]]:
    """Parse one YAML file; return the data and any diagnostics (syntax errors, duplicate keys)."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(name, 0, 0, "", f"file is not UTF-8 text ({exc.reason})",
                                 "save the file as UTF-8")]
    except OSError as exc:
        return None, [Diagnostic(name, 0, 0, "", f"cannot read file: {exc.strerror}", "check the path")]
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> tuple[Any, list[Diagnostic]]:
    """Parse YAML text with positions; return the data and any diagnostics (syntax, duplicates, bounds)."""
    try:
        data = load_yaml_bounded(text, _make_loader(name))
    except YamlTooLarge as big:
        return None, [Diagnostic(name, big.line, big.column, "", str(big),
                                 "write the values out instead of nesting aliases, or split the file")]
    except _DuplicateKey as dup:
        return None, [Diagnostic(name, dup.pos.line, dup.pos.column, "", f"duplicate key {dup.key!r} "
                                 f"(first defined at line {dup.first.line})",
                                 "remove or rename one of the two keys")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        return None, [Diagnostic(name, line, col, "", f"YAML syntax error: {problem}",
                                 "check indentation, colons and quotes on this line and the one above")]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: locate it in the text
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return None, [Diagnostic(name, line, col, "", f"the character U+{ord(char):04X} is not allowed in YAML "
                                 f"({exc.reason})", "remove it; write only printable text")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(name, 0, 0, "", f"YAML error: {exc}", "check the file's syntax")]
    return data, []


def locate(root: Any, path: Sequence[Any], fallback: Pos) -> Pos:
    """Walk `path` into located data and return the deepest known position."""
    best = getattr(root, "pos", None) or fallback
    node = root
    for step in path:
        if isinstance(node, LocDict) and step in node:
            best = node.key_pos.get(step, best)
            node = node[step]
        elif isinstance(node, LocList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.item_pos[step]
            node = node[step]
        else:
            break
    return best


def dotted(path: Sequence[Any]) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + str(step)
    return out
