"""pytest glue for the conformance suite: options, targets (mocks or live), the report and its
terminal summary. The logic lives in fixtures/ (glue) and suites/ (cases, checks, verdicts)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from fixtures import ROOT, SETTINGS, MockStartError, Settings, TargetPool, add_options, settings_from
from suites import Report, judge_baseline

# The Hypothesis engine's options (--max-examples, --request-budget, --pace) and summary lines.
pytest_plugins = ["suites._engine_plugin"]

REPORT = pytest.StashKey[Report]()
POOL = pytest.StashKey[TargetPool]()
NEEDED = pytest.StashKey[list[str]]()
RECORD = pytest.StashKey["str | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """--live, --provider, --base-url, --report, --record, --mock-defect."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Check the options once (a usage error names what is right) and open the run's report."""
    settings = settings_from(config)
    config.stash[SETTINGS] = settings
    # `pytest --live` runs the conformance suite against live targets: when the paths come from
    # pytest.ini's testpaths, the project's own tests (tests/, which start mocks) are left out.
    # (pytest_ignore_collect is not asked about initial paths, so the list itself is narrowed.)
    if settings.live and config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        config.args[:] = [a for a in config.args if Path(a).resolve() != ROOT / "tests"]
    config.stash[REPORT] = Report(settings.mode)
    config.stash[RECORD] = config.getoption("record", None)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Note which providers the selected tests use (after -k/-m deselection), so their mocks start together."""
    needed: list[str] = []
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        provider = getattr(params.get("case"), "provider", None) or params.get("provider")
        if isinstance(provider, str):
            needed.append(provider)
    config.stash[NEEDED] = list(dict.fromkeys(needed))


@pytest.fixture(scope="session")
def conformance_settings(pytestconfig: pytest.Config) -> Settings:
    """The checked options of the run (mode, selected specs, base URL, report folder)."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def conformance_targets(pytestconfig: pytest.Config) -> Iterator[TargetPool]:
    """The target of every selected provider (`.get(id)`); mocks are stopped at session end."""
    pool = TargetPool(pytestconfig.stash[SETTINGS], pytestconfig.stash.get(NEEDED, []))
    pytestconfig.stash[POOL] = pool
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def conformance_target(conformance_targets: TargetPool, request: pytest.FixtureRequest):
    """A function that returns a provider's target (a mock's start failure errors the test)."""

    def get(provider: str):
        try:
            return conformance_targets.get(provider)
        except MockStartError as err:
            failure = str(err)
        pytest.fail(failure, pytrace=False)

    return get


@pytest.fixture(scope="session")
def conformance_report(pytestconfig: pytest.Config) -> Report:
    """The run's report: add a CaseResult per case; summarised and written at session end."""
    return pytestconfig.stash[REPORT]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Judge the expected-deviations baseline (a stale entry fails the run), then write the report
    (--report DIR) and the record of what the targets answered (--record DIR)."""
    config = session.config
    if SETTINGS not in config.stash:
        return
    settings, report = config.stash[SETTINGS], config.stash[REPORT]
    report.add_specs(settings.specs)
    report.baseline = judge_baseline(settings.specs, report.results, settings.mode)
    # A listed deviation that no longer happens fails the run, like a FAIL would.
    if report.stale and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # A live target that failed its health check (its cases skipped) fails the run too.
    if POOL in config.stash and config.stash[POOL].problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if POOL in config.stash:
        report.add_secrets(config.stash[POOL].secrets())
    if settings.report_dir:
        report.write(settings.report_dir)
    if config.stash.get(RECORD, None):
        report.write_record(config.stash[RECORD])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The failure class x provider matrix of verdicts."""
    if REPORT not in config.stash:
        return
    # One line per live target that failed its health check, before anything else.
    for problem in (config.stash[POOL].problems.values() if POOL in config.stash else ()):
        terminalreporter.write_line(f"target: {problem}", red=True)
    lines = config.stash[REPORT].summary_lines()
    if not lines:
        return
    terminalreporter.write_sep("=", "authconform verdicts")
    for line in lines:
        terminalreporter.write_line(line)
    folder = config.stash[SETTINGS].report_dir
    if folder:
        terminalreporter.write_line(f"report: {folder}/report.json, {folder}/junit.xml, {folder}/report.html")
    record = config.stash.get(RECORD, None)
    if record:
        terminalreporter.write_line(f"record: {record}/record.json (compare with the mocks: python -m suites drift {record})")
