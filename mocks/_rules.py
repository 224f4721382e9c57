"""The gate's rules: what a client must do with the credential it was given, judged on the mock's
journal after the client ran.

Each rule carries its source (the provider's doc sentence from the spec, or the RFC section) and
its strength; a broken `documented` or security rule is FAIL, any other broken rule NON-STRICT.
The gate fails on any broken rule; the verdict says how bad it is. Pure functions of
(spec, journal entries, context): no I/O, so the rules are tested without a server.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from specs import RFC_ONE_METHOD, ProviderSpec, Rule, broken_verdict

from ._journal import REFUSED_ADMIN, REFUSED_PARSER

GATE = "authconform gate"
# The strength of the gate's own rules (client.*): not a provider's sentence nor an RFC's, the
# gate's contract with the command it runs; broken, they fail the run (FAIL).
GATE_STRENGTH = "gate"
# The placeholder the journal puts where a key the store knows was (ARCHITECTURE.md, journal).
KEY_MARK = "<key:"
# Retry-After is whole seconds; the journal stamps arrivals, so a client that waited exactly
# Retry-After may show a few milliseconds less between the two arrivals.
RETRY_SLACK = 0.05
# Retry-After when the journal does not say (RFC 9110 §10.2.3: delay-seconds, at least 1 here).
DEFAULT_RETRY_AFTER = 1.0
# RFC 6750 §3.1 lets a client "retry the protected resource request" once; more is a storm.
ALLOWED_REPEATS_AFTER_401 = 1


@dataclass(frozen=True)
class GateRule:
    """One property of the client's traffic, with where it comes from and how strong it is."""

    id: str
    title: str
    strength: str
    source: str
    security: bool = False

    @property
    def verdict(self) -> str:
        """The verdict when the rule is broken: FAIL for the gate's own, documented and security rules."""
        return broken_verdict(self.strength, security=self.security or self.strength == GATE_STRENGTH)


@dataclass(frozen=True)
class Violation:
    """A broken rule: the first request that broke it, how many did, and what was seen."""

    rule: GateRule
    seq: int | None
    request: str
    detail: str
    count: int = 1

    @property
    def verdict(self) -> str:
        """FAIL or NON-STRICT, from the rule."""
        return self.rule.verdict


@dataclass(frozen=True)
class Context:
    """What the gate knows besides the journal: where the client was sent and what it was given."""

    base_url: str
    client_exit: int | None
    secrets: Mapping[str, str] = field(default_factory=dict)
    # Why the gate counts the client's run as failed besides its status (timed out, stopped, killed).
    client_problem: str | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`: the Host the client was told to talk to."""
        return urlsplit(self.base_url).netloc.lower()


def _gate_rule(rid: str, title: str, source: str) -> GateRule:
    return GateRule(rid, title, GATE_STRENGTH, f"{GATE}: {source}")


CLIENT_EXIT = _gate_rule("client.exit", "the client command exits 0",
                         "the command's exit status is the client's own verdict")
CLIENT_SENT = _gate_rule("client.sent_requests", "the client sent at least one request to the mock",
                         "a client that exits 0 but sent no request at all is a broken client, not a pass")
CLIENT_NO_ADMIN = _gate_rule("client.no_admin", "the client never calls the mock's admin API",
                             "the admin API (/__authconform__/) answers only the gate's per-run secret; a client "
                             "calling it would be changing the keys or the journal it is judged on")
# What a parser refuses is malformed HTTP whoever serves it: the provider's server would refuse it too.
CLIENT_WELL_FORMED = GateRule(
    "client.well_formed", "every request is well-formed HTTP/1.1 (the mock's HTTP parser refused none)", "rfc",
    'RFC 9112 §2.2: "When a server listening only for HTTP request messages ... receives a sequence of octets '
    'that does not match the HTTP-message grammar ..., the server SHOULD respond with a 400 (Bad Request) '
    'response and close the connection"; RFC 9110 §5.5: "Field values containing CR, LF, or NUL characters are '
    'invalid and dangerous"')

RFC6750_ONE_METHOD = RFC_ONE_METHOD.source + "; RFC 9110 §5.3: Authorization is not a list field"
RFC6750_URL = 'RFC 6750 §5.3: "Bearer tokens SHOULD NOT be passed in page URLs"; §2.3 the query method "SHOULD NOT be used unless it is impossible"'
FETCH_REDIRECT = ('WHATWG Fetch, HTTP-redirect fetch: "If request\'s current URL\'s origin is not same origin with '
                  'locationURL\'s origin, then for each headerName of CORS non-wildcard request-header name, delete '
                  'headerName from request\'s header list" (that name is `Authorization`)')
RFC9110_401 = ('RFC 9110 §11.6.1/§15.5.2: "If the request included authentication credentials, then the 401 response '
               'indicates that authorization has been refused for those credentials"; RFC 6750 §3.1: the client '
               'MAY request a new access token and retry')
RFC9110_403 = ('RFC 9110 §15.5.4: "If authentication credentials were provided in the request, the server considers '
               'them insufficient to grant access. The client SHOULD NOT automatically repeat the request with the '
               'same credentials."')
RFC9110_RETRY_AFTER = ('RFC 9110 §10.2.3: Retry-After indicates "how long the user agent ought to wait before making '
                       'a follow-up request"; RFC 6585 §4 (429)')


def _key_rule(spec: ProviderSpec, klass: str, rid: str, title: str, fallback: str) -> GateRule:
    """A key-placement rule: the RFC sentence, plus the provider's own rule when it has one."""
    failure = spec.failure(klass)
    source = f"{fallback}; {spec.id}: {failure.rule.source}" if failure else fallback
    return GateRule(rid, title, "rfc", source, security=True)


def rules_for(spec: ProviderSpec) -> tuple[GateRule, ...]:
    """Every rule the gate judges for a provider, in report order (extras only where the spec has them)."""
    cred: Rule = spec.credential.rule
    header, scheme = spec.credential.header, spec.credential.scheme
    if scheme is None:  # a bare key: the value is the key alone
        scheme_title, syntax_title = f"no scheme keyword: the key alone in `{header}`", "the key alone (token68), nothing around it"
    else:
        scheme_title, syntax_title = f"the scheme keyword `{scheme}` before the key", f"`{scheme}`, one separator, then the key alone (token68)"
    rules = [
        CLIENT_EXIT,
        CLIENT_SENT,
        CLIENT_NO_ADMIN,
        CLIENT_WELL_FORMED,
        GateRule("credential.header", f"the documented `{header}` header on every request", cred.strength, cred.source),
        GateRule("credential.scheme", scheme_title, cred.strength, cred.source),
        GateRule("credential.syntax", syntax_title, cred.strength, cred.source),
        GateRule("credential.key", "the key the gate exported, sent unchanged (keys are case-sensitive)",
                 cred.strength, cred.source),
        GateRule("credential.once", f"exactly one credential: one `{header}` line, the key nowhere else",
                 "rfc", RFC6750_ONE_METHOD),
        _key_rule(spec, "token_in_query", "key.not_in_url", "the key never in the URL (path or query)", RFC6750_URL),
        _key_rule(spec, "token_in_query", "key.not_in_body", "the key never in the request body",
                  'RFC 6750 §2.2: the form-body method only under conditions; §2 one method per request'),
        _key_rule(spec, "token_in_query", "key.not_in_cookie", "the key never in a cookie",
                  f"the credential travels in the `{header}` header; RFC 6750 §5.3 tokens in cookies leak to every same-site request"),
        GateRule("key.not_cross_host", "the key never sent to another host on a redirect", "rfc", FETCH_REDIRECT, security=True),
        GateRule("retry.after_401", "after a 401, the same request with the same credential is repeated at most once",
                 "rfc", RFC9110_401),
        GateRule("retry.after_403", "after a 403, the request is not repeated with the same credential", "rfc", RFC9110_403),
        GateRule("retry.after_429", "after a 429, no request with the same credential before Retry-After has passed",
                 "rfc", RFC9110_RETRY_AFTER),
    ]
    if spec.exchange is not None:
        ex = spec.exchange
        rules.append(GateRule("exchange.once", f"`{ex.method} {ex.path}` once, then only the token (again only after a 401)",
                              ex.rule.strength, ex.rule.source))
        rules.append(GateRule("exchange.password_not_resent",
                              "the username and password go only to the exchange, never with the token",
                              "inferred", f"{ex.rule.source} (a password sent where it is not needed is exposed needlessly)",
                              security=True))
    if spec.binding is not None:
        invalid = spec.failure("invalid")
        kind_rule = _variant_rule(invalid, "refused_kind") or spec.binding.rule
        bind_rule = _variant_rule(invalid, "other_binding") or spec.binding.rule
        kinds = ", ".join(spec.binding.accepted)
        rules.append(GateRule("binding.kind", f"a token of an accepted kind ({kinds})", kind_rule.strength, kind_rule.source))
        rules.append(GateRule("binding.resource", f"the token bound to the `{spec.binding.field}` the request names",
                              bind_rule.strength, bind_rule.source))
    if spec.scopes is not None:
        rules.append(GateRule("scope.covers", "a key whose scopes cover the endpoint",
                              spec.scopes.rule.strength, spec.scopes.rule.source))
    return tuple(rules)


def _variant_rule(failure: Any, variant: str) -> Rule | None:
    if failure is None:
        return None
    response = failure.variants.get(variant)
    return response.rule if response is not None else None


# --- reading the journal -------------------------------------------------------------------------


def _headers(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(n), str(v)) for n, v in entry.get("headers") or ()]


def _values(entry: Mapping[str, Any], name: str) -> list[str]:
    low = name.lower()
    return [v for n, v in _headers(entry) if n.lower() == low]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return repr(value)


def _query(entry: Mapping[str, Any]) -> str:
    query = entry.get("query")
    if isinstance(query, (list, tuple)):
        return "&".join("=".join(map(str, pair)) for pair in query)
    return _text(query)


def _status(entry: Mapping[str, Any]) -> int | None:
    return (entry.get("outcome") or {}).get("status")


def _outcome(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    outcome = entry.get("outcome") or {}
    return outcome.get("class"), outcome.get("variant")


def _cred(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    return entry.get("credential") or {}


def request_line(entry: Mapping[str, Any]) -> str:
    """`POST /v1/monitor` (the query is left out: it may hold the key)."""
    return f"{entry.get('method', '?')} {entry.get('path', '?')}"


def _signature(spec: ProviderSpec, entry: Mapping[str, Any]) -> tuple[str, ...]:
    """Which credential a request carried: the key id, else the (journal-redacted) header values."""
    key_id = _cred(entry).get("key_id")
    if key_id:
        return ("id", str(key_id))
    return ("value", *_values(entry, spec.credential.header))


def _retry_after(entry: Mapping[str, Any]) -> float:
    """The Retry-After the mock sent with a 429, from the journal when it records it."""
    outcome = entry.get("outcome") or {}
    raw = outcome.get("retry_after")
    if raw is None:
        for name, value in (outcome.get("headers") or {}).items() if isinstance(outcome.get("headers"), Mapping) else ():
            if name.lower() == "retry-after":
                raw = value
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


# --- judging --------------------------------------------------------------------------------------


class _Findings:
    """Violations collected per (rule, request line, detail), first seq kept, repeats counted."""

    def __init__(self, rules: Sequence[GateRule]):
        self.by_id = {r.id: r for r in rules}
        self._seen: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, rid: str, entry: Mapping[str, Any] | None, detail: str, count: int = 1) -> None:
        rule = self.by_id.get(rid)
        if rule is None:
            return
        req = request_line(entry) if entry is not None else "-"
        seq = entry.get("seq") if entry is not None else None
        slot = self._seen.setdefault((rid, req, detail), [seq, 0])
        slot[1] += count

    def result(self) -> list[Violation]:
        order = list(self.by_id)
        out = [Violation(self.by_id[rid], seq, req, detail, n) for (rid, req, detail), (seq, n) in self._seen.items()]
        return sorted(out, key=lambda v: (order.index(v.rule.id), v.seq if v.seq is not None else -1))


def judge(spec: ProviderSpec, entries: Iterable[Mapping[str, Any]], ctx: Context) -> list[Violation]:
    """Every broken rule, judged on the journal entries of one client run."""
    entries = sorted(entries, key=lambda e: e.get("seq") or 0)
    found = _Findings(rules_for(spec))
    if ctx.client_problem:  # said as the head line says it: "timed out after 2 s", not "status -15"
        found.add("client.exit", None, ctx.client_problem)
    elif ctx.client_exit not in (0, None):
        found.add("client.exit", None, f"exited with status {ctx.client_exit}")
    if not entries and ctx.client_exit == 0 and not ctx.client_problem:
        found.add("client.sent_requests", None, "exited 0, but no request reached the mock")
    first_state: dict[str, str | None] = {}
    for entry in entries:
        refused = (entry.get("outcome") or {}).get("refused_by")
        if refused == REFUSED_ADMIN:
            found.add("client.no_admin", entry, "an admin call without the gate's secret (refused with 403)")
            continue  # not an API request: the credential and retry rules do not apply to it
        if refused == REFUSED_PARSER:
            found.add("client.well_formed", entry, "a request the HTTP parser refused (400) before any route saw it")
        key_id = _cred(entry).get("key_id")
        if key_id and key_id not in first_state:
            first_state[key_id] = _cred(entry).get("state")
        _judge_credential(spec, entry, found, first_state)
        _judge_placement(spec, entry, found)
    # Refused admin calls are not API requests: redirects, retries and the exchange ignore them.
    entries = [e for e in entries if (e.get("outcome") or {}).get("refused_by") != REFUSED_ADMIN]
    _judge_redirects(entries, found, ctx)
    _judge_retries(spec, entries, found)
    if spec.exchange is not None:
        _judge_exchange(spec, entries, found, ctx)
    return found.result()


def _is_exchange(spec: ProviderSpec, entry: Mapping[str, Any]) -> bool:
    ex = spec.exchange
    return ex is not None and entry.get("path") == ex.path and str(entry.get("method", "")).upper() == ex.method


def _judge_credential(spec: ProviderSpec, entry: Mapping[str, Any], found: _Findings, first_state: dict) -> None:
    """The mock's decision (its failure class) names which part of the credential was wrong."""
    klass, variant = _outcome(entry)
    cred = _cred(entry)
    header, scheme = spec.credential.header, spec.credential.scheme
    # RFC 9110 §5.3: two lines of a non-list field are the client's fault even where the server
    # reads one of them (credential.duplicates first_wins / last_wins): judged on what was sent.
    lines = cred.get("header_lines")
    if klass == "duplicate_header" or (isinstance(lines, int) and lines > 1):
        found.add("credential.once", entry, f"{lines or 'several'} `{header}` lines")
        if klass == "duplicate_header":
            return
    if scheme is None and klass == "malformed" and variant == "internal_space" and cred.get("scheme"):
        found.add("credential.scheme", entry, f"scheme keyword `{cred.get('scheme')}` before a bare key")
    elif klass in ("missing", "token_in_query") and not _is_exchange(spec, entry):
        found.add("credential.header", entry, f"no `{header}` header")
    elif klass == "empty":
        found.add("credential.header", entry, f"`{header}` header with an empty value")
    elif klass in ("wrong_scheme", "no_scheme") or (klass == "malformed" and variant == "scheme_only"):
        sent = cred.get("scheme")
        what = {"no_scheme": "no scheme keyword before the key",
                "malformed": f"`{scheme}` with no key after it"}.get(klass, f"scheme keyword `{sent}`")
        found.add("credential.scheme", entry, f"{what}; documented `{scheme}`")
    elif klass == "malformed":
        found.add("credential.syntax", entry, f"malformed credential ({variant or 'shape'})")
    elif klass == "invalid" and variant == "refused_kind":
        found.add("binding.kind", entry, "a key of a refused kind" + _kind(cred))
    elif klass == "invalid" and variant == "other_binding":
        found.add("binding.resource", entry, f"a token bound to another `{spec.binding.field if spec.binding else 'resource'}`")
    elif klass == "invalid" and variant == "exchange":
        found.add("credential.key", entry, "the username or password was not the one exported")
    elif klass == "invalid":
        found.add("credential.key", entry, "a key the mock never issued (changed, truncated or case-altered?)")
    elif klass in ("expired", "revoked"):
        # A key that was valid when the client first used it was changed mid-run (a scenario):
        # what the client did next is judged by the retry rules. Otherwise it used a dead key.
        if first_state.get(cred.get("key_id")) in (klass, None):
            found.add("credential.key", entry, f"a {klass} key, not the valid one exported")
    elif klass == "insufficient_scope":
        if "scope.covers" in found.by_id:
            found.add("scope.covers", entry, "a key without the scope this endpoint needs")
        else:
            found.add("credential.key", entry, "a key without the scope this endpoint needs")


def _kind(cred: Mapping[str, Any]) -> str:
    kind = cred.get("kind")
    return f" (`{kind}`)" if kind else ""


def _judge_placement(spec: ProviderSpec, entry: Mapping[str, Any], found: _Findings) -> None:
    """Where the key travelled besides the credential header."""
    cred = _cred(entry)
    header = spec.credential.header.lower()
    url = _text(entry.get("path")) + "?" + _query(entry)
    in_url = bool(cred.get("in_query")) or KEY_MARK in url
    in_body = bool(cred.get("in_body")) or KEY_MARK in _text(entry.get("body"))
    cookies = _values(entry, "cookie")
    in_cookie = bool(cred.get("in_cookie")) or any(KEY_MARK in c for c in cookies)
    if in_url:
        found.add("key.not_in_url", entry, "the key in the query string or path")
    if in_body:
        found.add("key.not_in_body", entry, "the key in the request body")
    if in_cookie:
        found.add("key.not_in_cookie", entry, "the key in a Cookie header")
    others = sorted({n for n, v in _headers(entry) if n.lower() not in (header, "cookie") and KEY_MARK in v})
    has_header = bool(cred.get("header_lines")) or bool(_values(entry, spec.credential.header))
    if others:
        found.add("credential.once", entry, f"the key also in {', '.join(f'`{n}`' for n in others)}")
    if has_header and (in_url or in_body or in_cookie):
        found.add("credential.once", entry, f"the `{spec.credential.header}` header and the key elsewhere")


def _judge_redirects(entries: Sequence[Mapping[str, Any]], found: _Findings, ctx: Context) -> None:
    """A request that carries a key, follows a redirect, and names another host than the one given."""
    redirected = False
    for entry in entries:
        status = _status(entry) or 0
        host = (_values(entry, "host") or [""])[0].lower()
        carries = any(KEY_MARK in text for text in (_query(entry), _text(entry.get("body")), *(v for _, v in _headers(entry))))
        if redirected and host and host != ctx.host and carries:
            found.add("key.not_cross_host", entry, f"the key sent to `{host}` after a redirect from `{ctx.host}`")
        if 300 <= status < 400:
            redirected = True


@dataclass
class _Refusal:
    """A run of requests with one signature after a 401/403: how many repeats, the first excess one."""

    status: int
    repeats: int = 0
    excess: Mapping[str, Any] | None = None

    @property
    def allowed(self) -> int:
        return ALLOWED_REPEATS_AFTER_401 if self.status == 401 else 0


def _flush(found: _Findings, run: _Refusal | None) -> None:
    if run is not None and run.excess is not None:
        rid = "retry.after_401" if run.status == 401 else "retry.after_403"
        found.add(rid, run.excess, f"repeated {run.repeats} times after {run.status} with the same credential")


def _judge_retries(spec: ProviderSpec, entries: Sequence[Mapping[str, Any]], found: _Findings) -> None:
    """Repeats of a refused request with the same credential, and requests inside Retry-After."""
    runs: dict[tuple, _Refusal] = {}
    wait_until: dict[tuple[str, ...], float] = {}
    for entry in entries:
        cred_sig = _signature(spec, entry)
        sig = (request_line(entry), cred_sig)
        status, t = _status(entry), entry.get("time")
        limit = wait_until.pop(cred_sig, None)
        if limit is not None and isinstance(t, (int, float)) and t < limit - RETRY_SLACK:
            found.add("retry.after_429", entry, "a request with the same credential before Retry-After had passed")
        if status == 429 and isinstance(t, (int, float)):
            wait_until[cred_sig] = t + _retry_after(entry)
        run = runs.get(sig)
        if run is not None:
            run.repeats += 1
            if run.repeats == run.allowed + 1:
                run.excess = entry
        if status in (401, 403) and run is not None and run.status == status:
            continue
        _flush(found, runs.pop(sig, None))
        if status in (401, 403):
            runs[sig] = _Refusal(status)
    for run in runs.values():
        _flush(found, run)


def _judge_exchange(spec: ProviderSpec, entries: Sequence[Mapping[str, Any]], found: _Findings, ctx: Context) -> None:
    """One exchange, then the token; the password never rides along with the token."""
    exchanged = False
    for entry in entries:
        status = _status(entry) or 0
        if _is_exchange(spec, entry):
            if exchanged:
                found.add("exchange.once", entry, "exchanged again without a 401 in between")
            exchanged = exchanged or 200 <= status < 300
            continue
        if status == 401:
            exchanged = False
        if _carries_password(entry, ctx):
            found.add("exchange.password_not_resent", entry, "the password sent with a protected request")


def _carries_password(entry: Mapping[str, Any], ctx: Context) -> bool:
    user, password = ctx.secrets.get("username"), ctx.secrets.get("password")
    if not password:
        return False
    needles = [password, "<password"]
    if user:
        needles.append(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))
    hay = " ".join([_text(entry.get("path")), _query(entry), _text(entry.get("body"))]
                   + [v for _, v in _headers(entry)])
    return any(n in hay for n in needles)
