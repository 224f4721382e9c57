"""A live target's health before its cases, the whole-run deadline, and the key states a user
supplies: `pytest --live` against nothing listening, a wrong base URL (HTML 404 to everything), a
server that never answers, and a plausible server given an expired key its page never names."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from _plausible import PlausibleServer
from fixtures._selftest import run_suite
from specs import get_spec
from suites import LIVE, Secret, Target, Verdict, cases_for, check_health, run_case
from suites._keys import fabricate
from suites.engine._session import EngineOptions, EngineSession

SPEC = get_spec("cloro")


def _key(spec, seed: int) -> str:
    import random

    return fabricate(spec.credential.token, random.Random(f"health-{spec.id}-{seed}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("target: ")]


def test_nothing_listening_is_one_line_and_no_fail() -> None:
    """Connection refused: one line naming the target and the error, every case SKIP, exit 1; no
    FAIL, no traceback, a short output (it was ~790 lines of FAILs and tracebacks)."""
    url = f"http://127.0.0.1:{_free_port()}"
    key = Secret(_key(SPEC, 1), SPEC.env("API_KEY"))
    run = run_suite(["--live", "--provider", "cloro", "--base-url", url], {SPEC.env("API_KEY"): key}, select=("suites",))
    assert run.returncode == 1, run.stdout[-2000:]
    (line,) = _problem_lines(run.stdout)
    assert f"cloro: {url} cannot be reached: ConnectionRefusedError" in line
    assert "FAIL" not in run.stdout.replace("FAIL whatever", "") and "Traceback" not in run.stdout + run.stderr
    assert "passed" not in run.stdout and len(run.stdout.splitlines()) < 60, run.stdout


def test_a_wrong_base_url_is_named_and_no_fail() -> None:
    """HTML 404 to everything: "the probe `POST /v1/monitor` answered 404 with the valid key: is the
    base URL right?", every case SKIP, exit 1."""
    valid = _key(SPEC, 1)
    with PlausibleServer(SPEC, valid, broken=("html_404",)) as url:
        run = run_suite(["--live", "--provider", "cloro", "--base-url", url], {SPEC.env("API_KEY"): Secret(valid, SPEC.env("API_KEY"))}, select=("suites",))
    assert run.returncode == 1, run.stdout[-2000:]
    (line,) = _problem_lines(run.stdout)
    probe = SPEC.probe
    assert line == f"target: cloro: the probe `{probe.method} {probe.path}` answered 404 with the valid key: is the base URL right?"
    assert " FAIL" not in run.stdout and "passed" not in run.stdout


def test_a_server_that_never_answers_is_one_line_within_the_timeout() -> None:
    """Accepts, reads, never answers: the health check gives up after the per-request timeout."""
    valid = _key(SPEC, 1)
    with PlausibleServer(SPEC, valid, broken=("silent",)) as url:
        target = Target(SPEC, url, LIVE, {"valid": Secret(valid, SPEC.env("API_KEY"))})
        start = time.monotonic()
        problem = check_health(target, timeout=0.5)
    assert problem == f"cloro: {url} answered nothing within 0.5 s"
    assert time.monotonic() - start < 5


def test_a_healthy_target_passes_the_check() -> None:
    """The plausible server answers the probe with JSON: no problem line."""
    valid = _key(SPEC, 1)
    with PlausibleServer(SPEC, valid) as url:
        assert check_health(Target(SPEC, url, LIVE, {"valid": Secret(valid, SPEC.env("API_KEY"))})) is None


def test_past_the_live_deadline_cases_skip_and_the_engine_stops() -> None:
    """The whole-run deadline per provider: later cases SKIP naming it; the engine sends nothing more."""
    valid = _key(SPEC, 1)
    with PlausibleServer(SPEC, valid) as url:
        target = Target(SPEC, url, LIVE, {"valid": Secret(valid, SPEC.env("API_KEY"))}, deadline=time.monotonic() - 1, deadline_seconds=30)
        case = next(c for c in cases_for(SPEC) if c.id == "cloro.missing")
        result = run_case(case, target)
        assert result.verdict is Verdict.SKIP and "live deadline of 30 s" in (result.reason or "")
        session = EngineSession(target, EngineOptions(max_examples=5, database=None))
        try:
            run = session.run("presence")
        finally:
            session.close()
    assert run.requests == 0 and "live deadline" in (run.stopped or ""), run.summary()


def test_a_bad_live_deadline_is_a_usage_error() -> None:
    """--live-deadline takes seconds above 0; anything else is one line saying so."""
    run = run_suite(["--live", "--allow-skip", "--live-deadline", "soon"], select=())
    assert run.returncode == 4 and "--live-deadline soon: expected seconds above 0" in run.stderr


@pytest.mark.parametrize("broken, verdict", [((), "PASS"), (("accept_expired",), "FAIL")], ids=["refused", "accepted"])
def test_a_supplied_expired_key_is_used_where_the_page_never_names_expiry(broken, verdict: str, tmp_path: Path) -> None:
    """CRUX_EXPIRED_KEY for Crux (no expired state in its spec): the case runs by an inferred rule;
    refused with the spec's 401: PASS; accepted: security FAIL and exit 1."""
    spec = get_spec("crux")
    assert "expired" not in spec.keys.states
    valid, expired = _key(spec, 1), _key(spec, 2)
    secrets = {spec.env("API_KEY"): Secret(valid, spec.env("API_KEY")), spec.env("EXPIRED_KEY"): Secret(expired, spec.env("EXPIRED_KEY"))}
    with PlausibleServer(spec, valid, ("first_wins",), broken, expired=[expired]) as url:
        run = run_suite(["--live", "--provider", "crux", "--base-url", url, "--report", str(tmp_path), "-k", "expired"], secrets)
    cases = {c["case_id"]: c for c in json.loads((tmp_path / "report.json").read_text())["cases"]}
    assert cases["crux.expired"]["verdict"] == verdict, cases["crux.expired"].get("reason")
    assert run.returncode == (1 if verdict == "FAIL" else 0), run.stdout[-2000:]
