"""The conformance cases of every selected spec, against its target (a mock, or live with --live).

Ids are case ids (`cloro.expired`, `crux.positive.tab_separator`), so `-k cloro.expired` or
`-k "cloro and expired"` selects cases. Parameters are cases, never keys.
"""
from __future__ import annotations

import pytest

from fixtures import SETTINGS, enact, run_guarded
from suites import cases_for

pytestmark = pytest.mark.conformance


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per case of every selected provider."""
    if "case" in metafunc.fixturenames:
        settings = metafunc.config.stash[SETTINGS]
        cases = [c for spec in settings.specs for c in cases_for(spec, settings.supplied(spec))]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def test_case(case, conformance_target, conformance_report, request) -> None:
    """One case: build the request from the spec, send it over TCP, judge it, record the verdict."""
    result = run_guarded(case, conformance_target(case.provider))
    conformance_report.add(result)
    enact(result, request.node.user_properties)
