"""A body from a JSON Schema: the smallest deterministic instance, for routes that give no example.

The filler takes, at each level, what the schema itself offers first (`const`, the first `enum`
value, the first of `examples`, `example`, `default`), otherwise the least value of the type: only
the required properties of an object, `minItems` items of an array, a string of `minLength`
characters. It does not solve `pattern`, `not` or conflicting `allOf` branches; the loader checks
the result against the schema and asks the spec author for an example body when it does not fit.
"""
from __future__ import annotations

from typing import Any, Mapping

# Bounds against a hostile schema: nesting and the size of what is built.
MAX_DEPTH = 32
MAX_ITEMS = 64


class FillError(ValueError):
    """The schema cannot be filled (a reference that does not resolve, too deep, too large)."""


def fill(schema: Any) -> Any:
    """The smallest deterministic instance of `schema` (FillError when it cannot be built)."""
    try:
        return _fill(schema, schema, 0)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        if isinstance(exc, FillError):
            raise
        # A keyword of an unexpected type (`examples: {}`, `minItems: "2"`) in a draft that allows it.
        raise FillError(f"a keyword has a value the filler cannot use ({type(exc).__name__}: {exc})") from None


def _resolve(root: Any, ref: str) -> Any:
    # Only references inside the same document (`#/$defs/x`, `#/components/schemas/x`): a spec is one file.
    if not ref.startswith("#"):
        raise FillError(f"only local references are filled, not {ref!r}")
    node = root
    for part in [p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p]:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise FillError(f"the reference {ref!r} does not resolve")
    return node


def _fill(schema: Any, root: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise FillError(f"the schema nests deeper than {MAX_DEPTH} levels (or refers to itself)")
    if schema is True or schema is None or schema == {}:
        return None
    if not isinstance(schema, Mapping):
        raise FillError("a schema is an object or a boolean")
    if "$ref" in schema:
        return _fill(_resolve(root, schema["$ref"]), root, depth + 1)
    for word in ("const",):
        if word in schema:
            return schema[word]
    if isinstance(schema.get("enum"), (list, tuple)) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("examples"), (list, tuple)) and schema["examples"]:
        return schema["examples"][0]
    for word in ("example", "default"):
        if word in schema:
            return schema[word]
    for word in ("oneOf", "anyOf"):
        if schema.get(word):
            return _fill(schema[word][0], root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _fill(part, root, depth + 1)
            if isinstance(value, Mapping):
                merged.update(value)
            elif value is not None:
                return value
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        own = _fill(rest, root, depth + 1) if rest else None
        return {**merged, **own} if isinstance(own, Mapping) else (merged or own)
    kind = schema.get("type")
    if isinstance(kind, (list, tuple)):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema or "required" in schema else ("array" if "items" in schema else None)
    if kind == "object":
        props = schema.get("properties") or {}
        out = {}
        for name in list(schema.get("required") or ())[:MAX_ITEMS]:
            out[name] = _fill(props.get(name, {}), root, depth + 1)
        return out
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        if count > MAX_ITEMS:
            raise FillError(f"minItems {count} is more than the filler builds ({MAX_ITEMS})")
        items = schema.get("items", {})
        if isinstance(items, (list, tuple)):  # draft 4 tuple form
            return [_fill(items[i] if i < len(items) else {}, root, depth + 1) for i in range(count)]
        return [_fill(items, root, depth + 1) for _ in range(count)]
    if kind == "string":
        length = int(schema.get("minLength") or 0)
        if length > 4096:
            raise FillError(f"minLength {length} is more than the filler builds")
        return _FORMATS.get(schema.get("format"), "x" * length)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if low is None:
            return 0
        value = int(low) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        return value if kind == "integer" or value == low else float(value)
    if kind == "boolean":
        return False
    return None


# Formats whose least value "" would not validate where a checker enforces the format.
_FORMATS: Mapping[Any, str] = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "hostname": "example.com",
}
