"""Judging one generated exchange by four properties, with the suite's own checks.

1. Only the valid key, canonical or in an equivalent form the spec allows, gets a 2xx
   (`accepted` / `request_rejected`).
2. Never a 5xx, never a dropped connection; a parser's 400/431 is recorded as the parser's
   (`answered_by_app`).
3. Every rejection by the application matches the catalogue entry of the class the oracle derives
   (`status_matches_catalogue`, `body_matches_catalogue`, `message_in_body`,
   `headers_match_catalogue`, `challenge_on_401`), each at its rule's strength.
4. No response echoes the presented credential (`no_credential_echo`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from specs import MIN_RUN, TOKEN68_CHARS, ProviderSpec, Response, Rule, weaker

from .._cases import Case
from .._checks import CheckFailed, Observed, http_layer_answer, status_line
from .._result import CheckResult
from .._runner import equivalents, failed_result, http_layer_result, judge_check
from .._secret import Secret, echoes
from .._target import Target
from .._transport import RawRequest, RawResponse
from .._verdict import Verdict
from ._oracle import Outcome, View, body_names, decide, header_values, query_names
from ._strategies import Generated
from ._template import Context, render_parts

# Which of the four properties above each check speaks for (reports group findings by it).
PROPERTY: Mapping[str, int] = {
    "accepted": 1, "request_rejected": 1, "lenient": 1, "success_body_matches": 1,
    "answered_by_app": 2, "parser_refuses": 2, "rate_limited": 2, "http_layer": 2,
    "status_matches_catalogue": 3, "body_matches_catalogue": 3, "message_in_body": 3,
    "headers_match_catalogue": 3, "challenge_on_401": 3, "catalogue_entry": 3,
    "no_credential_echo": 4,
}
# Judged catalogue answers kept (then forgotten all at once).
MEMO = 4096
CATALOGUE_CHECKS = ("status_matches_catalogue", "body_matches_catalogue", "message_in_body", "headers_match_catalogue", "challenge_on_401")
# Presented tokens longer than this are not searched for in responses slice by slice (the key
# itself always is); a padded 12 KB token would cost 12,000 substring scans per response.
MAX_PRESENTED = 256
PRESENTED_LABEL = "PRESENTED_CREDENTIAL"
# A run of token68 characters (RFC 9110 §11.2, padding included) at least as long as a leak
# (specs.MIN_RUN, the redaction rule's shortest slice).
TOKEN_RUN = re.compile(f"[{re.escape(TOKEN68_CHARS)}=]{{{MIN_RUN},}}")


@dataclass(frozen=True)
class Judged:
    """What the oracle expected and every non-trivial check result of one exchange."""

    expected: tuple[Outcome, ...]
    results: tuple[CheckResult, ...]


def _unbuilt(ctx: object) -> object:
    raise RuntimeError("a generated case is sent by the engine, never built")


class Judge:
    """Judges exchanges of one target (caches the suite's Case objects the checks read)."""

    def __init__(self, target: Target):
        self.target = target
        self.spec: ProviderSpec = target.spec
        self.keys: Mapping[str, Secret] = dict(target.credentials)
        self._cases: dict[tuple, Case] = {}
        self._memo: dict[tuple, list[CheckResult]] = {}
        # What the spec itself says in responses: a presented token sharing a 6-char slice with it
        # ("Bearer" in a tab-separated value, "Invalid" in a junk token) is not an echo of it.
        spec = self.spec
        texts = [spec.probe.success.body_bytes()] + [r.body_bytes() for f in spec.failures.values() for r in (f, *f.variants.values())]
        texts += [spec.credential.challenge.value.encode()] if spec.credential.challenge else []
        self._catalogue_text = b"\n".join(texts).decode("utf-8", "replace")

    def case(self, item: Generated, outcome: Outcome | None, judge: Rule, forced: bool) -> Case:
        """The Case the suite's checks read: expected response, judging rule, forced or not."""
        key = (item.strategy, outcome, judge, forced)
        if key not in self._cases:
            spec = self.spec
            if outcome is None or outcome.accepted:
                expected: Response = spec.probe.success
                klass, variant = "positive", None
            else:
                failure = spec.failures[outcome.klass]  # type: ignore[index]
                expected, klass, variant = failure.variant(outcome.variant), outcome.klass, outcome.variant
            # The trigger: the class's (which requests the page says get the answer), weakened by
            # the strategy's own where the mapping from these bytes to the class is the oracle's.
            trigger = item.trigger if expected.trigger is None else weaker(expected.trigger, item.trigger)
            self._cases[key] = Case(
                f"{spec.id}.generated.{item.strategy}", spec.id, klass, variant, f"generated {item.strategy}",
                "generated", (), expected, judge, forced, (), _unbuilt, trigger=trigger,
            )
        return self._cases[key]

    def views(self, item: Generated, request: RawRequest, ctx: Context) -> list[View]:
        """What the application may see of the request (one view, or the wire item's alternatives)."""
        q = query_names(request.target)
        b = body_names(self.spec.probe.content_type, request.body)
        if item.views is None:
            return [View(header_values(self.spec, request.headers), q, b)]
        return [View(tuple(render_parts(p, ctx) for p in alt), q, b) for alt in item.views]

    def presented(self, request: RawRequest, response: RawResponse | None = None) -> tuple[Secret, ...]:
        """The target's keys plus every run of token characters actually sent in the credential
        header (for the echo check): a never-issued or mutated token is a credential too."""
        out = list(self.keys.values())
        scheme = (self.spec.credential.scheme or "").lower()
        # A slice the request also carries outside the credential (`application/json`) is no
        # evidence that the server echoed the credential when the answer holds it too.
        name = self.spec.credential.header.lower().encode()
        elsewhere = self._catalogue_text + "\n" + "\n".join(
            v.decode("utf-8", "replace") for n, v in request.headers if n.lower() != name)
        # Nor is a response's field name, the protocol's word (a key with "ontent" appended and
        # Content-Type): the keys themselves are searched whole whatever the names.
        if response is not None:
            elsewhere += "\n" + "\n".join(n for n, _ in response.headers)
        for value in header_values(self.spec, request.headers):
            text = value.decode("utf-8", "surrogateescape")
            for run in TOKEN_RUN.findall(text):
                if run.lower() == scheme or len(run) > MAX_PRESENTED:
                    continue
                secret = Secret(run, self.spec.env(PRESENTED_LABEL), self.spec.credential.token.prefix)
                if not echoes(elsewhere, secret):
                    out.append(secret)
        return tuple(out)

    def _run(self, names: Sequence[str], case: Case, request: RawRequest, response: RawResponse, presented: tuple[Secret, ...]) -> list[CheckResult]:
        obs = Observed(case, self.target, request, response, presented)
        return [r for r in (judge_check(n, obs, self.target) for n in names) if r is not None]

    def _fail(self, case: Case, check: str, rule: Rule, expected: str, got: str, forced: bool = False) -> CheckResult:
        return failed_result(CheckFailed(check, rule, expected, got, forced), self.target, case)

    def judge(self, item: Generated, request: RawRequest, response: RawResponse, ctx: Context) -> Judged:
        """Every property for one exchange."""
        outcomes = tuple(dict.fromkeys(decide(self.spec, v, self.keys) for v in self.views(item, request, ctx)))
        accept = any(o.accepted for o in outcomes)
        presented = self.presented(request, response)
        known = [o for o in outcomes if o.accepted or o.klass in self.spec.failures]
        base = self.case(item, known[0] if known else None, item.rule, False)
        layer = http_layer_answer(self.spec, response) if item.http_layer else None
        if layer:
            # The HTTP layer refused the bytes before any auth code ran: the RFC's answer (PASS where
            # the item expects a parser's refusal, INFO where the spec says the application answers),
            # never compared with the catalogue; an equivalent form refused is still judged.
            results = [http_layer_result(layer, app_expected=not (item.parser_ok or item.parser_required))]
            results += self._run(("no_credential_echo",), base, request, response, presented)
            if accept and not item.parser_ok and not item.lenient:
                case = self.case(item, None, item.rule, False)
                results.append(self._fail(case, "accepted", item.rule, "a 2xx for an equivalent form", f"{layer}"))
            return Judged(outcomes, tuple(results))
        results = self._run(("answered_by_app", "no_credential_echo"), base, request, response, presented)
        if response.layer == "closed" or response.status >= 500:
            return Judged(outcomes, tuple(results))
        if response.status == 429:
            results.append(CheckResult("rate_limited", Verdict.INFO, note="429 after Retry-After was honoured: not judged"))
            return Judged(outcomes, tuple(results))
        ok = 200 <= response.status < 300
        if response.layer == "parser":
            # The parser refused before any auth code ran: conforming for anything the spec
            # refuses; for an equivalent form only where the item says a parser limit may apply.
            if accept and not item.parser_ok and not item.lenient:
                case = self.case(item, None, item.rule, False)
                results.append(self._fail(case, "accepted", item.rule, "a 2xx for an equivalent form", f"{status_line(response)} from the HTTP parser"))
            return Judged(outcomes, tuple(results))
        if item.parser_required:
            results.append(self._fail(base, "parser_refuses", item.rule, "400 from the HTTP parser", f"{status_line(response)} from the application"))
            return Judged(outcomes, tuple(results))
        if accept:
            if ok:
                results += self._run(("success_body_matches",), self.case(item, None, item.rule, False), request, response, presented)
            elif item.lenient:
                results.append(CheckResult("lenient", Verdict.INFO, note=f"refused ({status_line(response)}); the rule allows either answer"))
            else:
                results += self._run(("accepted",), self.case(item, None, item.rule, False), request, response, presented)
            return Judged(outcomes, tuple(results))
        if ok:
            if item.lenient:
                results.append(CheckResult("lenient", Verdict.INFO, note="accepted; the RFC lets a server be liberal here"))
            elif item.leniency is not None:
                # Lenient parsing around the intact valid key: nobody got in without it (NON-STRICT).
                outcome = outcomes[0]
                results.append(self._fail(base, "request_rejected", item.leniency, f"a rejection ({outcome})", f"{status_line(response)}: accepted around the intact valid key"))
            else:
                # Access without the intact valid credential in the documented form (an altered key,
                # another scheme, a raw key, a key in the URL/body/cookie): FAIL whatever the strength.
                outcome = outcomes[0]
                failure = self.spec.failures.get(outcome.klass)  # type: ignore[arg-type]
                judge_rule = item.rule if failure is None else failure.variant(outcome.variant).rule
                if failure is None:
                    results.append(self._fail(base, "request_rejected", judge_rule, f"a rejection ({outcome})", status_line(response), True))
                else:
                    case = self.case(item, outcome, judge_rule, True)
                    results += self._run(("request_rejected",), case, request, response, presented)
            return Judged(outcomes, tuple(results))
        results += self._catalogue(item, outcomes, request, response, presented)
        return Judged(outcomes, tuple(results))

    def _catalogue(self, item: Generated, outcomes: Sequence[Outcome], request: RawRequest, response: RawResponse, presented: tuple[Secret, ...]) -> list[CheckResult]:
        """Property 3: the best-matching expected class's catalogue checks (alternatives for wire items)."""
        best: list[CheckResult] | None = None
        best_case: Case | None = None
        for outcome in outcomes:
            if outcome.klass not in self.spec.failures:
                found = [CheckResult("catalogue_entry", Verdict.INFO, note=f"the spec has no catalogue entry for {outcome}")]
            else:
                case = self.case(item, outcome, self.spec.failures[outcome.klass].rule, False)
                # These checks read only the expected entry and the response: the same answer to
                # the same class is judged once (a mock answers thousands of requests alike).
                key = (id(case), response.status, response.body, tuple((n, v) for n, v in response.headers if n.lower() != "date"))
                if key not in self._memo:
                    if len(self._memo) >= MEMO:
                        self._memo.clear()
                    self._memo[key] = self._run(CATALOGUE_CHECKS, case, request, response, presented)
                found = self._memo[key]
            bad = [r for r in found if r.verdict in (Verdict.FAIL, Verdict.NON_STRICT)]
            if not bad:
                return found
            if best is None:
                best, best_case = found, (case if outcome.klass in self.spec.failures else None)
        if best and best_case is not None:
            return equivalents(self.spec, best_case, response, best)
        return best or []
