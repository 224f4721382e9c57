"""The suite as pytest users run it: spread over processes with pytest-xdist (`-n 2`) the reports are
those of a serial run; the cache (`--lf`, `--sw`) works and holds no key; the verdict table tells
a class that did not run from one the spec lacks, and is coloured only where colour is asked for;
every FAIL and NON-STRICT case is listed in the terminal with its check and why."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Iterator

import pytest

from drive import MockProcess
from fixtures._selftest import run_suite
from specs import load_all
from suites import MOCK, CaseResult, Report, Secret, Verdict, cases_for
from suites._result import CheckResult
from suites._secret import leaks
from suites._cases import POSITIVE
from suites._report import NO_RESULT, NOT_APPLICABLE, NOT_RUN

SPECS = load_all()
FIRST = SPECS[0].id
# Defects every provider's mock can be run with: a security FAIL (a missing credential accepted)
# and error bodies off the catalogue (FAIL or NON-STRICT, by the strength of each body rule).
DEFECTS = ("accept_missing", "wrong_error_body")
DEFECT_ARGS = [arg for d in DEFECTS for arg in ("--mock-defect", d)]
# What differs between two runs against the same seeded mocks: ports, dates, timings.
VOLATILE = [(re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"), (re.compile(r"Date: [^\\\r\n&<]+"), "Date: -"),
            (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"), "DATE UTC"),
            (re.compile(r'"duration": [0-9.e-]+'), '"duration": 0'), (re.compile(r'time="[0-9.]+"'), 'time="0"')]


def _steady(text: str) -> str:
    for pattern, fixed in VOLATILE:
        text = pattern.sub(fixed, text)
    return text


def _verdict_section(stdout: str) -> str:
    """The terminal's verdict table, totals and non-PASS listing (without the report paths)."""
    section = stdout.split(" authconform verdicts ", 1)[1].split("\n", 1)[1]
    return "\n".join(line for line in section.split("\n=")[0].splitlines() if not line.startswith("report: "))


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    """The fixed cases of every provider against seeded mocks with a defect, serially and with -n 2."""
    runs = {}
    for name, extra in (("serial", []), ("xdist", ["-n", "2"])):
        folder = tmp_path_factory.mktemp(name)
        runs[name] = (run_suite(["-q", *DEFECT_ARGS, "--mock-seed", "7", "--report", str(folder), *extra]), folder)
    return runs


def test_xdist_gives_the_reports_of_a_serial_run(serial_and_parallel) -> None:
    """report.json, junit.xml, report.html and the terminal's verdicts are the same with -n 2 (only
    ports, dates and timings differ), and they are not empty: every case is there."""
    (serial, one), (parallel, two) = serial_and_parallel["serial"], serial_and_parallel["xdist"]
    assert serial.returncode == parallel.returncode == 1, serial.stdout[-2000:] + parallel.stdout[-2000:]
    assert "2 workers" in parallel.stdout or "gw1" in parallel.stdout + parallel.stderr, parallel.stdout[:500]
    cases = json.loads((one / "report.json").read_text(encoding="utf-8"))["cases"]
    assert {c["case_id"] for c in cases} == {c.id for s in SPECS for c in cases_for(s)}
    assert {c["verdict"] for c in cases} >= {"FAIL", "NON-STRICT"}
    for name in ("report.json", "junit.xml", "report.html"):
        a, b = (_steady((folder / name).read_text(encoding="utf-8")).splitlines() for folder in (one, two))
        assert a == b, "\n".join([name, *difflib.unified_diff(a, b, lineterm="", n=0)][:12])
    assert _verdict_section(parallel.stdout) == _verdict_section(serial.stdout)


def test_the_terminal_lists_every_fail_and_non_strict_case_with_its_check(serial_and_parallel) -> None:
    """Under each verdict, a line per check and reason, then the ids of the cases it covers: every
    non-PASS case of report.json is named, under xdist too."""
    for run, folder in serial_and_parallel.values():
        cases = json.loads((folder / "report.json").read_text(encoding="utf-8"))["cases"]
        section = _verdict_section(run.stdout)
        for verdict in ("FAIL", "NON-STRICT"):
            ids = [c["case_id"] for c in cases if c["verdict"] == verdict]
            block = section.split(f"\n{verdict}: {len(ids)} cases\n", 1)[1]
            named = set(re.findall(r"[a-z0-9_]+(?:\.[A-Za-z0-9_]+)+", "\n".join(l for l in block.splitlines() if l.startswith("    "))))
            assert set(ids) <= named, sorted(set(ids) - named)
        assert re.search(r"^  body_matches_catalogue: .*got \{\"message\":", section, re.M)


def test_the_generated_engine_and_its_summary_under_xdist(tmp_path: Path) -> None:
    """The engine's summary and its cases come back from the workers, as in a serial run."""
    select = ("suites/test_generated.py", "-k", FIRST)
    args = ["-q", "--max-examples", "5", "--hypothesis-seed", "1", "--mock-seed", "7"]
    serial = run_suite([*args, "--report", str(tmp_path / "serial")], select=select)
    parallel = run_suite([*args, "-n", "2", "--report", str(tmp_path / "xdist")], select=select)
    assert serial.returncode == parallel.returncode == 0, parallel.stdout[-3000:]

    def engine(run) -> list[str]:
        lines = run.stdout.split(" authconform generated engine ", 1)[1].split("\n=", 1)[0].strip().splitlines()[1:]
        return [re.sub(r"\d+ examples, \d+ requests in [0-9.]+s \(\d+/s\)", "N", line) for line in lines]

    assert engine(parallel) == engine(serial) and engine(serial)[0].startswith(f"{FIRST}: N; ")

    def verdicts(folder: Path) -> list[tuple[str, str]]:
        return [(c["case_id"], c["verdict"]) for c in json.loads((folder / "report.json").read_text(encoding="utf-8"))["cases"]]

    assert verdicts(tmp_path / "xdist") == verdicts(tmp_path / "serial") and len(verdicts(tmp_path / "serial")) >= 5


@pytest.fixture
def defective_mock() -> Iterator[MockProcess]:
    """A mock of the first provider with the defects, standing in for a live endpoint."""
    mock = MockProcess(FIRST, DEFECTS).wait_ready()
    try:
        yield mock
    finally:
        mock.stop()


def test_last_failed_reruns_only_the_failures_and_the_cache_holds_no_key(defective_mock: MockProcess, tmp_path: Path) -> None:
    """A live-style run whose keys are known: `--lf` reruns exactly the cases that failed, `--sw`
    stops at the first failure and starts there next time, and no key, nor a 6-character slice of
    one, is in any file of the cache (which does hold the case ids)."""
    spec = next(s for s in SPECS if s.id == FIRST)
    secrets = {spec.env(suffix): Secret(defective_mock.keys[state], spec.env(suffix))
               for state, suffix in (("valid", "API_KEY"), ("expired", "EXPIRED_KEY"), ("revoked", "REVOKED_KEY"))
               if state in defective_mock.keys}
    cache = tmp_path / "cache"
    base = ["-q", "-p", "no:randomly", "--live", "--provider", FIRST, "--base-url", defective_mock.base_url, "-o", f"cache_dir={cache}"]

    def run(*extra: str):
        return run_suite([*base, *extra], secrets, env={"PYTEST_ADDOPTS": ""})

    first = run()
    failed = int(re.search(r"(\d+) failed", first.stdout).group(1))
    passed = int(re.search(r"(\d+) passed", first.stdout).group(1))
    assert first.returncode == 1 and failed and passed, first.stdout[-2000:]
    again = run("--lf")
    assert re.search(rf"^{failed} failed in ", again.stdout, re.M) and " passed" not in again.stdout, again.stdout[-1500:]
    step = run("--sw")
    assert re.search(r"^=+ 1 failed, \d+ passed", step.stdout, re.M) or "1 failed" in step.stdout, step.stdout[-1500:]
    run("--sw")
    lastfailed = json.loads((cache / "v" / "cache" / "lastfailed").read_text(encoding="utf-8"))
    assert len(lastfailed) == failed and all(f"[{FIRST}." in nodeid for nodeid in lastfailed)
    assert (cache / "v" / "cache" / "stepwise").is_file()
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert len(files) >= 3
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not [name for name, secret in secrets.items() if leaks(text, secret)], path


def _result(case_id: str, provider: str, klass: str, verdict: Verdict, checks: list[CheckResult] | None = None) -> CaseResult:
    return CaseResult(case_id, provider, klass, None, "a case", "valid", MOCK, verdict, checks or [], reason="why\nmore")


def test_the_table_tells_not_run_and_skipped_from_no_such_class() -> None:
    """A class none of whose cases ran is `not run`; selected but without a result, `error`; all
    skipped, SKIP; partly run, `~`; a class the spec lacks, `-`."""
    spec = SPECS[0]
    report = Report(MOCK)
    report.add_specs([spec])
    planned = report.planned(spec.id)
    absent = next((k for k in report.rows if k not in planned), None)
    several = [k for k, ids in planned.items() if len(ids) > 1 and k != POSITIVE]
    single = [k for k in planned if k not in several and k != POSITIVE]
    skipped, deselected, errored, partial = several[0], several[1], several[2], several[3]
    for case_id in planned[POSITIVE]:
        report.add(_result(case_id, spec.id, POSITIVE, Verdict.PASS))
    for case_id in planned[skipped]:
        report.add(_result(case_id, spec.id, skipped, Verdict.SKIP))
    report.add(_result(planned[partial][0], spec.id, partial, Verdict.PASS))
    report.selected = [planned[errored][0], *planned[POSITIVE]]
    assert report.cell(spec.id, POSITIVE) == "PASS"
    assert report.cell(spec.id, skipped) == "SKIP"
    assert report.cell(spec.id, deselected) == NOT_RUN
    assert report.cell(spec.id, errored) == NO_RESULT
    assert report.cell(spec.id, partial) == "PASS~"
    if absent is not None:
        assert report.cell(spec.id, absent) == NOT_APPLICABLE
    assert single is not None
    assert "not run: none selected (-k, -m, --lf)" in report.summary_lines()[0]


def test_the_non_passing_cases_are_grouped_by_check_and_reason() -> None:
    """One line per verdict and reason (the deciding check, what came back), then the case ids;
    PASS and SKIP are not listed."""
    report = Report(MOCK)
    bad = CheckResult("status_matches_catalogue", Verdict.FAIL, expected="401", got="200 OK")
    loose = CheckResult("challenge_on_401", Verdict.NON_STRICT, note="no WWW-Authenticate")
    report.add(_result("p.missing", "p", "missing", Verdict.FAIL, [bad]))
    report.add(_result("p.empty", "p", "empty", Verdict.FAIL, [bad, loose]))
    report.add(_result("p.invalid", "p", "invalid", Verdict.NON_STRICT, [loose]))
    report.add(_result("p.positive", "p", POSITIVE, Verdict.PASS))
    report.add(_result("p.expired", "p", "expired", Verdict.SKIP))
    assert report.findings_lines() == [
        "FAIL: 2 cases", "  status_matches_catalogue: expected 401, got 200 OK", "    p.missing, p.empty",
        "NON-STRICT: 1 case", "  challenge_on_401: no WWW-Authenticate", "    p.invalid",
    ]
    assert report.findings_lines()[0] in report.summary_lines()


def test_a_result_survives_its_trip_from_an_xdist_worker() -> None:
    """CaseResult.from_dict(as_dict()) is the same result, rules and checks included (every field
    of a CheckResult set, so a field added later must make the trip too)."""
    spec = SPECS[0]
    case = cases_for(spec)[0]
    rule = case.judge
    values = {"check": "x", "verdict": Verdict.NON_STRICT, "forced": True}
    full = CheckResult(**{f.name: values.get(f.name, rule if "Rule" in str(f.type) else f"text of {f.name}") for f in fields(CheckResult)})
    result = CaseResult(case.id, spec.id, case.klass, case.variant, case.description, case.credential, MOCK, Verdict.NON_STRICT,
                        [full, CheckResult("y", Verdict.PASS)],
                        reason="r", request="GET /", rules={"accept": {"strength": "rfc", "source": "RFC 9110"}}, duration=0.5)
    assert CaseResult.from_dict(json.loads(json.dumps(result.as_dict()))) == result


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [(["--color=yes"], {}, True), ([], {"FORCE_COLOR": "1"}, True), (["--color=no"], {"FORCE_COLOR": "1"}, False),
     ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False), ([], {}, False)],
    ids=["color-yes", "force-color", "color-no", "no-color", "not-a-terminal"],
)
def test_the_table_is_coloured_by_verdict_only_where_colour_is_asked_for(args: list[str], env: dict[str, str], coloured: bool) -> None:
    """pytest's own colour rules: --color=yes/no, FORCE_COLOR, NO_COLOR, and a pipe is plain."""
    run = run_suite(["-q", "--provider", FIRST, "-k", f"{FIRST}.{POSITIVE}", *args], env=env)
    assert run.returncode == 0, run.stdout[-1500:]
    section = run.stdout.split(" authconform verdicts ", 1)[1]
    assert ("\x1b[32mPASS" in section) is coloured
    assert ("\x1b[" in section) is coloured


def test_a_live_target_that_fails_its_health_check_fails_the_run_under_xdist() -> None:
    """The worker that checked the target tells the controller: one `target:` line, exit 1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    spec = SPECS[0]
    key = {spec.env("API_KEY"): Secret("k" * 32, spec.env("API_KEY"))}
    run = run_suite(["-n", "2", "--live", "--provider", spec.id, "--base-url", url], key)
    assert run.returncode == 1, run.stdout[-2000:]
    assert [line for line in run.stdout.splitlines() if line.startswith("target: ")] == [
        next(line for line in run.stdout.splitlines() if line.startswith(f"target: {spec.id}: {url} cannot be reached"))]


def test_a_long_run_says_how_far_it_is_with_the_time_so_far() -> None:
    """After each interval, one `[done/total, Ns elapsed]` line; none before it is due."""
    from types import SimpleNamespace

    from fixtures import Heartbeat

    lines: list[str] = []
    reporter = SimpleNamespace(write_line=lines.append)
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: reporter))
    due, later = Heartbeat(config, every=0.0), Heartbeat(config, every=3600.0)
    for beat in (due, later):
        beat.pytest_sessionstart(SimpleNamespace(testscollected=3))
        for when in ("setup", "call", "teardown", "setup", "call", "teardown"):
            beat.pytest_runtest_logreport(SimpleNamespace(when=when))
    assert lines == ["[1/3, 0s elapsed]", "[2/3, 0s elapsed]"]
