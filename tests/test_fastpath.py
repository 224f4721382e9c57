"""mocks/_fastpath.py answers exactly as the plain application, falls back when aiohttp's
internals are not as it expects, and the internals it relies on are pinned against the
installed aiohttp (an upgrade that changes them fails here, not in a client's CI).

Each differential test plays one script of raw bytes on one connection to two mocks of the same
provider and seed, one with the fast path and one built with `fast_path=False`, and compares
everything each sent back (Date lines aside) and their journals (times aside).
"""
from __future__ import annotations

import asyncio
import gzip
import socket
import time
from typing import Any, Iterator, Sequence, Union
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from bench import inprocess
from mocks import MOCK, build_app, make_runner
from mocks._thread import MockServer
from mocks import _app, _fastpath
from _helpers import IDS, SPECS, percent_encoded

# A script: bytes to send, a float to sleep that long, INTERIM to read up to an interim answer.
INTERIM = None
Script = Sequence[Union[bytes, float, None]]
SEED = "fastpath"


@pytest.fixture(scope="module")
def pairs() -> Iterator[dict[str, tuple[MockServer, MockServer]]]:
    """Per provider: (with the fast path, without), same keys, no rate limit (the two would count alike,
    but a window turning between them would not)."""
    out = {p: (MockServer(SPECS[p], seed=SEED, rate_limit=False).start(),
               MockServer(SPECS[p], seed=SEED, rate_limit=False, fast_path=False).start()) for p in IDS}
    yield out
    for fast, plain in out.values():
        fast.stop()
        plain.stop()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Calls of aiohttp's `request.read()` by the mock's port: the plain path's body read."""
    counts: dict[int, int] = {}
    read = web.BaseRequest.read

    async def counted(self: web.BaseRequest) -> bytes:
        port = self.transport.get_extra_info("sockname")[1] if self.transport else 0
        counts[port] = counts.get(port, 0) + 1
        return await read(self)

    monkeypatch.setattr(web.BaseRequest, "read", counted)
    return counts


def request(spec: Any, auth: str | None, *, method: str | None = None, target: str | None = None,
            body: bytes | None = None, extra: Sequence[str] = (), close: bool = False, length: bool = True) -> bytes:
    """One request's bytes: the probe unless told otherwise; `length` False: no Content-Length (give one in `extra`)."""
    body = spec.probe.encode() if body is None else body
    lines = [f"{method or spec.probe.method} {target or spec.probe.path} HTTP/1.1", "Host: mock"]
    if auth is not None:
        lines.append(f"{spec.credential.header}: {auth}")
    if spec.probe.content_type:
        lines.append(f"Content-Type: {spec.probe.content_type}")
    lines += list(extra)
    if length:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def play(base_url: str, script: Script) -> bytes:
    """Play a script on one connection; everything the mock sent until it closed, Date lines left out."""
    parts = urlsplit(base_url)
    assert parts.hostname == "127.0.0.1"
    got = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        for step in script:
            if isinstance(step, bytes):
                try:
                    sock.sendall(step)
                except (BrokenPipeError, ConnectionResetError):
                    break  # the mock answered and closed before taking all of it (its answer is read below)
            elif isinstance(step, float):
                time.sleep(step)
            else:
                while b"\r\n\r\n" not in got:
                    chunk = sock.recv(65536)
                    assert chunk, "closed before an interim answer"
                    got += chunk
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    return b"\r\n".join(line for line in got.split(b"\r\n") if not line.startswith(b"Date: "))


def journal(server: MockServer) -> list[dict[str, Any]]:
    """The journal, times left out."""
    return [{k: v for k, v in e.items() if k != "time"} for e in server.entries()]


def scripts(spec: Any, key: str) -> dict[str, Script]:
    """The requests the two paths must answer alike, by name."""
    valid, wrong = spec.credential.render(key), spec.credential.render(key[:-1] + ("1" if key[-1] == "0" else "0"))
    body = spec.probe.encode() or b'{"a": 1}'
    other = "PATCH"
    big = b"x" * (_app.MAX_BODY + 1)
    return {
        "valid": [request(spec, valid, close=True)],
        "wrong key": [request(spec, wrong, close=True)],
        "missing header": [request(spec, None, close=True)],
        "duplicate header": [request(spec, valid, extra=[f"{spec.credential.header}: {valid}"], close=True)],
        "query string": [request(spec, valid, target=spec.probe.path + "?page=1&x=%41", close=True)],
        "key in the query": [request(spec, None, target=f"{spec.probe.path}?api_key={key}", close=True)],
        "other method": [request(spec, valid, method=other, close=True)],
        "HEAD": [request(spec, valid, method="HEAD", body=b"", close=True)],
        "percent-encoded path": [request(spec, valid, target=percent_encoded(spec.probe.path), close=True)],
        "path that starts like the probe": [request(spec, valid, target=spec.probe.path + "x", close=True)],
        "Expect: 100-continue": [request(spec, valid, body=b"", extra=["Expect: 100-continue", f"Content-Length: {len(body)}"],
                                         length=False, close=True), INTERIM, body],
        "gzip body": [request(spec, valid, body=gzip.compress(body), extra=["Content-Encoding: gzip"], close=True)],
        "gzip body, wrong key": [request(spec, wrong, body=gzip.compress(body), extra=["Content-Encoding: gzip"], close=True)],
        "gzip that does not decode": [request(spec, valid, body=b"\x1f\x8bnot gzip", extra=["Content-Encoding: gzip"], close=True)],
        "unsupported coding": [request(spec, valid, extra=["Content-Encoding: br"], close=True)],
        "gzip over the limit once decoded": [request(spec, valid, body=gzip.compress(big), extra=["Content-Encoding: gzip"],
                                                     close=True)],
        "oversized body": [request(spec, valid, body=big, close=True)],
        "oversized body, no key": [request(spec, None, body=big, close=True)],
        "chunked body": [request(spec, valid, body=b"", length=False, close=True,
                                 extra=["Transfer-Encoding: chunked"]) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)],
        "slow body": [request(spec, valid, body=body)[:-1], 0.3, body[-1:], request(spec, valid, close=True)],
        "pipelined": [b"".join([request(spec, valid), request(spec, wrong), request(spec, None),
                                request(spec, valid, target=spec.probe.path + "?q=1"), request(spec, valid, method=other),
                                request(spec, valid, body=gzip.compress(body), extra=["Content-Encoding: gzip"]),
                                request(spec, valid, target=percent_encoded(spec.probe.path), close=True)])],
        "bad request line": [b"GET /a b c HTTP/1.1\r\nHost: mock\r\n\r\n"],
    }


@pytest.mark.parametrize("provider", IDS)
def test_fast_and_plain_paths_answer_and_journal_alike(pairs: dict[str, tuple[MockServer, MockServer]],
                                                       reads: dict[int, int], provider: str) -> None:
    """Every script: the same bytes back (status, headers, body, interim answers, pipelined order) and the same journal."""
    spec = SPECS[provider]
    fast, plain = pairs[provider]
    key = fast.keys()["valid"]
    assert plain.keys() == fast.keys()
    for name, script in scripts(spec, key).items():
        fast.reset()
        plain.reset()
        got = play(fast.base_url, script), play(plain.base_url, script)
        assert got[0] == got[1], (name, got[0][:300], got[1][:300])
        assert got[0].startswith(b"HTTP/1."), (name, got[0][:100])
        assert journal(fast) == journal(plain), name
    # The fast path was in use: the plain mock read every body with request.read(); the fast one
    # took the whole small bodies from aiohttp's buffer instead.
    fast_port, plain_port = (urlsplit(s.base_url).port for s in (fast, plain))
    assert reads.get(plain_port, 0) > reads.get(fast_port, 0) + 10, reads


@pytest.mark.parametrize("provider", IDS)
def test_valid_probe_takes_no_read_and_no_router_on_the_fast_path(pairs: dict[str, tuple[MockServer, MockServer]],
                                                                  reads: dict[int, int], provider: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe whose body came with its head: answered without request.read() and without the router (and 200)."""
    spec = SPECS[provider]
    fast, plain = pairs[provider]
    resolved: list[str] = []
    for server in (fast, plain):
        router = server.app.router
        resolve = router.resolve

        async def counted(req: web.Request, resolve: Any = resolve, port: int = urlsplit(server.base_url).port) -> Any:
            resolved.append(str(port))
            return await resolve(req)

        monkeypatch.setattr(router, "resolve", counted)
    valid = spec.credential.render(fast.keys()["valid"])
    for server in (fast, plain):
        answer = play(server.base_url, [request(spec, valid, close=True)])
        assert answer.startswith(f"HTTP/1.1 {spec.probe.success.status} ".encode()), answer[:60]
    fast_port, plain_port = (urlsplit(s.base_url).port for s in (fast, plain))
    assert resolved == [str(plain_port)]
    # A GET without a body has no buffer to take: it is read (instantly) as on the plain path.
    assert reads.get(fast_port, 0) == (0 if spec.probe.encode() else 1) and reads[plain_port] == 1, reads


# -- the fallbacks: aiohttp's internals not as expected -------------------------------------------
class _NoBuffer:
    """A request body reader as an aiohttp that renamed its buffer would hand it: no `_buffer`."""

    def __init__(self, reader: Any):
        self.reader = reader

    def is_eof(self) -> bool:
        """As the real reader."""
        return bool(self.reader.is_eof())


@pytest.mark.parametrize("provider", IDS)
def test_a_reader_without_the_buffer_falls_back_to_read(pairs: dict[str, tuple[MockServer, MockServer]],
                                                        reads: dict[int, int], provider: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`request.content` without `_buffer`: every body is read with request.read(), answers unchanged."""
    monkeypatch.setattr(web.BaseRequest, "content", property(lambda self: _NoBuffer(self._payload)))
    spec = SPECS[provider]
    fast, plain = pairs[provider]
    key = fast.keys()["valid"]
    chosen = ("valid", "wrong key", "gzip body", "pipelined", "oversized body")
    every = scripts(spec, key)
    for name in chosen:
        fast.reset()
        plain.reset()
        before = reads.get(urlsplit(fast.base_url).port, 0)
        got = play(fast.base_url, every[name]), play(plain.base_url, every[name])
        assert got[0] == got[1] and got[0].startswith(b"HTTP/1.1 "), name
        assert journal(fast) == journal(plain), name
        assert reads.get(urlsplit(fast.base_url).port, 0) > before, name  # the fallback read it


def test_a_server_without_request_handler_is_left_alone() -> None:
    """No `request_handler` to replace: nothing is installed, nothing is set."""

    class Server:
        """A low-level server whose aiohttp calls its handler something else."""

    server = Server()
    assert _fastpath.install(build_app("claid"), server) == _fastpath.Installed(False, False)
    assert not vars(server)


def test_a_reader_that_keeps_its_body_elsewhere_turns_the_buffered_body_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a fed and ended StreamReader does not give its chunks back as expected (or cannot be made as before),
    only direct dispatch stays on, and the probe still answers (read with request.read())."""
    import aiohttp.streams

    class Elsewhere:
        """A reader that keeps its chunks under another name."""

        def __init__(self, protocol: Any, limit: int, *, loop: Any = None):
            self.chunks: list[bytes] = []

        def feed_data(self, data: bytes) -> None:
            """Keep a chunk."""
            self.chunks.append(data)

        def feed_eof(self) -> None:
            """The end."""

        def is_eof(self) -> bool:
            """Always at the end."""
            return True

    class NewSignature:
        """A reader made another way (its constructor takes other arguments)."""

        def __init__(self, protocol: Any) -> None:
            self.protocol = protocol

    monkeypatch.setattr(aiohttp.streams, "StreamReader", Elsewhere)
    assert not _fastpath.buffer_readable()
    monkeypatch.setattr(aiohttp.streams, "StreamReader", NewSignature)
    assert not _fastpath.buffer_readable()
    monkeypatch.undo()
    assert _fastpath.buffer_readable()

    async def run() -> tuple[_fastpath.Installed, bytes]:
        app = build_app("claid", seed=SEED)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(aiohttp.streams, "StreamReader", Elsewhere)
                installed = _fastpath.install(app, runner.server)
            spec = app[MOCK].spec
            return installed, await _in_memory(runner, request(spec, spec.credential.render(app[MOCK].keys()["valid"]), close=True))
        finally:
            await runner.cleanup()

    installed, answer = asyncio.run(run())
    assert installed == _fastpath.Installed(True, False)
    assert answer.startswith(f"HTTP/1.1 {SPECS['claid'].probe.success.status} ".encode()), answer[:60]


# -- what the fast path relies on, pinned against the installed aiohttp ---------------------------
class _Transport(inprocess._Transport):
    """bench/inprocess.py's in-memory transport, keeping what the server writes."""

    def __init__(self) -> None:
        super().__init__()
        self.data = b""

    def write(self, data: Any) -> None:
        super().write(data)
        self.data += bytes(data)


async def _in_memory(runner: web.AppRunner, *pieces: bytes, answers: int = 1) -> bytes:
    """Feed the pieces to a new connection of the runner's server (one event-loop turn apart); what it wrote."""
    assert runner.server is not None
    protocol = runner.server()
    transport = _Transport()
    protocol.connection_made(transport)
    for piece in pieces:
        protocol.data_received(piece)
        await asyncio.sleep(0)
    deadline = time.monotonic() + 5
    while transport.data.count(b"HTTP/1.1 ") < answers and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    protocol.connection_lost(None)
    return transport.data


def test_aiohttp_hands_requests_to_a_replaced_request_handler() -> None:
    """Both shortcuts install on this aiohttp, and a connection made afterwards calls the replaced handler."""

    async def run() -> tuple[_fastpath.Installed, list[str], bytes]:
        app = build_app("claid", seed=SEED)
        runner = await make_runner(app)
        seen: list[str] = []
        dispatch = runner.server.request_handler  # type: ignore[union-attr]

        def spy(req: web.BaseRequest) -> Any:
            seen.append(req.raw_path)
            return dispatch(req)

        runner.server.request_handler = spy  # type: ignore[union-attr]
        spec = app[MOCK].spec
        try:
            answer = await _in_memory(runner, request(spec, None, close=True))
        finally:
            await runner.cleanup()
        return _fastpath.install(build_app("claid"), web.Server(spy)), seen, answer

    installed, seen, answer = asyncio.run(run())
    assert installed == _fastpath.Installed(True, True)
    assert seen == [SPECS["claid"].probe.path] and answer.startswith(b"HTTP/1.1 401 "), answer[:60]


@pytest.mark.parametrize("pieces, body", [
    ([b"POST /x HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\n\r\nhello"], b"hello"),
    ([b"POST /x HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\n\r\nhe", b"llo"], b"hello"),
    ([b"POST /x HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"], b"hello"),
    ([b"POST /x HTTP/1.1\r\nHost: m\r\nContent-Length: 0\r\n\r\n"], b""),
    ([b"GET /x HTTP/1.1\r\nHost: m\r\n\r\n"], b""),
], ids=["with its head", "in two pieces", "chunked", "empty", "no body"])
def test_a_whole_body_is_in_aiohttps_buffer_as_read_would_give_it(pieces: list[bytes], body: bytes) -> None:
    """At the handler, a body that has arrived whole is at EOF, in `_buffer` from offset 0, exactly what
    request.read() returns (the content codings left as sent)."""
    seen: list[tuple[bytes | None, bytes]] = []

    async def handler(req: web.Request) -> web.Response:
        peeked = _fastpath.buffered_body(req)
        seen.append((peeked, await req.read()))
        return web.Response(text="ok")

    async def run() -> bytes:
        app = web.Application()
        app.router.add_route("*", "/x", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, auto_decompress=False)
        await runner.setup()
        try:
            return await _in_memory(runner, *pieces)
        finally:
            await runner.cleanup()

    assert asyncio.run(run()).startswith(b"HTTP/1.1 200 ")
    [(peeked, read)] = seen
    assert read == body
    # No body or an empty one: aiohttp's empty reader (no buffer), read the plain way; b"" would be right too.
    assert peeked == body or (peeked is None and not body), peeked


def test_a_body_still_arriving_is_not_peeked_and_a_peeked_one_does_not_spill_into_the_next_request() -> None:
    """Half a body at the handler: None (read it). Pipelined bodies left unread: each request gets its own."""
    seen: list[bytes | None] = []

    async def handler(req: web.Request) -> web.Response:
        seen.append(_fastpath.buffered_body(req))
        return web.Response(text=req.headers.get("X-N", ""))

    async def run() -> tuple[bytes, bytes]:
        app = web.Application()
        app.router.add_route("*", "/x", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, auto_decompress=False)
        await runner.setup()
        try:
            half = await _in_memory(runner, b"POST /x HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nX-N: 0\r\n\r\nhe", answers=1)
            three = b"".join(b"POST /x HTTP/1.1\r\nHost: m\r\nX-N: %d\r\nContent-Length: 3\r\n\r\nb%02d" % (n, n) for n in (1, 2, 3))
            return half, await _in_memory(runner, three, answers=3)
        finally:
            await runner.cleanup()

    half, three = asyncio.run(run())
    assert seen[0] is None and half.startswith(b"HTTP/1.1 200 ")
    assert seen[1:] == [b"b01", b"b02", b"b03"]
    assert [part.rsplit(b"\r\n\r\n", 1)[-1][:1] for part in three.split(b"HTTP/1.1 ")[1:]] == [b"1", b"2", b"3"]


def test_serve_no_fast_path_builds_the_plain_mock() -> None:
    """`serve --no-fast-path` reaches build_app, and make_runner then leaves aiohttp's handler in place."""
    from mocks.__main__ import build_parser
    from mocks._serve import run_options

    parse = build_parser(["serve"]).parse_args
    plain = build_app("claid", **run_options(parse(["serve", "claid", "--no-fast-path"])))
    fast = build_app("claid", **run_options(parse(["serve", "claid"])))
    assert (plain[_app.FAST_PATH], fast[_app.FAST_PATH]) == (False, True)

    async def handlers() -> list[str]:
        names = []
        for app in (plain, fast):
            runner = await make_runner(app)
            names.append(runner.server.request_handler.__qualname__)  # type: ignore[union-attr]
            await runner.cleanup()
        return names

    assert asyncio.run(handlers()) == ["Application._handle", "install.<locals>.dispatch"]
