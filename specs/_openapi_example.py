"""Example values for an OpenAPI schema or response: the document's own example where it has one,
else a small instance built from the schema (bounded in depth and size, `$ref`s followed)."""
from __future__ import annotations

from typing import Any, Callable

MAX_DEPTH = 6
MAX_NODES = 400
MAX_OPTIONAL = 6  # an object without `required` gets at most this many of its properties

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "AA==",
}

Resolve = Callable[[Any], Any]


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_NODES

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _own_example(schema: dict[str, Any]) -> tuple[bool, Any]:
    """The schema's own example (`example`, 3.1's `examples` list, `default`, `const`, `enum`)."""
    if "example" in schema:
        return True, schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    for key in ("default", "const"):
        if key in schema:
            return True, schema[key]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return True, enum[0]
    return False, None


def from_schema(schema: Any, resolve: Resolve) -> Any:
    """A small instance of a schema: its examples first, then one value per type, required fields."""
    return _build(schema, resolve, 0, _Budget())


def _build(schema: Any, resolve: Resolve, depth: int, budget: _Budget) -> Any:
    schema = resolve(schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH or not budget.take():
        return None
    found, value = _own_example(schema)
    if found:
        return value
    for key in ("allOf",):
        parts = schema.get(key)
        if isinstance(parts, list) and parts:
            merged: dict[str, Any] = {}
            for part in parts:
                value = _build(part, resolve, depth + 1, budget)
                if isinstance(value, dict):
                    merged.update(value)
                elif value is not None and not merged:
                    return value
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            if rest.get("properties"):
                own = _build(rest, resolve, depth + 1, budget)
                if isinstance(own, dict):
                    merged.update(own)
            return merged
    for key in ("oneOf", "anyOf"):
        parts = schema.get(key)
        if isinstance(parts, list) and parts:
            return _build(parts[0], resolve, depth + 1, budget)
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
    if kind == "object":
        props = schema.get("properties")
        props = resolve(props) if props is not None else {}
        if not isinstance(props, dict):
            return {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str) and r in props]
        names = required or list(props)[:MAX_OPTIONAL]
        out = {}
        for name in names:
            value = _build(props[name], resolve, depth + 1, budget)
            if budget.left < 0:
                break
            out[name] = value
        return out
    if kind == "array":
        item = _build(schema.get("items"), resolve, depth + 1, budget)
        return [] if item is None else [item]
    if kind == "string":
        return _FORMATS.get(str(schema.get("format")), "string")
    if kind == "integer":
        low = schema.get("minimum")
        return int(low) if isinstance(low, (int, float)) and not isinstance(low, bool) else 0
    if kind == "number":
        low = schema.get("minimum")
        return low if isinstance(low, (int, float)) and not isinstance(low, bool) else 0
    if kind == "boolean":
        return True
    return None


def from_media(media: Any, resolve: Resolve) -> tuple[bool, Any]:
    """(documented, example) of an OpenAPI 3 media type object: `example`, the first of `examples`
    (its `value`), the schema's own example; else (False, an instance built from the schema)."""
    media = resolve(media)
    if not isinstance(media, dict):
        return False, None
    if "example" in media:
        return True, media["example"]
    examples = resolve(media.get("examples"))
    if isinstance(examples, dict):
        for ex in examples.values():
            ex = resolve(ex)
            if isinstance(ex, dict) and "value" in ex:
                return True, ex["value"]
    schema = resolve(media.get("schema"))
    if isinstance(schema, dict):
        found, value = _own_example(schema)
        if found:
            return True, value
        return False, from_schema(schema, resolve)
    return False, None
