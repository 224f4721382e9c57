"""The probe's fast path: the answers mocks/_app.py gives, for less CPU, on aiohttp internals.

mocks/_app.py uses aiohttp's public API only. The probe (the request a benchmark races against a
bare handler, and the one clients send most) gets two shortcuts here, each on an aiohttp internal
no public API offers, each checked before use and falling back to the plain path when aiohttp's
internals are not as expected. `build_app(fast_path=False)` or `serve --no-fast-path` leaves
this module out (mocks/_serve.py `make_runner` installs it).

1. Direct dispatch. aiohttp's low-level server (`web.Server`) hands every request to its
   `request_handler` attribute, which each connection's RequestHandler copies when the
   connection is made; the application's is `Application._handle`: aiohttp's router resolves the
   match (then ours, mocks/_routes.py, picks the operation), freezes the match info, answers
   `Expect: 100-continue` (RFC 9110 §10.1.1) and runs middlewares (the mock has none). For the
   probe's method and exact path (a query allowed) both routers pick the probe's decider, so
   `install` sets a dispatcher in front that calls it directly. Anything else goes through the
   application: another method or path, a percent-encoded probe path (the router matches the
   decoded path, RFC 3986 §2.1; this compares the target as sent), a request with an Expect field.
   Relies on: `web.Server.request_handler` exists, is read by each new connection, and may be
   replaced before the first one; and the probe's handler needs nothing `_handle` sets (it reads
   no `match_info`, the app has no middleware and no `on_response_prepare` signal). Checked: the
   attribute is there and callable, else not installed; were it no longer read, the probe would
   simply be routed.
2. The buffered body. `await request.read()` consumes aiohttp's StreamReader: a coroutine, and a
   read that makes aiohttp resume the transport and re-run its parser. A small body has usually
   arrived whole with its head; then the reader is at EOF, its `_buffer` deque holds the body's
   chunks and `_buffer_offset` is 0 (nothing read yet), and the body is joined from there and
   handed to the probe's `answer` (mocks/_app.py, which bounds it by MAX_BODY and undoes content
   codings as for any body). aiohttp drops an unread body when the handler returns: the reader is
   at EOF, so there is nothing to linger for, and the next pipelined request parses as usual.
   Not at EOF (a slow or large body), no body (aiohttp's empty reader has no buffer), or the
   attributes missing: the plain `read()`. Checked at install: a StreamReader fed two chunks and
   its EOF must give them back joined, else this shortcut is off.

Measured with `python -m bench cpu` (in memory, no sockets, requests pipelined 100 at a time;
best of 15 rounds): the mock spends 30-36 us per request with this module and 44-51 us without
it (a bare aiohttp handler: 27-30 us), about half of the 14-15 us saved by each shortcut (direct
dispatch alone: 39-42 us). bench/inprocess.py measures the mock without it in every run (its
column `mock us (no fast path, best)`). tests/test_fastpath.py sends the same requests both ways
and compares the answers and journals, takes each internal away to run the fallbacks, and pins
each internal named above against the installed aiohttp.
"""
from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from aiohttp import web

from ._app import PROBE_ROUTE, ProbeRoute


class Installed(NamedTuple):
    """Which shortcuts `install` put in place (False: aiohttp's internals were not as expected)."""

    dispatch: bool
    buffered_body: bool


def buffered_body(request: web.BaseRequest) -> bytes | None:
    """The body when aiohttp already holds all of it and none has been read, else None (read it)."""
    payload = request.content
    if not payload.is_eof():
        return None
    try:
        chunks, offset = payload._buffer, payload._buffer_offset  # type: ignore[attr-defined]
    except AttributeError:
        return None  # aiohttp's empty reader (no body), or internals renamed
    if offset:
        return None
    if not chunks:
        return b""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def buffer_readable() -> bool:
    """Whether this aiohttp's StreamReader keeps a whole unread body as `buffered_body` reads it."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    loop = running or asyncio.new_event_loop()  # kept, never run, by a reader that is never awaited
    try:
        from aiohttp.streams import StreamReader

        reader = StreamReader(_Protocol(), 2**16, loop=loop)  # type: ignore[arg-type]
        reader.feed_data(b"ab")
        reader.feed_data(b"cd")
        reader.feed_eof()
        return buffered_body(_Request(reader)) == b"abcd"  # type: ignore[arg-type]
    except Exception:  # any change in aiohttp's internals: the plain read
        return False
    finally:
        if running is None:
            loop.close()


class _Protocol:
    """Just enough of a protocol for a StreamReader that is fed and ended: reading never paused."""

    _reading_paused = False

    def pause_reading(self) -> None:
        """Nothing to pause."""

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to resume."""


class _Request:
    """Just enough of a request for `buffered_body`: its `content`."""

    def __init__(self, content: Any):
        self.content = content


def install(app: web.Application, server: Any) -> Installed:
    """Put the probe's fast path in front of `server` (the app's, set up; before it serves)."""
    route: ProbeRoute = app[PROBE_ROUTE]
    routed = getattr(server, "request_handler", None)
    if not callable(routed):
        return Installed(False, False)
    method, probe, plain, answer = route
    with_query = probe + "?"
    peek = buffer_readable()

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        """The probe's method and exact path to the probe's handler, its body from aiohttp's buffer
        when whole; anything else to the application."""
        target = request.raw_path
        if (target == probe or target.startswith(with_query)) and request.method == method and "Expect" not in request.headers:
            body = buffered_body(request) if peek else None
            if body is not None:
                return answer(request, body, None)  # type: ignore[arg-type]
            return await plain(request)  # type: ignore[arg-type]
        return await routed(request)

    server.request_handler = dispatch
    return Installed(True, peek)
