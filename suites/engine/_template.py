"""Symbolic requests: what the generated engine draws, prints and stores instead of key bytes.

A credential is a `KeyExpr`: which key (by state) and a chain of byte mutations (`key[:12] + "x"`).
A request is a `Template` whose parts are bytes or `KeyExpr`s. Hypothesis only ever holds these,
so falsifying examples, assertion messages and its database show `<CLORO_API_KEY>[:12] + "x"`,
never the key; the bytes exist only in `render()`, at send time.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Callable, Mapping, Union
from urllib.parse import quote

from specs import JWT_CHARS, TOKEN68_CHARS

from .._transport import RawRequest

# --- byte mutations of a key ---------------------------------------------------------------------

# RFC 7515 §2 base64url, the characters of a JWT's segments.
_B64URL = JWT_CHARS.encode()


def show_bytes(data: bytes) -> str:
    """Bytes as a double-quoted literal: printable ASCII as is, everything else escaped."""
    out = []
    for b in data:
        ch = chr(b)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append({0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t", 0x00: "\\0"}.get(b, f"\\x{b:02x}"))
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Op:
    """One mutation: `name` with integer/bytes arguments; applied to bytes, shown symbolically."""

    name: str
    n: int = 0
    data: bytes = b""

    def apply(self, key: bytes, alphabet: bytes) -> bytes:
        """The mutated bytes (the key never leaves this call but as the result)."""
        return _OPS[self.name][0](self, key, alphabet)

    def show(self, expr: str) -> str:
        """The mutation applied to a symbolic expression, e.g. `<K>[:12]`."""
        return _OPS[self.name][1](self, expr)

    def to_json(self) -> list:
        """[name, n, data-as-latin-1]: the replay command's form."""
        return [self.name, self.n, self.data.decode("latin-1")]

    @staticmethod
    def from_json(raw: list) -> "Op":
        """The inverse of to_json; ValueError on an unknown mutation."""
        name, n, data = raw
        if name not in _OPS:
            raise ValueError(f"unknown mutation {name!r}; known: {', '.join(sorted(_OPS))}")
        return Op(str(name), int(n), str(data).encode("latin-1"))


def _pos(n: int, key: bytes, inner: bool = False) -> int:
    """A drawn position mapped into the key: 1..len-1 when `inner` (strictly inside), else 0..len."""
    if inner:
        return 1 + n % (len(key) - 1) if len(key) > 1 else len(key)
    return n % (len(key) + 1)


def _cut(op: Op, key: bytes, _: bytes) -> bytes:
    # Never the whole key and never empty: 1..len-1 characters, so the result is always a
    # different, non-empty credential.
    return key[: min(max(op.n, 1), max(len(key) - 1, 1))]


def _cut_end(op: Op, key: bytes, _: bytes) -> bytes:
    # The key without its last n characters, at least one left: shrinking n toward 1 gives the
    # longest wrong prefix, the one every prefix-related comparison bug accepts or echoes.
    return key[: max(len(key) - max(op.n, 1), 1)]


def _drop(op: Op, key: bytes, _: bytes) -> bytes:
    i = op.n % len(key)
    return key[:i] + key[i + 1 :]


def _insert(op: Op, key: bytes, _: bytes) -> bytes:
    i = _pos(op.n, key, inner=True)
    return key[:i] + op.data + key[i:]


def _kind(c: int) -> int:
    """0 digit, 1 lower, 2 upper, 3 other: a changed character stays of its kind, so a change is
    never a mere case flip (that is a mutation of its own)."""
    return 0 if 0x30 <= c <= 0x39 else 1 if 0x61 <= c <= 0x7A else 2 if 0x41 <= c <= 0x5A else 3


# token68's characters that are neither letters nor digits ("-._~+/"), a pool of kind 3.
_TOKEN68_OTHER = bytes(b for b in TOKEN68_CHARS.encode() if _kind(b) == 3)


def _shift(op: Op, key: bytes, alphabet: bytes) -> bytes:
    """Change one character to another of the key's alphabet and kind: `n` picks the position,
    `data[0]` the distance, so the result always differs and the key's character is not shown."""
    i = op.n % len(key)
    c = key[i]
    pool = bytes(b for b in alphabet if _kind(b) == _kind(c))
    if c not in pool or len(pool) < 2:
        pool = bytes(b for b in _B64URL if _kind(b) == _kind(c)) if _kind(c) < 3 else _TOKEN68_OTHER
        if c not in pool:
            pool = bytes([c]) + pool
    k = 1 + (op.data[0] if op.data else 0) % (len(pool) - 1)
    return key[:i] + bytes([pool[(pool.index(c) + k) % len(pool)]]) + key[i + 1 :]


def _head(op: Op, key: bytes, _: bytes) -> bytes:
    """The part of the key before the position an `insert` with the same n uses."""
    return key[: _pos(op.n, key, inner=True)]


def _flip(op: Op, key: bytes, _: bytes) -> bytes:
    """Flip the case of the first letter at or after position n (wrapping); unchanged if none."""
    for j in range(len(key)):
        i = (op.n + j) % len(key)
        c = key[i : i + 1]
        if c.isalpha():
            return key[:i] + c.swapcase() + key[i + 1 :]
    return key


def _b64url_decode(seg: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(seg + b"=" * (-len(seg) % 4))
    except (ValueError, TypeError):
        return None


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _jwt(op: Op, key: bytes, alphabet: bytes) -> bytes:
    """JWT tampering; a key that is not header.payload.signature gets its first segment changed."""
    parts = key.split(b".")
    if len(parts) != 3:
        return _shift(Op("shift", 0, b"\x01"), key, alphabet)
    head, body, sig = parts
    what = op.data.decode("ascii")
    if what == "strip_sig":
        return head + b"." + body + b"."
    if what == "drop_sig":
        return head + b"." + body
    if what == "alg_none":
        return _b64url(b'{"alg":"none","typ":"JWT"}') + b"." + body + b"."
    index = 0 if what == "header" else 1
    seg = parts[index]
    decoded = _b64url_decode(seg)
    try:
        claims = json.loads(decoded) if decoded is not None else None
    except ValueError:
        claims = None
    if isinstance(claims, dict):
        # A claim changed (or added): the signature no longer covers the segment.
        name = "alg" if index == 0 else "exp"
        value = claims.get(name)
        claims[name] = "HS512" if index == 0 and value != "HS512" else (value + op.n + 1 if isinstance(value, int) else op.n + 1)
        parts[index] = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    else:
        parts[index] = _shift(Op("shift", op.n, b"\x01"), seg, _B64URL)
    return b".".join(parts)


_SWAP = bytes.maketrans(b"-_+/", b"+/-_")

# name -> (apply, show)
_OPS: dict[str, tuple[Callable[[Op, bytes, bytes], bytes], Callable[[Op, str], str]]] = {
    "cut": (_cut, lambda op, e: f"{e}[:{op.n}]"),
    "cut_end": (_cut_end, lambda op, e: f"{e}[:-{max(op.n, 1)}]"),
    "append": (lambda op, k, a: k + op.data, lambda op, e: f"{e} + {show_bytes(op.data)}"),
    "prepend": (lambda op, k, a: op.data + k, lambda op, e: f"{show_bytes(op.data)} + {e}"),
    "insert": (_insert, lambda op, e: f"{e} with {show_bytes(op.data)} inserted inside (at {op.n})"),
    "head": (_head, lambda op, e: f"{e} up to position {op.n}"),
    "pad": (lambda op, k, a: k + op.data * op.n, lambda op, e: f"{e} + {show_bytes(op.data)} * {op.n}"),
    "drop": (_drop, lambda op, e: f"{e} without its character {op.n}"),
    "shift": (_shift, lambda op, e: f"{e} with character {op.n} changed (+{op.data[0] if op.data else 0})"),
    "flip": (_flip, lambda op, e: f"{e} with the case of one letter flipped (from {op.n})"),
    "upper": (lambda op, k, a: k.upper(), lambda op, e: f"{e}.upper()"),
    "lower": (lambda op, k, a: k.lower(), lambda op, e: f"{e}.lower()"),
    "swap_alphabet": (lambda op, k, a: k.translate(_SWAP), lambda op, e: f"{e} with -_ and +/ swapped"),
    "percent": (
        lambda op, k, a: "".join(f"%{b:02X}" for b in k).encode() if op.n else quote(k, safe="").encode(),
        lambda op, e: f"percent({e}, every byte)" if op.n else f"percent({e})",
    ),
    "base64": (
        lambda op, k, a: base64.urlsafe_b64encode(k) if op.n else base64.b64encode(k),
        lambda op, e: f"base64url({e})" if op.n else f"base64({e})",
    ),
    "jwt": (_jwt, lambda op, e: f"jwt({e}).{op.data.decode('ascii')}" + (f"[{op.n}]" if op.data in (b"header", b"payload") else "")),
    "repeat": (lambda op, k, a: op.data.join([k] * max(op.n, 2)), lambda op, e: f"{show_bytes(op.data)}.join([{e}] * {max(op.n, 2)})"),
}


# --- symbolic parts ------------------------------------------------------------------------------

#: How a key expression is encoded where it stands: raw, in a query (percent), in JSON.
QUOTES = ("raw", "url", "json")


@dataclass(frozen=True)
class KeyExpr:
    """A key (named by its credential state) with mutations applied in order."""

    state: str = "valid"
    ops: tuple[Op, ...] = ()
    quote: str = "raw"

    def then(self, *ops: Op) -> "KeyExpr":
        """This expression with more mutations."""
        return KeyExpr(self.state, self.ops + ops, self.quote)

    def quoted(self, how: str) -> "KeyExpr":
        """This expression encoded for a query string (`url`) or a JSON string (`json`)."""
        return KeyExpr(self.state, self.ops, how)

    @property
    def intact(self) -> bool:
        """True when the key's own bytes are sent unchanged (possibly quoted)."""
        return not self.ops

    def value(self, key: bytes, alphabet: bytes) -> bytes:
        """The mutated bytes, before quoting."""
        out = key
        for op in self.ops:
            out = op.apply(out, alphabet)
        return out

    def render(self, key: bytes, alphabet: bytes) -> bytes:
        """The bytes sent."""
        out = self.value(key, alphabet)
        if self.quote == "url":
            return quote(out, safe="").encode("ascii")
        if self.quote == "json":
            return json.dumps(out.decode("utf-8", "surrogateescape"), ensure_ascii=True)[1:-1].encode()
        return out

    def show(self, label: str) -> str:
        """`<CLORO_API_KEY>[:12] + "x"`: the symbolic form."""
        expr = f"<{label}>"
        for op in self.ops:
            expr = op.show(expr)
        if self.quote != "raw":
            expr = f"{self.quote}({expr})"
        return expr


class Host:
    """The `Host` header value of the connection, filled in at send time (wire-level heads)."""

    def __repr__(self) -> str:
        return "HOST"


HOST = Host()

Part = Union[bytes, KeyExpr, Host]
Parts = tuple[Part, ...]


def join(*pieces: "bytes | KeyExpr | Host | Parts") -> Parts:
    """Flatten bytes, expressions and part tuples into one Parts tuple (adjacent bytes merged)."""
    out: list[Part] = []
    for p in pieces:
        for q in p if isinstance(p, tuple) else (p,):
            if isinstance(q, bytes) and out and isinstance(out[-1], bytes):
                out[-1] = out[-1] + q
            elif q != b"":
                out.append(q)
    return tuple(out)


@dataclass(frozen=True)
class Context:
    """What rendering needs at send time: each key's bytes, the token alphabet, host and path prefix."""

    keys: Mapping[str, bytes]
    alphabet: bytes
    host: str = ""
    prefix: str = ""


def render_parts(parts: Parts, ctx: Context) -> bytes:
    """Concrete bytes of parts; KeyError names a state the target has no key for."""
    out = bytearray()
    for p in parts:
        if isinstance(p, bytes):
            out += p
        elif isinstance(p, KeyExpr):
            out += p.render(ctx.keys[p.state], ctx.alphabet)
        else:
            out += ctx.host.encode("ascii")
    return bytes(out)


def show_parts(parts: Parts, labels: Mapping[str, str]) -> str:
    """Parts as text: bytes escaped, keys as placeholders (`"Bearer " <CLORO_API_KEY>`)."""
    shown = []
    for p in parts:
        if isinstance(p, bytes):
            shown.append(show_bytes(p))
        elif isinstance(p, KeyExpr):
            shown.append(p.show(labels.get(p.state, p.state.upper())))
        else:
            shown.append("<HOST>")
    return " ".join(shown) if shown else '""'


# --- request templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A request with symbolic key parts.

    `headers` are (name, value parts) sent in order. `query` is appended to the probe path after
    `?`. For wire-level requests `head` holds the header section verbatim (each line ended as
    written, Host included where wanted) and `headers` is ignored.
    """

    method: str
    path: str
    headers: tuple[tuple[bytes, Parts], ...] = ()
    query: Parts = ()
    body: Parts = ()
    head: Parts | None = None

    def all_parts(self) -> list[Parts]:
        """Every part tuple of the request (for finding its key expressions)."""
        out = [self.query, self.body] + [v for _, v in self.headers]
        if self.head is not None:
            out.append(self.head)
        return out

    def target(self, ctx: Context) -> str:
        """The request target: path + query (the connection adds its path prefix)."""
        q = render_parts(self.query, ctx)
        return self.path + ("?" + q.decode("latin-1") if self.query else "")

    def render(self, ctx: Context) -> RawRequest:
        """The concrete request (key bytes substituted)."""
        body = render_parts(self.body, ctx)
        if self.head is not None:
            # A hand-written head carries its own request line, so the path prefix goes in here.
            line = f"{self.method} {ctx.prefix}{self.target(ctx)} HTTP/1.1\r\n".encode("latin-1")
            # The head says where Host goes; Content-Length is added after it as usual.
            raw = line + render_parts(self.head, ctx) + b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            return RawRequest(self.method, self.target(ctx), (), body, raw, add_defaults=False)
        headers = tuple((n, render_parts(v, ctx)) for n, v in self.headers)
        return RawRequest(self.method, self.target(ctx), headers, body)

    def show(self, labels: Mapping[str, str]) -> str:
        """The request as text, keys as placeholders: what a failure prints to replay it."""
        q = ("?" + show_parts(self.query, labels)) if self.query else ""
        lines = [f"{self.method} {self.path}{q} HTTP/1.1"]
        if self.head is not None:
            lines.append("<head> " + show_parts(self.head, labels))
        else:
            lines += [f"{n.decode('latin-1')}: {show_parts(v, labels)}" for n, v in self.headers]
        if self.body:
            lines.append("<body> " + show_parts(self.body, labels))
        return "\n".join(lines)

    def to_json(self) -> dict:
        """A JSON form for the replay command (no key bytes: placeholders and mutations only)."""
        def enc(parts: Parts) -> list:
            out: list = []
            for p in parts:
                if isinstance(p, bytes):
                    out.append(p.decode("latin-1"))
                elif isinstance(p, KeyExpr):
                    out.append({"key": p.state, "ops": [o.to_json() for o in p.ops], "quote": p.quote})
                else:
                    out.append({"host": True})
            return out

        return {
            "method": self.method,
            "path": self.path,
            "headers": [[n.decode("latin-1"), enc(v)] for n, v in self.headers],
            "query": enc(self.query),
            "body": enc(self.body),
            "head": None if self.head is None else enc(self.head),
        }

    @staticmethod
    def from_json(raw: dict) -> "Template":
        """The inverse of to_json; ValueError/KeyError/TypeError on a malformed document."""
        def dec(items: list) -> Parts:
            out: list[Part] = []
            for p in items:
                if isinstance(p, str):
                    out.append(p.encode("latin-1"))
                elif isinstance(p, dict) and "key" in p:
                    if p.get("quote", "raw") not in QUOTES:
                        raise ValueError(f"quote must be one of {QUOTES}")
                    out.append(KeyExpr(str(p["key"]), tuple(Op.from_json(o) for o in p["ops"]), p.get("quote", "raw")))
                elif isinstance(p, dict) and p.get("host"):
                    out.append(HOST)
                else:
                    raise ValueError(f"a part is a string, {{'key': ...}} or {{'host': true}}, got {p!r}")
            return tuple(out)

        return Template(
            str(raw["method"]),
            str(raw["path"]),
            tuple((str(n).encode("latin-1"), dec(v)) for n, v in raw.get("headers", [])),
            dec(raw.get("query", [])),
            dec(raw.get("body", [])),
            None if raw.get("head") is None else dec(raw["head"]),
        )
