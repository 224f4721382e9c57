"""The mock as an aiohttp application: every path under the API base authenticated, then routed
(the probe, the spec's routes, 405, not_found); the exchange route; the admin API.

Only aiohttp's public API here: a handler reads a body with `await request.read()` (bounded by
the application's client_max_size) and every request is routed by the application. Speed still
matters (a benchmark races the mock against a bare handler), so each route is one plain handler
with no middleware, answers are bytes built at start-up, and the journal keeps raw data. What
needs aiohttp's internals to go faster (the probe straight to its handler, a body taken from
aiohttp's buffer) is mocks/_fastpath.py beside this, switched off by `build_app(fast_path=False)`
or `serve --no-fast-path`, and answers the same.
"""
from __future__ import annotations

import hmac
import json
import operator
import socket
import struct
import time
from typing import Any, Awaitable, Callable, Iterable, NamedTuple

from aiohttp import web
from aiohttp.hdrs import CONTENT_ENCODING

from specs import ADMIN_HEADER, ADMIN_PREFIX, ProviderSpec, get_spec

from ._admin_input import MINT_SHAPE, AdminInputError, json_object, mint_args
from ._admin_input import since as journal_since
from ._body import ACCEPT_ENCODING, BodyProblem, BodyReader, decode
from ._decide import Head, Plan, compile_plan, judged
from ._defects import check_defects
from ._journal import DEFAULT_LIMIT, DEFAULT_MAX_BYTES, REFUSED_ADMIN, REFUSED_PARSER, Journal
from ._keys import Key, KeyStore
from ._protocol import BodyTimeout
from ._ratelimit import FixedWindow
from ._responses import JSON, Decision
from ._scenarios import Scenario, ScenarioRun, parse_scenario

# ADMIN_PREFIX (specs/_contract.py) is reserved for the admin API: never protected; journaled only
# when refused. With an admin secret set (`build_app(admin_secret=...)`, the gate always sets one),
# an admin call must carry it in ADMIN_HEADER: the client the gate judges never sees it, so nothing
# it sends can mint, expire or revoke keys, change the scenario, or clear the journal the gate
# reads. A call without it is answered 403 and journaled like any client request, with
# outcome.refused_by "admin_secret" (mocks/_journal.py), so the gate judges it (`client.no_admin`).
# aiohttp's own default (client_max_size), said once so that a body peeked at (mocks/_fastpath.py)
# is bounded alike.
MAX_BODY = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# aiohttp decodes header bytes as UTF-8 with surrogateescape; this gives the bytes back (in C).
_raw_bytes = operator.methodcaller("encode", "utf-8", "surrogateescape")


class MockState:
    """One provider mock's state: spec, compiled plan, key store, journal, scenario counters."""

    def __init__(
        self,
        spec: ProviderSpec,
        defects: Iterable[str] = (),
        scenario: Scenario | str | None = None,
        seed: str | int | None = None,
        journal_limit: int = DEFAULT_LIMIT,
        rate_limit: bool = True,
        journal_bytes: int = DEFAULT_MAX_BYTES,
        admin_secret: str | None = None,
    ):
        self.spec = spec
        # Bytes, compared with hmac.compare_digest (constant time); None: the admin API is open.
        self.admin_secret = admin_secret.encode("utf-8") if admin_secret else None
        self.defects = check_defects(spec, defects)
        self.plan: Plan = compile_plan(spec, sorted(self.defects))
        self.store = KeyStore(spec, seed=seed)
        if spec.rate_limit is not None and rate_limit:
            self.store.limiter = FixedWindow(spec.rate_limit.requests, spec.rate_limit.window_seconds)
        self.journal = Journal(journal_limit, journal_bytes)
        if isinstance(scenario, str):
            scenario = parse_scenario(scenario)
        self.scenario = scenario
        self.run = ScenarioRun(scenario, spec, self.store) if scenario is not None else None
        # `serve --workers N` (mocks/_workers.py): admin changes and journal reads go through the
        # parent, which applies them to every worker; and this worker's {"index", "pid"}.
        self.relay: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None
        self.worker: dict[str, int] | None = None

    def keys(self) -> dict[str, Any]:
        """The keys by role (and Crux's username and password, Flash's binding)."""
        return self.store.public()

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """The journal, redacted, after sequence number `since`."""
        return self.journal.entries(self.plan, self.store, since)

    def reset(self) -> None:
        """Keys back to the initial set, journal, rate counters and scenario counters cleared."""
        self.store.reset()
        self.journal.clear()
        if self.run is not None:
            self.run.reset()

    def info(self) -> dict[str, Any]:
        """Which provider, defects and scenario this mock runs."""
        return {
            "provider": self.spec.id,
            "defects": sorted(self.defects),
            "scenario": str(self.scenario) if self.scenario else None,
            "probe": {"method": self.spec.probe.method, "path": self.spec.probe.path},
            "exchange": {"method": self.spec.exchange.method, "path": self.spec.exchange.path} if self.spec.exchange else None,
            **({"worker": self.worker} if self.worker is not None else {}),
        }

    def apply(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Apply one admin change (mint, expire, revoke, clear, reset, user_token) here; its JSON answer."""
        return CHANGES[op](self, args)

    async def change(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Apply an admin change to this mock, or with workers to all of them (KeyError/ValueError: why not)."""
        return await self.relay(op, args) if self.relay is not None else self.apply(op, args)

    async def journal_page(self, since: int) -> dict[str, Any]:
        """GET journal's answer: the entries after `since` (of every worker) and how many were dropped."""
        if self.relay is not None:
            return await self.relay("journal", {"since": since})
        return {"entries": self.entries(since), "dropped": self.journal.dropped}

    def refused(self, raw: bytes, remote: str | None) -> None:
        """Journal a request the HTTP parser refused (400) from its raw bytes, read leniently."""
        self.journal.add(refused_head(raw), remote, PARSER_REFUSED, REFUSED_PARSER)

    async def user_token(self) -> Key:
        """The exchange's token; a re-mint goes through every worker first, so all know the new token."""
        if self.relay is not None and self.store.roles["valid"].state != "valid":
            await self.relay("user_token", {})
        return self.store.user_token()


# A request aiohttp's parser refused never reaches a route: its answer was the parser's plain 400.
PARSER_REFUSED = Decision(None, None, 400, (("Content-Type", "text/plain"),), b"400 Bad Request\n")


def refused_head(raw: bytes) -> Head:
    """A refused request's parts as far as they can be read: request line, field lines up to the
    first empty line (CRLF or bare LF), the rest as body; a line without a colon is a value with no name."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    first, *lines = head.split(b"\n")
    parts = first.split(b" ")
    method = parts[0].decode("latin-1") if parts and parts[0] else "?"
    target = parts[1].decode("utf-8", "backslashreplace") if len(parts) > 1 else "?"
    fields = []
    for line in lines:
        name, colon, value = line.partition(b":")
        fields.append((name.strip(), value.strip(b" \t")) if colon else (b"", line))
    return Head(method, target, tuple(fields), body)


def _mint(state: MockState, args: dict[str, Any]) -> dict[str, Any]:
    key = state.store.mint(args.get("state", "valid"), args.get("scopes"), args.get("binding"), args.get("kind"))
    return {"id": key.id, "key": key.value, "state": key.state, "scopes": list(key.scopes), "binding": key.binding, "kind": key.kind}


def _set_state(new_state: str) -> Callable[[MockState, dict[str, Any]], dict[str, Any]]:
    def change(state: MockState, args: dict[str, Any]) -> dict[str, Any]:
        key = state.store.set_state(args["id"], new_state)
        return {"id": key.id, "state": key.state}

    return change


def _reset(state: MockState, args: dict[str, Any]) -> dict[str, Any]:
    state.reset()
    return {"reset": True, "keys": state.keys()}


# The admin changes, by operation (MockState.apply); with workers, each goes to the parent and from
# it to every worker (mocks/_workers.py).
CHANGES: dict[str, Callable[[MockState, dict[str, Any]], dict[str, Any]]] = {
    "mint": _mint,
    "expire": _set_state("expired"),
    "revoke": _set_state("revoked"),
    "clear": lambda state, args: {"cleared": state.journal.clear()},
    "reset": _reset,
    "user_token": lambda state, args: {"id": state.store.user_token().id},
}


MOCK = web.AppKey("authconform_mock", MockState)
# Whether `serve` (mocks/_serve.py make_runner) puts mocks/_fastpath.py in front of the application.
FAST_PATH = web.AppKey("authconform_fast_path", bool)
# The body of a request as the handler has it: the bytes as sent, and None; or b"" and the name of
# the answer when they could not be had (`too_large`, `timeout`).
Sent = tuple[bytes, "str | None"]
Answer = Callable[[web.Request, bytes, "str | None"], web.StreamResponse]


class ProbeRoute(NamedTuple):
    """The probe's method and path, and its handler in two halves: `handler` reads the body
    (`read_sent`) and hands it to `answer`, which decides, journals and answers. mocks/_fastpath.py
    calls `answer` itself when aiohttp already holds the whole body."""

    method: str
    path: str
    handler: Handler
    answer: Answer


PROBE_ROUTE = web.AppKey("authconform_probe_route", ProbeRoute)


def build_app(
    spec: ProviderSpec | str,
    *,
    defects: Iterable[str] = (),
    scenario: Scenario | str | None = None,
    seed: str | int | None = None,
    journal_limit: int = DEFAULT_LIMIT,
    rate_limit: bool = True,
    journal_bytes: int = DEFAULT_MAX_BYTES,
    admin_secret: str | None = None,
    fast_path: bool = True,
) -> web.Application:
    """An aiohttp application that answers like the provider (ValueError for a bad defect or scenario).

    `rate_limit=False` drops the spec's own limit (benchmarks, long suites); a rate-limit:N
    scenario still applies. The journal keeps the newest `journal_limit` entries within
    `journal_bytes` packed bytes. `admin_secret`: admin calls must carry it in ADMIN_HEADER.
    `fast_path=False`: served without mocks/_fastpath.py (the same answers, more CPU per request).
    """
    if isinstance(spec, str):
        spec = get_spec(spec)
    state = MockState(spec, defects, scenario, seed, journal_limit, rate_limit, journal_bytes, admin_secret)
    app = web.Application(client_max_size=MAX_BODY)
    app[MOCK] = state
    app[FAST_PATH] = fast_path
    _add_admin(app, state)
    probe, exchange = spec.probe.path, spec.exchange.path if spec.exchange else None
    if probe == exchange or probe.startswith(ADMIN_PREFIX) or (exchange or "").startswith(ADMIN_PREFIX):
        raise ValueError(f"{spec.path}: probe and exchange paths must differ and stay out of {ADMIN_PREFIX}")
    # Every other path goes to one handler that authenticates first and routes after (the probe's
    # own path included: another method there may be a route).
    if exchange:
        app.router.add_route("*", exchange, _exchange(state))
    app.router.add_route("*", "/{tail:.*}", _routed(state))
    app[PROBE_ROUTE] = ProbeRoute(spec.probe.method, probe, *_protected(state))
    return app


# -- request bodies ------------------------------------------------------------------------------
async def read_sent(request: web.Request) -> Sent:
    """The request body as sent (content codings not undone): aiohttp reads it whole, refusing one
    over the application's client_max_size (MAX_BODY) and failing a read whose body stopped
    arriving with BodyTimeout (mocks/_protocol.py)."""
    try:
        return await request.read(), None
    except web.HTTPRequestEntityTooLarge:
        return b"", "too_large"
    except BodyTimeout:
        return b"", "timeout"


def decoded(request: web.Request, sent: bytes) -> Sent:
    """The body with its content codings undone (RFC 9110 §8.4), and None; or what arrived and the
    name of the answer when it cannot be had: `too_large` (over MAX_BODY as sent: b""; once
    decoded: the coded bytes), `unsupported_coding`, `bad_coding`."""
    if len(sent) > MAX_BODY:
        return b"", "too_large"
    codings = request.headers.get(CONTENT_ENCODING) if sent else None
    if codings is None:
        return sent, None
    try:
        return decode(codings, sent, MAX_BODY), None
    except BodyProblem as exc:
        return sent, exc.name


async def _read_body(request: web.Request) -> Sent:
    """The request body with its content codings undone (see read_sent and decoded)."""
    sent, problem = await read_sent(request)
    return (sent, problem) if problem else decoded(request, sent)


async def _body(request: web.Request) -> bytes | None:
    """The request body (decoded), or None when it cannot be had (see _read_body)."""
    body, problem = await _read_body(request)
    return None if problem else body


def _refuse_body(state: MockState, request: web.Request, body: bytes, problem: str,
                 decide: Callable[[Head, KeyStore, float], Decision]) -> web.Response:
    """An authenticated path's request whose body cannot be had (`problem`, see _read_body).

    Over MAX_BODY as sent (`too_large`, no body kept): refused before auth, as a server's size
    limit is (RFC 9110 §15.5.14), the journal noting how the credential was judged. Otherwise the
    auth decision (`decide`, the path's decider) still comes first, on the head alone, so a
    request without a valid credential gets its auth failure; one past the credential gets the
    body's answer (413 once decoded, 415, 400 or 408). Journaled either way."""
    plan = state.plan
    if problem == "too_large" and not body:
        head = _head(request, b"")
        too_large = plan.table["too_large"]
        state.journal.add(head, request.remote, judged(too_large, plan.judge_only(head, state.store, time.monotonic())))
        return _respond(too_large)
    d = decide(_head(request, b""), state.store, time.monotonic())
    # Past the credential: a success, or an answer that needed the body (its fields, a binding).
    if (d.klass is None and d.status < 300) or d.klass == "bad_request" or d.variant == "other_binding":
        d = plan.table[problem]._replace(key_id=d.key_id, key_state=d.key_state)
    state.journal.add(_head(request, body), request.remote, d)
    if state.run is not None:
        state.run.after(d)
    response = _respond(d)
    if problem == "timeout":
        response.force_close()
    return response


def _head(request: web.Request, body: bytes) -> Head:
    return Head(request.method, request.raw_path, request.raw_headers, body)


def _respond(d: Decision) -> web.Response:
    return web.Response(body=d.body, status=d.status, headers=d.headers)


def _reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed upstream would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def _fault(state: MockState, request: web.Request, body: bytes, fault: str) -> web.StreamResponse:
    """flaky:N: a 503 with Retry-After, or a reset connection."""
    head = _head(request, body)
    d = judged(state.plan.table["unavailable"], state.plan.judge_only(head, state.store, time.monotonic()))
    state.journal.add(head, request.remote, None if fault == "reset" else d, fault)
    if fault == "reset":
        # The response below is never sent: aiohttp's write to the aborted transport fails with
        # a ConnectionError, which it treats as a client gone (no log, no traceback).
        _reset_connection(request)
    return _respond(d)


def _protected(state: MockState, routed: bool = False) -> tuple[Handler, Answer]:
    """The handler that decides, journals and answers, and its second half `answer` (the body
    already read): for the probe's decider, or (routed) for the one the router picks by the
    request's method and path."""
    plan, store, journal, run = state.plan, state.store, state.journal, state.run
    select = plan.router.select if routed else None
    credential_header = state.spec.credential.header
    monotonic = time.monotonic

    def answer(request: web.Request, sent: bytes, problem: str | None) -> web.StreamResponse:
        """Decide, journal and answer a request whose body arrived as `sent` (`problem`: why not)."""
        # The operation: the probe's, or the one the request's method and path name, matched on
        # the percent-decoded path as aiohttp's router matches it (RFC 3986 §2.1).
        decide = plan.entry if select is None else select(request.method, request.path)
        headers = request.headers
        # The body within MAX_BODY, its content codings undone (RFC 9110 §8.4); most come small, as sent.
        body = sent
        if problem is None and (len(sent) > MAX_BODY or CONTENT_ENCODING in headers):
            body, problem = decoded(request, sent)
        if problem is not None:
            return _refuse_body(state, request, body, problem, decide)
        if run is not None and (fault := run.fault()) is not None:
            return _fault(state, request, body, fault)
        # The credential's field lines and the Content-Type come from aiohttp's header index; its
        # values are the field bytes decoded as UTF-8 with surrogateescape, so encoding gives the
        # bytes back. Head(method, target, headers, body, credential, content_type) is built by
        # position: keywords cost 0.4 us more on a 31 us request (measured).
        lines = headers.getall(credential_header, ())
        head = Head(
            request.method,
            request.raw_path,
            request.raw_headers,
            body,
            list(map(_raw_bytes, lines)) if lines else (),
            headers.get("Content-Type", ""),
        )
        d = decide(head, store, monotonic())
        journal.add(head, request.remote, d)
        if run is not None:
            run.after(d)
        return web.Response(body=d.body, status=d.status, headers=d.headers)

    async def protected(request: web.Request) -> web.StreamResponse:
        """Authenticate, route, journal, answer."""
        sent, problem = await read_sent(request)
        return answer(request, sent, problem)

    return protected, answer


def _field_bytes(fields: Any, name: str) -> bytes:
    value = fields.get(name) if isinstance(fields, dict) else None
    if value is None:
        return b""
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "surrogateescape")


def _exchange(state: MockState) -> Handler:
    spec, plan, store, journal, run = state.spec, state.plan, state.store, state.journal, state.run
    ex = spec.exchange
    assert ex is not None
    reader = BodyReader(ex.content_type)
    refused = plan.table["invalid.exchange"]
    wrong_method = plan.table["method_not_allowed"]._replace(headers=(("Content-Type", JSON), ("Allow", ex.method)))
    issued: dict[str, Decision] = {}

    async def exchange(request: web.Request) -> web.StreamResponse:
        """The exchange route: username + password -> token, or the documented refusal."""
        body, problem = await _read_body(request)
        if problem is not None:
            d = plan.table[problem]
        elif run is not None and (fault := run.fault()) is not None:
            return _fault(state, request, body, fault)
        elif request.method != ex.method:
            d = wrong_method
        else:
            fields = reader.fields(_head(request, body))
            if store.check_login(_field_bytes(fields, ex.username_field), _field_bytes(fields, ex.password_field)):
                key = await state.user_token()  # with workers, a re-mint reaches them all first
                d = issued.get(key.id)
                if d is None:
                    token = json.dumps({ex.token_field: key.value}, separators=(",", ":")).encode()
                    d = issued[key.id] = Decision(None, None, 200, (("Content-Type", JSON),), token).with_key(key)
            else:
                d = refused
        journal.add(_head(request, body), request.remote, d)
        response = _respond(d)
        if problem == "timeout":
            response.force_close()
        return response

    return exchange


def _routed(state: MockState) -> Handler:
    served, _ = _protected(state, routed=True)

    async def routed(request: web.Request) -> web.StreamResponse:
        """Any path but the exchange's: authenticated, then routed; admin paths stay outside (not
        journaled, unless refused for want of the secret)."""
        if request.path.startswith(ADMIN_PREFIX):
            refused = await _admin_refusal(state, request)
            if refused is not None:
                return refused
            return _error(404, f"no admin route {request.method} {request.path}; see GET {ADMIN_PREFIX}info")
        return await served(request)

    return routed


# -- admin API -------------------------------------------------------------------------------------
def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _body_error(problem: str) -> web.Response:
    """An admin call's answer when its body cannot be had (see _read_body)."""
    if problem == "too_large":
        return _error(413, f"the body is over {MAX_BODY} bytes: {MINT_SHAPE}")
    if problem == "unsupported_coding":
        response = _error(415, f"unsupported Content-Encoding; send the body as is or with one of: {ACCEPT_ENCODING}")
        response.headers["Accept-Encoding"] = ACCEPT_ENCODING
        return response
    if problem == "bad_coding":
        return _error(400, "the body does not decode as its Content-Encoding says")
    response = _error(408, "the rest of the body did not arrive in time")
    response.force_close()
    return response


ADMIN_REFUSED = Decision(None, None, 403, (("Content-Type", JSON),),
                         json.dumps({"error": f"the admin API needs the {ADMIN_HEADER} header"}).encode())


async def _admin_refusal(state: MockState, request: web.Request) -> web.Response | None:
    """None when the admin call may proceed; else its 403, the call journaled as a client request."""
    secret = state.admin_secret
    if secret is None:
        return None
    given = request.headers.get(ADMIN_HEADER)
    # Bytes, constant time: a guess learns nothing from how long the refusal took.
    if given is not None and hmac.compare_digest(_raw_bytes(given), secret):
        return None
    body = await _body(request)
    state.journal.add(_head(request, body or b""), request.remote, ADMIN_REFUSED, REFUSED_ADMIN)
    return _respond(ADMIN_REFUSED)


def _guarded(state: MockState, handler: Handler) -> Handler:
    """An admin handler that first checks the admin secret (see ADMIN_HEADER)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        refused = await _admin_refusal(state, request)
        return refused if refused is not None else await handler(request)

    guarded.__doc__ = handler.__doc__
    return guarded


async def _changed(state: MockState, op: str, args: dict[str, Any]) -> web.Response:
    """An admin change's answer: its JSON, 404 for an unknown key, 400 for a refused change."""
    try:
        return web.json_response(await state.change(op, args))
    except KeyError as exc:
        return _error(404, exc.args[0])
    except ValueError as exc:
        return _error(400, str(exc))
    except ConnectionError as exc:  # serve --workers: the parent or a worker could not take it
        return _error(503, str(exc))


def _add_admin(app: web.Application, state: MockState) -> None:
    r = app.router

    async def get_keys(request: web.Request) -> web.Response:
        """GET keys: the keys by role."""
        return web.json_response(state.keys())

    async def mint_key(request: web.Request) -> web.Response:
        """POST keys: mint a key with a state, scopes, binding, kind."""
        raw, problem = await _read_body(request)
        if problem is not None:
            return _body_error(problem)
        try:
            args = mint_args(json_object(raw))
        except AdminInputError as exc:
            return web.json_response(exc.answer(), status=400)
        return await _changed(state, "mint", args)

    def set_state(op: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            """POST keys/{id}/expire|revoke."""
            return await _changed(state, op, {"id": request.match_info["id"]})

        return handler

    async def get_journal(request: web.Request) -> web.Response:
        """GET journal[?since=SEQ]: the entries, redacted."""
        try:
            since = journal_since(request.query)
        except AdminInputError as exc:
            return web.json_response(exc.answer(), status=400)
        try:
            return web.json_response(await state.journal_page(since))
        except ConnectionError as exc:
            return _error(503, str(exc))

    async def clear_journal(request: web.Request) -> web.Response:
        """DELETE journal."""
        return await _changed(state, "clear", {})

    async def reset(request: web.Request) -> web.Response:
        """POST reset: keys, journal, counters back to the start."""
        return await _changed(state, "reset", {})

    async def info(request: web.Request) -> web.Response:
        """GET info: provider, defects, scenario, routes."""
        return web.json_response(state.info())

    p = ADMIN_PREFIX
    g = lambda handler: _guarded(state, handler)  # noqa: E731 - every admin route checks the secret
    r.add_get(p + "keys", g(get_keys), allow_head=False)
    r.add_post(p + "keys", g(mint_key))
    r.add_post(p + "keys/{id}/expire", g(set_state("expire")))
    r.add_post(p + "keys/{id}/revoke", g(set_state("revoke")))
    r.add_get(p + "journal", g(get_journal), allow_head=False)
    r.add_delete(p + "journal", g(clear_journal))
    r.add_post(p + "reset", g(reset))
    r.add_get(p + "info", g(info), allow_head=False)
