"""Example values for an OpenAPI schema or response: the document's own example where it has one,
else a small instance built from the schema (bounded in depth and size, `$ref`s followed); a
response's example in 3.x or 2.0, as a draft keeps it (`response_example`)."""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from ._openapi_doc import Document

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


# --- a document's own examples, as a draft keeps them -----------------------------------------


def json_media(content: Any) -> tuple[str | None, Any]:
    """The JSON media type of a content map (application/json, +json, */*), else the first."""
    if not isinstance(content, dict) or not content:
        return None, None
    for media, value in content.items():
        base = media.split(";")[0].strip().lower()
        if base == "application/json" or base.endswith("+json"):
            return media, value
    for media, value in content.items():
        if media.split(";")[0].strip() in ("*/*", "application/*"):
            return "application/json", value
    media = next(iter(content))
    return media, content[media]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def as_sent(body: Any, media: str | None) -> Any:
    """An example as the draft keeps it: a JSON example written as a string of JSON (`"{\\n..."`)
    is that JSON (the mock sends the text, a client reads the object); control characters other
    than TAB and LF are dropped (spec text may not hold them, and CRLF examples are still read)."""
    if isinstance(body, str) and is_json(media):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    return _clean(body)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {_clean(k) if isinstance(k, str) else k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def response_example(doc: Document, resp: Any, where: str) -> tuple[bool, Any, str | None]:
    """(documented, body, content type) of a response object, 3.x or 2.0."""
    found, body, media = _response_example(doc, resp, where)
    return found, as_sent(body, media), media


def _response_example(doc: Document, resp: Any, where: str) -> tuple[bool, Any, str | None]:
    resp = doc.resolve(resp, where)
    if not isinstance(resp, dict):
        return False, None, None
    if doc.version == "2.0":
        examples = resp.get("examples")
        if isinstance(examples, dict) and examples:
            media = next((m for m in examples if "json" in m.lower()), next(iter(examples)))
            return True, examples[media], media
        schema = doc.resolve(resp.get("schema"), where)
        if isinstance(schema, dict):
            found = from_media({"schema": schema}, doc.resolve)
            return found[0], found[1], "application/json"
        return False, None, None
    media, value = json_media(doc.resolve(resp.get("content"), where))
    if media is None:
        return False, None, None
    found, body = from_media(value, doc.resolve)
    return found, body, media


def is_json(media: str | None) -> bool:
    base = (media or "").split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")
