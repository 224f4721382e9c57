"""pytest glue for the conformance suite: options, targets (mocks or live), the report and its
terminal summary. The logic lives in fixtures/ (glue) and suites/ (cases, checks, verdicts).

Under pytest-xdist (`-n 2`, `-n auto`, `--tx`) every worker runs cases against its own targets; the
results travel to the controller with pytest's test reports (suites.gather), which judges the
baseline, writes every report and prints the summary, as a serial run does."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from drive import MockStartError
from fixtures import ROOT, SETTINGS, Heartbeat, Settings, TargetPool, add_options, settings_from
from suites import CaseResult, Report, Secret, judge_baseline, live_target
from suites.gather import install as install_gather, is_worker, received, selected_ids, ship

# The Hypothesis engine's options (--max-examples, --request-budget, --pace) and summary lines.
pytest_plugins = ["suites.engine.plugin"]

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
    install_gather(config, lambda: _secrets(config))
    config.pluginmanager.register(Heartbeat(config), "authconform-heartbeat")


def _secrets(config: pytest.Config) -> list[Secret]:
    """Every key this process knows: its targets' (mocks it started, live keys it read), and on
    live runs the keys in the environment (an xdist controller starts no target of its own)."""
    secrets = config.stash[POOL].secrets() if POOL in config.stash else []
    settings = config.stash[SETTINGS]
    if settings.live:
        for spec in settings.specs:
            try:
                secrets += live_target(spec, os.environ, settings.base_url, sandbox=settings.sandbox).secrets()
            except ValueError:  # no usable base URL: that target fails its cases, saying so
                continue
    return secrets


def _problems(config: pytest.Config) -> dict[str, str]:
    """provider -> the line saying why its live target failed its health check: this process's
    pool's, and those the xdist workers' tests brought along."""
    problems = {p["provider"]: p["problem"] for p in received(config, "problem")}
    problems.update(config.stash[POOL].problems if POOL in config.stash else {})
    return problems


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """A health problem found in this process goes along with the test's report (suites.gather),
    so the process that prints the summary and sets the exit status knows it."""
    pool = item.config.stash.get(POOL, None)
    if call.when == "call" and pool is not None and is_worker(item.config):
        for provider, problem in pool.problems.items():
            ship(item, "problem", {"provider": provider, "problem": problem})


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note which providers the selected tests use (after -k/-m/--lf deselection), so their mocks start together."""
    needed: list[str] = []
    for item in session.items:
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        provider = getattr(params.get("case"), "provider", None) or params.get("provider")
        if isinstance(provider, str):
            needed.append(provider)
    session.config.stash[NEEDED] = list(dict.fromkeys(needed))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under xdist, a live target or a mock at --base-url keeps each provider on one worker
    (fixtures/scheduling.py says why); mock runs spread freely."""
    from fixtures.scheduling import scheduler_for  # xdist is imported only when it runs

    settings = config.stash.get(SETTINGS, None)
    return scheduler_for(config, log, settings is not None and (settings.live or settings.base_url is not None))


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


class CaseSink:
    """Where a test puts its case's result: it travels with the test's report to the process that
    writes the run's report (the xdist controller, or this one)."""

    def __init__(self, item: pytest.Item):
        self.item = item

    def add(self, result: CaseResult) -> None:
        """Record one case's result (redacted again with every key of the run before it leaves)."""
        ship(self.item, "case", result.as_dict())


@pytest.fixture
def conformance_report(request: pytest.FixtureRequest) -> CaseSink:
    """The run's report: add a CaseResult per case; summarised and written at session end."""
    return CaseSink(request.node)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Judge the expected-deviations baseline (a stale entry fails the run), then write the report
    (--report DIR) and the record of what the targets answered (--record DIR)."""
    config = session.config
    if SETTINGS not in config.stash or is_worker(config):
        return
    settings, report = config.stash[SETTINGS], config.stash[REPORT]
    for data in received(config, "case"):
        report.add(CaseResult.from_dict(data))
    report.add_specs(settings.specs)
    report.selected = selected_ids(config)
    report.baseline = judge_baseline(settings.specs, report.results, settings.mode)
    # A listed deviation that no longer happens fails the run, like a FAIL would.
    if report.stale and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # A live target that failed its health check (its cases skipped) fails the run too.
    if _problems(config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    report.add_secrets(_secrets(config))
    if settings.report_dir:
        report.write(settings.report_dir)
    if config.stash.get(RECORD, None):
        report.write_record(config.stash[RECORD])


# How each verdict is coloured when the terminal takes colour (pytest's --color, NO_COLOR, FORCE_COLOR).
MARKUP: dict[str, dict[str, bool]] = {
    "PASS": {"green": True}, "FAIL": {"red": True, "bold": True}, "NON-STRICT": {"yellow": True},
    "INFO": {"cyan": True}, "SKIP": {"light": True}, "error": {"red": True},
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The failure class x provider matrix of verdicts, coloured by verdict, and every non-PASS case."""
    if REPORT not in config.stash or is_worker(config):
        return
    # One line per live target that failed its health check, before anything else.
    for problem in _problems(config).values():
        terminalreporter.write_line(f"target: {problem}", red=True)
    writer = config.get_terminal_writer()

    def paint(text: str, cell: str) -> str:
        markup = MARKUP.get(cell.rstrip("*~").split(" ")[-1], {})
        return writer.markup(text, **markup) if markup else text

    lines = config.stash[REPORT].summary_lines(paint, max(100, writer.fullwidth - 1))
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
        terminalreporter.write_line(f"record: {record}/record.json (compare with the mocks: python -m drive drift {record})")
