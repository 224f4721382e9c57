"""The fixed suite on a spec with routes (the taskboard fixture): every case PASSes on its mock, the
per-route scope cases exist, and a mock that ignores scopes fails the route's scope case."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from mocks._thread import MockServer
from specs import load_spec
from suites import Verdict, cases_for, mock_target, run_case

SPEC = load_spec(Path(__file__).resolve().parent / "specs" / "taskboard.yaml")


@pytest.fixture(scope="module")
def clean() -> Iterator[MockServer]:
    """The taskboard mock, no defect."""
    mock = MockServer(SPEC).start()
    yield mock
    mock.stop()


def _run(server: MockServer, ids: set[str] | None = None) -> dict[str, object]:
    target = mock_target(SPEC, server.base_url, server.keys())
    return {c.id: run_case(c, target) for c in cases_for(SPEC) if ids is None or c.id in ids}


def test_route_scope_cases_come_from_the_spec() -> None:
    ids = {c.id for c in cases_for(SPEC)}
    # The limited key holds read: refused the write routes, served the read ones.
    assert {"taskboard.insufficient_scope.route_create_task", "taskboard.insufficient_scope.route_update_task",
            "taskboard.insufficient_scope.route_delete_task"} <= ids
    assert {"taskboard.positive.route_list_tasks", "taskboard.positive.route_get_task"} <= ids
    # Routes with a request check: a body that does not parse is bad_request.
    assert {"taskboard.bad_request.route_create_task", "taskboard.bad_request.route_update_task"} <= ids
    # Public and unscoped routes get no scope case.
    assert not any("route_health" in i or "route_list_comments" in i for i in ids)


def test_every_case_passes_on_the_clean_mock(clean: MockServer) -> None:
    results = _run(clean)
    bad = {i: (r.verdict, r.reason) for i, r in results.items() if r.verdict is not Verdict.PASS}
    assert not bad, bad


def test_a_mock_that_ignores_scopes_fails_the_route_scope_cases() -> None:
    mock = MockServer(SPEC, defects=["ignore_scope"]).start()
    try:
        results = _run(mock, {"taskboard.insufficient_scope.route_create_task", "taskboard.positive.route_list_tasks"})
    finally:
        mock.stop()
    assert results["taskboard.insufficient_scope.route_create_task"].verdict is not Verdict.PASS
    assert results["taskboard.positive.route_list_tasks"].verdict is Verdict.PASS


def test_a_mock_that_skips_the_body_check_fails_the_route_bad_request_case(tmp_path: Path) -> None:
    """The suite on the spec, the mock on a copy without the route's request check: caught."""
    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parent / "specs" / "taskboard.yaml").read_text(encoding="utf-8"))
    for route in raw["routes"]:
        route.pop("request", None)
    raw["probe"]["bad_body"] = {"x": 1}  # bad_request stays in the catalogue (the lint wants a cause)
    path = tmp_path / "taskboard.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    lax = MockServer(load_spec(path)).start()
    try:
        results = _run(lax, {"taskboard.bad_request.route_create_task"})
    finally:
        lax.stop()
    assert results["taskboard.bad_request.route_create_task"].verdict is not Verdict.PASS
