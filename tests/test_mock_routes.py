"""The mock's routing: auth before routing on every path, spec routes (scope, body check, success),
405 with Allow, the spec's not_found, public routes, over real HTTP with the taskboard fixture."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from mocks._thread import MockServer
from specs import load_spec, thaw
from _helpers import Reply, send

SPEC = load_spec(Path(__file__).resolve().parent / "specs" / "taskboard.yaml")
ROUTES = {r.id: r for r in SPEC.routes}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """The taskboard mock, reset per test."""
    mock = MockServer(SPEC).start()
    yield mock
    mock.stop()


@pytest.fixture(autouse=True)
def _reset(server: MockServer) -> None:
    server.reset()


def _call(server: MockServer, method: str, target: str, key: str | None = None, body: Any = None, auth: str | None = None) -> Reply:
    headers: list[tuple[str, str]] = []
    if auth is not None:
        headers.append(("Authorization", auth))
    elif key is not None:
        headers.append(("Authorization", SPEC.credential.render(key)))
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    return send(server.base_url, method, target, headers, data)


def _last(server: MockServer) -> dict[str, Any]:
    return server.entries()[-1]["outcome"]


def test_every_route_serves_its_success_with_the_valid_key(server: MockServer) -> None:
    valid = server.keys()["valid"]
    bodies = {"create_task": {"title": "x"}, "update_task": {"done": True}}
    for route in SPEC.routes:
        reply = _call(server, route.method, route.example_path(), valid, bodies.get(route.id))
        assert reply.status == route.success.status, route.id
        expected = route.success.body
        assert (json.loads(reply.body) if reply.body else None) == thaw(expected), route.id
        assert _last(server)["class"] is None


def test_auth_comes_before_routing_on_every_route(server: MockServer) -> None:
    """No key, a wrong scheme, an unissued key: the auth answer on routes, unknown paths and 405s alike."""
    keys = server.keys()
    targets = [(r.method, r.example_path()) for r in SPEC.routes if r.auth] + [("GET", "/nowhere"), ("PUT", "/v1/tasks")]
    for method, target in targets:
        assert _call(server, method, target).status == SPEC.failures["missing"].status
        assert _last(server)["class"] == "missing", (method, target)
        _call(server, method, target, auth=f"Token {keys['valid']}")
        assert _last(server)["class"] == "wrong_scheme", (method, target)
        _call(server, method, target, keys["expired"])
        assert _last(server)["class"] == "expired", (method, target)


def test_scope_is_the_routes_own(server: MockServer) -> None:
    """The limited key (read only) reads tasks, is refused writing them and the probe (account)."""
    limited = server.keys()["limited"]
    assert _call(server, "GET", "/v1/tasks", limited).status == 200
    refused = _call(server, "POST", "/v1/tasks", limited, {"title": "x"})
    assert refused.status == SPEC.failures["insufficient_scope"].status
    assert refused.json() == thaw(SPEC.failures["insufficient_scope"].body)
    assert _last(server)["class"] == "insufficient_scope"
    assert _call(server, "GET", "/v1/tasks/7/comments/3.json", limited).status == 200  # a route with no scope
    assert _call(server, "GET", SPEC.probe.path, limited).status == SPEC.failures["insufficient_scope"].status


def test_request_body_check(server: MockServer) -> None:
    valid = server.keys()["valid"]
    for bad in ({"title": ""}, {"titel": "x"}, b"{not json", None, [1]):
        reply = _call(server, "POST", "/v1/tasks", valid, bad)
        assert (reply.status, _last(server)["class"]) == (SPEC.failures["bad_request"].status, "bad_request"), bad
    assert _call(server, "POST", "/v1/tasks", valid, {"title": "x", "done": True}).status == 201


def test_known_path_other_method_is_405_with_allow_after_auth(server: MockServer) -> None:
    valid = server.keys()["valid"]
    reply = _call(server, "PUT", "/v1/tasks/9", valid)
    assert reply.status == 405 and reply.header("Allow") == "DELETE, GET, PATCH"
    assert _call(server, "PUT", "/v1/tasks/9").status == SPEC.failures["missing"].status
    # HEAD is GET without the body (RFC 9110 §9.3.2).
    assert _call(server, "HEAD", "/v1/tasks", valid).status == 200


def test_not_found_is_the_specs(server: MockServer) -> None:
    reply = _call(server, "GET", "/v1/tasks/1/2", server.keys()["valid"])
    assert (reply.status, reply.json()) == (SPEC.not_found.status, thaw(SPEC.not_found.body))
    assert _last(server)["class"] is None and _last(server)["status"] == 404


def test_public_route_needs_no_key_but_a_sent_one_is_judged(server: MockServer) -> None:
    keys = server.keys()
    assert _call(server, "GET", "/v1/health").status == 200
    assert _last(server)["class"] is None
    # Served all the same, but the journal (so the gate) records the wrong scheme.
    assert _call(server, "GET", "/v1/health", auth=f"Token {keys['valid']}").status == 200
    assert _last(server)["class"] == "wrong_scheme"
    assert _call(server, "POST", "/v1/health").status == SPEC.failures["missing"].status  # another method is not public


def test_admin_prefix_stays_outside(server: MockServer) -> None:
    reply = send(server.base_url, "GET", "/__authconform__/nothing")
    assert reply.status == 404 and "admin route" in reply.json()["error"]
    assert all(e["path"] != "/__authconform__/nothing" for e in server.entries())


def test_concrete_path_wins_over_a_template(tmp_path: Path) -> None:
    """`/v1/tasks/mine` (literal) is matched before `/v1/tasks/{task_id}`, whatever the spec's order."""
    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parent / "specs" / "taskboard.yaml").read_text(encoding="utf-8"))
    raw["routes"].append({"id": "mine", "method": "GET", "path": "/v1/tasks/mine", "success": {"status": 200, "body": {"mine": True}}})
    path = tmp_path / "taskboard.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    mock = MockServer(load_spec(path)).start()
    try:
        valid = mock.keys()["valid"]
        assert _call(mock, "GET", "/v1/tasks/mine", valid).json() == {"mine": True}
        assert _call(mock, "GET", "/v1/tasks/t1", valid).json() == thaw(ROUTES["get_task"].success.body)
    finally:
        mock.stop()


def test_answers_sent_before_auth_still_note_the_credential(server: MockServer) -> None:
    """A 413 (body over the limit) and a scenario's 503 are sent before auth; the journal still says
    what the credential was (so the gate judges it), and a valid key's request is not rate-counted."""
    valid = server.keys()["valid"]
    big = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    reply = _call(server, "POST", "/v1/tasks", auth=f"Token {valid}", body=big)
    assert reply.status == 413
    assert (_last(server)["class"], _last(server)["status"]) == ("wrong_scheme", 413)
    _call(server, "POST", "/v1/tasks", valid, big)
    assert (_last(server)["class"], _last(server)["status"]) == (None, 413)
    flaky = MockServer(SPEC, scenario="flaky:1").start()
    try:
        reply = _call(flaky, "GET", "/v1/tasks", auth=f"Token {flaky.keys()['valid']}")
        assert reply.status == 503
        assert (_last(flaky)["class"], _last(flaky)["status"]) == ("wrong_scheme", 503)
    finally:
        flaky.stop()


def test_template_matching_is_linear(tmp_path: Path) -> None:
    """Ten variables in one segment against a long path that almost matches: answered at once (RE2);
    a backtracking matcher would try every split of the segment."""
    import time

    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parent / "specs" / "taskboard.yaml").read_text(encoding="utf-8"))
    template = "/v2/" + "-".join(f"{{v{i}}}" for i in range(10)) + ".json"
    raw["routes"].append({"id": "many", "method": "GET", "path": template, "success": {"status": 200, "body": {}}})
    path = tmp_path / "taskboard.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    mock = MockServer(load_spec(path)).start()
    try:
        valid = mock.keys()["valid"]
        started = time.perf_counter()
        assert _call(mock, "GET", "/v2/" + "-" * 3000 + ".jsonx", valid).status == 404
        assert time.perf_counter() - started < 5  # a hang bound, not a speed target
        assert _call(mock, "GET", "/v2/" + "-".join("abcdefghij") + ".json", valid).status == 200
    finally:
        mock.stop()
