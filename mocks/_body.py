"""Request bodies as the provider reads them: a JSON object or form fields, per the Content-Type."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
# Parsed bodies are remembered by their bytes: clients repeat the same body, and parsing is the
# costliest step left on the authenticated path. Bounded, and cleared whole when full.
CACHE_SIZE = 256


def header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of a raw header (name given lower-case), or None."""
    for n, v in headers:
        if len(n) == len(name) and n.lower() == name:
            return v
    return None


def body_kind(content_type: bytes | str | None, default: str | None) -> str:
    """`json` or `form`: the request's own Content-Type decides, else the route's documented one."""
    for ctype in (content_type, default):
        if isinstance(ctype, bytes):
            ctype = ctype.decode("latin-1")
        low = (ctype or "").split(";")[0].strip().lower()
        if low == FORM:
            return "form"
        if low.endswith("/json") or low.endswith("+json"):
            return "json"
    return "json"


def parse(kind: str, body: bytes) -> Mapping[str, Any] | None:
    """The body's top-level fields, or None when it is not a JSON object / strict form encoding."""
    if kind == "json":
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return obj if isinstance(obj, dict) else None
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True) if text else []
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


class BodyReader:
    """Parses bodies for one route, remembering recent ones."""

    def __init__(self, default_content_type: str | None):
        self.default = default_content_type
        self._cache: dict[tuple[str | bytes | None, bytes], Mapping[str, Any] | None] = {}

    def fields(self, head: Any) -> Mapping[str, Any] | None:
        """The fields of a request head's body (empty when there is none), or None when unparseable."""
        body = head.body
        if not body:
            return {}
        ctype = head.content_type
        if ctype is None:
            ctype = header(head.headers, b"content-type")
        cache_key = (ctype, body)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        parsed = parse(body_kind(ctype, self.default), body)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[cache_key] = parsed
        return parsed


class SchemaCheck:
    """A route's request-body check (spec `routes[].request`): the body parses per its content type
    and matches the JSON Schema. Results are remembered by body bytes, bounded like BodyReader's."""

    def __init__(self, content_type: str, schema: Any):
        # jsonschema is imported only by mocks whose spec checks a request body (cold start).
        import jsonschema

        from specs import thaw

        plain = thaw(schema)
        self.default = content_type
        self._valid = jsonschema.validators.validator_for(plain)(plain).is_valid
        self._cache: dict[tuple[str | bytes | None, bytes], bool] = {}

    def passes(self, head: Any) -> bool:
        """True when the request's body is one the operation takes (an empty body is not)."""
        ctype = head.content_type
        if ctype is None:
            ctype = header(head.headers, b"content-type")
        cache_key = (ctype, head.body)
        found = self._cache.get(cache_key)
        if found is None:
            found = self._check(ctype, head.body)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[cache_key] = found
        return found

    def _check(self, ctype: str | bytes | None, body: bytes) -> bool:
        if not body:
            return False
        if body_kind(ctype, self.default) == "form":
            value: Any = parse("form", body)
        else:
            try:
                value = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return False
        if value is None:
            return False
        try:
            return bool(self._valid(value))
        except RecursionError:  # a schema that refers to itself, fed a deeply nested body
            return False
