"""The mock's auth decision: a function of (plan, request head, key store, now) -> Decision.

No I/O and no web framework here. `Plan` is a spec compiled once (matching data, answer table,
defect switches); `decide` walks ARCHITECTURE.md's order and returns a prebuilt answer. Its one
side effect is the rate counter of the key presented (the store's limiter).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from hashlib import sha256
from hmac import compare_digest
from typing import Any, Callable, Mapping, NamedTuple, Sequence
from urllib.parse import parse_qsl

from specs import TOKEN68, ProviderSpec, thaw

from ._body import BodyReader, SchemaCheck
from ._keys import KeyStore
from ._responses import Decision, build_table, echo, method_not_allowed, retry_after
from ._routes import Operation, Router, allow_name

# RFC 9110 §11.2 token68 (specs.TOKEN68), over the header's bytes: compiled once, at import.
TOKEN68_BYTES = re.compile(TOKEN68.pattern.encode("ascii"))
# The two scheme keywords API providers use for keys; accept_other_scheme takes either for the other.
COMMON_SCHEMES = (b"bearer", b"token")
CRASH_HEADER_LENGTH = 1024
# Bounds of the per-plan caches (header value -> parse, key answers): cleared whole when full,
# so a fuzzer's stream of distinct values cannot grow them. Only values up to PARSED_VALUE_MAX
# bytes are remembered (real credentials are far shorter; a fuzzer's 8 KB values would make the
# cache megabytes): at most about 1 MiB however odd the traffic.
PARSE_CACHE = 1024
PARSED_VALUE_MAX = 512
ANY_TOKEN = "@any"  # accept_any_token: past the scheme, nothing else is looked at
SHORT_COMPARE = 8


class Head(NamedTuple):
    """What the decision reads from a request: method, raw target, raw header pairs, body bytes.

    A server that has already indexed its headers may also pass the credential header's values
    (`credential`, as bytes) and the Content-Type (`content_type`, "" when absent); left None,
    both are found in `headers`.
    """

    method: str
    target: str
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes = b""
    credential: Sequence[bytes] | None = None
    content_type: str | bytes | None = None


@dataclass(eq=False)
class Plan:
    """A spec compiled for deciding: byte patterns, the answer table, the defect switches."""

    spec: ProviderSpec
    defects: frozenset[str]
    table: dict[str, Decision]
    header: bytes
    scheme: bytes
    insensitive: bool
    tab: bool
    seps: bytes
    shape: re.Pattern[bytes] | None
    query_names: frozenset[str]
    query_names_re: re.Pattern[bytes]
    method: str
    binding_field: str | None
    bad_body: Any
    has_bad_request: bool
    body: BodyReader
    other_schemes: frozenset[bytes]
    # credential.scheme null: the whole value is the key (no keyword, no separator).
    bare: bool = False
    # credential.duplicates: None answers duplicate_header; 0 / -1 authenticates the first / last line.
    pick: int | None = None
    # credential.separator.strip_unicode_whitespace: the token is str.strip()ped as FastAPI does.
    unicode_strip: bool = False
    parsed: dict[bytes, tuple[bytes, bytes] | str] = field(default_factory=dict)
    # The probe's decider (the hot path), and the router that picks one for any other request.
    entry: Callable[[Head, KeyStore, float], Decision] = field(init=False, repr=False)
    router: Router = field(init=False, repr=False)
    # The credential alone, for requests answered before auth (413, a scenario's 503): no rate count.
    judge_only: Callable[[Head, KeyStore, float], Decision] = field(init=False, repr=False)
    _rate: dict[int, Decision] = field(default_factory=dict)

    def rate_limited(self, seconds: int) -> Decision:
        """The rate-limited answer with `Retry-After: seconds` (cached per value)."""
        d = self._rate.get(seconds)
        if d is None:
            if len(self._rate) > 4096:
                self._rate.clear()
            d = self._rate[seconds] = retry_after(self.table["rate_limited"], seconds)
        return d


def compile_plan(spec: ProviderSpec, defects: Sequence[str] = ()) -> Plan:
    """Compile a spec (and the defects to plant) for `decide`."""
    cred = spec.credential
    found = frozenset(defects)
    insensitive = cred.scheme_insensitive and "case_sensitive_scheme" not in found
    scheme = (cred.scheme or "").encode("ascii")
    tab = cred.separator == "whitespace"
    enforce = cred.token.enforce_shape
    plan = Plan(
        spec=spec,
        defects=found,
        table=build_table(spec, found),
        header=cred.header.lower().encode("ascii"),
        scheme=scheme.lower() if insensitive else scheme,
        insensitive=insensitive,
        tab=tab,
        seps=b" \t" if tab else b" ",
        shape=re.compile(cred.token.pattern().pattern.encode("ascii")) if enforce else None,
        query_names=frozenset(spec.query_names),
        query_names_re=re.compile(b"|".join(re.escape(n.encode("utf-8")) for n in spec.query_names)),
        method=spec.probe.method,
        binding_field=spec.binding.field if spec.binding else None,
        bad_body=thaw(spec.probe.bad_body),
        has_bad_request=spec.failure("bad_request") is not None,
        body=BodyReader(spec.probe.content_type),
        other_schemes=frozenset(COMMON_SCHEMES) - {scheme.lower()},
        bare=cred.bare,
        pick=PICK[cred.duplicates],
        unicode_strip=cred.strip_unicode_whitespace,
    )
    plan.entry = decider(plan, PROBE)
    plan.router = Router(spec, lambda op: decider(plan, op), lambda methods: _allow(plan, methods))
    plan.judge_only = decider(plan, Operation("credential", "success", counts=False))
    return plan


def judged(answer: Decision, credential: Decision) -> Decision:
    """`answer` (sent before auth: 413, 503) noting what the request's credential was judged: the
    journal, so the gate, sees a wrong scheme whatever the status (a success notes only the key)."""
    klass = None if credential.status < 400 else credential.klass
    return answer._replace(klass=klass, variant=credential.variant if klass else None,
                           key_id=credential.key_id, key_state=credential.key_state)


# credential.duplicates -> which field line authenticates (None: none, the request is refused).
PICK: Mapping[str, int | None] = {"reject": None, "first_wins": 0, "last_wins": -1}
# The probe as an operation: the method check, bad_body and binding of spec.probe, its scope per key.
PROBE = Operation("probe", "success", probe=True)


def _allow(plan: Plan, methods: tuple[str, ...]) -> str:
    """The table entry of the 405 answer naming these methods in Allow (built once per set)."""
    name = allow_name(methods)
    if name not in plan.table:
        plan.table[name] = method_not_allowed(methods)
    return name


def credential_lines(plan: Plan, head: Head) -> Sequence[bytes]:
    """Every value sent under the credential header (one per field line)."""
    if head.credential is not None:
        return head.credential
    name = plan.header
    size = len(name)
    return [v for n, v in head.headers if len(n) == size and n.lower() == name]


def decide(plan: Plan, head: Head, store: KeyStore, now: float) -> Decision:
    """The mock's answer to one request for the probe's path."""
    return plan.entry(head, store, now)


def decide_any(plan: Plan, head: Head, store: KeyStore, now: float) -> Decision:
    """The mock's answer to any request under the API base: authenticated first, then routed."""
    return plan.router.select(head.method, head.target)(head, store, now)


def decider(plan: Plan, op: Operation) -> Callable[[Head, KeyStore, float], Decision]:
    """`decide` specialised on one plan and one operation (the probe, a route, 405, not_found).

    Steps 1-5 are the same for every operation; step 6 and the scope needed are the operation's.
    The plan's answers and the defect switches are bound once, as closure variables: this runs
    for every request, and a lookup on a local costs a fraction of one on an attribute or a set.
    """
    table = plan.table
    parsed_cache = plan.parsed
    bugs = plan.defects
    fields_of = plan.body.fields
    method, binding_field, has_bad_request, bad_body = plan.method, plan.binding_field, plan.has_bad_request, plan.bad_body
    probe, success, scope = op.probe, op.answer, op.scope
    body_check = SchemaCheck(op.request.content_type, op.request.schema).passes if op.request is not None else None
    accept_missing, accept_query_key = "accept_missing" in bugs, "accept_query_key" in bugs
    accept_expired, accept_revoked = "accept_expired" in bugs, "accept_revoked" in bugs
    accept_refused, ignore_binding = "accept_refused_kind" in bugs, "ignore_binding" in bugs
    ignore_scope, ignore_rate = "ignore_scope" in bugs, "ignore_rate_limit" in bugs or not op.counts
    loose = {
        "prefix": "prefix_compare" in bugs,
        "short": SHORT_COMPARE if "short_compare" in bugs else 0,
        "casefold": "case_insensitive_compare" in bugs,
    }
    loose_lookup = any(loose.values())
    duplicate, missing, token_in_query = table["duplicate_header"], table["missing"], table["token_in_query"]
    pick = plan.pick
    unknown = table["invalid.unknown"]
    # Answers noting a key (id, state), built once per key and state: {key: (state, {name: Decision})}.
    keyed: dict[Any, tuple[str, dict[str, Decision]]] = {}

    def answer(name: str, key: Any) -> Decision:
        """The table's answer `name` noting `key`."""
        slot = keyed.get(key)
        if slot is None or slot[0] != key.state:
            if len(keyed) >= PARSE_CACHE:
                keyed.clear()
            slot = keyed[key] = (key.state, {})
        d = slot[1].get(name)
        if d is None:
            d = slot[1][name] = table[name].with_key(key)
        return d

    def authorised(head: Head, key: Any) -> Decision:
        """6. Past auth: the probe's method and body, or a route's body check; then the success."""
        name = success
        if probe:
            if head.method != method:
                name = "method_not_allowed"
            elif has_bad_request and head.body:
                fields = fields_of(head)
                if fields is None or fields == bad_body:
                    name = "bad_request"
        elif body_check is not None and not body_check(head):
            name = "bad_request"
        if key is None:
            return table[name]
        slot = keyed.get(key)  # answer(name, key), inlined: this is every authenticated request
        d = slot[1].get(name) if slot is not None and slot[0] == key.state else None
        return answer(name, key) if d is None else d

    def authenticate(head: Head, store: KeyStore, now: float, token: bytes, digest: bytes | None = None) -> Decision:
        """5. The key: known, live, of an accepted kind, bound here, scoped enough, within its rate."""
        # RFC 6750 §3.1: invalid_token when the token is "expired, revoked, malformed, or invalid for
        # other reasons" (401); insufficient_scope when "the request requires higher privileges than
        # provided by the access token" (403); RFC 6585 §4: 429 past the rate limit.
        # The store's lookup, inlined: SHA-256 digest index, then the bytes compared in constant time.
        key = store.index.get(digest or sha256(token).digest())
        if key is not None and not compare_digest(key.secret, token):
            key = None
        if key is None and loose_lookup:
            key = store.lookup_loose(token, **loose)
        if key is None:
            return unknown
        state = key.state
        if state != "valid":
            if state == "expired" and not accept_expired:
                return answer("expired", key)
            if state == "revoked" and not accept_revoked:
                return answer("revoked", key)
        if binding_field is not None:
            if key.refused and not accept_refused:
                return answer("invalid.refused_kind", key)
            if key.binding is not None and not ignore_binding:
                fields = fields_of(head)
                named = fields.get(binding_field) if fields else None
                # The probe names its resource; another operation is judged only where it names one.
                if (probe or named is not None) and key.binding != (named if named is None or type(named) is str else str(named)):
                    return answer("invalid.other_binding", key)
        if not ignore_scope and not (key.covers if probe else scope is None or scope in key.held):
            return answer("insufficient_scope", key)
        limiter = store.limiter
        if limiter is not None and not ignore_rate:
            wait = limiter.hit(key.id, now)
            if wait is not None:
                return plan.rate_limited(wait).with_key(key)
        return authorised(head, key)

    def core(head: Head, store: KeyStore, now: float) -> Decision:
        """Steps 1-4, then the key."""
        lines = head.credential
        if lines is None:
            lines = credential_lines(plan, head)
        if len(lines) == 1:
            raw = lines[0]
        elif lines:
            # 1. RFC 9110 §5.3: Authorization is not a list field; two field lines make a malformed
            # request, unless the spec says the server reads one of them (credential.duplicates).
            if pick is None:
                return duplicate
            raw = lines[pick]
        else:
            # 2. No header: a key elsewhere (query, body field) is misplaced (RFC 6750 §5.3: "Bearer
            # tokens SHOULD NOT be passed in page URLs"); nothing at all is missing (RFC 9110 §15.5.2:
            # 401 when the request "lacks valid authentication credentials").
            misplaced = find_misplaced(plan, head)
            if misplaced is None:
                return authorised(head, None) if accept_missing else missing
            if accept_query_key:
                return authenticate(head, store, now, misplaced[1].encode("utf-8", "surrogateescape"))
            return token_in_query
        # 3-4 depend on the header value alone: remembered per value (clients resend the same one).
        parsed = parsed_cache.get(raw)
        if parsed is None:
            parsed = parse_credential(plan, raw)
            if len(raw) <= PARSED_VALUE_MAX:
                if len(parsed_cache) >= PARSE_CACHE:
                    parsed_cache.clear()
                parsed_cache[raw] = parsed
        if type(parsed) is tuple:
            return authenticate(head, store, now, parsed[0], parsed[1])
        if parsed is ANY_TOKEN:
            return authorised(head, None)
        return table[parsed]

    if not op.auth:
        return _public(table[success], core)
    if not bugs:
        return core

    def with_defects(head: Head, store: KeyStore, now: float) -> Decision:
        """The decision with the planted crash and echo defects around it."""
        lines = credential_lines(plan, head)
        if lines:
            crashed = _crash(plan, lines)
            if crashed is not None:
                return crashed
        d = core(head, store, now)
        if "echo_credential" in bugs and d.status >= 400 and d.klass is not None:
            presented = presented_credential(plan, head)
            if presented:
                d = echo(d, presented)
        return d

    return with_defects


def _public(served: Decision, core: Callable[[Head, KeyStore, float], Decision]) -> Callable[[Head, KeyStore, float], Decision]:
    """A public operation (`auth: false`): served whatever the credential, which is still judged.

    A credential the client sent anyway is decided as usual and the decision's class noted on the
    answer, so the journal (and the gate) see a wrong scheme on a public path too.
    """

    def public(head: Head, store: KeyStore, now: float) -> Decision:
        d = core(head, store, now)
        if d.klass == "rate_limited":
            return d
        klass = None if d.klass == "missing" else d.klass
        return served._replace(klass=klass, variant=d.variant if klass else None, key_id=d.key_id, key_state=d.key_state)

    return public


def parse_credential(plan: Plan, raw: bytes) -> tuple[bytes, bytes] | str:
    """Steps 3-4 on one header value: (token, its SHA-256), or the table name of the failure."""
    # 3. RFC 9110 §5.5: leading and trailing whitespace is not part of the field value.
    value = raw.strip(b" \t")
    if not value:
        return "empty"
    if plan.bare:
        # A bare key (credential.scheme null): no keyword, no separator; the value is the token.
        rest = unicode_stripped(value) if plan.unicode_strip else value
        if not rest:
            return "empty"
    else:
        # 4. RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
        cut = first_separator(value, plan.tab)
        if cut < 0:
            if _scheme_matches(plan, value):
                return "malformed.scheme_only"
            if "accept_raw_key" in plan.defects:
                return value, sha256(value).digest()
            return "no_scheme"
        scheme = value[:cut]
        rest = value[cut + 1 :].lstrip(plan.seps)
        if plan.unicode_strip:
            rest = unicode_stripped(rest)
        if not _scheme_matches(plan, scheme):
            if not ("accept_other_scheme" in plan.defects and scheme.lower() in plan.other_schemes):
                return "wrong_scheme"
    if "accept_any_token" in plan.defects:
        return ANY_TOKEN
    if first_separator(rest, plan.tab) >= 0:
        return "malformed.internal_space"
    if TOKEN68_BYTES.fullmatch(rest) is None:
        return "malformed.bad_chars"
    if plan.shape is not None and plan.shape.fullmatch(rest) is None:
        return "malformed.shape"
    return rest, sha256(rest).digest()


def unicode_stripped(value: bytes) -> bytes:
    """`value` without the whitespace str.strip() removes from its latin-1 reading (U+0085, U+00A0,
    VT, FF, FS..US besides SP/HTAB): what a framework that strips the decoded token leaves (FastAPI's
    `param.strip()`; Starlette decodes header bytes as latin-1)."""
    return value.decode("latin-1").strip().encode("latin-1")


def first_separator(value: bytes, tab: bool) -> int:
    """Where the first separator (SP, or SP/HTAB for `whitespace` specs) is, or -1."""
    sp = value.find(b" ")
    if not tab:
        return sp
    ht = value.find(b"\t")
    if sp < 0:
        return ht
    return sp if ht < 0 else min(sp, ht)


def _scheme_matches(plan: Plan, scheme: bytes) -> bool:
    # RFC 9110 §11.1: "a case-insensitive token"; bytes.lower() folds ASCII only, so no homoglyph
    # (the Kelvin sign U+212A, say) ever folds into a scheme keyword.
    return (scheme.lower() if plan.insensitive else scheme) == plan.scheme


def _crash(plan: Plan, lines: Sequence[bytes]) -> Decision | None:
    bugs = plan.defects
    if "crash_duplicate_header" in bugs and len(lines) > 1:
        return plan.table["crash"]
    if "crash_long_header" in bugs and any(len(v) > CRASH_HEADER_LENGTH for v in lines):
        return plan.table["crash"]
    if "crash_non_ascii" in bugs and any(not v.isascii() for v in lines):
        return plan.table["crash"]
    return None


def binding_value(plan: Plan, head: Head) -> str | None:
    """The resource the request names in its body (Flash's flash_id), or None."""
    fields = plan.body.fields(head)
    if not fields or plan.binding_field not in fields:
        return None
    value = fields[plan.binding_field]
    return value if isinstance(value, str) else str(value)


def query_pairs(target: str) -> list[tuple[str, str]]:
    """The query parameters of a raw request target."""
    cut = target.find("?")
    if cut < 0:
        return []
    return parse_qsl(target[cut + 1 :].split("#", 1)[0], keep_blank_values=True)


def find_misplaced(plan: Plan, head: Head) -> tuple[str, str] | None:
    """A credential-named query parameter or body field (name, value), or None."""
    if "?" in head.target:
        for name, value in query_pairs(head.target):
            if name in plan.query_names:
                return name, value
    body = head.body
    # One C-level search before any parsing: most bodies name no credential field at all.
    if body and plan.query_names_re.search(body) is not None:
        fields: Mapping[str, Any] | None = plan.body.fields(head)
        for name in fields or ():
            if name in plan.query_names:
                value = fields[name]  # type: ignore[index]
                return name, value if isinstance(value, str) else str(value)
    return None


def presented_credential(plan: Plan, head: Head) -> bytes | None:
    """What the request presented as its credential: the header value, or a misplaced key."""
    lines = credential_lines(plan, head)
    if lines:
        return lines[0].strip(b" \t") or None
    misplaced = find_misplaced(plan, head)
    return misplaced[1].encode("utf-8", "surrogateescape") if misplaced else None
