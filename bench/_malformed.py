"""Malformed requests for the soak: wire-level breakage of the probe (RFC 9112) plus random bytes.

Every request is complete as bytes go (a head ended by an empty line, a body as long as any
Content-Length it claims), so a server that does not answer or close is hung, not waiting for more.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from specs import ProviderSpec

CRLF = b"\r\n"


@dataclass(frozen=True)
class Context:
    """What the generators build on: the probe, the credential header and a valid key."""

    host: bytes
    method: bytes
    path: bytes
    header: bytes
    scheme: bytes
    key: bytes
    content_type: bytes
    body: bytes

    @staticmethod
    def of(spec: ProviderSpec, host: str, key: str) -> "Context":
        """The context of one provider's mock."""
        p = spec.probe
        return Context(host.encode(), p.method.encode(), p.path.encode(), spec.credential.header.encode(),
                       spec.credential.scheme.encode(), key.encode(), (p.content_type or "application/json").encode(),
                       p.encode())

    def credential(self) -> bytes:
        """The canonical credential line value."""
        return self.scheme + b" " + self.key


def _head(c: Context, lines: list[bytes], *, method: bytes | None = None, target: bytes | None = None,
          version: bytes = b"HTTP/1.1", body: bytes | None = None, host: bool = True, eol: bytes = CRLF) -> bytes:
    body = c.body if body is None else body
    out = [(method or c.method) + b" " + (target or c.path) + b" " + version]
    if host:
        out.append(b"Host: " + c.host)
    out += lines
    out.append(b"Content-Type: " + c.content_type)
    out.append(b"Content-Length: " + str(len(body)).encode())
    return eol.join(out) + eol + eol + body


def _rand(rng: random.Random, n: int, alphabet: bytes | None = None) -> bytes:
    """n random bytes, drawn from alphabet when given (a byte table keeps 64 KiB values cheap)."""
    data = rng.randbytes(n)
    if alphabet is None:
        return data
    return data.translate(bytes(alphabet[i % len(alphabet)] for i in range(256)))


PRINTABLE = bytes(range(0x21, 0x7F))
CTL = bytes(list(range(0x00, 0x09)) + list(range(0x0A, 0x20)) + [0x7F])


def obs_fold(rng: random.Random, c: Context) -> bytes:
    """RFC 9112 §5.2: obs-fold inside the credential field."""
    return _head(c, [c.header + b": " + c.scheme, rng.choice([b" ", b"\t"]) + c.key])


def bare_lf(rng: random.Random, c: Context) -> bytes:
    """RFC 9112 §2.2: lines ended by a bare LF (or a bare CR)."""
    return _head(c, [c.header + b": " + c.credential()], eol=rng.choice([b"\n", b"\r"]))


def space_before_colon(rng: random.Random, c: Context) -> bytes:
    """RFC 9112 §5.1: whitespace between field name and colon."""
    return _head(c, [c.header + rng.choice([b" ", b"\t", b"  "]) + b": " + c.credential()])


def ctl_in_value(rng: random.Random, c: Context) -> bytes:
    """RFC 9110 §5.5: a NUL or other control byte in the credential value."""
    k = bytearray(c.key)
    k.insert(rng.randrange(len(k) + 1), rng.choice(CTL))
    return _head(c, [c.header + b": " + c.scheme + b" " + bytes(k)])


def non_ascii_value(rng: random.Random, c: Context) -> bytes:
    """obs-text (0x80-0xFF) and UTF-8 in the credential value."""
    extra = rng.choice([_rand(rng, rng.randint(1, 8), bytes(range(0x80, 0x100))), "ключ".encode(), b"\xff\xfe"])
    return _head(c, [c.header + b": " + c.scheme + b" " + c.key[:5] + extra + c.key[5:]])


def long_value(rng: random.Random, c: Context) -> bytes:
    """A credential value from 1 KiB to 64 KiB (past aiohttp's 8190-byte field limit)."""
    return _head(c, [c.header + b": " + c.scheme + b" " + _rand(rng, rng.choice([1025, 8200, 20000, 65536]), b"A")])


def many_headers(rng: random.Random, c: Context) -> bytes:
    """More header lines than a parser keeps (aiohttp: 128)."""
    return _head(c, [b"X-H%d: v" % i for i in range(rng.choice([129, 300, 1000]))] + [c.header + b": " + c.credential()])


def duplicate_credential(rng: random.Random, c: Context) -> bytes:
    """Two to five credential field lines."""
    return _head(c, [c.header + b": " + c.credential()] * rng.randint(2, 5))


def bad_request_line(rng: random.Random, c: Context) -> bytes:
    """A request line that is not `method SP target SP HTTP-version`."""
    return rng.choice([
        _head(c, [], method=b"G\x00T"),
        _head(c, [], version=b"HTTP/9.9"),
        _head(c, [], version=b"HTTX/1.1"),
        _head(c, [], target=c.path + b" extra"),
        b"\r\n".join([c.method + b"  " + c.path + b"  HTTP/1.1", b"Host: " + c.host]) + CRLF + CRLF,
        c.method + CRLF + CRLF,
        _head(c, [], method=_rand(rng, rng.randint(1, 40), PRINTABLE)),
    ])


def bad_target(rng: random.Random, c: Context) -> bytes:
    """A request target with control bytes, non-ASCII, absolute form or a huge query."""
    return _head(c, [c.header + b": " + c.credential()], target=rng.choice([
        c.path + b"\x01", c.path + "é".encode(), b"http://evil.example" + c.path, b"*",
        c.path + b"?" + b"a" * rng.choice([100, 9000, 70000]), c.path + b"%", c.path + b"?access_token=%zz",
    ]))


def bad_content_length(rng: random.Random, c: Context) -> bytes:
    """Content-Length that is not one non-negative decimal (RFC 9112 §6.3)."""
    value = rng.choice([b"abc", b"-1", b"1.5", b"0x10", b"1 2", b""])
    return c.method + b" " + c.path + b" HTTP/1.1\r\nHost: " + c.host + b"\r\n" + c.header + b": " + \
        c.credential() + b"\r\nContent-Length: " + value + b"\r\n\r\n"


def conflicting_length(rng: random.Random, c: Context) -> bytes:
    """Two Content-Lengths, or Content-Length with Transfer-Encoding (request smuggling shapes)."""
    body = c.body
    n = str(len(body)).encode()
    head = c.method + b" " + c.path + b" HTTP/1.1\r\nHost: " + c.host + b"\r\n" + c.header + b": " + c.credential() + CRLF
    if rng.random() < 0.5:
        return head + b"Content-Length: " + n + b"\r\nContent-Length: " + str(len(body) + 1).encode() + b"\r\n\r\n" + body
    chunked = hex(len(body))[2:].encode() + CRLF + body + b"\r\n0\r\n\r\n"
    return head + b"Content-Length: " + n + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked


def bad_chunked(rng: random.Random, c: Context) -> bytes:
    """A chunked body whose chunk size is not hex, or an unknown transfer coding."""
    head = c.method + b" " + c.path + b" HTTP/1.1\r\nHost: " + c.host + b"\r\n" + c.header + b": " + c.credential() + CRLF
    if rng.random() < 0.5:
        return head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + c.body + b"\r\n0\r\n\r\n"
    return head + b"Transfer-Encoding: gzip, rot13\r\n\r\n"


def no_host(rng: random.Random, c: Context) -> bytes:
    """HTTP/1.1 without Host (RFC 9112 §3.2: MUST be answered 400)."""
    return _head(c, [c.header + b": " + c.credential()], host=False)


def broken_field_line(rng: random.Random, c: Context) -> bytes:
    """A field line without a colon, with an empty name, or with a non-token name."""
    return _head(c, [rng.choice([c.header + b" " + c.credential(), b": " + c.credential(),
                                 b"Auth\x01orization: " + c.credential(), "Authörization: x".encode()])])


def random_bytes(rng: random.Random, c: Context) -> bytes:
    """Random bytes, then an empty line so the head is complete.

    RFC 9112 §2.2 lets a server skip empty lines before the request line, so bytes that are only
    CR and LF are no request at all yet: the first byte is never one of them.
    """
    data = _rand(rng, rng.randint(1, 2048))
    if data[:1] in (b"\r", b"\n"):
        data = b"X" + data[1:]
    return data + CRLF + CRLF


def random_fields(rng: random.Random, c: Context) -> bytes:
    """The probe's request line, then random printable or binary field lines."""
    lines = []
    for _ in range(rng.randint(1, 20)):
        alphabet = PRINTABLE if rng.random() < 0.7 else None
        lines.append(_rand(rng, rng.randint(1, 30), PRINTABLE.replace(b":", b"")) + b": "
                     + _rand(rng, rng.randint(0, 200), alphabet).replace(b"\r", b"").replace(b"\n", b""))
    return _head(c, lines)


def random_body(rng: random.Random, c: Context) -> bytes:
    """A valid credential with a random body of the length it claims."""
    return _head(c, [c.header + b": " + c.credential()], body=_rand(rng, rng.randint(0, 4096)))


def random_credential(rng: random.Random, c: Context) -> bytes:
    """A credential value of random printable bytes, tabs and spaces."""
    return _head(c, [c.header + b": " + _rand(rng, rng.randint(0, 300), PRINTABLE + b" \t")])


GENERATORS: tuple[Callable[[random.Random, Context], bytes], ...] = (
    obs_fold, bare_lf, space_before_colon, ctl_in_value, non_ascii_value, long_value, many_headers,
    duplicate_credential, bad_request_line, bad_target, bad_content_length, conflicting_length, bad_chunked,
    no_host, broken_field_line, random_bytes, random_fields, random_body, random_credential,
)


def requests(spec: ProviderSpec, host: str, key: str, count: int, seed: int = 6):
    """`count` malformed requests, (class name, bytes), cycling through every class; reproducible by seed."""
    rng = random.Random(seed)
    ctx = Context.of(spec, host, key)
    for i in range(count):
        gen = GENERATORS[i % len(GENERATORS)]
        yield gen.__name__, gen(rng, ctx)
