"""Cases from a spec: one positive case (and the RFC-equivalent forms the spec allows) and one or
more per failure class the provider has. Nothing provider-specific: every case comes from the spec.

A case id is `provider.failure_class[.variant]` or `provider.positive[.variant]`, so that
`pytest -k cloro.expired` or `-k "cloro and expired"` selects it. A case's `build` turns a target
into the request to judge; keys come from the target at run time, never from the case, so ids and
parameters never hold a key.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import urlencode

from specs import ProviderSpec, Response, Route, Rule, encode_body, fill, thaw

from . import _keys
from ._checks import FAILURE_CHECKS, POSITIVE_CHECKS
from ._rfc import RFC_ONE_LINE, RFC_OWS
from ._secret import Secret
from ._target import label
from ._transport import RawRequest, RawResponse

if TYPE_CHECKING:
    from ._target import Target

POSITIVE = "positive"
# The suite's own bound on a rate-limit case (every loop bounded in count).
MAX_RATE_REQUESTS = 1000
LIVE_QUOTA = "would spend the live quota"

# Key states a failure class needs, for the classes that are one key state presented canonically.
STATE_OF_CLASS: Mapping[str, str] = {"expired": "expired", "revoked": "revoked", "insufficient_scope": "limited"}
# Other scheme keywords a client may send by mistake (RFC 6750 §3.1: a wrong scheme is "unsupported authentication method").
OTHER_SCHEMES: tuple[str, ...] = ("Bearer", "Token", "Basic")


@dataclass(frozen=True)
class Outgoing:
    """The request a case judges, and the secrets it presents (for the echo check and redaction)."""

    request: RawRequest
    presented: tuple[Secret, ...]


class Context(Protocol):
    """What a case's build may use: the target, its credentials, and prelude requests."""

    target: "Target"

    def credential(self, state: str) -> Secret: ...

    def fabricated(self, name: str, value: str, public: str | None = None) -> Secret: ...

    def send(self, request: RawRequest, presented: tuple[Secret, ...]) -> RawResponse: ...

    def check(self, name: str, request: RawRequest, response: RawResponse, presented: tuple[Secret, ...]) -> Any: ...

    def mint(self) -> Secret: ...


Build = Callable[[Context], Outgoing]


@dataclass(frozen=True)
class Case:
    """One conformance case: what is sent, what the catalogue expects, and the rules that judge it."""

    id: str
    provider: str
    klass: str
    variant: str | None
    description: str
    # The credential carried, in words, for messages: "expired", "none", "valid (lowercase scheme)".
    credential: str
    needs: tuple[str, ...]
    expected: Response
    # The rule that says the request is accepted (positive) or rejected (failure).
    judge: Rule
    # A failure case whose acceptance is FAIL whatever judge's strength (no valid credential).
    forced: bool
    checks: tuple[str, ...]
    build: Build = field(compare=False, repr=False)
    # Why the case runs only against a mock (skipped on live with this reason).
    mock_only: str | None = None
    # Why the case cannot run at all with this spec.
    skip: str | None = None
    # Which requests the spec says get `expected` (failure cases): the catalogue checks and a
    # non-forced acceptance are judged at the weaker of it and their own rule.
    trigger: Rule | None = None
    # A request an HTTP layer (parser, proxy) may refuse before the application sees it (oversized,
    # non-ASCII bytes, two credential lines): its 400/413/431 or closed connection is the RFC's
    # answer, never compared with the application's catalogue.
    http_layer: bool = False

    @property
    def positive(self) -> bool:
        """True for the valid key in an accepted form."""
        return self.klass == POSITIVE

    def rules(self) -> dict[str, Rule]:
        """Every rule the case is judged by, named for what it governs."""
        rules = {"accept" if self.positive else "reject": self.judge, "status": self.expected.rule, "body": self.expected.body_rule}
        if self.expected.message_rule is not None:
            rules["message"] = self.expected.message_rule
        if self.trigger is not None:
            rules["trigger"] = self.trigger
        return rules


# --- requests -----------------------------------------------------------------------------


def probe_request(ctx: Context, values: Sequence[str] = (), query: Mapping[str, str] | None = None, body: Any = None) -> RawRequest:
    """The spec's probe with the given credential header values (one line each), query and body."""
    spec = ctx.target.spec
    probe = spec.probe
    headers = [(spec.credential.header, v) for v in values]
    if probe.content_type:
        headers.append(("Content-Type", probe.content_type))
    payload = thaw(probe.body if body is None else body)
    # The resource the target's keys are bound to (the mock reports it), where the spec has a binding.
    if spec.binding and ctx.target.binding and isinstance(payload, dict) and spec.binding.field in payload:
        payload[spec.binding.field] = ctx.target.binding
    path = probe.path + (f"?{urlencode(dict(query))}" if query else "")
    return RawRequest.build(probe.method, path, headers, encode_body(probe.content_type, payload))


def route_request(ctx: Context, route: Route, values: Sequence[str] = (), body: bytes | None = None) -> RawRequest:
    """A spec route's request: its template filled (`1` per variable), a body its request check takes
    (or the `body` given)."""
    spec = ctx.target.spec
    headers = [(spec.credential.header, v) for v in values]
    if route.request is not None:
        headers.append(("Content-Type", route.request.content_type))
        if body is None:
            body = encode_body(route.request.content_type, fill(thaw(route.request.schema)))
    return RawRequest.build(route.method, route.example_path(), headers, body or b"")


def exchange_request(ctx: Context, username: str, password: str) -> RawRequest:
    """The spec's username + password exchange request."""
    ex = ctx.target.spec.exchange
    assert ex is not None, "exchange_request needs a spec with an exchange"
    body = encode_body(ex.content_type, {ex.username_field: username, ex.password_field: password})
    return RawRequest.build(ex.method, ex.path, [("Content-Type", ex.content_type)], body)


def with_key(state: str, values: Callable[[ProviderSpec, str], Sequence[str]], **probe: Any) -> Build:
    """A build presenting the key of a state, formatted into header values by `values`."""

    def build(ctx: Context) -> Outgoing:
        key = ctx.credential(state)
        return Outgoing(probe_request(ctx, values(ctx.target.spec, key.reveal()), **probe), (key,))

    return build


def with_fabricated(name: str, make: Callable[[ProviderSpec], str], values: Callable[[ProviderSpec, str], Sequence[str]]) -> Build:
    """A build presenting a key no server issued (registered as a secret so its echo is caught)."""

    def build(ctx: Context) -> Outgoing:
        key = ctx.fabricated(name, make(ctx.target.spec))
        return Outgoing(probe_request(ctx, values(ctx.target.spec, key.reveal())), (key,))

    return build


def without_key(values: Sequence[str]) -> Build:
    """A build presenting no key at all (header values given literally, possibly none)."""
    return lambda ctx: Outgoing(probe_request(ctx, values), ())


def canonical(spec: ProviderSpec, key: str) -> list[str]:
    """The documented header value for a key."""
    return [spec.credential.render(key)]


def rng(spec: ProviderSpec, what: str) -> random.Random:
    """A generator seeded by provider and case, so every run fabricates the same keys."""
    return random.Random(f"{spec.id}.{what}")


# --- the catalogue ------------------------------------------------------------------------------


class _Maker:
    """Builds a spec's cases with the id, expectation and checks filled in from the spec."""

    def __init__(self, spec: ProviderSpec, supplied: Sequence[str] = ()):
        self.spec = spec
        # Key states the target has although the spec lacks them (used with an inferred rule).
        self.supplied = tuple(supplied)

    def case(self, klass: str, variant: str | None, **fields: Any) -> Case:
        """A case of this spec, its id made from the class and variant."""
        return Case(id=".".join(p for p in (self.spec.id, klass, variant) if p), provider=self.spec.id, klass=klass, variant=variant, **fields)

    def positive(self, variant: str | None, description: str, credential: str, judge: Rule, build: Build, needs: tuple[str, ...] = ("valid",)) -> Case:
        """The valid key (or exchanged token) in a form the spec allows, judged by `judge`."""
        return self.case(
            POSITIVE, variant, description=description, credential=credential, needs=needs, expected=self.spec.probe.success,
            judge=judge, forced=False, checks=POSITIVE_CHECKS, build=build,
        )

    def failure(
        self,
        klass: str,
        variant: str | None,
        description: str,
        credential: str,
        build: Build,
        needs: tuple[str, ...] = (),
        spec_variant: str | None = None,
        expected: Response | None = None,
        judge: Rule | None = None,
        forced: bool = True,
        **extra: Any,
    ) -> Case:
        """A request the catalogue refuses with `klass` (its `spec_variant`, default the case's)."""
        if expected is None:
            failure = self.spec.failure(klass)
            assert failure is not None, f"{self.spec.id} has no {klass!r}"
            expected = failure.variant(spec_variant or variant)
        return self.case(
            klass, variant, description=description, credential=credential, needs=needs, expected=expected,
            judge=judge or expected.rule, forced=forced, checks=FAILURE_CHECKS, build=build,
            trigger=extra.pop("trigger", expected.trigger), **extra,
        )

    def mutant_class(self, mutate: Callable[[str], str]) -> tuple[str, str]:
        """Where a mutated valid key falls: malformed/shape when the spec enforces a shape the
        mutation breaks, else invalid/unknown (ARCHITECTURE.md, the mock's decision, step 4-5)."""
        shape = self.spec.credential.token
        if shape.enforce_shape:
            sample = _keys.fabricate(shape, rng(self.spec, "shape-sample"))
            if not shape.pattern().fullmatch(mutate(sample)):
                return "malformed", "shape"
        return "invalid", "unknown"


def shown(spec: ProviderSpec, what: str) -> str:
    """A credential header in words: `Authorization: Bearer <valid key>` (`X-API-Key: <valid key>` when bare)."""
    return f"{spec.credential.header}: {spec.credential.render(what)}"


# Whitespace str.strip() removes but HTTP does not (RFC 9110 §5.6.3 OWS is SP / HTAB): NBSP as one
# latin-1 byte, as a server that decodes header bytes as latin-1 (Starlette) reads it.
NBSP = b"\xa0"


def _positive(m: _Maker) -> Iterator[Case]:
    spec, cred = m.spec, m.spec.credential
    h, s = cred.header, cred.scheme
    yield m.positive(None, shown(spec, "<valid key>"), "valid", cred.rule, with_key("valid", canonical))
    if cred.strip_unicode_whitespace:
        yield m.positive("unicode_whitespace", shown(spec, "<NBSP><valid key><NBSP>"), "valid (NBSP around it)", cred.separator_rule,
                         with_key("valid", lambda sp, k: [sp.credential.render("").encode() + NBSP + k.encode() + NBSP]))
    yield m.positive("surrounding_whitespace", f"{h}: <SP>{spec.credential.render('<valid key>')}<SP><HTAB>", "valid (surrounding whitespace)", RFC_OWS, with_key("valid", lambda sp, k: [f" {sp.credential.render(k)} \t"]))
    if spec.exchange:
        yield m.positive("exchange", f"{spec.exchange.method} {spec.exchange.path} with username and password, then {shown(spec, '<issued token>')}", "exchanged token", spec.exchange.rule, _exchange_then_probe, needs=("username", "password"))
    if s is None:
        return  # a bare key: no keyword to vary, no separator
    # RFC 9110 §11.1: the scheme is a case-insensitive token; judged at the spec's scheme rule.
    if cred.scheme_insensitive:
        for name, form in (("scheme_lowercase", s.lower()), ("scheme_uppercase", s.upper())):
            if form != s:
                yield m.positive(name, f"{h}: {form} <valid key>", f"valid ({name.replace('_', ' ')})", cred.scheme_rule, with_key("valid", lambda sp, k, f=form: [f"{f} {k}"]))
    # RFC 9110 §11.4: credentials = auth-scheme [ 1*SP token68 ]: several spaces separate too.
    yield m.positive("several_spaces", f"{h}: {s}<3 SP><valid key>", "valid (three spaces)", cred.separator_rule, with_key("valid", lambda sp, k: [f"{s}   {k}"]))
    if cred.separator == "whitespace":
        yield m.positive("tab_separator", f"{h}: {s}<HTAB><valid key>", "valid (tab separator)", cred.separator_rule, with_key("valid", lambda sp, k: [f"{s}\t{k}"]))


def _exchange_then_probe(ctx: Context) -> Outgoing:
    user, password = ctx.credential("username"), ctx.credential("password")
    req = exchange_request(ctx, user.reveal(), password.reveal())
    resp = ctx.send(req, (password,))
    token = ctx.fabricated("EXCHANGED_TOKEN", ctx.check("exchange_issues_token", req, resp, (password,)))
    return Outgoing(probe_request(ctx, canonical(ctx.target.spec, token.reveal())), (token,))


def _presence(m: _Maker) -> Iterator[Case]:
    h = m.spec.credential.header
    if m.spec.failure("missing"):
        yield m.failure("missing", None, f"no {h} header", "none", without_key(()))
    if m.spec.failure("empty"):
        yield m.failure("empty", None, f"{h}: (empty)", "none", without_key([""]))
        yield m.failure("empty", "whitespace_only", f"{h}: <3 SP>", "none", without_key(["   "]))


def _scheme(m: _Maker) -> Iterator[Case]:
    cred = m.spec.credential
    h, s = cred.header, cred.scheme
    if m.spec.failure("wrong_scheme"):
        for other in (k for k in OTHER_SCHEMES if k.lower() != s.lower()):
            yield m.failure("wrong_scheme", other.lower(), f"{h}: {other} <valid key>", f"valid key under {other}", with_key("valid", lambda sp, k, o=other: [f"{o} {k}"]), ("valid",))
        if not cred.scheme_insensitive and s.lower() != s:
            # The spec documents a case-sensitive keyword: a stricter-than-RFC provider, judged at its rule.
            yield m.failure("wrong_scheme", "scheme_lowercase", f"{h}: {s.lower()} <valid key>", "valid (lowercase scheme)", with_key("valid", lambda sp, k: [f"{s.lower()} {k}"]), ("valid",), judge=cred.scheme_rule, forced=False)
    if m.spec.failure("no_scheme"):
        yield m.failure("no_scheme", "raw_key", f"{h}: <valid key>", "valid key without scheme", with_key("valid", lambda sp, k: [k]), ("valid",))
        yield m.failure("no_scheme", "glued", f"{h}: {s}<valid key>", "valid key glued to the scheme", with_key("valid", lambda sp, k: [f"{s}{k}"]), ("valid",))


def _malformed(m: _Maker) -> Iterator[Case]:
    if not m.spec.failure("malformed"):
        return
    spec, cred = m.spec, m.spec.credential
    h, s, shape = cred.header, cred.scheme, cred.token
    if s is not None:
        yield m.failure("malformed", "scheme_only", f"{h}: {s}", "scheme only", without_key([s]))
    yield m.failure("malformed", "internal_space", shown(spec, "<valid key cut by a space>"), "valid key cut by a space", with_key("valid", lambda sp, k: [sp.credential.render(_keys.with_char(k, shape, ' '))]), ("valid",))
    # RFC 9110 §11.2 token68: "!" and any non-ASCII byte are outside it.
    yield m.failure("malformed", "bad_chars", shown(spec, "<valid key with '!' inside>"), "valid key with '!' inside", with_key("valid", lambda sp, k: [sp.credential.render(_keys.with_char(k, shape, '!'))]), ("valid",))
    yield m.failure("malformed", "non_ascii", shown(spec, "<valid key with byte 0xE9 inside>"), "valid key with a non-ASCII byte", with_key("valid", lambda sp, k: [sp.credential.render(_keys.with_char(k, shape, 'é'))]), ("valid",), spec_variant="bad_chars", http_layer=True)
    if shape.enforce_shape:
        if m.mutant_class(_keys.halved) == ("malformed", "shape"):
            yield m.failure("malformed", "shape", shown(spec, "<token68 string not of the key's shape>"), "a token of the wrong shape", with_fabricated("WRONG_SHAPE_KEY", lambda sp: _keys.halved(_keys.fabricate(sp.credential.token, rng(sp, "shape"))), canonical))


def _invalid(m: _Maker) -> Iterator[Case]:
    spec, cred = m.spec, m.spec.credential
    if not spec.failure("invalid"):
        return
    h, s, shape = cred.header, cred.scheme, cred.token
    yield m.failure("invalid", "unknown", shown(spec, "<well-formed key never issued>"), "never issued", with_fabricated("UNISSUED_KEY", lambda sp: _keys.fabricate(sp.credential.token, rng(sp, "unknown")), canonical))
    mutants: tuple[tuple[str, str, Callable[[str], str]], ...] = (
        ("one_char_changed", "valid key with one character changed", lambda k: _keys.one_char_changed(k, shape)),
        ("truncated", "valid key without its last character", _keys.truncated),
        ("extended", "valid key with one character appended", lambda k: _keys.extended(k, shape)),
        ("case_flipped", "valid key with its letters' case swapped", _keys.case_flipped),
    )
    for name, words, mutate in mutants:
        klass, spec_variant = m.mutant_class(mutate)
        if spec.failure(klass):
            yield m.failure(klass, name, shown(spec, f"<{words}>"), words, with_key("valid", lambda sp, k, f=mutate: canonical(sp, f(k))), ("valid",), spec_variant=spec_variant)
    klass, spec_variant = m.mutant_class(lambda k: _keys.oversized(shape, rng(spec, "oversized")))
    if spec.failure(klass):
        words = f"a {_keys.OVERSIZED_LENGTH}-character token of the key's alphabet"
        yield m.failure(klass, "oversized", shown(spec, f"<{words}>"), words, with_fabricated("OVERSIZED_KEY", lambda sp: _keys.oversized(sp.credential.token, rng(sp, "oversized")), canonical), spec_variant=spec_variant, http_layer=True)
    if spec.binding:
        # The probe names the target's bound resource; these tokens are valid, but not for it.
        yield m.failure("invalid", "other_binding", shown(spec, f"<valid token bound to another {spec.binding.field}>"), "bound to another resource", with_key("other_binding", canonical), ("other_binding",))
        for kind in (k for k in spec.binding.kinds if k not in spec.binding.accepted):
            yield m.failure("invalid", "refused_kind" if kind == "account" else f"refused_kind_{kind}", shown(spec, f"<{kind} token>"), f"{kind} token", with_key(kind, canonical), (kind,), spec_variant="refused_kind")
    if spec.exchange:
        ex = spec.exchange
        yield m.failure("invalid", "exchange", f"{ex.method} {ex.path} with the username and a wrong password", "wrong password", _wrong_password, ("username",), expected=ex.failure)


def _wrong_password(ctx: Context) -> Outgoing:
    user = ctx.credential("username")
    # The words are the suite's own marker, not secret: left readable, they do not take the
    # mock's username (`authconform`) in the same body along with them.
    marker = "authconform-wrong-"
    wrong = ctx.fabricated("WRONG_PASSWORD", f"{marker}{rng(ctx.target.spec, 'password').randrange(10**12):012d}", marker)
    return Outgoing(exchange_request(ctx, user.reveal(), wrong.reveal()), (wrong,))


def _key_states(m: _Maker) -> Iterator[Case]:
    for klass, state in STATE_OF_CLASS.items():
        if m.spec.failure(klass):
            yield m.failure(klass, None, shown(m.spec, f"<{state} key>"), state, with_key(state, canonical), (state,))
        elif state in m.supplied and m.spec.failure("invalid"):
            # The user has a key of a state the page never mentions: it is used all the same, judged
            # by an inferred rule (the spec's own 401/403 answer: NON-STRICT on details); accepting
            # it is access without a valid credential, a security FAIL.
            yield m.failure(
                klass, None, shown(m.spec, f"<{state} key> (a state the spec does not name)"), state,
                with_key(state, canonical), (state,), expected=_inferred_answer(m.spec, klass, state),
            )


def _inferred_answer(spec: ProviderSpec, klass: str, state: str) -> Response:
    """The answer a key state the spec lacks is judged by: the spec's 403 for a limited key where its
    catalogue has one, else its answer to an invalid key; every rule inferred."""
    invalid = spec.failures["invalid"]
    base: Response = invalid
    if klass == "insufficient_scope":
        base = next((f for f in spec.failures.values() if f.status == 403), invalid)
    rule = Rule(
        "inferred",
        f"the spec has no {klass!r} class; a {state} key gets the spec's own {base.status} answer",
        f"The user supplied {label(spec, state)}; a key that no longer (or not fully) authenticates is refused like an invalid one (RFC 6750 §3.1).",
    )
    return Response(base.status, base.body, base.schema, rule, rule, headers=base.headers, bodies=base.bodies, trigger=rule)


def _placement(m: _Maker) -> Iterator[Case]:
    if m.spec.failure("token_in_query"):
        # RFC 6750 §5.3: "Bearer tokens SHOULD NOT be passed in page URLs".
        for name in m.spec.query_names:
            yield m.failure("token_in_query", name, f"no header; ?{name}=<valid key>", f"valid key in ?{name}=", _in_query(name), ("valid",))
    if m.spec.failure("duplicate_header"):
        one = shown(m.spec, "<valid key>")
        # RFC 9110 §5.3: Authorization is not a list field. Both requests carry the intact valid key:
        # a server using one of the lines (Starlette takes the first) parses leniently but lets
        # nobody in without the key, so accepting is NON-STRICT at the RFC's sentence, never a
        # security FAIL; the catalogue answer is judged at the class's rule and trigger.
        yield m.failure("duplicate_header", "same", f"{one} twice", "valid key, twice", with_key("valid", lambda sp, k: canonical(sp, k) * 2), ("valid",), judge=RFC_ONE_LINE, forced=False, http_layer=True)
        yield m.failure("duplicate_header", "valid_and_invalid", f"{one}, then {shown(m.spec, '<never-issued key>')}", "valid key and a never-issued key", _valid_and_invalid, ("valid",), judge=RFC_ONE_LINE, forced=False, http_layer=True)
    yield from _read_one_line(m)


def _read_one_line(m: _Maker) -> Iterator[Case]:
    """credential.duplicates first_wins / last_wins: the server reads one of two lines.

    Reading the documented line with a valid key is success; the other order is the never-issued
    key's `invalid`. Both are judged at the duplicates rule: a server that refuses both lines
    instead is stricter than the spec says (RFC 9110 §5.3 lets it), not insecure.
    """
    cred = m.spec.credential
    if cred.duplicates == "reject" or cred.duplicates_rule is None:
        return
    read = "first" if cred.duplicates == "first_wins" else "last"
    valid, other = shown(m.spec, "<valid key>"), shown(m.spec, "<never-issued key>")
    rule = cred.duplicates_rule
    yield m.case(POSITIVE, f"duplicate_{read}_read", description=f"{valid} as the {read} of two lines, {other} the other",
                 credential=f"valid key as the {read} line", needs=("valid",), expected=m.spec.probe.success, judge=rule,
                 forced=False, checks=POSITIVE_CHECKS, build=_two_lines(valid_first=read == "first"))
    if m.spec.failure("invalid"):
        yield m.failure("invalid", f"duplicate_{read}_unissued", f"{other} as the {read} of two lines, {valid} the other",
                        f"never-issued key as the {read} line", _two_lines(valid_first=read != "first"), ("valid",),
                        spec_variant="unknown", judge=rule, forced=False)


def _two_lines(valid_first: bool) -> Build:
    def build(ctx: Context) -> Outgoing:
        spec = ctx.target.spec
        key = ctx.credential("valid")
        other = ctx.fabricated("UNISSUED_KEY", _keys.fabricate(spec.credential.token, rng(spec, "unknown")))
        lines = canonical(spec, key.reveal()) + canonical(spec, other.reveal())
        return Outgoing(probe_request(ctx, lines if valid_first else lines[::-1]), (key, other))

    return build


def _in_query(name: str) -> Build:
    def build(ctx: Context) -> Outgoing:
        key = ctx.credential("valid")
        return Outgoing(probe_request(ctx, (), query={name: key.reveal()}), (key,))

    return build


def _valid_and_invalid(ctx: Context) -> Outgoing:
    spec = ctx.target.spec
    key = ctx.credential("valid")
    other = ctx.fabricated("UNISSUED_KEY", _keys.fabricate(spec.credential.token, rng(spec, "unknown")))
    return Outgoing(probe_request(ctx, canonical(spec, key.reveal()) + canonical(spec, other.reveal())), (key, other))


def _quota(m: _Maker) -> Iterator[Case]:
    spec = m.spec
    if spec.rate_limit and spec.failure("rate_limited"):
        n = spec.rate_limit.requests
        too_many = None if n <= MAX_RATE_REQUESTS else f"a rate limit of {n} requests is over the suite's bound of {MAX_RATE_REQUESTS} requests per case"
        yield m.failure(
            "rate_limited", None, f"{n + 1} requests with a freshly minted key within {spec.rate_limit.window_seconds} s",
            f"valid key, request {n + 1} of the window", _over_the_limit, ("valid",), judge=spec.rate_limit.rule, forced=False,
            mock_only=LIVE_QUOTA, skip=too_many,
        )
    if spec.failure("bad_request") and spec.probe.bad_body is not None:
        yield m.failure("bad_request", None, shown(spec, "<valid key>") + ", with the probe's bad body", "valid", with_key("valid", canonical, body=spec.probe.bad_body), ("valid",), forced=False)


def case_name(route: Route) -> str:
    """A route's name in case ids: its id with anything but letters, digits and _ made `_`."""
    return "route_" + re.sub(r"[^A-Za-z0-9]+", "_", route.id).strip("_")


def _on_route(route: Route, state: str, body: bytes | None = None) -> Build:
    def build(ctx: Context) -> Outgoing:
        key = ctx.credential(state)
        return Outgoing(route_request(ctx, route, canonical(ctx.target.spec, key.reveal()), body), (key,))

    return build


# A body no content type parses (not JSON, not strict form encoding): what a route's request check refuses.
UNPARSEABLE = b"{"


def _routes(m: _Maker) -> Iterator[Case]:
    """Scope per route: the limited key is refused a route whose scope it lacks, served one it holds;
    and a route's request check: the valid key with a body that does not parse gets bad_request.

    The fixed cases keep to the probe; routes add what only they can show, that the scope a key
    needs is the operation's own (RFC 6750 §3.1 insufficient_scope).
    """
    spec = m.spec
    if spec.failure("bad_request"):
        for route in spec.routes:
            if route.auth and route.request is not None:
                yield m.failure("bad_request", case_name(route), f"{route.method} {route.path} with {shown(spec, '<valid key>')} and a body that does not parse",
                                "valid", _on_route(route, "valid", UNPARSEABLE), ("valid",), spec_variant=None, forced=False)
    if spec.scopes is None or "limited" not in spec.keys.states or not spec.failure("insufficient_scope"):
        return
    held = spec.scopes.expand(spec.scopes.limited)
    for route in spec.routes:
        if not route.auth or route.scope is None:
            continue
        where = f"{route.method} {route.path}"
        if route.scope in held:
            yield m.case(
                POSITIVE, case_name(route), description=f"{where} with {shown(spec, '<limited key>')} (holds {route.scope})",
                credential="limited", needs=("limited",), expected=route.success, judge=spec.scopes.rule, forced=False,
                checks=POSITIVE_CHECKS, build=_on_route(route, "limited"),
            )
        else:
            yield m.failure("insufficient_scope", case_name(route), f"{where} with the limited key (lacks {route.scope})",
                            "limited", _on_route(route, "limited"), ("limited",), spec_variant=None)


def _over_the_limit(ctx: Context) -> Outgoing:
    spec = ctx.target.spec
    assert spec.rate_limit is not None, "a rate-limit case needs a spec with rate_limit"
    key = ctx.mint()
    req = probe_request(ctx, canonical(spec, key.reveal()))
    for _ in range(min(spec.rate_limit.requests, MAX_RATE_REQUESTS)):
        ctx.send(req, (key,))
    return Outgoing(req, (key,))


GENERATORS: tuple[Callable[[_Maker], Iterator[Case]], ...] = (_positive, _presence, _scheme, _malformed, _invalid, _key_states, _placement, _quota, _routes)


def cases_for(spec: ProviderSpec, supplied: Sequence[str] = ()) -> tuple[Case, ...]:
    """Every case of a spec, positive first, in the order of specs.FAILURE_CLASSES.

    `supplied`: key states the target has although the spec lacks them (a live run's
    `ID_EXPIRED_KEY` for a page that never mentions expiry): their classes run with an inferred rule.
    """
    m = _Maker(spec, supplied)
    cases = [c for gen in GENERATORS for c in gen(m)]
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate case ids: {dupes}"
    return tuple(cases)
