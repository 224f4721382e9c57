"""The suite's own reading of a spec's decision: which failure class a request must get.

A pure function of (spec, what the application sees, the target's keys). It follows the decision
order of ARCHITECTURE.md, written here independently of mocks/_decide.py so that a bug in the mock
cannot hide the same bug in the expectation.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Mapping, Sequence
from urllib.parse import parse_qsl

from specs import TOKEN68, ProviderSpec

from .._secret import Secret

# RFC 9110 §5.6.3: OWS = *( SP / HTAB ); leading and trailing OWS is not part of a field value.
OWS = " \t"

# What a known key of another state makes of a request (ARCHITECTURE.md, decision step 5).
STATE_OUTCOME: Mapping[str, tuple[str, str | None]] = {
    "expired": ("expired", None),
    "revoked": ("revoked", None),
    "limited": ("insufficient_scope", None),
    "account": ("invalid", "refused_kind"),
    "other_binding": ("invalid", "other_binding"),
}


@dataclass(frozen=True)
class Outcome:
    """Accepted (klass None) or refused with a failure class and variant."""

    klass: str | None
    variant: str | None = None

    @property
    def accepted(self) -> bool:
        """True for the probe's success."""
        return self.klass is None

    def __str__(self) -> str:
        if self.klass is None:
            return "accepted"
        return self.klass + (f"/{self.variant}" if self.variant else "")


ACCEPTED = Outcome(None)


@dataclass(frozen=True)
class View:
    """What the application sees of a request: credential header values, query and body names."""

    values: tuple[bytes, ...]
    query_names: frozenset[str] = frozenset()
    body_names: frozenset[str] = frozenset()


def query_names(target: str) -> frozenset[str]:
    """Parameter names of a request target's query string."""
    _, _, query = target.partition("?")
    return frozenset(n for n, _ in parse_qsl(query, keep_blank_values=True))


def body_names(content_type: str | None, body: bytes) -> frozenset[str]:
    """Field names of a JSON object or form body (empty when it is neither)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if ctype == "application/x-www-form-urlencoded":
        return frozenset(n for n, _ in parse_qsl(text, keep_blank_values=True))
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        return frozenset()
    return frozenset(doc) if isinstance(doc, dict) else frozenset()


def _ascii_fold(text: str) -> bytes:
    # RFC 9110 §11.1: the scheme is a case-insensitive token; "case-insensitive" in HTTP means
    # ASCII case only, so a Kelvin sign (U+212A) never folds to "k".
    return text.encode("utf-8", "surrogateescape").lower()


def _scheme_equal(spec: ProviderSpec, sent: str) -> bool:
    scheme = spec.credential.scheme or ""
    if spec.credential.scheme_insensitive:
        return _ascii_fold(sent) == _ascii_fold(scheme)
    return sent == scheme


def separators(spec: ProviderSpec) -> str:
    """The characters between scheme and token: SP, or SP and HTAB for `whitespace`."""
    return " \t" if spec.credential.separator == "whitespace" else " "


def _str_stripped(text: str) -> str:
    """What a framework that reads header bytes as latin-1 and calls str.strip() keeps (Starlette
    decodes headers as latin-1; FastAPI strips the token): U+0085, U+00A0, VT, FF, FS..US go too."""
    raw = text.encode("utf-8", "surrogateescape")
    return raw.decode("latin-1").strip().encode("latin-1").decode("utf-8", "surrogateescape")


# credential.duplicates: which line a lenient server reads.
LINE_READ: Mapping[str, int] = {"first_wins": 0, "last_wins": -1}


def decide(spec: ProviderSpec, view: View, keys: Mapping[str, Secret]) -> Outcome:
    """The outcome the spec prescribes for what the application sees (ARCHITECTURE.md order)."""
    cred = spec.credential
    values = view.values
    # 1. More than one credential header field line: refused, or one of them read (credential.duplicates).
    if len(values) > 1:
        if cred.duplicates not in LINE_READ:
            return Outcome("duplicate_header")
        values = (values[LINE_READ[cred.duplicates]],)
    # 2. No header: a key under a known name in the query or body, or nothing at all.
    if not values:
        names = set(spec.query_names)
        if names & view.query_names or names & view.body_names:
            return Outcome("token_in_query")
        return Outcome("missing")
    # 3. Empty or only whitespace (aiohttp, like every parser, hands the app a surrogate-escaped str).
    value = values[0].decode("utf-8", "surrogateescape").strip(OWS)
    if not value:
        return Outcome("empty")
    seps = separators(spec)
    if cred.scheme is None:
        # A bare key (credential.scheme null): the whole value is the token.
        token = _str_stripped(value) if cred.strip_unicode_whitespace else value
        if not token:
            return Outcome("empty")
    else:
        # 4. Scheme, separator and token68 (RFC 9110 §11.4: credentials = auth-scheme [ 1*SP token68 ]).
        cut = min((i for i in (value.find(s) for s in seps) if i >= 0), default=-1)
        if cut < 0:
            if _scheme_equal(spec, value):
                return Outcome("malformed", "scheme_only")
            return Outcome("no_scheme")
        if not _scheme_equal(spec, value[:cut]):
            return Outcome("wrong_scheme")
        token = value[cut:].lstrip(seps)
        if cred.strip_unicode_whitespace:
            token = _str_stripped(token)
    if any(s in token for s in seps):
        return Outcome("malformed", "internal_space")
    if not TOKEN68.fullmatch(token):
        return Outcome("malformed", "bad_chars")
    shape = spec.credential.token
    if shape.enforce_shape and not shape.pattern().fullmatch(token):
        return Outcome("malformed", "shape")
    # 5. Key lookup, constant time on bytes.
    presented = token.encode("utf-8", "surrogateescape")
    for state, secret in keys.items():
        if hmac.compare_digest(presented, secret.reveal().encode("utf-8")):
            if state == "valid":
                return ACCEPTED
            if state in STATE_OUTCOME:
                return Outcome(*STATE_OUTCOME[state])
    return Outcome("invalid", "unknown")


def header_values(spec: ProviderSpec, headers: Sequence[tuple[bytes, bytes]]) -> tuple[bytes, ...]:
    """The values of every credential header line (field names are case-insensitive, RFC 9110 §5.1)."""
    name = spec.credential.header.lower().encode()
    return tuple(v for n, v in headers if n.lower() == name)
