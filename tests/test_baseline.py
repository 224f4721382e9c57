"""The expected-deviations baseline (a spec's `deviations`): a listed deviation that happens on a live
target is reported (INFO, a DEVIATION badge in report.html), not failed; a listed deviation that no
longer happens fails the run as stale, and so does an entry naming no case or no check.

The live target is a mock started separately (with or without a planted defect), as in
tests/test_live.py; the spec copies with deviations are made in memory (dataclasses.replace), and
for the end-to-end runs a tiny pytest plugin swaps them in for the real specs.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from drive import MockProcess
from fixtures import ROOT
from fixtures._selftest import clean_env
from specs import Deviation, ProviderSpec, get_spec
from suites import LIVE, MOCK, Report, Secret, Target, Verdict, cases_for, judge_baseline, mock_target, run_case

SPEC = get_spec("cloro")
CASE = next(c for c in cases_for(SPEC) if c.id == "cloro.missing")
# What the status_403_for_401 defect breaks on cloro.missing: the documented status (FAIL).
LISTED = (Deviation("missing", "status_matches_catalogue", "answers 403 to a missing key", "https://example.invalid/issues/7"),)
PLUGIN = '''
"""Test-only: give each spec the deviations named in AUTHCONFORM_TEST_DEVIATIONS (JSON)."""
import dataclasses, json, os
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    import fixtures._options as options
    from specs import Deviation
    listed = json.loads(os.environ["AUTHCONFORM_TEST_DEVIATIONS"])
    real = options.load_all
    options.load_all = lambda: tuple(
        dataclasses.replace(s, deviations=tuple(Deviation(**d) for d in listed.get(s.id, ()))) for s in real())
'''


def _with(deviations: tuple[Deviation, ...]) -> ProviderSpec:
    return dataclasses.replace(SPEC, deviations=deviations)


@pytest.fixture(scope="module")
def mocks(mock_processes: Any) -> dict[str, MockProcess]:
    """A clean cloro mock and one answering 403 where cloro documents 401."""
    clean, broken = mock_processes.start([("cloro", ()), ("cloro", ("status_403_for_401",))])
    return {"clean": clean, "403": broken}


def _live(mock: MockProcess, spec: ProviderSpec) -> Target:
    """The mock as a live target (no admin API, deviations apply)."""
    return dataclasses.replace(mock_target(spec, mock.base_url, mock.keys), mode=LIVE, admin=None)


def test_a_listed_deviation_that_happens_is_reported_not_failed(mocks) -> None:
    """The 403 target breaks the documented status: with the entry, INFO and `seen`; nothing stale."""
    spec = _with(LISTED)
    result = run_case(CASE, _live(mocks["403"], spec))
    assert result.verdict is Verdict.INFO
    assert "known deviation: answers 403 to a missing key" in (result.reason or "")
    (state,) = judge_baseline([spec], [result], LIVE)
    assert (state.state, state.fails_run, state.case_id) == ("seen", False, "cloro.missing")
    assert "status_matches_catalogue INFO (got 403 Forbidden)" in state.detail
    # Without the entry the same answer is a FAIL: the entry is what turned it into a report.
    assert run_case(CASE, _live(mocks["403"], SPEC)).verdict is Verdict.FAIL


def test_a_listed_deviation_that_no_longer_happens_is_stale_and_fails(mocks) -> None:
    """The clean target answers the documented 401: the entry is stale, and it fails the run."""
    spec = _with(LISTED)
    result = run_case(CASE, _live(mocks["clean"], spec))
    assert result.verdict is Verdict.PASS
    (state,) = judge_baseline([spec], [result], LIVE)
    assert state.state == "stale" and state.fails_run
    assert "now passes status_matches_catalogue (the target answered HTTP/1.1 401 Unauthorized)" in state.line()
    assert f"remove it from {state.spec_path} (" in state.line() and state.spec_path.endswith("cloro.yaml")
    report = Report(LIVE)
    report.add(result)
    report.baseline = [state]
    assert report.stale == [state]
    assert any(line.startswith("STALE deviation cloro missing/status_matches_catalogue") for line in report.summary_lines())


@pytest.mark.parametrize(
    ("entry", "why"),
    [(Deviation("misssing", "status_matches_catalogue", "typo", "x"), "names no case of cloro"),
     (Deviation("missing", "status_is_right", "typo", "x"), "names no check")],
    ids=["unknown-case", "unknown-check"],
)
def test_an_entry_that_matches_nothing_fails_too(entry: Deviation, why: str) -> None:
    """A typo would excuse nothing, silently: it fails the run and says what is wrong."""
    (state,) = judge_baseline([_with((entry,))], [], LIVE)
    assert state.state == "unknown" and state.fails_run and why in state.detail


def test_not_run_and_mock_runs_judge_nothing() -> None:
    """A skipped or deselected case says nothing about its deviation; a mock run judges none."""
    spec = _with(LISTED)
    no_key = Target(spec, "http://127.0.0.1:9", LIVE, unavailable="cloro: CLORO_API_KEY is not set")
    skipped = run_case(CASE, no_key)
    assert [s.state for s in judge_baseline([spec], [skipped], LIVE)] == ["not run"]
    assert [s.state for s in judge_baseline([spec], [], LIVE)] == ["not run"]
    assert [s.state for s in judge_baseline([spec], [], MOCK)] == ["not judged"]
    assert not any(s.fails_run for s in judge_baseline([spec], [skipped], LIVE))


def _run_live(mock: MockProcess, tmp_path: Path, name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`pytest --live -k cloro.missing` against the mock, cloro's spec carrying LISTED."""
    (tmp_path / "baseline_plugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    folder = tmp_path / name
    env = clean_env({
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "AUTHCONFORM_TEST_DEVIATIONS": json.dumps({"cloro": [dataclasses.asdict(d) for d in LISTED]}),
        "CLORO_API_KEY": Secret(mock.keys["valid"]).reveal(),
    })
    argv = [sys.executable, "-m", "pytest", "-p", "baseline_plugin", "suites", "-m", "conformance", "--live", "--provider", "cloro",
            "--base-url", mock.base_url, "-k", "cloro.missing", "--report", str(folder)]
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return run, folder


def test_end_to_end_the_run_passes_on_a_seen_deviation_and_fails_on_a_stale_one(mocks, tmp_path: Path) -> None:
    """`pytest --live`: exit 0 with the deviation seen (reported in the summary, JSON, JUnit, HTML);
    exit 1 against the clean target, the stale entry named in the summary and as a JUnit failure."""
    run, folder = _run_live(mocks["403"], tmp_path, "seen")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "SEEN deviation cloro missing/status_matches_catalogue" in run.stdout
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert [d["state"] for d in report["deviations"]] == ["seen"]
    assert "DEVIATION" in (folder / "report.html").read_text(encoding="utf-8")
    seen = {s.name: s for s in JUnitXml.fromfile(str(folder / "junit.xml"))}["baseline"]
    assert (seen.tests, seen.failures) == (1, 0)

    run, folder = _run_live(mocks["clean"], tmp_path, "stale")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    assert "STALE deviation cloro missing/status_matches_catalogue: cloro.missing now passes" in run.stdout
    baseline = {s.name: s for s in JUnitXml.fromfile(str(folder / "junit.xml"))}["baseline"]
    assert (baseline.tests, baseline.failures) == (1, 1)


# --- generated strategies: an entry names the strategy (and the failure class it covers) -----------

GENERATED_403 = Deviation("generated.token", "status_matches_catalogue", "answers 403 to a wrong key", "https://example.invalid/issues/8", "invalid")


def _generated(mock: MockProcess, spec: ProviderSpec):
    """The token strategy against the mock as a live target (no budget, no pace: a local mock)."""
    from suites.engine._session import EngineOptions, EngineSession

    session = EngineSession(_live(mock, spec), EngineOptions(max_examples=20, database=None))
    try:
        return session.run("token").case_result(LIVE)
    finally:
        session.close()


def test_a_deviation_covers_a_generated_strategy_by_class(mocks) -> None:
    """`case: generated.token` + `class: invalid` turns the strategy's 403-for-401 FAILs of that class
    into INFO, and the baseline sees it happen (never judged stale: the strategy ran and showed it)."""
    without = _generated(mocks["403"], SPEC)
    assert without.verdict is Verdict.FAIL and any(c.check == "status_matches_catalogue" and c.verdict is Verdict.FAIL for c in without.checks)
    spec = _with((GENERATED_403,))
    result = _generated(mocks["403"], spec)
    assert not [c for c in result.checks if c.verdict is Verdict.FAIL], result.reason
    assert any(c.verdict is Verdict.INFO and "known deviation: answers 403 to a wrong key" in (c.note or "") for c in result.checks)
    (state,) = judge_baseline([spec], [result], LIVE)
    assert (state.state, state.case_id) == ("seen", "cloro.generated.token"), state.line()


def test_a_generated_deviation_is_stale_only_when_the_strategy_ran_without_it(mocks) -> None:
    """Clean target: the strategy ran and the deviation never showed, stale; not run: not judged stale;
    another class named: it excuses nothing of `invalid` and is stale."""
    spec = _with((GENERATED_403,))
    (state,) = judge_baseline([spec], [_generated(mocks["clean"], spec)], LIVE)
    assert state.state == "stale" and state.fails_run
    (state,) = judge_baseline([spec], [], LIVE)
    assert state.state == "not run" and not state.fails_run
    other = _with((dataclasses.replace(GENERATED_403, klass="expired"),))
    result = _generated(mocks["403"], other)
    assert result.verdict is Verdict.FAIL
    (state,) = judge_baseline([other], [result], LIVE)
    assert state.state == "stale"
