"""The response table: every answer the mock can give, serialised to bytes once, at build time.

A `Decision` is one answer: the failure class and variant it stands for (None for a success or a
non-auth answer), status, header pairs and body bytes, and the id and state of the key the request
presented when one was found. All immutable: a journal of decisions holds nothing the garbage
collector must keep scanning. The table maps `class` or `class.variant` (and a few non-auth names) to its Decision.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, NamedTuple

from specs import FAILURE_CLASSES, VARIANTS, ProviderSpec, Response, header_example

from ._body import ACCEPT_ENCODING
from ._routes import answer_name

# Where a spec lacks a class the mock still reaches (a scenario expires a key of a provider without
# an expired state), the answer of the nearest class it has; the outcome still names the real class.
FALLBACK: Mapping[str, str] = {
    "empty": "missing",
    "wrong_scheme": "missing",
    "no_scheme": "wrong_scheme",
    "token_in_query": "missing",
    "malformed": "invalid",
    "expired": "invalid",
    "revoked": "invalid",
    "invalid": "missing",
    "duplicate_header": "malformed",
}
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
# Answers that are not in any provider's catalogue: RFC 9110 reason phrases in a neutral body.
GENERIC: Mapping[str, tuple[int, str]] = {
    "insufficient_scope": (403, "Forbidden"),
    "rate_limited": (429, "Too Many Requests"),
    "bad_request": (400, "Bad Request"),
    "method_not_allowed": (405, "Method Not Allowed"),
    "unavailable": (503, "Service Unavailable"),
    "crash": (500, "Internal Server Error"),
    "too_large": (413, "Payload Too Large"),
    "unsupported_coding": (415, "Unsupported Media Type"),
    "timeout": (408, "Request Timeout"),
    "not_found": (404, "Not Found"),
}
WRONG_BODY = b'{"message":"Unauthorized"}'


class Decision(NamedTuple):
    """One answer of the mock: what it stands for, and the bytes it sends."""

    klass: str | None
    variant: str | None
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    key_id: str | None = None
    key_state: str | None = None

    def with_key(self, key: Any) -> "Decision":
        """The same answer, noting the key the request presented (its id, and state now)."""
        return Decision(self.klass, self.variant, self.status, self.headers, self.body, key.id, key.state)

    def header(self, name: str) -> str | None:
        """A header's value, or None."""
        low = name.lower()
        return next((v for n, v in self.headers if n.lower() == low), None)


def _content_type(body: Any) -> str:
    return TEXT if isinstance(body, str) else JSON


def _generic(name: str, extra: tuple[tuple[str, str], ...] = ()) -> Decision:
    status, phrase = GENERIC[name]
    body = json.dumps({"error": phrase}, separators=(",", ":")).encode()
    return Decision(None, None, status, (("Content-Type", JSON),) + extra, body)


def header_value(spec: ProviderSpec, name: str, pattern: str) -> str:
    """A value for a header the catalogue requires, that matches its pattern; ValueError if none."""
    cred = spec.credential
    value = header_example(name, pattern, cred.challenge.value if cred.challenge else None, cred.scheme,
                           spec.rate_limit.window_seconds if spec.rate_limit else None)
    if value is None:
        raise ValueError(f"{spec.path}: the mock cannot produce a {name} header matching {pattern!r}")
    return value


def _from_response(spec: ProviderSpec, klass: str | None, variant: str | None, resp: Response, defects: frozenset[str]) -> Decision:
    status = resp.status
    # Defects that change answers, not decisions: applied once, here.
    if "status_403_for_401" in defects and status == 401 and klass is not None:
        status = 403
    elif "status_401_for_403" in defects and status == 403 and klass is not None:
        status = 401
    headers: list[tuple[str, str]] = [("Content-Type", _content_type(resp.body))]
    for name, pattern in resp.headers.items():
        if name.lower() == "retry-after":
            continue  # computed per answer from the window (see retry_after)
        if name.lower() == "www-authenticate" and "no_challenge" in defects:
            continue
        headers.append((name, header_value(spec, name, pattern)))
    challenge = spec.credential.challenge
    # RFC 9110 §11.6.1: "The server generating a 401 response MUST send a WWW-Authenticate header field".
    if status == 401 and challenge and "no_challenge" not in defects:
        if not any(n.lower() == "www-authenticate" for n, _ in headers):
            headers.append(("WWW-Authenticate", challenge.value))
    body = resp.body_bytes()
    if "wrong_error_body" in defects and klass is not None and status >= 400:
        headers[0] = ("Content-Type", JSON)
        body = WRONG_BODY
    return Decision(klass, variant, status, tuple(headers), body)


def build_table(spec: ProviderSpec, defects: frozenset[str] = frozenset()) -> dict[str, Decision]:
    """Every answer for a spec (and the defects that change answers), keyed `class[.variant]`."""
    table: dict[str, Decision] = {}
    for klass in FAILURE_CLASSES:
        source = klass
        while spec.failure(source) is None and source in FALLBACK:
            source = FALLBACK[source]
        failure = spec.failure(source)
        if failure is None:
            table[klass] = _generic(klass)._replace(klass=klass, variant=None)
            for variant in VARIANTS.get(klass, ()):
                table[f"{klass}.{variant}"] = table[klass]._replace(variant=variant)
            continue
        table[klass] = _from_response(spec, klass, None, failure, defects)
        for variant in VARIANTS.get(klass, ()):
            table[f"{klass}.{variant}"] = _from_response(spec, klass, variant, failure.variant(variant), defects)
    if spec.exchange is not None:
        table["invalid.exchange"] = _from_response(spec, "invalid", "exchange", spec.exchange.failure, defects)
    success = spec.probe.success
    table["success"] = Decision(None, None, success.status, (("Content-Type", _content_type(success.body)),), success.body_bytes())
    table["method_not_allowed"] = method_not_allowed((spec.probe.method,))
    for route in spec.routes:
        table[answer_name(route)] = _route_success(route)
    for name in ("unavailable", "crash", "too_large"):
        table[name] = _generic(name)
    table["not_found"] = _generic("not_found") if spec.not_found is None else _from_response(spec, None, None, spec.not_found, defects)
    table["unavailable"] = table["unavailable"]._replace(headers=table["unavailable"].headers + (("Retry-After", "1"),))
    # RFC 9110 §15.5.16: a 415 for a content coding says, in Accept-Encoding, which it would take.
    table["unsupported_coding"] = _generic("unsupported_coding", (("Accept-Encoding", ACCEPT_ENCODING),))
    # RFC 9110 §15.5.9: "the server would like to close this unused connection".
    table["timeout"] = _generic("timeout", (("Connection", "close"),))
    # A body whose coding is broken is a body the server cannot parse: the spec's bad_request answer.
    table["bad_coding"] = table["bad_request"]
    return table


def _route_success(route: Any) -> Decision:
    """A route's success: its status and body (none at all when the spec gives neither body nor schema)."""
    body = route.success.body
    if body is None:
        return Decision(None, None, route.success.status, (), b"")
    ctype = route.content_type or _content_type(body)
    return Decision(None, None, route.success.status, (("Content-Type", ctype),), route.success.body_bytes())


def method_not_allowed(methods: tuple[str, ...]) -> Decision:
    """405 naming the methods the path has (RFC 9110 §15.5.6: "MUST generate an Allow header field")."""
    return _generic("method_not_allowed", (("Allow", ", ".join(methods)),))


def retry_after(decision: Decision, seconds: int) -> Decision:
    """A rate-limited answer carrying `Retry-After: seconds` (RFC 6585 §4, RFC 9110 §10.2.3)."""
    return decision._replace(headers=decision.headers + (("Retry-After", str(seconds)),))


def echo(decision: Decision, presented: bytes) -> Decision:
    """An error answer that repeats the presented credential (the echo_credential defect)."""
    text = presented.decode("utf-8", "surrogateescape")
    try:
        obj = json.loads(decision.body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        obj["credential"] = text
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8", "surrogateescape")
    else:
        body = decision.body + b" (credential: " + presented + b")"
    return decision._replace(body=body)
