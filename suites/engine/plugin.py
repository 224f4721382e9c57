"""pytest options of the generated engine and its lines in the terminal summary.

Loaded from the root conftest.py (`pytest_plugins = ["suites.engine.plugin"]`). Options:
`--max-examples N` (examples per strategy and provider), `--request-budget N` and `--pace RPS`
(live targets only: requests per provider, requests per second). `--hypothesis-seed` is
Hypothesis's own option; the engine seeds every search from it.
"""
from __future__ import annotations

import shlex
import zlib

import pytest

from ..gather import install, is_worker, received, ship
from ._session import EngineOptions, StrategyRun

RAW = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """--max-examples, --request-budget, --pace."""
    group = parser.getgroup("authconform-engine", "authconform generated engine (suites/test_generated.py)")
    group.addoption("--max-examples", metavar="N", help="Hypothesis examples per strategy and provider (default 60; live: the budget's share)")
    group.addoption("--request-budget", metavar="N", help="live only: at most N generated requests per provider (default 50)")
    group.addoption("--pace", metavar="RPS", help="live only: at most RPS generated requests per second per provider (default 2)")


def _number(config: pytest.Config, name: str, kind: type, what: str) -> float | int | None:
    raw = config.getoption(name, None)
    if raw is None:
        return None
    flag = "--" + name.replace("_", "-")
    try:
        value = kind(raw)
    except ValueError:
        raise pytest.UsageError(f"{flag} {raw}: expected {what}, e.g. {flag} {'1.5' if kind is float else '20'}") from None
    if value <= 0:
        raise pytest.UsageError(f"{flag} {raw}: expected {what} above 0")
    return value


def _seed(config: pytest.Config) -> int | None:
    raw = config.getoption("hypothesis_seed", None)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        # Hypothesis takes any string as a seed; so does the engine (a stable hash of it).
        return zlib.crc32(str(raw).encode())


def pytest_configure(config: pytest.Config) -> None:
    """Check the options once: a bad value is a one-line usage error saying what is right."""
    config.stash[RAW] = {
        "max_examples": _number(config, "max_examples", int, "a whole number of examples"),
        "budget": _number(config, "request_budget", int, "a whole number of requests"),
        "pace": _number(config, "pace", float, "requests per second"),
        "seed": _seed(config),
    }
    install(config)


def _rerun_args(config: pytest.Config) -> str:
    """The options that select the same target again (read from conftest's options, if any)."""
    words = ["--live"] if config.getoption("live", False) else []
    if config.getoption("base_url", None):
        words += ["--base-url", config.getoption("base_url")]
    for name in config.getoption("mock_defect", None) or ():
        words += ["--mock-defect", name]
    for name in ("request_budget", "pace", "max_examples"):
        if config.getoption(name, None) is not None:
            words += ["--" + name.replace("_", "-"), str(config.getoption(name))]
    return shlex.join(words)


def engine_options(config: pytest.Config, mode: str) -> EngineOptions:
    """The engine's options for a run in `mode` (mock | live), from the command line."""
    raw = config.stash[RAW] if RAW in config.stash else {}
    return EngineOptions.for_mode(mode, raw.get("max_examples"), raw.get("seed"), raw.get("budget"), raw.get("pace"), _rerun_args(config))


def record_run(item: pytest.Item, run: StrategyRun) -> None:
    """Keep a strategy run's counts for the terminal summary (sent on to the xdist controller)."""
    ship(item, "engine", {"provider": run.provider, "strategy": run.strategy, "examples": run.examples, "requests": run.requests,
                          "elapsed": run.elapsed, "verdict": run.verdict.value, "stopped": run.stopped})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Per provider: examples, requests, time and rate of the generated engine, and its verdicts."""
    runs = [] if is_worker(config) else received(config, "engine")
    if not runs:
        return
    terminalreporter.write_sep("=", "authconform generated engine")
    providers = list(dict.fromkeys(r["provider"] for r in runs))
    for p in providers:
        mine = [r for r in runs if r["provider"] == p]
        examples, requests = sum(r["examples"] for r in mine), sum(r["requests"] for r in mine)
        elapsed = sum(r["elapsed"] for r in mine)
        verdicts = " ".join(f"{r['strategy']}={r['verdict']}" for r in mine)
        rate = requests / elapsed if elapsed else 0.0
        terminalreporter.write_line(f"{p}: {examples} examples, {requests} requests in {elapsed:.1f}s ({rate:.0f}/s); {verdicts}")
    for r in runs:
        if r["stopped"]:
            terminalreporter.write_line(f"stopped early: {r['provider']}/{r['strategy']}: {r['stopped']}")
