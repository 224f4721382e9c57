"""No false FAIL against plausible servers, and still FAIL next to them.

A plausible server (tests/_plausible.py) follows each spec where its page speaks and makes the
choices real stacks make where it is silent: the first of two credential lines wins (Starlette),
Unicode whitespace around the token is stripped (str.strip() on a Latin-1 value, FastAPI), one
generic 401 for every refused credential, an nginx-like HTTP layer answering HTML 400/431 to control
characters, obs-fold and oversized heads, and the user's expired key (a state the page may never
name) refused. Against it the suite gives no FAIL, for every spec in specs/. Each `broken` option
then breaks one documented or security rule next to those choices, and the suite FAILs it.
"""
from __future__ import annotations

import random
from typing import Iterator

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from _plausible import PlausibleServer
from specs import ProviderSpec, get_spec, load_all
from suites import CaseResult, LIVE, Target, Verdict, _keys, cases_for, live_target, run_case
from suites.engine._session import EngineOptions, EngineSession, StrategyRun, strategy_names
from suites.engine._strategies import Generated, strategy_for

SPECS = load_all()
CHOICES = ("first_wins", "strip_unicode")
EXAMPLES = 20


def _key(spec: ProviderSpec, seed: int) -> str:
    return _keys.fabricate(spec.credential.token, random.Random(f"plausible-{spec.id}-{seed}"))


def _run(spec: ProviderSpec, choices=CHOICES, broken=(), strategies=None) -> tuple[list[CaseResult], list[StrategyRun]]:
    """Every fixed case (the expired key supplied even where the spec has no expiry) and the
    generated strategies against a plausible server of the spec, as a live target."""
    valid, expired = _key(spec, 1), _key(spec, 2)
    with PlausibleServer(spec, valid, choices, broken, expired=[expired]) as url:
        target = live_target(spec, {spec.env("API_KEY"): valid, spec.env("EXPIRED_KEY"): expired}, url)
        supplied = ("expired",) if "expired" not in spec.keys.states else ()
        results = [run_case(c, target) for c in cases_for(spec, supplied)]
        session = EngineSession(target, EngineOptions(max_examples=EXAMPLES, database=None))
        try:
            runs = [session.run(n) for n in (strategies if strategies is not None else strategy_names())]
        finally:
            session.close()
    return results, runs


def _fails(results: list[CaseResult], runs: list[StrategyRun]) -> list[str]:
    out = [f"{r.case_id}: {(r.reason or '').splitlines()[0]}" for r in results if r.verdict is Verdict.FAIL]
    out += [f"{run.provider}.generated.{run.strategy}: {f.check} {f.kind}: {f.result.got}" for run in runs for f in run.failures()]
    return out


@pytest.fixture(scope="module", params=SPECS, ids=[s.id for s in SPECS])
def plausible(request) -> Iterator[tuple[ProviderSpec, list[CaseResult], list[StrategyRun]]]:
    """One full run per spec against its plausible server (shared by the tests below)."""
    spec = request.param
    results, runs = _run(spec)
    yield spec, results, runs


def test_no_fail_against_a_plausible_server(plausible) -> None:
    """Choices the page leaves open are never FAIL; every other verdict has a one-line reason."""
    spec, results, runs = plausible
    assert not _fails(results, runs), "\n".join(_fails(results, runs))
    assert any(r.verdict is Verdict.PASS for r in results if r.klass == "positive")
    for r in [*results, *(run.case_result(LIVE) for run in runs)]:
        line = r.headline()
        assert (line == "") is (r.verdict is Verdict.PASS) and "\n" not in line and len(line) <= 200, (r.case_id, line)


def test_first_of_two_lines_is_non_strict_with_the_rfc_sentence(plausible) -> None:
    """Two credential lines, the first with the intact valid key, accepted: NON-STRICT, RFC 9110 §5.3."""
    spec, results, runs = plausible
    if not spec.failure("duplicate_header"):
        pytest.skip(f"{spec.id} has no duplicate_header class")
    for r in (r for r in results if r.klass == "duplicate_header"):
        rejected = [c for c in r.checks if c.check == "request_rejected"]
        assert r.verdict is Verdict.NON_STRICT and rejected and "RFC 9110 §5.3" in rejected[0].rule.source, r.reason
    wire = next(run for run in runs if run.strategy == "wire")
    assert any(f.kind.startswith("duplicate") and f.verdict is Verdict.NON_STRICT for f in wire.findings), wire.summary()


def _encoding_item(spec: ProviderSpec, kind: str, byte: bytes) -> Generated:
    """The encoding strategy's own item of a kind carrying one byte (found, not rebuilt by hand)."""
    # derandomize: the search is the same on every run (an unseeded one sometimes found nothing).
    quiet = settings(database=None, max_examples=5000, phases=[Phase.generate], deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
    return find(strategy_for(spec, "encoding"), lambda i: i.kind == kind and i.exprs()[0].ops[-1].data == byte, settings=quiet)


@pytest.mark.parametrize("kind, byte", [("latin1.after", b"\xa0"), ("c1.after", b"\x85")], ids=["nbsp", "nel"])
def test_stripped_unicode_whitespace_is_non_strict(kind: str, byte: bytes) -> None:
    """NBSP (0xA0) or NEL (0x85) after the intact key, stripped and accepted (str.strip() on a
    Latin-1 value): NON-STRICT at the RFC sentence; the same server without the stripping refuses it."""
    for spec in SPECS:
        item = _encoding_item(spec, kind, byte)
        valid = _key(spec, 1)
        for choices, accepted in ((CHOICES, True), ((), False)):
            with PlausibleServer(spec, valid, choices) as url:
                session = EngineSession(live_target(spec, {spec.env("API_KEY"): valid}, url), EngineOptions(database=None))
                try:
                    _, response, judged = session.execute(item)
                finally:
                    session.close()
            assert (200 <= response.status < 300) is accepted, (spec.id, choices, response.status)
            verdicts = {r.check: r for r in judged.results}
            if accepted:
                r = verdicts["request_rejected"]
                assert r.verdict is Verdict.NON_STRICT and "intact valid key" in (r.got or "") and "RFC 9110" in r.rule.source, (spec.id, r)
            assert not [r for r in judged.results if r.verdict is Verdict.FAIL], (spec.id, judged.results)


def test_http_layer_answers_are_not_compared_with_the_catalogue(plausible) -> None:
    """CR/LF/NUL in a value, obs-fold, space before the colon: nginx's HTML 400 is the RFC's answer."""
    spec, results, runs = plausible
    wire = next(run for run in runs if run.strategy == "wire")
    assert wire.infos["http_layer"] > 0, wire.summary()
    assert not [f for f in wire.findings if f.check in ("status_matches_catalogue", "body_matches_catalogue")], wire.summary()


def test_a_generic_401_for_an_inferred_trigger_says_which_answer_came_back(plausible) -> None:
    """Where the spec's malformed answer differs from its invalid one and the trigger is inferred, the
    generic 401 is NON-STRICT and names both answers."""
    spec, results, runs = plausible
    malformed, invalid = spec.failure("malformed"), spec.failure("invalid")
    if malformed is None or invalid is None or malformed.body == invalid.body or malformed.trigger.strength == "documented":
        pytest.skip(f"{spec.id}: its malformed answer is its invalid one, or documented")
    cases = [r for r in results if r.klass == "malformed"]
    assert cases and all(r.verdict is Verdict.NON_STRICT for r in cases)
    assert any("answered with the provider's own `invalid` answer" in (r.reason or "") for r in cases), cases[0].reason


def test_a_supplied_key_state_the_spec_lacks_is_used(plausible) -> None:
    """ID_EXPIRED_KEY is sent even where the page never mentions expiry, judged by an inferred rule."""
    spec, results, runs = plausible
    (expired,) = [r for r in results if r.klass == "expired"]
    assert expired.verdict in (Verdict.PASS, Verdict.NON_STRICT), expired.reason


# --- the broken neighbours: one documented or security rule broken next to the choices -----------

NEIGHBOURS = [
    # (provider, broken option, where it must FAIL (case id or generated strategy), check)
    ("cloro", "strip_junk", "generated.token", "request_rejected"),  # <key>" or <key>! gets in: key altered
    ("cloro", "substring_match", "cloro.invalid.extended", "request_rejected"),  # <key>x gets in
    ("cloro", "invalid_403", "cloro.invalid.unknown", "status_matches_catalogue"),  # documented 401, trigger documented
    ("cloro", "crash_ctl", "generated.wire", "answered_by_app"),  # the application, not the HTTP layer, sees the CR
    ("cloro", "any_scheme", "cloro.wrong_scheme.token", "request_rejected"),  # another scheme gets in
    ("crux", "accept_expired", "crux.expired", "request_rejected"),  # crux's page never names expiry
]


@pytest.mark.parametrize("provider, broken, where, check", NEIGHBOURS, ids=[n[1] for n in NEIGHBOURS])
def test_a_broken_neighbour_still_fails(provider: str, broken: str, where: str, check: str) -> None:
    """The same plausible server with one rule broken: FAIL, on the check that names the rule."""
    spec = get_spec(provider)
    strategies = [where.split(".")[1]] if where.startswith("generated.") else []
    results, runs = _run(spec, broken=(broken,), strategies=strategies)
    if strategies:
        found = [f for run in runs for f in run.failures() if f.check == check]
        assert found, runs[0].summary()
    else:
        (result,) = [r for r in results if r.case_id == where]
        assert result.verdict is Verdict.FAIL and any(c.check == check and c.verdict is Verdict.FAIL for c in result.checks), result.reason


def test_a_supplied_state_the_spec_lacks_becomes_a_case() -> None:
    """A live target gets the class of every key state it was given; a mock run's cases are unchanged."""
    spec = next((s for s in SPECS if "expired" not in s.keys.states and s.failure("invalid")), None)
    if spec is None:
        pytest.skip("every spec has expired keys")
    assert "expired" not in {c.klass for c in cases_for(spec)}
    (case,) = [c for c in cases_for(spec, ("expired",)) if c.klass == "expired"]
    assert case.forced and case.judge.strength == "inferred" and case.needs == ("expired",)
    target = Target(spec, "http://127.0.0.1:9", LIVE, {})
    assert "set " + spec.env("EXPIRED_KEY") in (run_case(case, target).reason or "")
