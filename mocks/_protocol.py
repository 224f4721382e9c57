"""A request handler whose error answers never quote the request.

aiohttp's HTTP parser answers a malformed request with a 400 whose body is the parser's message,
and that message quotes the offending header line: `Invalid header value char:
b'Authorization: Bearer <the key>\\x01'`. It also logs the exception, key included. A mock that
judges clients on never leaking a credential must not leak one itself, so its error answers carry
the status phrase only and its log names the exception type, never its text.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from http import HTTPStatus
from typing import Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("authconform.mock")

# A request head that has not arrived whole this long after its first byte (or after the
# connection opened) closes the connection: a client trickling a head a byte a second must not
# hold a slot for aiohttp's hour-long keep-alive timeout.
HEAD_TIMEOUT = 10.0
# A declared body is waited for with progress, not by the clock alone: it times out when no byte
# of it has come for BODY_IDLE seconds (a body that never arrives), or when it is still coming
# BODY_TOTAL seconds after its head (a slow but live 1 MiB upload gets 2 minutes, ~8.5 KiB/s).
BODY_IDLE = 10.0
BODY_TOTAL = 120.0
# Bytes asked of the socket per read. asyncio asks 256 KiB, a size glibc serves with a fresh mmap
# (and the kernel zeroes and unmaps) on every read: measured 17 us per read here against 2.5 us
# for 64 KiB, which the heap serves. A larger request is read in several 64 KiB reads.
READ_SIZE = 64 * 1024
# Bytes of a request the HTTP parser refused that are handed on to be journaled (redacted there):
# a head is at most a few KiB (aiohttp refuses lines over 8 KiB), the rest is not needed to judge it.
REFUSED_KEEP = 16 * 1024
# Called with the raw bytes of a request the parser refused (its segment) and the peer address.
Refused = Callable[[bytes, "str | None"], None]


class BodyTimeout(asyncio.TimeoutError):
    """The rest of a request body did not arrive in time (set on its payload: a read raises it)."""


class QuietRequestHandler(RequestHandler):
    """aiohttp's RequestHandler, with error responses and logs that quote nothing of the request,
    and a deadline for request heads."""

    head_timeout = HEAD_TIMEOUT
    body_idle = BODY_IDLE
    body_total = BODY_TOTAL
    _waiting_since: float | None = None
    # The payload of the request whose body is being received, when its head came, its last byte.
    _body: StreamReader | None = None
    _body_since = 0.0
    _body_moved = 0.0
    _head_check: asyncio.TimerHandle | None = None
    # The bytes of the head being received (kept only while it is incomplete) and of the data that
    # completed the last message: what a parser refusal is journaled with.
    _partial = b""
    _last_data = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the head deadline (the first request head is awaited from now); read in READ_SIZE pieces."""
        super().connection_made(transport)
        if hasattr(transport, "max_size"):  # asyncio's selector socket transport (not TLS's)
            transport.max_size = READ_SIZE  # type: ignore[attr-defined]
        self._waiting_since = self._loop.time()
        self._head_check = self._loop.call_later(self.head_timeout, self._check_head)

    def data_received(self, data: bytes) -> None:
        """Parse as aiohttp does; a completed head clears the head deadline and starts the body's (if
        one is declared), bytes of a body are its progress, the first bytes of another head set it."""
        count = self._request_count
        body = self._body
        super().data_received(data)
        if self._request_count != count:
            self._waiting_since = None
            self._last_data = self._partial + data if self._partial else data
            self._partial = b""
            payload = self._messages[-1][1] if self._messages else None
            if payload is not None and not payload.is_eof():  # aiohttp's empty payload is at EOF
                self._body_began(payload)
            else:
                self._body = None
        elif body is not None:
            if body.is_eof():
                self._body = None
            else:
                self._body_moved = self._loop.time()
        else:
            if self._waiting_since is None:
                self._waiting_since = self._loop.time()
            if len(self._partial) < REFUSED_KEEP:
                self._partial += data[: REFUSED_KEEP - len(self._partial)]

    def _body_began(self, payload: StreamReader) -> None:
        """Wait for the rest of the newest request's body; the deadline check runs by its idle bound."""
        self._body = payload
        self._body_since = self._body_moved = self._loop.time()
        if self._head_check is not None and self._head_check.when() > self._body_since + self.body_idle:
            self._head_check.cancel()
            self._head_check = self._loop.call_later(self.body_idle, self._check_head)

    def _check_head(self) -> None:
        """The deadlines: a head not whole in time closes the connection; a body that stopped coming
        (or runs past its total) fails its reads with BodyTimeout, which the handler answers 408."""
        since = self._waiting_since
        now = self._loop.time()
        if since is not None and now - since >= self.head_timeout:
            if self.transport is not None:
                self.transport.close()
            return
        delay = self.head_timeout if since is None else self.head_timeout - (now - since)
        body = self._body
        if body is not None:
            if body.is_eof():
                self._body = None
            elif self._reading_paused:
                self._body_moved = now  # the mock stopped reading (its buffer is full), not the client
            elif now - self._body_moved >= self.body_idle or now - self._body_since >= self.body_total:
                self._body = None
                body.set_exception(BodyTimeout())
            else:
                delay = min(delay, self.body_idle - (now - self._body_moved), self.body_total - (now - self._body_since))
        self._head_check = self._loop.call_later(max(delay, 0.25), self._check_head)

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop the head deadline with the connection."""
        if self._head_check is not None:
            self._head_check.cancel()
            self._head_check = None
        if self._request_count == 0 and not self._partial and isinstance(self._manager, QuietServer):
            self._manager.silent += 1  # closed without a byte of a request (see QuietServer)
        super().connection_lost(exc)

    def _client_gone(self, exc: BaseException) -> bool:
        """Whether a handler's exception is the client's disconnect: a ConnectionError with the
        connection lost or closing (aiohttp cancels a pending body read with ConnectionResetError)."""
        transport = self.transport
        return isinstance(exc, ConnectionError) and (transport is None or transport.is_closing())

    def handle_error(self, request, status=500, exc=None, message=None):  # type: ignore[no-untyped-def]
        """A plain-text `400 Bad Request` (or other status phrase), closing the connection."""
        if status >= 500 and exc is not None:
            if self._client_gone(exc):
                # The client closed mid-request (mid-body, say): nothing broke in the mock and there
                # is no one to answer. One debug line, never a traceback per connection.
                log.debug("client closed the connection mid-request (%s)", type(exc).__name__)
            else:
                # The frames say where the mock broke; the message could hold request bytes, so it is left out.
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error("mock error %s answering a request:\n%s", type(exc).__name__, frames)
        if isinstance(exc, HttpProcessingError):
            # The parser refused the request before any route saw it: hand its bytes on, so that
            # the journal (and the gate) know a request came and what it looked like.
            refused: Refused | None = getattr(self._manager, "refused", None)
            if refused is not None:
                refused(self._last_data[:REFUSED_KEEP], request.remote)
            self._last_data = b""
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        resp = web.Response(status=status, text=f"{status} {phrase}\n", content_type="text/plain")
        resp.force_close()
        return resp


class QuietServer(web.Server):
    """aiohttp's low-level Server making QuietRequestHandlers; it counts connections accepted and
    connections made: over TLS, a handler is made when the socket is accepted and told of the
    connection only once the handshake completed, so the difference is the handshakes that failed."""

    refused: Refused | None = None
    accepted = 0
    connected = 0
    # Connections closed without a byte of a request: over TLS, a client that checks the
    # certificate after the handshake (GnuTLS's wget) and gives up leaves only this trace.
    silent = 0

    def __call__(self) -> RequestHandler:
        self.accepted += 1
        return QuietRequestHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        """Count the connection (past its TLS handshake), then as aiohttp does."""
        self.connected += 1
        super().connection_made(handler, transport)


def unused_connections(runner: web.AppRunner) -> tuple[int, int]:
    """(TLS handshakes that never completed, connections closed before any request byte)."""
    server = runner.server
    if not isinstance(server, QuietServer):
        return 0, 0
    return server.accepted - server.connected, server.silent


def quieten(runner: web.AppRunner, refused: Refused | None = None) -> None:
    """Make a set-up runner's server answer errors with QuietRequestHandler (before sites start);
    `refused(raw, remote)` is told of every request the HTTP parser refuses."""
    server = runner.server
    if server is not None and type(server) is web.Server:
        server.__class__ = QuietServer
    if isinstance(server, QuietServer):
        server.refused = refused
