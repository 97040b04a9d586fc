"""Cisco IOS-XE command forms looked up in the public Cisco-IOS-XE-native YANG models (issue 11, part 4).

The models come from the PyPI package `ydk-models-cisco-ios-xe` (the YDK bundle ships the `.yang` files of IOS-XE
16.9 in `ydk/models/cisco_ios_xe/_yang/`).
`fetch_models` downloads the sdist with pip into a cache directory at test time (nothing third-party is copied into
this repository); `keyword_tree` parses the modules with pyang (a well-kept YANG compiler: groupings, `uses` and
augments resolved) and reduces the `/native` schema tree to what a CLI line needs: node names, the kind of node,
list keys and the enumeration values of leaf types. The public files carry no Tail-f CLI annotations, so the two
things they would say are tables here, each entry checked by hand: `DROPPED` (wrapper nodes with no keyword of
their own) and `ALT_NAMES` (nodes whose CLI keyword is not their name).

What counts as confirmed by YANG (`match_command`): the keywords of the full command (the parent lines of the view,
then the line) are, in order, nodes of the `/native` tree, each found below the node the previous keyword matched:

- below the last container or list matched, stepping through choice and case nodes and through at most MAX_SKIP
  `DROPPED` wrappers; nothing else may be stepped over, and the first keyword is a top-level node of `/native`;
- after a leaf, the next keyword is one of the leaf's siblings (or below its nearest ancestor that is not a wrapper);
- right after a list, its key values may be keywords (`aaa accounting exec default`: the list entry `default`);
- a keyword may be an enumeration value of a leaf instead of a node name (`logging trap informational`, `deny`);
- values (the placeholders of the form: addresses, numbers, names, secrets, free text) are not checked, and a name
  the form keeps literally (`YX-AAA`, not lower case) may stand where no node matches;
- an interface name is its type keyword and its number (`Loopback0`: node `Loopback`); a line starting with `no`
  is checked without it (the node must exist; the negation itself is not checked);
- no node takes two keywords (the second `host` of an access-list entry must be the destination's).

`match_command` returns the schema path (choice and case omitted) and the defining module of each node matched, or
None.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

PACKAGE = "ydk-models-cisco-ios-xe"
VERSION = "16.9.3.post1"
RELEASE = f"{PACKAGE} {VERSION} (IOS-XE 16.9 Cisco-IOS-XE-native and the modules that augment it)"
_YANG_IN_SDIST = "ydk/models/cisco_ios_xe/_yang/"
_TREE_FORMAT = 2


def fetch_models(cache: Path) -> Path:
    """The directory of the package's `.yang` files under `cache`, downloading the sdist from PyPI with pip when it
    is not there yet. Raises RuntimeError (with pip's message) when the download fails."""
    yang_dir = cache / f"{PACKAGE}-{VERSION}" / "yang"
    if (yang_dir / "Cisco-IOS-XE-native.yang").exists():
        return yang_dir
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                           "--disable-pip-version-check", f"{PACKAGE}=={VERSION}", "-d", str(cache)],
                          capture_output=True, text=True, timeout=600)
    archives = sorted(cache.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    if proc.returncode != 0 or not archives:
        raise RuntimeError(f"pip download {PACKAGE}=={VERSION} failed: {(proc.stderr or proc.stdout)[-500:]}")
    yang_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archives[0]) as tar:
        for member in tar.getmembers():
            if _YANG_IN_SDIST in member.name and member.name.endswith(".yang") and member.isfile():
                src = tar.extractfile(member)
                assert src is not None
                (yang_dir / Path(member.name).name).write_bytes(src.read())
    return yang_dir


def _ext(stmt: Any, name: str) -> Any:
    for s in stmt.substmts:
        if isinstance(s.keyword, tuple) and s.keyword[1] == name:
            return s
    return None


def _type_info(type_stmt: Any, seen: int = 0) -> tuple[str, list[str]]:
    """(base type name, enumeration values) of a YANG type, through typedefs and unions."""
    if type_stmt is None or seen > 10:
        return "", []
    name = type_stmt.arg.split(":")[-1]
    if name == "enumeration":
        return name, [e.arg for e in type_stmt.search("enum")]
    if name == "union":
        enums: list[str] = []
        for sub in type_stmt.search("type"):
            enums += _type_info(sub, seen + 1)[1]
        return name, enums
    typedef = getattr(type_stmt, "i_typedef", None)
    if typedef is not None:
        base, enums = _type_info(typedef.search_one("type"), seen + 1)
        return base or name, enums
    return name, []


def _module_of(node: Any) -> str:
    mod = node.i_module
    return str(getattr(mod, "i_including_modulename", None) or mod.arg)


def _reduce(node: Any, parent_module: str = "") -> dict:
    kind = node.keyword
    out: dict[str, Any] = {"n": node.arg, "k": kind}
    module = _module_of(node)
    if module != parent_module:
        out["m"] = module
    if _ext(node, "cli-drop-node-name") is not None:
        out["drop"] = 1
    alt = _ext(node, "alt-name")
    if alt is not None:
        out["alt"] = alt.arg
    if kind == "list":
        key = node.search_one("key")
        out["keys"] = key.arg.split() if key is not None else []
    if kind in ("leaf", "leaf-list"):
        base, enums = _type_info(node.search_one("type"))
        out["t"] = base
        if enums:
            out["e"] = enums
    children = [c for c in getattr(node, "i_children", []) if c.keyword in
                ("container", "list", "leaf", "leaf-list", "choice", "case")]
    if children:
        out["c"] = [_reduce(c, module) for c in children]
    return out


def keyword_tree(yang_dir: Path) -> dict:
    """The reduced `/native` schema tree of the modules in `yang_dir` (cached beside them as JSON)."""
    cached = yang_dir / f"native-tree-v{_TREE_FORMAT}.json"
    if cached.exists():
        return json.loads(cached.read_text(encoding="utf-8"))
    from pyang import context, repository  # a dev dependency; imported here so the module loads without it

    ctx = context.Context(repository.FileRepository(str(yang_dir), use_env=False))
    for f in sorted(glob.glob(str(yang_dir / "Cisco-IOS-XE-*.yang"))):
        if f.endswith("-oper.yang") or "-deviation" in f:
            continue
        text = Path(f).read_text(encoding="utf-8")
        if text.lstrip().startswith("submodule") or re.search(r"^\s*submodule\s", text, re.M):
            continue
        ctx.add_module(f, text)
    ctx.validate()
    native_mod = ctx.get_module("Cisco-IOS-XE-native")
    if native_mod is None:
        raise RuntimeError(f"Cisco-IOS-XE-native not found in {yang_dir}")
    native = next(c for c in native_mod.i_children if c.arg == "native")
    tree = _reduce(native)
    cached.write_text(json.dumps(tree), encoding="utf-8")
    return tree


_IF_TOKEN = re.compile(r"^(?P<type>[A-Z][A-Za-z-]*?)(?P<num>\d+(?:/\d+)*(?:\.\d+)?)$")


def command_tokens(parents: tuple[str, ...], line: str, normalise: Any) -> list[tuple[str, bool]]:
    """(token, is_value) pairs of a command and its parent lines, with `normalise` (tests.vendor_forms.normalise_line)
    saying which tokens are values: a placeholder of the form is a value; an interface name becomes its type keyword
    and its number; free text (`<text>`) is one value."""
    out: list[tuple[str, bool]] = []
    for text in (*parents, line):
        if text.startswith("no "):
            text = text[3:]     # the negation of the node: the node must exist, its `no` form is not checked
        raw = text.split()
        form = normalise(text).split(" ")
        for i, f in enumerate(form):
            if f == "<text>":
                out.append((" ".join(raw[i:]), True))
                break
            tok = raw[i] if i < len(raw) else f
            m = _IF_TOKEN.match(tok)
            if m and (f == "<if>" or f.endswith("<n>")):
                out += [(m["type"], False), (m["num"], True)]
            else:
                out.append((tok, f.startswith("<") and f.endswith(">")))
    return out


_TRANSPARENT = ("choice", "case")
# Node name -> CLI keyword where the public model renamed the node (Cisco's Tail-f annotated model keeps the CLI
# keyword as `tailf:alt-name`; the public files lost it): `tacacs+` is not a YANG identifier, and the destination
# half of an access-list entry repeats the source keywords under `dst-` names.
ALT_NAMES = {"tacacsplus": "tacacs+", "dst-eq": "eq", "src-eq": "eq", "dst-range1": "range", "src-range1": "range",
             "dst-host": "host", "dst-any": "any"}
# Wrapper nodes that have no CLI keyword (Tail-f `cli-drop-node-name` in Cisco's annotated model; the public files
# lost the annotation). A keyword may sit below at most MAX_SKIP of them; no other node may be stepped over.
# Each one was checked by hand against the CLI it models.
DROPPED = {"access-list-seq-rule", "ace-rule", "std-ace", "no-vrf", "with-vrf", "ipv4-unicast", "route-map-seq",
           "process-id", "redist-options", "a1", "a2", "a3", "a4", "prefixes", "acccess-list", "with-mask", "names",
           "auth", "algo128", "privpass", "primary"}


MAX_SKIP = 2   # unnamed containers/lists a keyword may sit below (Tail-f drop-node-name nodes: `primary`, `ace-rule`)


def _index(tree: dict) -> tuple[list[dict], dict[int, int], dict[int, list[int]]]:
    """Flatten the tree: nodes by id (pre-order), parent ids, child ids."""
    nodes: list[dict] = []
    parent: dict[int, int] = {}
    children: dict[int, list[int]] = {}

    def walk(n: dict, p: int) -> None:
        nodes.append(n)
        me = len(nodes) - 1
        parent[me] = p
        children.setdefault(p, []).append(me)
        for c in n.get("c", []):
            walk(c, me)

    walk(tree, -1)
    return nodes, parent, children


def _reach(nodes: list[dict], children: dict[int, list[int]], anchor: int,
           cache: dict[int, dict[str, list[tuple[int, int, bool]]]]) -> dict[str, list[tuple[int, int, bool]]]:
    """keyword -> [(node id, skipped, by enumeration)] for the nodes below `anchor` reachable through choice / case
    nodes and at most MAX_SKIP other nodes (whose names the CLI drops). A keyword that is an enumeration value of a
    reachable leaf (the leaf's name is dropped, its value is the keyword: `logging trap informational`)."""
    if anchor in cache:
        return cache[anchor]
    out: dict[str, list[tuple[int, int, bool]]] = {}

    def walk(i: int, skipped: int) -> None:
        for c_id in children.get(i, []):
            c = nodes[c_id]
            if c["k"] in _TRANSPARENT:
                walk(c_id, skipped)
                continue
            for name in {c["n"], c.get("alt", c["n"]), ALT_NAMES.get(c["n"], c["n"])}:
                out.setdefault(name, []).append((c_id, skipped, False))
            for value in c.get("e", []):
                out.setdefault(value, []).append((c_id, skipped, True))
            if skipped < MAX_SKIP and c["k"] in ("container", "list") and c["n"] in DROPPED:
                walk(c_id, skipped + 1)

    walk(anchor, 0)
    cache[anchor] = out
    return out


_INDEX_CACHE: dict[int, tuple[list[dict], dict[int, int], dict[int, list[int]], dict]] = {}


def _lowercase_keyword(tok: str) -> bool:
    return tok == tok.lower()


def match_command(tree: dict, tokens: list[tuple[str, bool]]) -> list[tuple[str, str]] | None:
    """The schema paths (from /native; choice and case left out) of the nodes the command's keywords matched, in
    order, or None when it does not match (see the module docstring for the rule)."""
    if id(tree) not in _INDEX_CACHE:
        _INDEX_CACHE[id(tree)] = (*_index(tree), {})
    nodes, parent, children, reach_cache = _INDEX_CACHE[id(tree)]
    toks = list(tokens)
    # a state: (anchor, last, matched ids, nodes skipped, list keys still to come); the next keyword is looked up
    # below the anchor (the last container or list matched), or taken as an enumeration value of the last leaf, or
    # as the value of a key of the list just matched (`aaa accounting exec default`: `default` names the list entry)
    State = tuple[int, int, tuple[int, ...], int, int]
    states: list[State] = [(0, 0, (), 0, 0)]
    for text, is_value in toks:
        nxt: list[State] = []
        for anchor, last, matched, skips, keys_left in states:
            if is_value:
                nxt.append((anchor, last, matched, skips, max(keys_left - 1, 0)))
                continue
            if keys_left:
                nxt.append((anchor, last, matched, skips, keys_left - 1))
            if nodes[last]["k"] in ("leaf", "leaf-list") and text in nodes[last].get("e", []):
                nxt.append((anchor, last, matched, skips, 0))
            for c_id, skipped, _by_enum in _reach(nodes, children, anchor, reach_cache).get(text, []):
                if not matched and skipped:
                    continue      # the first keyword is a top-level node of /native
                c = nodes[c_id]
                if c_id in matched and c["k"] != "leaf-list":
                    continue      # one node, one keyword (a second `host` is the destination's)
                if c["k"] in ("leaf", "leaf-list"):
                    new_anchor = parent[c_id]      # after a leaf the next keyword is one of its siblings
                    while new_anchor > 0 and (nodes[new_anchor]["k"] in _TRANSPARENT
                                              or nodes[new_anchor]["n"] in DROPPED):
                        new_anchor = parent[new_anchor]
                else:
                    new_anchor = c_id
                keys = len(c.get("keys", [])) if c["k"] == "list" else 0
                nxt.append((new_anchor, c_id, (*matched, c_id), skips + skipped, keys))
            if not _lowercase_keyword(text) and not nxt:
                nxt.append((anchor, last, matched, skips, 0))   # a literal name kept by the form (YX-AAA): a value
        best: dict[tuple[int, int, int], State] = {}
        for st in nxt:
            key = (st[0], st[1], st[4])
            if key not in best or st[3] < best[key][3]:
                best[key] = st
        states = list(best.values())
        if not states:
            return None

    def module_of(idx: int) -> str:
        while idx >= 0 and "m" not in nodes[idx]:
            idx = parent[idx]
        return str(nodes[idx]["m"]) if idx >= 0 else ""

    def schema_path(idx: int) -> str:
        chain = []
        while idx > 0:
            if nodes[idx]["k"] not in _TRANSPARENT:
                chain.append(nodes[idx]["n"])
            idx = parent[idx]
        return "/native/" + "/".join(reversed(chain))

    final = min(states, key=lambda s: s[3])
    return [(schema_path(i), module_of(i)) for i in final[2]] if final[2] else None
