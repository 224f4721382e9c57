"""A raw HTTP/1.1 client: the suite writes request bytes itself, because client libraries refuse
the malformed headers it must send (requests raises InvalidHeader on them), and reads responses with the stdlib parser.

Every exchange records which layer answered: `app` for a response from the server application,
`parser` for a 400/431 the HTTP parser sent before any handler ran (no provider body), `closed`
when the connection dropped without a response.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence
from urllib.parse import urlsplit

Header = tuple[bytes, bytes]

DEFAULT_TIMEOUT = 10.0
MAX_BODY = 1 << 20


def _b(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    # Latin-1 keeps one byte per code point below 256; above it, send the UTF-8 bytes.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


@dataclass(frozen=True)
class RawRequest:
    """A request as bytes on the wire: method, target (path + query), header lines, body.

    `headers` are sent in order, exactly as given (names and values as bytes, no folding or
    validation). `raw_head`, when set, replaces the whole request head (request line and header
    lines, each ended as written) for wire-level cases: obs-fold, bare LF, space before colon.
    Host, Content-Length and Connection are added unless `add_defaults` is False.
    """

    method: str
    target: str
    headers: tuple[Header, ...] = ()
    body: bytes = b""
    raw_head: bytes | None = None
    add_defaults: bool = True

    @staticmethod
    def build(method: str, target: str, headers: Iterable[tuple[str | bytes, str | bytes]] = (), body: bytes = b"", **kw: object) -> "RawRequest":
        """A RawRequest from str-or-bytes header pairs."""
        return RawRequest(method, target, tuple((_b(n), _b(v)) for n, v in headers), body, **kw)  # type: ignore[arg-type]

    def header_values(self, name: str) -> list[bytes]:
        """Every value sent under a header name (case-insensitive)."""
        low = name.lower().encode()
        return [v for n, v in self.headers if n.lower() == low]

    def encode(self, host: str) -> bytes:
        """The bytes sent on the wire for this request to `host`."""
        if self.raw_head is not None:
            head = self.raw_head
            if self.add_defaults:
                head += b"Host: " + host.encode("ascii") + b"\r\n"
                head += b"Content-Length: " + str(len(self.body)).encode() + b"\r\n"
            return head + b"\r\n" + self.body
        lines = [f"{self.method} {self.target} HTTP/1.1".encode("latin-1", "replace")]
        names = {n.lower() for n, _ in self.headers}
        if self.add_defaults and b"host" not in names:
            lines.append(b"Host: " + host.encode("ascii"))
        lines += [n + b": " + v for n, v in self.headers]
        if self.add_defaults and b"content-length" not in names and (self.body or self.method in ("POST", "PUT", "PATCH")):
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


@dataclass(frozen=True)
class RawResponse:
    """What came back: status, reason, header lines, body, which layer answered, elapsed time."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    layer: str
    elapsed: float = 0.0
    error: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        low = name.lower()
        return next((v for n, v in self.headers if n.lower() == low), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        low = name.lower()
        return [v for n, v in self.headers if n.lower() == low]

    def json(self) -> object:
        """The body parsed as JSON; ValueError when it is not JSON."""
        import json

        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", "replace")


@dataclass
class Connection:
    """One keep-alive connection to a base URL; reconnects when the server closed it."""

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    ssl_context: ssl.SSLContext | None = None
    _sock: socket.socket | None = field(default=None, repr=False)
    requests_sent: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must be http://host[:port] or https://host[:port], got {self.base_url!r}")
        self.scheme = parts.scheme
        self.hostname = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        default = (parts.scheme == "http" and self.port == 80) or (parts.scheme == "https" and self.port == 443)
        self.host_header = self.hostname if default else f"{self.hostname}:{self.port}"
        if ":" in self.hostname and not default:
            self.host_header = f"[{self.hostname}]:{self.port}"

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.hostname, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.scheme == "https":
            ctx = self.ssl_context or ssl.create_default_context()
            sock = ctx.wrap_socket(sock, server_hostname=self.hostname)
        return sock

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send(self, request: RawRequest) -> RawResponse:
        """Send one request and read its response; a stale keep-alive socket is retried once."""
        if self.prefix and request.raw_head is None:
            request = RawRequest(request.method, self.prefix + request.target, request.headers, request.body, None, request.add_defaults)
        data = request.encode(self.host_header)
        for attempt in (0, 1):
            fresh = self._sock is None
            if fresh:
                self._sock = self._connect()
            start = time.perf_counter()
            try:
                self._sock.sendall(data)
                resp = http.client.HTTPResponse(self._sock, method=request.method)
                resp.begin()
                body = resp.read(MAX_BODY)
                will_close = resp.will_close
                headers = tuple((n, v) for n, v in resp.getheaders())
                status, reason = resp.status, resp.reason
                resp.close()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self.close()
                if not fresh and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: retry once
                return RawResponse(0, "", (), b"", "closed", time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
            except (socket.timeout, TimeoutError) as exc:
                self.close()
                return RawResponse(0, "", (), b"", "closed", time.perf_counter() - start, f"timeout after {self.timeout}s: {exc}")
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                return RawResponse(0, "", (), b"", "closed", time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - start
            self.requests_sent += 1
            if will_close:
                self.close()
            return RawResponse(status, reason, headers, body, _layer(status, headers, body), elapsed)
        raise AssertionError("unreachable")

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _layer(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> str:
    """Which layer answered: aiohttp's and most servers' parsers answer 400/431 in plain text."""
    if status in (400, 431, 414, 505):
        ctype = next((v for n, v in headers if n.lower() == "content-type"), "")
        if not ctype.startswith("application/json"):
            return "parser"
    return "app"


def send(base_url: str, request: RawRequest, timeout: float = DEFAULT_TIMEOUT) -> RawResponse:
    """Send one request on a fresh connection."""
    with Connection(base_url, timeout=timeout) as conn:
        return conn.send(request)
