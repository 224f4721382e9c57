"""The provider spec as plain, immutable data: what both the mock and the suite read."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ._contract import BASE_URL_ENV, CA_BUNDLE_ENV, CREDENTIAL_ENV
from ._grammar import TOKEN68_CHARS, alphabet_chars

# The one vocabulary of the project, used verbatim in YAML keys, case ids, reports.
FAILURE_CLASSES: tuple[str, ...] = (
    "missing",
    "empty",
    "wrong_scheme",
    "no_scheme",
    "malformed",
    "invalid",
    "expired",
    "revoked",
    "insufficient_scope",
    "token_in_query",
    "duplicate_header",
    "rate_limited",
    "bad_request",
)
# Sub-causes a failure class may have (`failures.<class>.variants` in a spec; case ids
# `provider.class.variant`), each answered by its own response where the spec gives one.
# specs/provider.schema.json lists the same names (tests/test_specs.py holds the two equal).
VARIANTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "malformed": ("scheme_only", "internal_space", "bad_chars", "shape"),
    "invalid": ("unknown", "other_binding", "refused_kind", "exchange"),
})
# Strongest first: a verdict follows the weaker of a rule's outcome and its trigger.
STRENGTHS: tuple[str, ...] = ("documented", "rfc", "inferred")
# The key states a spec may list (`keys.states`); a live run reads a key of each from the environment.
KEY_STATES: tuple[str, ...] = ("valid", "expired", "revoked", "limited")

# RFC 9110 §11.2 token68 / RFC 6750 §2.1 b64token: the grammar every credential must fit.
TOKEN68 = re.compile(f"[{re.escape(TOKEN68_CHARS)}]+=*")
# RFC 7515 §2 base64url, the characters of a JWT's segments.
JWT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Query parameter names under which clients misplace keys, for every provider.
COMMON_QUERY_NAMES: tuple[str, ...] = ("access_token", "api_key", "token")
# What a server does with two credential header lines (credential.duplicates.policy).
DUPLICATE_POLICIES: tuple[str, ...] = ("reject", "first_wins", "last_wins")
# Methods a route may have (RFC 9110 §9.3; TRACE and CONNECT are not API operations).
ROUTE_METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Methods the probe may have: an operation that may carry a body, or GET.
PROBE_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A path template's variable, as OpenAPI writes them: `{id}` stands for one non-empty segment part.
TEMPLATE_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


def freeze(value: Any) -> Any:
    """Return a deep read-only copy of parsed YAML/JSON (dicts become mappingproxies)."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Return a plain, JSON-serialisable copy of frozen data."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Rule:
    """Where a rule comes from and how strong it is."""

    strength: str
    source: str
    reason: str | None = None


def broken_verdict(strength: str, security: bool = False) -> str:
    """The verdict for a broken rule: FAIL for a `documented` or security rule, NON-STRICT otherwise
    (an `rfc` or `inferred` rule reports without failing the run)."""
    return "FAIL" if security or strength == "documented" else "NON-STRICT"


def weaker(a: "Rule", b: "Rule | None") -> "Rule":
    """The weaker of two rules (documented > rfc > inferred); `a` when `b` is None or as strong."""
    if b is None or STRENGTHS.index(b.strength) <= STRENGTHS.index(a.strength):
        return a
    return b


# Where a failure answer's TRIGGER comes from when the spec quotes none: which requests get an
# answer is then the spec's own reading, never the provider's word.
NO_TRIGGER = Rule(
    "inferred",
    "the spec quotes no sentence naming which requests get this answer",
    "Only the answer is quoted; the mapping from a request to it is the spec's reading.",
)

# A `documented` trigger's quote must name the situation: at least one of these words (any case)
# per failure class or variant (`python -m specs check` refuses it otherwise). A page that names
# only the answer ("Invalid Token Format") documents the outcome, not which requests get it.
TRIGGER_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "missing": ("missing", "not include", "without", "not provided", "no token", "no key", "omit"),
    "empty": ("empty", "blank", "missing", "not provided", "not include"),
    "wrong_scheme": ("prefix", "scheme", "keyword"),
    "no_scheme": ("prefix", "scheme", "keyword"),
    "malformed": ("malformed", "space", "character", "length", "characters long"),
    "scheme_only": ("without a token", "only the", "alone", "no token"),
    "internal_space": ("space",),
    "bad_chars": ("character",),
    "shape": ("length", "characters long", "must start", "prefix", "digits"),
    "invalid": ("invalid", "incorrect", "correct", "wrong", "unknown", "does not exist", "not valid"),
    "unknown": ("invalid", "incorrect", "correct", "wrong", "unknown", "does not exist", "not valid"),
    "other_binding": ("each", "unique", "another", "other", "correct"),
    "refused_kind": ("global", "account", "kind", "confuse", "type of"),
    "exchange": ("username", "password", "credentials"),
    "expired": ("expir",),
    "revoked": ("revok", "deleted", "disabled", "deactivat"),
    "insufficient_scope": ("scope", "permission"),
    "token_in_query": ("query", "url", "parameter", "cookie", "request body"),
    "duplicate_header": ("twice", "more than one", "duplicate", "multiple", "repeated", "two "),
    "rate_limited": ("rate", "limit", "too many"),
    "bad_request": ("body", "parameter", "field", "payload", "required", "missing"),
})


@dataclass(frozen=True)
class Response:
    """An expected response: status, body example, body schema, required headers."""

    status: int
    body: Any
    schema: Mapping[str, Any]
    rule: Rule
    body_rule: Rule
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    message: str | None = None
    message_rule: Rule | None = None
    # Every accepted body when the spec lists several (`bodies:`); `body` is the first, the one a mock sends.
    bodies: tuple[Any, ...] = ()
    # Which requests get this answer (failure classes): the verdict follows the weaker of this
    # and the rule judging the answer itself. None for answers with no trigger to quote.
    trigger: Rule | None = None

    def accepted_bodies(self) -> tuple[Any, ...]:
        """Every body the provider may send for this response (the example alone, usually)."""
        return self.bodies or (self.body,)

    def body_bytes(self) -> bytes:
        """The body example serialised as the provider sends it (compact JSON)."""
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(thaw(self.body), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Failure(Response):
    """A failure class's catalogue entry, with optional variants (one per sub-cause)."""

    klass: str = ""
    variants: Mapping[str, Response] = field(default_factory=lambda: MappingProxyType({}))

    def variant(self, name: str | None) -> Response:
        """The response for a sub-cause, falling back to the class's own."""
        if name and name in self.variants:
            return self.variants[name]
        return self


@dataclass(frozen=True)
class TokenShape:
    """What a key looks like, so mocks mint and generators mutate keys of the right shape."""

    format: str
    rule: Rule
    alphabet: str | None = None
    length: int | None = None
    prefix: str = ""
    enforce_shape: bool = False
    example: str | None = None

    def pattern(self) -> re.Pattern[str]:
        """A regex that a key of this shape matches in full."""
        if self.format == "jwt":
            seg = r"[A-Za-z0-9_-]+"
            return re.compile(rf"{re.escape(self.prefix)}{seg}\.{seg}\.{seg}")
        if self.format == "hex":
            return re.compile(rf"{re.escape(self.prefix)}[0-9a-f]{{{self.length}}}")
        # Built from the checked characters, never by pasting the spec's class into a regex.
        cls = "".join(re.escape(c) for c in self.chars())
        return re.compile(rf"{re.escape(self.prefix)}[{cls}]{{{self.length}}}")

    def chars(self) -> str:
        """The characters a key is made of after its prefix (the alphabet's class, expanded)."""
        if self.format == "jwt":
            return JWT_CHARS
        if self.format == "hex":
            return "0123456789abcdef"
        return alphabet_chars(self.alphabet or "A-Za-z0-9")


@dataclass(frozen=True)
class Challenge:
    """The WWW-Authenticate value the provider sends with a 401."""

    value: str
    rule: Rule


@dataclass(frozen=True)
class Credential:
    """How a key travels: header, scheme keyword, separator and token shape."""

    header: str
    scheme: str | None  # None: a bare key (`X-API-Key: <key>`), no scheme keyword at all
    rule: Rule
    token: TokenShape
    scheme_insensitive: bool
    scheme_rule: Rule
    separator: str
    separator_rule: Rule
    challenge: Challenge | None
    query_names: tuple[str, ...]
    # credential.duplicates: reject (failures.duplicate_header), first_wins or last_wins.
    duplicates: str = "reject"
    duplicates_rule: Rule | None = None
    # credential.separator.strip_unicode_whitespace: str.isspace() characters around the token go too.
    strip_unicode_whitespace: bool = False

    @property
    def bare(self) -> bool:
        """True when the key travels alone in its header, with no scheme keyword."""
        return self.scheme is None

    def render(self, key: str) -> str:
        """The canonical header value for a key (`Bearer <key>`, or the key alone when bare)."""
        return key if self.scheme is None else f"{self.scheme} {key}"


@dataclass(frozen=True)
class Probe:
    """A harmless request that needs auth, and what success looks like."""

    method: str
    path: str
    content_type: str | None
    body: Any
    bad_body: Any
    scope: str | None
    rule: Rule
    success: Response

    def encode(self, body: Any = None) -> bytes:
        """Serialise a body (default: the probe's own) per the probe's content type."""
        return encode_body(self.content_type, self.body if body is None else body)


@dataclass(frozen=True)
class RouteRequest:
    """A route's request-body check: a body that fails it gets failures.bad_request."""

    content_type: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Route:
    """One operation of the provider's API besides the probe: authenticated like it unless public."""

    method: str
    path: str  # a template: `{name}` is one non-empty path segment (or part of one)
    auth: bool
    scope: str | None
    success: Response
    request: RouteRequest | None
    source: Rule | None
    id: str
    content_type: str | None = None  # of the success body; None: JSON (or none when empty)

    @property
    def variables(self) -> tuple[str, ...]:
        """The template's variable names, in order."""
        return tuple(TEMPLATE_VARIABLE.findall(self.path))

    @property
    def shape(self) -> str:
        """The template with its variable names erased (`/v1/tasks/{}`): equal shapes match equal paths."""
        return TEMPLATE_VARIABLE.sub("{}", self.path)

    def regex(self) -> re.Pattern[str]:
        """A regex matching the raw request paths this template stands for (no query)."""
        out, last = [], 0
        for m in TEMPLATE_VARIABLE.finditer(self.path):
            out.append(re.escape(self.path[last : m.start()]))
            out.append(f"(?P<{_group(m.group(1))}>[^/?#]+)")
            last = m.end()
        out.append(re.escape(self.path[last:]))
        return re.compile("".join(out))

    def example_path(self) -> str:
        """A concrete path for this template (each variable filled with `1`)."""
        return TEMPLATE_VARIABLE.sub("1", self.path)


def _group(name: str) -> str:
    """A regex group name for a template variable (OpenAPI allows `.` and `-`, regex groups do not)."""
    return "v_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)


@dataclass(frozen=True)
class Scopes:
    """The provider's scopes: names, what implies what, and the limited key's scopes."""

    names: tuple[str, ...]
    implies: Mapping[str, tuple[str, ...]]
    limited: tuple[str, ...]
    rule: Rule

    def expand(self, scopes: tuple[str, ...] | list[str]) -> frozenset[str]:
        """Scopes held, with every implied scope added (admin = storage + image editing)."""
        held = set(scopes)
        for scope in list(held):
            held.update(self.implies.get(scope, ()))
        return frozenset(held)


@dataclass(frozen=True)
class Exchange:
    """Username and password traded for a token."""

    method: str
    path: str
    content_type: str
    username_field: str
    password_field: str
    token_field: str
    rule: Rule
    failure: Response


@dataclass(frozen=True)
class Binding:
    """Keys bound to a resource named by a probe field; kinds of key that may be used."""

    field: str
    kinds: tuple[str, ...]
    accepted: tuple[str, ...]
    rule: Rule


@dataclass(frozen=True)
class RateLimit:
    """Requests per key per window before 429."""

    requests: int
    window_seconds: int
    rule: Rule


@dataclass(frozen=True)
class Deviation:
    """A known, accepted departure of the live provider from its spec."""

    case: str
    check: str
    reason: str
    link: str
    # For a generated strategy (`case: generated.wire`): only its findings of this failure class.
    klass: str | None = None


@dataclass(frozen=True)
class Keys:
    """The key states the provider has."""

    states: tuple[str, ...]
    rule: Rule
    shown_once: bool = False
    per_account: int | None = None


@dataclass(frozen=True)
class ProviderSpec:
    """One provider's documented auth behaviour."""

    id: str
    name: str
    docs: str
    seed: str | None
    notes: tuple[str, ...]
    live_url: str
    sandbox_url: str | None
    credential: Credential
    probe: Probe
    keys: Keys
    scopes: Scopes | None
    exchange: Exchange | None
    binding: Binding | None
    rate_limit: RateLimit | None
    failures: Mapping[str, Failure]
    deviations: tuple[Deviation, ...]
    path: str
    # Operations besides the probe (spec `routes`), and the answer to an authenticated request no
    # route serves (spec `not_found`, default a JSON 404).
    routes: tuple[Route, ...] = ()
    not_found: Response | None = None

    @property
    def env_prefix(self) -> str:
        """`CLORO` for cloro: the prefix of every environment variable."""
        return self.id.upper()

    def env(self, what: str) -> str:
        """Environment variable name, e.g. env('API_KEY') -> 'CLORO_API_KEY'."""
        return f"{self.env_prefix}_{what}"

    def credential_env(self, state: str) -> str:
        """The variable of a credential state: `CLORO_API_KEY` for valid, `FLASH_ACCOUNT_KEY` for account."""
        return self.env(CREDENTIAL_ENV.get(state, f"{state.upper()}_KEY"))

    @property
    def base_url_env(self) -> str:
        """The variable of the target's base URL: `CLORO_BASE_URL`."""
        return self.env(BASE_URL_ENV)

    @property
    def ca_bundle_env(self) -> str:
        """The variable of the gate's CA bundle under `--tls`: `CLORO_CA_BUNDLE`."""
        return self.env(CA_BUNDLE_ENV)

    @property
    def query_names(self) -> tuple[str, ...]:
        """Every parameter name a misplaced key is looked for under."""
        names = list(COMMON_QUERY_NAMES)
        names += [n for n in self.credential.query_names if n not in names]
        return tuple(names)

    def failure(self, klass: str) -> Failure | None:
        """The catalogue entry of a failure class, or None where the provider has none."""
        return self.failures.get(klass)


def encode_body(content_type: str | None, body: Any) -> bytes:
    """Serialise a JSON or form body as the provider expects it."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        from urllib.parse import urlencode

        return urlencode([(k, str(v)) for k, v in thaw(body).items()]).encode("ascii")
    return json.dumps(thaw(body), separators=(",", ":")).encode("utf-8")
