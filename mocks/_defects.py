"""Defects: realistic auth bugs the mock can be run with, so the suite can be shown to catch them.

Each is one line saying the bug and the rule it breaks, and a predicate saying which specs it can
be planted in. The behaviour itself is switched on by name in `_decide` (decisions) and
`_responses` (answers), where the rule it breaks is enforced.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from specs import ProviderSpec


@dataclass(frozen=True)
class Defect:
    """One plantable auth bug: its name, what goes wrong, the rule it breaks, where it applies."""

    name: str
    bug: str
    breaks: str
    applies_to: str
    applies: Callable[[ProviderSpec], bool]
    # `security`: a request without the intact valid key gets through, or a credential is echoed;
    # `crash`: a 5xx for what the HTTP grammar lets through; `rule`: another rule of the spec is broken.
    kind: str = "rule"

    @property
    def must_fail(self) -> bool:
        """The suite must catch it with a FAIL whatever the strength of the rule it breaks (security
        and crashes); a `rule` defect breaks a rule whose strength decides FAIL or NON-STRICT."""
        return self.kind != "rule"


def _all(spec: ProviderSpec) -> bool:
    return True


def _has_status(status: int) -> Callable[[ProviderSpec], bool]:
    def check(spec: ProviderSpec) -> bool:
        return any(f.status == status or any(v.status == status for v in f.variants.values()) for f in spec.failures.values())

    return check


def _has_state(state: str) -> Callable[[ProviderSpec], bool]:
    return lambda spec: state in spec.keys.states


def _keyword(spec: ProviderSpec) -> bool:
    # A bare key (credential.scheme null) has no keyword to accept wrongly or leave out.
    return spec.credential.scheme is not None


def _refused_kind(spec: ProviderSpec) -> bool:
    return spec.binding is not None and any(k not in spec.binding.accepted for k in spec.binding.kinds)


_TABLE = (
    Defect("accept_missing", "a request with no credential header gets the probe's success",
           "the provider's documented 401 for a missing credential (RFC 9110 §11.4)", "all", _all, kind="security"),
    Defect("accept_any_token", "any token after the right scheme is accepted",
           "only an issued key authenticates (RFC 6750 §3.1 invalid_token)", "all", _all, kind="security"),
    Defect("accept_other_scheme", "`Token` accepted where `Bearer` is documented, and the reverse",
           "the documented scheme keyword (credential.scheme)", "specs with a scheme keyword", _keyword, kind="security"),
    Defect("accept_raw_key", "the raw key without a scheme keyword is accepted",
           "credentials = auth-scheme 1*SP token68 (RFC 9110 §11.4)", "specs with a scheme keyword", _keyword, kind="security"),
    Defect("status_403_for_401", "403 where the spec says 401",
           "the catalogue's status for unauthenticated requests (RFC 9110 §15.5.2)", "specs with a 401", _has_status(401)),
    Defect("status_401_for_403", "401 where the spec says 403",
           "valid credentials that are not adequate get 403 (RFC 9110 §11.4, RFC 6750 §3.1)", "specs with a 403 (scopes)", _has_status(403)),
    Defect("wrong_error_body", 'error bodies depart from the catalogue (`{"message": "Unauthorized"}`)',
           "the catalogue's error body for each failure class", "all", _all),
    Defect("crash_long_header", "500 when the credential header value exceeds 1024 bytes",
           "never a 5xx for what the HTTP grammar lets through", "all", _all, kind="crash"),
    Defect("crash_non_ascii", "500 when the credential header holds a non-ASCII byte",
           "never a 5xx for what the HTTP grammar lets through (RFC 9110 §5.5 obs-text)", "all", _all, kind="crash"),
    Defect("prefix_compare", "a presented token that starts with a valid key is accepted",
           "keys compared whole, in constant time", "all", _all, kind="security"),
    Defect("short_compare", "only the first 8 characters of the key are compared",
           "keys compared whole, in constant time", "all", _all, kind="security"),
    Defect("case_insensitive_compare", "keys compared case-insensitively",
           "keys are case-sensitive (RFC 6750 §2.1 b64token)", "all", _all, kind="security"),
    Defect("accept_query_key", "a valid key in the query string is accepted",
           "the key travels in the credential header only (RFC 6750 §5.3)", "all", _all, kind="security"),
    Defect("echo_credential", "error bodies echo the presented credential",
           "a response never repeats a credential", "all", _all, kind="security"),
    Defect("accept_expired", "expired keys are accepted",
           "expired keys are refused (RFC 6750 §3.1 invalid_token)", "specs with expired keys", _has_state("expired"), kind="security"),
    Defect("accept_revoked", "revoked keys are accepted",
           "revoked keys are refused (RFC 6750 §3.1 invalid_token)", "specs with revoked keys", _has_state("revoked"), kind="security"),
    Defect("ignore_scope", "scopes not checked",
           "a key lacking the route's scope gets 403 insufficient_scope (RFC 6750 §3.1)", "specs with scopes",
           lambda spec: spec.scopes is not None, kind="security"),
    Defect("ignore_binding", "a key works for any bound resource",
           "a key works only for the resource it is bound to (binding.rule)", "specs with a binding",
           lambda spec: spec.binding is not None, kind="security"),
    Defect("accept_refused_kind", "keys of a refused kind (account-wide token) are accepted",
           "only keys of an accepted kind work here (binding.rule)", "specs with a binding", _refused_kind, kind="security"),
    Defect("ignore_rate_limit", "no rate limit",
           "over the limit a key gets 429 with Retry-After (rate_limit.rule, RFC 6585 §4)", "specs with rate_limit",
           lambda spec: spec.rate_limit is not None),
    Defect("crash_duplicate_header", "500 on duplicate credential header lines",
           "never a 5xx for two credential lines (RFC 9110 §5.3)", "all", _all, kind="crash"),
    Defect("no_challenge", "401 without WWW-Authenticate",
           "a 401 MUST carry WWW-Authenticate (RFC 9110 §11.6.1)", "specs with a challenge",
           lambda spec: spec.credential.challenge is not None),
    Defect("case_sensitive_scheme", "the scheme keyword compared case-sensitively",
           "the scheme name is case-insensitive (RFC 9110 §11.1)", "specs with scheme_insensitive",
           lambda spec: spec.credential.scheme_insensitive and _keyword(spec)),
)

DEFECTS: Mapping[str, Defect] = MappingProxyType({d.name: d for d in _TABLE})


KINDS = ("security", "crash", "rule")


def defects_for(spec: ProviderSpec) -> tuple[str, ...]:
    """The names of the defects that can be planted in a spec's mock."""
    return tuple(d.name for d in _TABLE if d.applies(spec))


def check_defects(spec: ProviderSpec, names: Iterable[str]) -> frozenset[str]:
    """The defect names, checked: ValueError names the known (or applicable) ones."""
    chosen = list(names)
    for name in chosen:
        if name not in DEFECTS:
            raise ValueError(f"unknown defect {name!r}; defects: {', '.join(DEFECTS)}")
        if not DEFECTS[name].applies(spec):
            raise ValueError(
                f"defect {name!r} does not apply to {spec.id} (it needs {DEFECTS[name].applies_to}); "
                f"defects for {spec.id}: {', '.join(defects_for(spec))}"
            )
    return frozenset(chosen)
