"""Checks: one function per property, named for it, each raising CheckFailed when the target breaks
it (the shape of Schemathesis's checks: one named property per function).

A check reads one observed exchange and either returns (PASS), raises CheckFailed (FAIL or
NON-STRICT, by the rule's strength), raises Observation (INFO: seen, no rule to judge it) or
raises NotApplicable (the property does not apply to this exchange). Checks see the response and
the presented secrets only; they never put a key into what they raise (the runner redacts too).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from specs import Response, Rule, schema_validator, spec_search, thaw

from ._rfc import ANSWERED_RULE, CHALLENGE_RULE, ECHO_RULE
from ._secret import Secret, echoes
from ._transport import RawRequest, RawResponse

if TYPE_CHECKING:
    from specs import ProviderSpec

    from ._target import Target

EXCERPT = 160

# Statuses an HTTP layer (parser, front proxy) answers a request it refuses with, whatever the body.
HTTP_LAYER_STATUSES = (400, 413, 431)


class CheckFailed(AssertionError):
    """A check's property does not hold: which check, the rule it breaks, expected and got."""

    def __init__(self, check: str, rule: Rule, expected: str, got: str, forced: bool = False):
        self.check = check
        self.rule = rule
        self.expected = expected
        self.got = got
        # FAIL whatever the rule's strength (security: a request without a valid credential
        # accepted, a credential echoed, a 5xx or a dropped connection).
        self.forced = forced
        super().__init__(f"{check}: expected {expected}, got {got}")


class Observation(Exception):
    """Something observed that no rule judges (INFO): the reason says what."""


class NotApplicable(Exception):
    """The property does not apply to this exchange."""


class CaseFacts(Protocol):
    """What a check reads of a case (suites._cases.Case has it; the checks need no more of it)."""

    expected: Response
    judge: Rule
    forced: bool


@dataclass(frozen=True)
class Observed:
    """One exchange as a check sees it."""

    case: CaseFacts
    target: "Target"
    request: RawRequest
    response: RawResponse
    presented: tuple[Secret, ...]

    @property
    def expected(self) -> Response:
        """The catalogue's response for the case."""
        return self.case.expected


def status_line(resp: RawResponse) -> str:
    """`200 OK`, or what happened instead of a response."""
    if resp.layer == "closed":
        return f"no response ({resp.error})"
    return f"{resp.status} {resp.reason}".strip()


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Text cut to a readable length for a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_or_text(resp: RawResponse) -> Any:
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return resp.text


def _strings(value: Any) -> list[str]:
    """Every string leaf of parsed JSON."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _need_app_answer(resp: RawResponse) -> None:
    """Body and header checks judge the application: a parser's or a dropped answer is not its."""
    if resp.layer == "closed":
        raise NotApplicable("no response")
    if resp.layer == "parser":
        raise Observation(f"answered by the HTTP parser ({status_line(resp)}, not JSON), not by the auth layer")


# --- which answer came back ------------------------------------------------------------------

# (provider, status, body) -> the catalogue answer it is; bounded (the engine sees many answers).
_ANSWERS: dict[tuple[str, int, bytes], str | None] = {}
MAX_ANSWERS = 4096


def catalogue_answer(spec: "ProviderSpec", resp: RawResponse) -> str | None:
    """Which of the provider's own failure answers a response is (`invalid`, `malformed/bad_chars`:
    the first class or variant whose status and body schema it matches), or None."""
    if resp.layer == "closed":
        return None
    key = (spec.id, resp.status, resp.body)
    if key not in _ANSWERS:
        if len(_ANSWERS) >= MAX_ANSWERS:
            _ANSWERS.clear()
        body = _json_or_text(resp)
        found = None
        for klass, f in spec.failures.items():
            for name, r in ((None, f), *f.variants.items()):
                if r.status == resp.status and not _schema_errors(r.schema, body):
                    found = klass + (f"/{name}" if name else "")
                    break
            if found:
                break
        _ANSWERS[key] = found
    return _ANSWERS[key]


def http_layer_answer(spec: "ProviderSpec", resp: RawResponse) -> str | None:
    """How the HTTP layer refused a request, or None when the application answered: a closed
    connection (not a timeout), or a 400/413/431 that is none of the provider's own answers (any
    body: a parser's plain text, a proxy's HTML page)."""
    if resp.layer == "closed":
        return None if (resp.error or "").startswith("timeout") else f"the connection closed ({resp.error})"
    if resp.status in HTTP_LAYER_STATUSES and catalogue_answer(spec, resp) is None:
        ctype = resp.header("Content-Type") or "no Content-Type"
        return f"{status_line(resp)} ({ctype}, none of the spec's answers)"
    return None


def equivalent_note(spec: "ProviderSpec", expected: str, resp: RawResponse) -> str | None:
    """Where the answer is another of the provider's own failure answers: which came back and which
    the spec expected (a rejection all the same; judged NON-STRICT where the trigger is inferred)."""
    other = catalogue_answer(spec, resp)
    # A variant that shares its class's answer is found as the class.
    if other is None or other in (expected, expected.split("/")[0]):
        return None
    return f"answered with the provider's own `{other}` answer ({status_line(resp)}); the spec expected its `{expected}` answer"


# --- every case -------------------------------------------------------------------------------


def answered_by_app(obs: Observed) -> None:
    """Never a 5xx, never a dropped connection; a parser's 400/431 is recorded as INFO."""
    resp = obs.response
    if resp.layer == "closed" or resp.status >= 500:
        raise CheckFailed("answered_by_app", ANSWERED_RULE, "an answer below 500 from the application", status_line(resp), forced=True)
    if resp.layer == "parser":
        raise Observation(f"answered by the HTTP parser ({status_line(resp)}), not by the auth layer")


def no_credential_echo(obs: Observed) -> None:
    """No 6+ char slice of any presented credential in the response body or headers."""
    resp = obs.response
    if resp.layer == "closed":
        raise NotApplicable("no response")
    heads = "\n".join(f"{n}: {v}" for n, v in resp.headers)
    for secret in obs.presented:
        where = [w for w, text in (("body", resp.body), ("headers", heads)) if echoes(text, secret)]
        if where:
            raise CheckFailed(
                "no_credential_echo",
                ECHO_RULE,
                f"no slice of 6+ characters of {secret.placeholder()} in the response",
                f"the response {' and '.join(where)} echo {secret.placeholder()}",
                forced=True,
            )


# --- failure cases ----------------------------------------------------------------------------


def request_rejected(obs: Observed) -> None:
    """A failure case is not accepted: any 2xx is a failure (security: FAIL whatever the strength)."""
    resp = obs.response
    if resp.layer == "closed":
        raise NotApplicable("no response")
    if 200 <= resp.status < 300:
        raise CheckFailed("request_rejected", obs.case.judge, str(obs.expected.status), status_line(resp), forced=obs.case.forced)


def status_matches_catalogue(obs: Observed) -> None:
    """The status is the catalogue's for the case's failure class."""
    resp = obs.response
    if resp.layer == "closed":
        raise NotApplicable("no response")
    if resp.status != obs.expected.status:
        raise CheckFailed("status_matches_catalogue", obs.expected.rule, str(obs.expected.status), status_line(resp))


def _schema_errors(schema: Mapping[str, Any], instance: Any) -> list[str]:
    return [e.message for e in schema_validator(thaw(schema)).iter_errors(instance)]


def body_matches_catalogue(obs: Observed) -> None:
    """The body satisfies the catalogue's JSON Schema for the failure class."""
    _need_app_answer(obs.response)
    errors = _schema_errors(obs.expected.schema, _json_or_text(obs.response))
    if errors:
        raise CheckFailed(
            "body_matches_catalogue",
            obs.expected.body_rule,
            f"a body like {excerpt(obs.expected.body_bytes().decode('utf-8'))}",
            f"{excerpt(obs.response.text) or '(empty body)'} ({excerpt(errors[0], 80)})",
        )


def message_in_body(obs: Observed) -> None:
    """The documented message is in the body (where the spec documents one with its own rule)."""
    expected = obs.expected
    if expected.message_rule is None or not expected.message:
        raise NotApplicable("no documented message")
    _need_app_answer(obs.response)
    body = _json_or_text(obs.response)
    if not any(expected.message in s for s in _strings(body)):
        raise CheckFailed("message_in_body", expected.message_rule, f"the message {expected.message!r}", excerpt(obs.response.text) or "(empty body)")


def headers_match_catalogue(obs: Observed) -> None:
    """Every header the catalogue names is present and matches its pattern."""
    expected = obs.expected
    if not expected.headers:
        raise NotApplicable("no headers in the catalogue")
    _need_app_answer(obs.response)
    for name, pattern in expected.headers.items():
        values = obs.response.header_all(name)
        if not any(spec_search(pattern, v) for v in values):
            got = f"{name}: {excerpt(', '.join(values), 80)}" if values else f"no {name} header"
            raise CheckFailed("headers_match_catalogue", expected.rule, f"{name} matching {pattern}", got)


def challenge_on_401(obs: Observed) -> None:
    """A 401 carries WWW-Authenticate with a challenge for the credential's scheme (RFC 9110 §11.6.1)."""
    resp = obs.response
    if resp.layer == "closed" or resp.status != 401:
        raise NotApplicable("not a 401")
    cred = obs.target.spec.credential
    rule = cred.challenge.rule if cred.challenge else CHALLENGE_RULE
    # A bare key has no keyword of its own: the challenge names whatever scheme the spec gives it.
    word = cred.scheme or (cred.challenge.value.split(" ")[0] if cred.challenge else None)
    if word is None:
        raise NotApplicable("a bare key and no challenge in the spec")
    scheme = re.compile(rf"(?:^|,)\s*{re.escape(word)}(?=$|[\s,])", re.IGNORECASE)
    values = resp.header_all("WWW-Authenticate")
    if not any(scheme.search(v) for v in values):
        got = f"WWW-Authenticate: {excerpt(', '.join(values), 80)}" if values else "no WWW-Authenticate header"
        raise CheckFailed("challenge_on_401", rule, f"WWW-Authenticate with a {word} challenge", got)


# --- positive cases ---------------------------------------------------------------------------


def accepted(obs: Observed) -> None:
    """The valid key, in a form the spec allows, gets a 2xx."""
    resp = obs.response
    if resp.layer == "closed":
        raise NotApplicable("no response")
    if not 200 <= resp.status < 300:
        raise CheckFailed("accepted", obs.case.judge, str(obs.expected.status), status_line(resp))


def success_body_matches(obs: Observed) -> None:
    """An accepted request's body satisfies the probe's success schema."""
    resp = obs.response
    if resp.layer == "closed" or not 200 <= resp.status < 300:
        raise NotApplicable("not accepted")
    errors = _schema_errors(obs.expected.schema, _json_or_text(resp))
    if errors:
        raise CheckFailed(
            "success_body_matches",
            obs.expected.body_rule,
            "a body matching the probe's success schema",
            f"{excerpt(resp.text) or '(empty body)'} ({excerpt(errors[0], 80)})",
        )


def exchange_issues_token(obs: Observed) -> str:
    """The exchange answers a 2xx JSON body carrying the token; returns the token."""
    exchange = obs.target.spec.exchange
    if exchange is None:
        raise NotApplicable("no exchange")
    resp = obs.response
    token = None
    if resp.layer != "closed" and 200 <= resp.status < 300:
        body = _json_or_text(resp)
        token = body.get(exchange.token_field) if isinstance(body, Mapping) else None
    if not isinstance(token, str) or not token:
        got = status_line(resp) if resp.layer == "closed" or not 200 <= resp.status < 300 else f"no string {exchange.token_field!r} in the body"
        raise CheckFailed("exchange_issues_token", exchange.rule, f"a 2xx JSON body with {exchange.token_field!r}", got)
    return token


CHECKS: Mapping[str, Callable[[Observed], Any]] = {
    f.__name__: f
    for f in (
        answered_by_app,
        request_rejected,
        status_matches_catalogue,
        body_matches_catalogue,
        message_in_body,
        headers_match_catalogue,
        challenge_on_401,
        no_credential_echo,
        accepted,
        success_body_matches,
        exchange_issues_token,
    )
}
# What a failure case and a positive case are judged by, in the order their failures are told.
FAILURE_CHECKS: tuple[str, ...] = (
    "answered_by_app",
    "request_rejected",
    "status_matches_catalogue",
    "body_matches_catalogue",
    "message_in_body",
    "headers_match_catalogue",
    "challenge_on_401",
    "no_credential_echo",
)
POSITIVE_CHECKS: tuple[str, ...] = ("answered_by_app", "accepted", "success_body_matches", "no_credential_echo")
# Checks that judge whether the answer is the one the spec expects for the case's request: their
# verdict follows the weaker of the answer's rule and the case's trigger (which requests get it).
TRIGGERED_CHECKS: frozenset[str] = frozenset(
    ("request_rejected", "status_matches_catalogue", "body_matches_catalogue", "message_in_body", "headers_match_catalogue")
)
# Checks also run on every request a case sends before its judged one (prelude).
PRELUDE_CHECKS: tuple[str, ...] = ("answered_by_app", "no_credential_echo")
