"""The kill matrix (drive/_mutation.py; `python -m drive mutation`, `make mutation`), the one test of
the suite's power: every provider's mock with every defect its catalogue allows (mocks/_defects.py),
caught by the fixed cases; a defect that survives fails the run, and so does a security defect or a
crash caught only by a NON-STRICT; what a clean mock already shows kills nothing; a FAIL on a clean
mock fails the run. In `make test` the mocks run in this process (fixed cases only); `make mutation`
runs them as `python -m mocks serve` processes, with the generated engine as well."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from _helpers import SPECS
from drive._mutation import GENERATED, KILLED, SURVIVED, WEAK, MutationMatrix, PairRun, Signal, catalogue_of, must_fail_of, plan, run_matrix
from fixtures import ROOT
from fixtures._selftest import clean_env
from mocks import DEFECTS
from mocks._defects import defects_for
from specs import load_all


def _mutation(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "drive", "mutation", "--quiet", *args]
    return subprocess.run(argv, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.parametrize("provider", sorted(s.id for s in load_all()))
def test_every_applicable_defect_is_caught(provider: str, planted: Any) -> None:
    """The kill matrix, a provider's row whole: its clean mock and a mock for every defect its
    catalogue allows (in this process, `planted`), judged by drive's matrix under its own rules:
    every defect killed by a check that passes on the clean mock, no FAIL on the clean mock, and
    each `must_fail` defect (security, crash) caught by a FAIL."""
    spec = SPECS[provider]
    catalogue = {provider: {d: DEFECTS[d].must_fail for d in defects_for(spec)}}
    matrix = run_matrix(plan(catalogue), generated=False, workers=1, must_fail=must_fail_of(catalogue), launch=planted)
    assert [f"{k.defect}: {k.state} {k.error or ''}" for k in matrix.kills if k.state != KILLED] == []
    assert matrix.clean_failures() == [] and matrix.exit_status == 0
    assert sorted(k.defect for k in matrix.kills) == sorted(catalogue[provider])
    for k in matrix.kills:
        first = k.first()
        assert first is not None and first.case_id.startswith(f"{provider}.")
        if DEFECTS[k.defect].must_fail:
            assert first.verdict == "FAIL", (k.defect, first)
    assert f"kill rate: {len(matrix.kills)}/{len(matrix.kills)} (100.0%)" in "\n".join(matrix.lines())


def test_the_catalogue_is_asked_of_the_mocks_command_line() -> None:
    """`catalogue_of` (what `python -m drive mutation` plans from) reads `python -m mocks defects
    --json`: the same defects, in catalogue order, with the same must_fail, as the mock's table."""
    ids = sorted(SPECS)[:2]
    catalogue = catalogue_of(ids)
    for provider in ids:
        assert catalogue[provider] == {d: DEFECTS[d].must_fail for d in defects_for(SPECS[provider])}
    assert must_fail_of(catalogue) >= {"accept_missing", "echo_credential", "crash_non_ascii"}
    assert "wrong_error_body" not in must_fail_of(catalogue)


def test_a_surviving_defect_fails_the_run() -> None:
    """Judged by the positive cases only, a mock that accepts a missing key survives: exit 1,
    SURVIVED named; judged by cloro.missing it is caught, with the case named: exit 0."""
    weak = _mutation("--provider", "cloro", "--defect", "accept_missing", "--fixed-only", "--cases", "cloro.positive*", "--workers", "1")
    assert weak.returncode == 1, weak.stdout + weak.stderr
    assert "SURVIVED: cloro x accept_missing" in weak.stdout and "kill rate: 0/1 (0.0%)" in weak.stdout
    strong = _mutation("--provider", "cloro", "--defect", "accept_missing", "--fixed-only", "--cases", "cloro.missing", "--workers", "1")
    assert strong.returncode == 0, strong.stdout + strong.stderr
    assert "kill rate: 1/1 (100.0%)" in strong.stdout
    assert "cloro x accept_missing: cloro.missing: request_rejected FAIL (1 fixed / 0 generated)" in strong.stdout


def _signal(case: str, check: str, verdict: str = "FAIL") -> Signal:
    return Signal(case, check, verdict, GENERATED, verdict == "FAIL")


def test_what_the_clean_mock_shows_kills_nothing_and_a_clean_fail_fails_the_run() -> None:
    """A FAIL the clean mock already shows is no kill; any clean FAIL fails the run."""
    known = _signal("cloro.generated.wire", "no_credential_echo")
    clean = PairRun("cloro", None, (known,))
    same = PairRun("cloro", "crash_duplicate_header", (known,))
    matrix = MutationMatrix({"cloro": clean}, [same])
    assert matrix.kills[0].state == SURVIVED and matrix.exit_status == 1
    assert "clean mocks: 1 FAIL (there must be none):" in matrix.lines()
    new = PairRun("cloro", "crash_duplicate_header", (known, _signal("cloro.generated.wire", "answered_by_app")))
    matrix = MutationMatrix({"cloro": clean}, [new])
    assert matrix.kills[0].state == KILLED and matrix.kills[0].catching == (_signal("cloro.generated.wire", "answered_by_app"),)
    assert matrix.exit_status == 1  # killed, but the clean mock's FAIL still fails the run
    matrix = MutationMatrix({"cloro": PairRun("cloro", None, (_signal("cloro.x", "challenge_on_401", "NON-STRICT"),))}, [new])
    assert matrix.exit_status == 0 and matrix.cell("cloro", "crash_duplicate_header") == "caught"


def test_a_kill_counts_only_by_a_check_that_passes_on_the_clean_mock() -> None:
    """A check already NON-STRICT on the clean mock that turns FAIL with the defect is no kill: the
    check did not pass on the clean mock, so its FAIL says nothing the clean run did not."""
    clean = PairRun("cloro", None, (_signal("cloro.generated.wire", "answered_by_app", "NON-STRICT"),))
    worse = PairRun("cloro", "crash_duplicate_header", (_signal("cloro.generated.wire", "answered_by_app"),))
    matrix = MutationMatrix({"cloro": clean}, [worse])
    assert matrix.kills[0].state == SURVIVED and matrix.exit_status == 1
    other = PairRun("cloro", "crash_duplicate_header", (_signal("cloro.generated.wire", "answered_by_app"), _signal("cloro.duplicate_header.same", "answered_by_app")))
    matrix = MutationMatrix({"cloro": clean}, [other])
    assert matrix.kills[0].state == KILLED and matrix.kills[0].catching == (_signal("cloro.duplicate_header.same", "answered_by_app"),)


def test_a_caught_defect_is_not_printed_as_fail() -> None:
    """The matrix says `caught` (or `caught (NS)` when only a NON-STRICT caught it), never FAIL."""
    ns = PairRun("cloro", "crash_duplicate_header", (_signal("cloro.generated.wire", "answered_by_app", "NON-STRICT"),))
    hard = PairRun("cloro", "accept_missing", (_signal("cloro.missing", "request_rejected"),))
    matrix = MutationMatrix({"cloro": PairRun("cloro", None, ())}, [ns, hard])
    assert matrix.cell("cloro", "crash_duplicate_header") == "caught (NS)"
    assert matrix.cell("cloro", "accept_missing") == "caught" and matrix.exit_status == 0
    rows = [line for line in matrix.lines() if line.startswith(("crash_duplicate_header", "accept_missing"))]
    assert len(rows) == 2 and not any("FAIL" in row for row in rows), rows


def test_a_must_fail_defect_caught_only_by_a_non_strict_fails_the_run() -> None:
    """A security defect (must_fail) that only a NON-STRICT, or a FAIL by the rule's strength alone,
    caught is WEAK and fails the run; the same signal on a defect whose rule's strength decides is
    a catch; a forced FAIL is."""
    ns = PairRun("cloro", "accept_missing", (_signal("cloro.missing", "status_matches", "NON-STRICT"),))
    matrix = MutationMatrix({"cloro": PairRun("cloro", None, ())}, [ns], must_fail=frozenset({"accept_missing"}))
    assert matrix.kills[0].state == WEAK and matrix.exit_status == 1 and matrix.cell("cloro", "accept_missing") == "WEAK"
    assert any(line.startswith("WEAK: cloro x accept_missing: caught only by the rule's strength") for line in matrix.lines())
    assert MutationMatrix({"cloro": PairRun("cloro", None, ())}, [ns]).exit_status == 0
    hard = PairRun("cloro", "accept_missing", (*ns.signals, _signal("cloro.missing", "request_rejected")))
    assert MutationMatrix({"cloro": PairRun("cloro", None, ())}, [hard], must_fail=frozenset({"accept_missing"})).exit_status == 0
    # A FAIL by the rule's strength alone (not forced by the security rule) is WEAK too.
    by_strength = PairRun("cloro", "accept_missing", (Signal("cloro.missing", "status_matches", "FAIL", GENERATED, False),))
    matrix = MutationMatrix({"cloro": PairRun("cloro", None, ())}, [by_strength], must_fail=frozenset({"accept_missing"}))
    assert matrix.kills[0].state == WEAK and matrix.exit_status == 1


def test_a_clean_mock_that_does_not_start_is_an_error_not_a_pass() -> None:
    """No clean baseline, no verdict: every pair of that provider is ERROR and the run fails."""
    matrix = MutationMatrix({"cloro": PairRun("cloro", None, error="mock cloro exited with 2")}, [PairRun("cloro", "accept_missing")])
    assert matrix.kills[0].state == "error" and matrix.exit_status == 1
    assert "ERROR: cloro x accept_missing: mock cloro exited with 2" in matrix.lines()


def test_the_full_plan_covers_every_applicable_pair_once() -> None:
    """Without --sample: one clean mock per provider, then every (provider, defect) the catalogue allows."""
    catalogue = {"a": ("x", "y"), "b": ("x",)}
    assert plan(catalogue) == [("a", None), ("b", None), ("a", "x"), ("b", "x"), ("a", "y")]
    assert plan(catalogue, ["y"]) == [("a", None), ("b", None), ("a", "y")]
    assert plan(catalogue, sample=True) == [("a", None), ("a", "x"), ("a", "y")]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--provider", "nope"], f"unknown provider 'nope'; providers: {', '.join(sorted(s.id for s in load_all()))}"),
     (["--workers", "0"], "invalid worker count '0'; a whole number from 1 to 16, or auto (one per core)"),
     (["--provider", "cloro", "--defect", "ignore_scope"], "defect 'ignore_scope' applies to none of cloro; defects:")],
    ids=["provider", "workers", "defect"],
)
def test_bad_arguments_are_one_line_errors(args: list[str], message: str) -> None:
    """Exit 2, one line saying what would be right, no traceback."""
    run = _mutation(*args)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr
