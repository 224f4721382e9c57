"""Request bodies as the provider reads them: a JSON object or form fields, per the Content-Type."""
from __future__ import annotations

import json
import zlib
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
# Parsed bodies are remembered by their bytes: clients repeat the same body, and parsing is the
# costliest step left on the authenticated path. Bounded, and cleared whole when full.
CACHE_SIZE = 256
# Content codings the mock undoes (RFC 9110 §8.4.1: gzip, its x-gzip alias, deflate), as zlib
# `wbits`. Any other coding is answered 415 with Accept-Encoding naming these (RFC 9110 §8.4,
# §15.5.16), so a client learns what would work; `identity` is no coding at all.
CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"
# Codings stacked on one body (`gzip, gzip`): each layer is bounded on its own, and so is their number.
MAX_CODINGS = 4
# gzip members one after another (RFC 1952 §2.2) undone per body: each member restarts the inflater
# on the rest of the body, so 1 MiB of 20-byte empty members (2.6 KB gzipped once more) cost the
# event loop 1.5 s. Clients send one member; a few are allowed.
MAX_MEMBERS = 64


class BodyProblem(Exception):
    """Why a request body cannot be had: `name` is the answer's name in the mock's table
    (`unsupported_coding`, `bad_coding`, `too_large`)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def decode(codings: str, body: bytes, limit: int) -> bytes:
    """The body with the Content-Encoding `codings` undone (listed in the order they were applied,
    RFC 9110 §8.4, so undone last first), never more than `limit` bytes; else BodyProblem.

    Decompression stops one byte past `limit` (a small gzip bomb expands a thousandfold), and a
    truncated stream or bytes after its end make a `bad_coding`.
    """
    names = [c.strip().lower() for c in codings.split(",")]
    names = [c for c in names if c and c != "identity"]
    if len(names) > MAX_CODINGS or any(c not in CODINGS for c in names):
        raise BodyProblem("unsupported_coding")
    for name in reversed(names):
        body = _inflate(body, CODINGS[name], limit)
    return body


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    out = b""
    for _ in range(MAX_MEMBERS + 1):
        inflater = zlib.decompressobj(wbits)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            if wbits == zlib.MAX_WBITS and not out:
                # `deflate` sent as a raw deflate stream without the zlib wrapper RFC 9110 §8.4.1.2
                # asks for: common enough (some clients do) to read as well.
                wbits = -zlib.MAX_WBITS
                continue
            raise BodyProblem("bad_coding") from None
        if len(out) > limit:
            raise BodyProblem("too_large")
        if not inflater.eof:
            raise BodyProblem("bad_coding")  # cut short
        data = inflater.unused_data
        # gzip allows several members one after another (RFC 1952 §2.2); anything else after the end is junk.
        if not data:
            return out
        if wbits != CODINGS["gzip"]:
            raise BodyProblem("bad_coding")
    raise BodyProblem("bad_coding")  # over MAX_MEMBERS members


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
        from specs import schema_validator, thaw

        self.default = content_type
        self._valid = schema_validator(thaw(schema)).is_valid
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
