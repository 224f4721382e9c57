"""Wire helpers for the mock's tests (raw sockets, no suite code), and the mock's robustness on the wire.

The other tests/test_mock*.py files import `send`, `admin`, `Reply`, `probe_request` and the
`running` fixture from here: mocks/ tests must not depend on suites/.
"""
from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

import pytest

from mocks import MockServer
from specs import ProviderSpec, load_all

SPECS = {s.id: s for s in load_all()}
IDS = sorted(SPECS)


def having(capability: str) -> Any:
    """pytest parameters: every spec with a capability (`scopes`, `binding`, `exchange`, ...), by id.

    Tests of a capability take the specs that have it, never a provider named in the test.
    """
    return pytest.mark.parametrize("spec", [s for s in SPECS.values() if getattr(s, capability) is not None],
                                   ids=lambda s: s.id)
TIMEOUT = 10.0


@dataclass
class Reply:
    """One response: status, header pairs, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of a header."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def send(base_url: str, method: str, target: str, headers: Sequence[tuple[str | bytes, str | bytes]] = (), body: bytes = b"") -> Reply:
    """Send one request as raw bytes (duplicate lines, odd bytes and all) and read the response."""
    parts = urlsplit(base_url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "tests talk to 127.0.0.1 only"
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), f"Host: {parts.hostname}:{parts.port}".encode()]
    lines += [_b(n) + b": " + _b(v) for n, v in headers]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        data = resp.read()
        return Reply(resp.status, resp.getheaders(), data)


def admin(base_url: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    """Call the admin API (`path` after /__authconform__/); returns (status, parsed JSON)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [("Content-Type", "application/json")] if payload is not None else []
    reply = send(base_url, method, "/__authconform__/" + path, headers, body)
    return reply.status, reply.json()


def credential(spec: ProviderSpec, key: str) -> tuple[str, str]:
    """The canonical credential header for a key."""
    return spec.credential.header, spec.credential.render(key)


def probe_request(
    base_url: str,
    spec: ProviderSpec,
    auth: str | bytes | Sequence[str | bytes] | None = None,
    *,
    target: str | None = None,
    body: bytes | None = None,
    extra: Sequence[tuple[str | bytes, str | bytes]] = (),
    method: str | None = None,
) -> Reply:
    """Send the spec's probe with the given credential header value(s) (None: no header)."""
    values: list[str | bytes] = [] if auth is None else [auth] if isinstance(auth, (str, bytes)) else list(auth)
    headers: list[tuple[str | bytes, str | bytes]] = [(spec.credential.header, v) for v in values]
    if spec.probe.content_type:
        headers.append(("Content-Type", spec.probe.content_type))
    headers += list(extra)
    return send(base_url, method or spec.probe.method, target or spec.probe.path, headers, spec.probe.encode() if body is None else body)


@pytest.fixture(scope="module")
def running() -> Iterator[Any]:
    """`running(provider_id, **build_options)`: a started MockServer, reset, shared per module."""
    servers: dict[tuple[str, tuple[tuple[str, Any], ...]], MockServer] = {}

    def get(provider: str, **options: Any) -> MockServer:
        slot = (provider, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items())))
        server = servers.get(slot)
        if server is None:
            server = servers[slot] = MockServer(SPECS[provider], **options).start()
        server.reset()
        return server

    yield get
    for server in servers.values():
        server.stop()


# -- the mock on the wire: never a 5xx, whatever the header bytes ------------------------------------
ODD_VALUES: list[bytes] = [
    b"Bearer caf\xc3\xa9",  # UTF-8
    b"Token \xe9\xe8\xff",  # Latin-1, invalid UTF-8
    b"\xef\xbc\xa2earer abc",  # fullwidth B
    b"B\xd0\xb5arer abc",  # Cyrillic e
    b"Bearer \x01\x02\x7f",  # C0 controls and DEL
    b"Bearer a\tb",
    b"\t Bearer  abc \t",
    b"Bearer " + b"A" * 6000,
    b"Bearer \xe2\x80\x8babc",  # zero-width space
    b"=",
    b"Bearer ===",
    b'Bearer "abc"',
    b"Bearer token=abc",
    b"Token,Bearer",
]


@pytest.mark.parametrize("provider", IDS)
def test_no_5xx_for_odd_header_bytes(running: Any, provider: str) -> None:
    """No header value the HTTP parser lets through makes the mock answer 5xx or drop the line."""
    server = running(provider)
    spec = SPECS[provider]
    for value in ODD_VALUES:
        reply = probe_request(server.base_url, spec, value)
        assert 400 <= reply.status < 500, f"{value[:30]!r} -> {reply.status}"


@pytest.mark.parametrize("provider", IDS)
def test_parser_rejections_are_4xx(running: Any, provider: str) -> None:
    """What aiohttp's parser refuses (NUL, bare CR) still gets a 4xx, never a 5xx."""
    server = running(provider)
    spec = SPECS[provider]
    for value in (b"Bearer a\x00b", b"Bearer a\rb"):
        try:
            reply = probe_request(server.base_url, spec, value)
        except (ConnectionError, http.client.HTTPException):
            continue  # the parser may also just close the connection: not a 5xx either
        assert 400 <= reply.status < 500


def test_raw_send_reaches_the_mock_with_duplicates(running: Any) -> None:
    """The raw helper really sends duplicate lines (the duplicate_header tests depend on it)."""
    spec = SPECS["cloro"]
    server = running("cloro")
    probe_request(server.base_url, spec, ["Bearer a", "Bearer b"])
    entry = server.entries()[-1]
    assert entry["credential"]["header_lines"] == 2
