"""Run one case against one target: build the request, send it over real TCP, run the case's
checks, and turn their outcomes into a redacted CaseResult with its verdict."""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from specs import ProviderSpec, Response, Rule, weaker

from ._cases import LIVE_QUOTA, Case
from ._checks import (
    CHECKS, PRELUDE_CHECKS, TRIGGERED_CHECKS, CheckFailed, NotApplicable, Observation, Observed, equivalent_note,
    http_layer_answer,
)
from ._replay import curl_line, request_text, response_text
from ._result import DEVIATION_NOTE, CaseResult, CheckResult
from ._rfc import HTTP_LAYER_RULE
from ._secret import Secret, redact
from ._target import LIVE, Target
from ._transport import DEFAULT_TIMEOUT, Connection, RawRequest, RawResponse
from ._verdict import Verdict, verdict_for, worst


# The longest a live run waits for a 429's Retry-After before its one retry.
MAX_RETRY_WAIT = 10


class _Skip(Exception):
    """The case cannot run on this target (raised from a build)."""


class _Context:
    """What a case's build sees: the target's credentials, fabricated secrets, prelude requests."""

    def __init__(self, case: Case, target: Target, conn: Connection):
        self.case = case
        self.target = target
        self.conn = conn
        self.extra: list[Secret] = []
        self.results: list[CheckResult] = []
        self.prelude = 0

    def credential(self, state: str) -> Secret:
        """The target's key of a state (the case's `needs` were checked before the build)."""
        return self.target.credentials[state]

    def fabricated(self, name: str, value: str, public: str | None = None) -> Secret:
        """A value the case made or received (a never-issued key, an exchanged token), as a Secret;
        `public`: the part of it that is no secret (default: the spec's documented key prefix)."""
        spec = self.target.spec
        secret = Secret(value, spec.env(name), spec.credential.token.prefix if public is None else public)
        self.extra.append(secret)
        return secret

    def send(self, request: RawRequest, presented: tuple[Secret, ...]) -> RawResponse:
        """A request before the judged one; it is held to PRELUDE_CHECKS (first failure of each kept)."""
        response = transmit(self.conn, request, live=self.target.mode == LIVE)
        self.prelude += 1
        obs = Observed(self.case, self.target, request, response, presented)
        seen = {r.check for r in self.results}
        for name in PRELUDE_CHECKS:
            if name not in seen:
                result = judge_check(name, obs, self.target, note=f"prelude request {self.prelude}")
                if result is not None and result.verdict is not Verdict.PASS:
                    self.results.append(result)
        return response

    def check(self, name: str, request: RawRequest, response: RawResponse, presented: tuple[Secret, ...]) -> Any:
        """Run a check that yields a value (the exchanged token); its failure ends the case."""
        value = CHECKS[name](Observed(self.case, self.target, request, response, presented))
        self.results.append(CheckResult(name, Verdict.PASS))
        return value

    def mint(self) -> Secret:
        """A fresh valid key from the mock's admin API, fit for the probe (scope, binding, kind)."""
        admin = self.target.admin
        if admin is None:
            raise _Skip(LIVE_QUOTA)
        spec = self.target.spec
        key = admin.mint(
            "valid",
            scopes=[spec.probe.scope] if spec.scopes and spec.probe.scope else None,
            binding=self.target.binding if spec.binding else None,
            kind=spec.binding.accepted[0] if spec.binding else None,
        )
        return self.fabricated("MINTED_KEY", key)


def transmit(conn: Connection, request: RawRequest, live: bool = False) -> RawResponse:
    """Send a request; a connection that cannot even be opened is recorded like a dropped one.

    On a live target a 429 is the provider pacing us, not an answer to the case (RFC 6585 §4): wait
    its Retry-After (at most MAX_RETRY_WAIT seconds) and send once more.
    """
    start = time.perf_counter()
    try:
        response = conn.send(request)
        if live and response.status == 429:
            time.sleep(_retry_after(response))
            response = conn.send(request)
        return response
    except OSError as exc:
        conn.close()
        return RawResponse(0, "", (), b"", "closed", time.perf_counter() - start, f"{type(exc).__name__}: {exc}")


def _retry_after(response: RawResponse) -> float:
    value = (response.header("Retry-After") or "").strip()
    return float(min(int(value), MAX_RETRY_WAIT)) if value.isdigit() else 1.0


def _deviation(target: Target, case: Case, check: str) -> str | None:
    """A known, accepted departure of the live provider from its spec: reported, not failed. An
    entry for a generated strategy (`generated.wire`) may name the failure class it covers."""
    if target.mode != LIVE:
        return None
    short = case.id.split(".", 1)[1] if "." in case.id else case.id
    for d in target.spec.deviations:
        if d.check == check and d.case in (case.id, short) and d.klass in (None, case.klass):
            return f"{DEVIATION_NOTE} {d.reason} ({d.link})"
    return None


def judge_check(name: str, obs: Observed, target: Target, note: str | None = None) -> CheckResult | None:
    """One check's result; None when the property does not apply."""
    try:
        CHECKS[name](obs)
    except NotApplicable:
        return None
    except Observation as info:
        return CheckResult(name, Verdict.INFO, note=" ".join(filter(None, (note, str(info)))))
    except CheckFailed as failed:
        return failed_result(failed, target, obs.case, note)
    return CheckResult(name, Verdict.PASS, note=note)


def failed_result(failed: CheckFailed, target: Target, case: Case, note: str | None = None) -> CheckResult:
    """A failed check's result: its verdict from the rule and the case's trigger, INFO for a deviation the spec lists."""
    deviation = _deviation(target, case, failed.check)
    trigger = case.trigger if failed.check in TRIGGERED_CHECKS and not failed.forced else None
    verdict = Verdict.INFO if deviation else verdict_for(failed.rule, failed.forced, trigger)
    # The trigger is kept where it is what made the verdict weaker than the rule alone.
    shown = trigger if trigger is not None and weaker(failed.rule, trigger) is not failed.rule else None
    return CheckResult(failed.check, verdict, failed.rule, failed.expected, failed.got, failed.forced, deviation or note, shown)


def http_layer_result(layer: str, app_expected: bool) -> CheckResult:
    """The HTTP layer refused the request: PASS where the spec expects that, INFO where it says the
    application answers (observed; the application never saw the request)."""
    verdict = Verdict.INFO if app_expected else Verdict.PASS
    return CheckResult("http_layer", verdict, HTTP_LAYER_RULE, note=f"refused by the HTTP layer: {layer}; the RFC's answer, not the application's")


def answer_label(spec: ProviderSpec, expected: Response) -> str:
    """`malformed/bad_chars` for a catalogue entry (`positive` for the probe's success)."""
    for klass, f in spec.failures.items():
        if expected is f:
            return klass
        for name, r in f.variants.items():
            if expected is r:
                return f"{klass}/{name}"
    return "positive"


def equivalents(spec: ProviderSpec, case: Case, response: RawResponse, results: list[CheckResult]) -> list[CheckResult]:
    """Where the trigger is not documented and the answer is another of the provider's own failure
    answers (its 401 for an invalid key where the spec expects its malformed one), the non-strict
    catalogue results say which answer came back and which the spec expected."""
    if case.trigger is None or case.trigger.strength == "documented" or case.positive:
        return results
    note = None
    out = []
    for r in results:
        if r.check in TRIGGERED_CHECKS and r.verdict is Verdict.NON_STRICT and not r.forced:
            if note is None:
                note = equivalent_note(spec, answer_label(spec, case.expected), response) or ""
            if note:
                r = dataclasses.replace(r, note="; ".join(filter(None, (r.note, note))))
        out.append(r)
    return out


def _rule_line(rule: Rule, forced: bool) -> str:
    strength = f"{rule.strength}; FAIL whatever the strength" if forced else rule.strength
    return f"rule ({strength}): {rule.source}"


def _message(case: Case, request: RawRequest | None, results: list[CheckResult], replay: str | None) -> str:
    """'Expected 401, got 200 OK for POST /v1/monitor (credential: expired)', the rule, the replay."""
    bad = sorted((r for r in results if r.verdict in (Verdict.FAIL, Verdict.NON_STRICT)), key=lambda r: r.verdict is not Verdict.FAIL)
    where = f"{request.method} {request.target.split('?')[0]}" if request is not None else case.description
    lines = []
    for i, r in enumerate(bad):
        head = f"Expected {r.expected}, got {r.got} for {where} (credential: {case.credential})"
        lines.append(f"{head}" if i == 0 else f"also [{r.verdict}] {r.check}: expected {r.expected}, got {r.got}")
        if i == 0:
            lines.append(f"  check: {r.check} [{r.verdict}]" + (f" ({r.note})" if r.note else ""))
            if r.rule is not None:
                lines.append("  " + _rule_line(r.rule, r.forced))
            if r.trigger is not None:
                why = f" ({r.trigger.reason})" if r.trigger.reason else ""
                lines.append(f"  trigger ({r.trigger.strength}): {r.trigger.source}{why}")
    if replay:
        lines.append(f"  replay: {replay}")
    return "\n".join(lines)


def run_case(case: Case, target: Target, timeout: float = DEFAULT_TIMEOUT) -> CaseResult:
    """Run a case against a target and return its redacted result (SKIP with a reason when it cannot run)."""
    start = time.perf_counter()
    result = CaseResult(
        case.id, case.provider, case.klass, case.variant, case.description, case.credential, target.mode, Verdict.SKIP,
        rules={k: {"strength": r.strength, "source": r.source} for k, r in case.rules().items()},
    )
    skip = target.unavailable or target.past_deadline() or case.skip or (case.mock_only if target.mode == LIVE else None) or target.lacking(case.needs)
    if skip:
        result.reason = skip
        return result
    target.reset()
    with Connection(target.base_url, timeout=timeout) as conn:
        ctx = _Context(case, target, conn)
        request = response = None
        try:
            out = case.build(ctx)
        except _Skip as why:
            result.reason = str(why)
            return result
        except CheckFailed as failed:
            ctx.results.append(failed_result(failed, target, case))
        else:
            request = out.request
            response = transmit(conn, request, live=target.mode == LIVE)
            obs = Observed(case, target, request, response, out.presented)
            layer = http_layer_answer(target.spec, response) if case.http_layer else None
            if layer:
                # The RFC's answer from the HTTP layer: never compared with the application's catalogue.
                ctx.results.append(http_layer_result(layer, app_expected=True))
                ctx.results += [r for r in (judge_check(name, obs, target) for name in ("no_credential_echo",)) if r is not None]
            else:
                found = [r for r in (judge_check(name, obs, target) for name in case.checks) if r is not None]
                ctx.results += equivalents(target.spec, case, response, found)
        secrets = [*target.secrets(), *ctx.extra]
        replay = curl_line(target.base_url, request) if request is not None else None
        result.verdict = worst(r.verdict for r in ctx.results)
        result.checks = [_redacted(r, secrets) for r in ctx.results]
        result.prelude_requests = ctx.prelude
        if request is not None and response is not None:
            result.request = redact(request_text(request, conn.host_header), secrets)
            result.response = redact(response_text(response), secrets)
            result.replay = redact(replay or "", secrets)
        if result.verdict in (Verdict.FAIL, Verdict.NON_STRICT):
            result.reason = redact(_message(case, request, ctx.results, replay), secrets)
        elif result.verdict is Verdict.INFO:
            result.reason = "; ".join(f"{r.check}: {r.note}" for r in result.checks if r.verdict is Verdict.INFO)
    result.duration = time.perf_counter() - start
    return result


def _redacted(r: CheckResult, secrets: list[Secret]) -> CheckResult:
    def red(text: str | None) -> str | None:
        return None if text is None else redact(text, secrets)

    return CheckResult(r.check, r.verdict, r.rule, red(r.expected), red(r.got), r.forced, red(r.note), r.trigger)
