"""Read a spec's YAML as plain JSON data, in bounded time and memory, or say where it is not.

A spec is input like any other: it may be huge, binary, nested 900 deep, or an alias bomb
("billion laughs": nine levels of ten aliases expand to 10^9 nodes from a few hundred bytes).
Before PyYAML composes a node tree, one pass over the parser's events (flat, no recursion)
measures the document as its data would be: nesting depth and nodes counted with every alias
expanded. It refuses, naming the YAML path and line:
- a document deeper than MAX_DEPTH or larger than MAX_NODES once aliases are expanded;
- an alias inside the node it names (a cycle);
- anything that is not JSON: timestamps, binary, sets, ordered maps, other tags, non-string or
  duplicate mapping keys, NaN/infinity, integers too long to convert, lone surrogates.
Only then are the nodes composed and constructed (the same parser, so the same data as before).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

# Far above any real spec (the largest, with imported routes, is a few thousand nodes), far
# below what makes jsonschema, freeze() or json.dumps slow or large.
MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
# jsonschema and the comparisons recurse a few frames per level: 64 levels stay far inside
# Python's recursion limit, and no spec needs more than a dozen.
MAX_DEPTH = 64
# int() refuses more than 4,300 digits (sys.get_int_max_str_digits); no spec number needs 20.
MAX_INT_DIGITS = 64

_JSON_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_NON_JSON = {
    "tag:yaml.org,2002:timestamp": "a date or time (quote it to make it a string)",
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:set": "a set",
    "tag:yaml.org,2002:omap": "an ordered map",
    "tag:yaml.org,2002:pairs": "a list of pairs",
    "tag:yaml.org,2002:value": "a value key (=)",
}


class YamlProblem(Exception):
    """What is wrong, the YAML path (a list of keys and indexes) and the 1-based line."""

    def __init__(self, path: list[Any], line: int | None, what: str):
        self.path = path
        self.line = line
        self.what = what
        super().__init__(what)


class _Frame:
    """An open mapping or sequence during the measuring pass."""

    __slots__ = ("kind", "anchor", "size", "index", "key", "expect_key", "keys", "line")

    def __init__(self, kind: str, anchor: str | None, line: int):
        self.kind = kind
        self.anchor = anchor
        self.size = 1
        self.index = 0
        self.key: Any = None
        self.expect_key = True
        self.keys: set[str] = set()
        self.line = line


def _loader_classes() -> tuple[type, type]:
    """(libyaml loader where PyYAML has it, else the pure-Python one; the resolver)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.resolver.Resolver


def _path(stack: list[_Frame]) -> list[Any]:
    """The YAML path of the node the next event starts."""
    out: list[Any] = []
    for frame in stack:
        if frame.kind == "seq":
            out.append(frame.index)
        elif not frame.expect_key:
            out.append(frame.key)
    return out


def _scalar_problem(tag: str, value: str) -> str | None:
    if tag in _NON_JSON:
        return f"{_NON_JSON[tag]} is not JSON data; a spec holds strings, numbers, booleans, null, lists and mappings"
    if tag not in _JSON_SCALARS:
        return f"the tag {tag!r} is not JSON data; a spec holds strings, numbers, booleans, null, lists and mappings"
    if tag == "tag:yaml.org,2002:int" and len(value) > MAX_INT_DIGITS:
        return f"an integer of {len(value)} characters; at most {MAX_INT_DIGITS}"
    if tag == "tag:yaml.org,2002:float":
        try:
            finite = math.isfinite(float(value.replace("_", "")))
        except ValueError:
            finite = False  # .inf / .nan spellings float() does not take
        if not finite:
            return f"{value!r} is not a finite number (JSON has no NaN or infinity)"
    if any("\ud800" <= c <= "\udfff" for c in value):
        return "a lone surrogate (\\uD800-\\uDFFF) is not a character and cannot be sent as UTF-8"
    return None


def _measure(text: str, json_only: bool, max_nodes: int) -> None:
    """The measuring pass over the parser's events: raise YamlProblem, or return when the document is safe."""
    import yaml

    loader_cls, resolver_cls = _loader_classes()
    loader = loader_cls(text)
    resolver = resolver_cls()
    stack: list[_Frame] = []
    done: dict[str, int] = {}  # anchor -> expanded node count of the finished node
    root = 0

    def add(size: int, line: int) -> None:
        nonlocal root
        if not stack:
            root += size
            total = root
        else:
            top = stack[-1]
            top.size += size
            total = top.size
            if top.kind == "seq":
                top.index += 1
            else:
                top.expect_key = True
        if total > max_nodes:
            raise YamlProblem(_path(stack), line, f"more than {max_nodes:,} nodes once aliases are expanded (an alias bomb?)")

    def key_event(value: str | None, tag: str | None, line: int) -> None:
        """A mapping key: a plain string, said once."""
        top = stack[-1]
        if value is None or (json_only and tag != "tag:yaml.org,2002:str"):
            if tag == _MERGE:
                top.key = "<<"
                top.expect_key = False
                return
            raise YamlProblem(_path(stack), line, "a mapping key must be a string (quote it)")
        if value in top.keys:
            raise YamlProblem(_path(stack) + [value], line, f"duplicate key {value!r} (the later one would silently win)")
        top.keys.add(value)
        top.key = value
        top.expect_key = False

    try:
        while True:
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.StreamEndEvent):
                return
            in_key = bool(stack) and stack[-1].kind == "map" and stack[-1].expect_key
            if isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
                if in_key:
                    key_event(event.value, tag, line)
                    continue
                problem = _scalar_problem(tag, event.value) if json_only else None
                if problem:
                    raise YamlProblem(_path(stack), line, problem)
                if event.anchor:
                    done[event.anchor] = 1
                add(1, line)
            elif isinstance(event, yaml.AliasEvent):
                if in_key:
                    raise YamlProblem(_path(stack), line, f"a mapping key must be a string, not the alias *{event.anchor}")
                if any(f.anchor == event.anchor for f in stack):
                    raise YamlProblem(_path(stack), line, f"the alias *{event.anchor} refers to a node that contains it (a cycle)")
                # An undefined alias is left to the composer, which names it.
                add(done.get(event.anchor, 1), line)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if in_key:
                    raise YamlProblem(_path(stack), line, "a mapping key must be a string, not a list or mapping")
                is_map = isinstance(event, yaml.MappingStartEvent)
                if json_only and event.tag not in (None, "!", _MAP if is_map else _SEQ):
                    what = _NON_JSON.get(event.tag, f"the tag {event.tag!r}")
                    raise YamlProblem(_path(stack), line, f"{what} is not JSON data; a spec holds strings, numbers, booleans, null, lists and mappings")
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(_path(stack), line, f"nested more than {MAX_DEPTH} levels deep")
                stack.append(_Frame("map" if is_map else "seq", event.anchor, line))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    done[frame.anchor] = frame.size
                add(frame.size, frame.line)
    finally:
        loader.dispose()


def parse(text: str, json_only: bool = True, max_nodes: int = MAX_NODES) -> tuple[yaml.Node | None, Any]:
    """The node tree (for lines) and the plain data of one YAML document; YamlProblem or yaml.YAMLError.

    `json_only=False` (for documents that are not specs) lets YAML's own types through; the bounds
    on depth, alias expansion and cycles hold either way.
    """
    _measure(text, json_only, max_nodes)
    loader_cls, _ = _loader_classes()
    # One parse: the node tree gives YAML lines for errors, the same tree builds the data.
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()
