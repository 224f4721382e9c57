"""Hypothesis-generated malformed and equivalent credentials, every strategy against every selected
provider's target (a mock, or live with --live; budget and pace apply there).

Ids are `provider.generated.strategy`, so `-k "cloro and scheme"` runs one strategy against one
provider. A FAIL prints the shrunk request (keys as placeholders) and a command that replays it.
"""
from __future__ import annotations

from typing import Callable, Iterator

import pytest

from fixtures import SETTINGS, MockStartError, enact
from suites.engine import EngineSession, strategy_names
from suites.engine.plugin import engine_options, record_run

pytestmark = pytest.mark.generated


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per (provider, strategy)."""
    if "strategy" in metafunc.fixturenames:
        specs = metafunc.config.stash[SETTINGS].specs
        params = [(s.id, name) for s in specs for name in strategy_names()]
        metafunc.parametrize(("provider", "strategy"), params, ids=[f"{p}.generated.{n}" for p, n in params])


@pytest.fixture(scope="module")
def engine_sessions(conformance_targets, pytestconfig: pytest.Config) -> Iterator[Callable[[str], EngineSession]]:
    """One EngineSession per provider (one keep-alive connection, one live budget), closed at the end."""
    sessions: dict[str, EngineSession] = {}
    mode = pytestconfig.stash[SETTINGS].mode

    def get(provider: str) -> EngineSession:
        if provider not in sessions:
            try:
                target = conformance_targets.get(provider)
            except MockStartError as err:
                pytest.fail(str(err), pytrace=False)
            if target.unavailable:
                pytest.skip(target.unavailable)
            sessions[provider] = EngineSession(target, engine_options(pytestconfig, mode))
        return sessions[provider]

    try:
        yield get
    finally:
        for session in sessions.values():
            session.close()


def test_generated(provider: str, strategy: str, engine_sessions, conformance_report, request) -> None:
    """One strategy against one provider: the four properties on every generated request."""
    session = engine_sessions(provider)
    run = session.run(strategy)
    record_run(request.node, run)
    result = run.case_result(session.target.mode)
    request.node.user_properties += [("examples", run.examples), ("requests", run.requests)]
    conformance_report.add(result)
    enact(result, request.node.user_properties)
