"""Where in a spec's YAML a problem sits: its dotted path (`failures.missing.body`, `notes[0]`) and
the line of the nearest node, for every message a bad spec gets."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import yaml

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$<>@/+*-][A-Za-z0-9_$<>@/+*-]*")


def dotted(path: Iterable[Any]) -> str:
    """`failures.missing.headers.Retry-After`, `notes[0]`; a key that is not plain as `["a\\r\\nb"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def line_of(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The 1-based line of the YAML node at path, or of its nearest ancestor."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def path_and_line(node: yaml.Node | None, path: list[Any]) -> str:
    """`failures.missing.body (line 42)`: the path, with the line when the node is found."""
    line = line_of(node, path)
    return f"{dotted(path)} (line {line})" if line else dotted(path)


def located(node: yaml.Node | None, problems: list[tuple[list[Any], str]]) -> list[tuple[str, str]]:
    """(path with line, problem) pairs; a node shared through an alias (`empty: *unauthorized`) said once."""
    said: dict[tuple[int | None, str], tuple[str, str]] = {}
    for p, what in problems:
        said.setdefault((line_of(node, p), what), (path_and_line(node, p), what))
    return list(said.values())
