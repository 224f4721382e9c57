"""Spec `routes`, `not_found`, bare keys, duplicate policies and several accepted bodies: model and lint."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from specs import SpecError, load_spec
from specs._fill import FillError, fill

FIXTURES = Path(__file__).resolve().parent / "specs"
TASKBOARD = FIXTURES / "taskboard.yaml"


def _raw() -> dict[str, Any]:
    return yaml.safe_load(TASKBOARD.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / f"{raw['id']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _problem(tmp_path: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, raw))
    return str(info.value)


def test_routes_load_as_route_objects() -> None:
    spec = load_spec(TASKBOARD)
    by_id = {r.id: r for r in spec.routes}
    assert len(spec.routes) >= 5
    get = by_id["get_task"]
    assert (get.method, get.path, get.auth, get.scope, get.success.status) == ("GET", "/v1/tasks/{task_id}", True, "read", 200)
    assert get.variables == ("task_id",)
    # No example body: the mock's body is filled from the schema, smallest first (only required properties).
    assert dict(get.success.body) == {"id": "t1", "title": "Write tests", "done": False}
    assert by_id["delete_task"].success.body is None
    assert by_id["health"].auth is False and by_id["health"].scope is None
    create = by_id["create_task"]
    assert create.request is not None and create.request.content_type == "application/json"
    assert by_id["list_tasks"].source is not None and by_id["list_tasks"].source.strength == "inferred"
    comments = by_id["list_comments"]
    assert comments.regex().fullmatch("/v1/tasks/t9/comments/c3.json")
    assert not comments.regex().fullmatch("/v1/tasks/t9/comments/.json")  # a variable is never empty
    assert not get.regex().fullmatch("/v1/tasks/a/b")  # nor more than one segment
    assert get.example_path() == "/v1/tasks/1"
    assert spec.not_found is not None and spec.not_found.status == 404


def test_specs_without_routes_get_the_default_not_found() -> None:
    raw = _raw()
    del raw["routes"], raw["not_found"]
    raw["failures"].pop("bad_request")
    spec = load_spec(_write(Path(pytest.importorskip("tempfile").mkdtemp()), raw))
    assert spec.routes == ()
    assert spec.not_found.status == 404 and dict(spec.not_found.body) == {"error": "Not Found"}


def test_several_accepted_bodies() -> None:
    expired = load_spec(TASKBOARD).failures["expired"]
    bodies = expired.accepted_bodies()
    assert len(bodies) == 2 and expired.body == bodies[0]
    assert len(expired.schema["anyOf"]) == 2


BROKEN_ROUTES = [
    ("/v1/tasks/{", "is not a path template"),
    ("/v1/tasks/{}", "is not a path template"),
    ("/v1/tasks/{1st}", "is not a path template"),
    ("/v1/{a}/x/{a}", "names a variable twice"),
    ("/__authconform__/keys", "admin API"),
]


@pytest.mark.parametrize("path,what", BROKEN_ROUTES)
def test_bad_templates_are_named(tmp_path: Path, path: str, what: str) -> None:
    raw = _raw()
    raw["routes"][1]["path"] = path
    message = _problem(tmp_path, raw)
    assert "routes[1].path (line" in message and what in message, message


def test_the_same_method_and_template_twice(tmp_path: Path) -> None:
    raw = _raw()
    twin = copy.deepcopy(raw["routes"][1])
    twin["path"] = "/v1/tasks/{other_name}"  # variable names do not make a route different
    twin.pop("id")
    raw["routes"].append(twin)
    message = _problem(tmp_path, raw)
    assert f"routes[{len(raw['routes']) - 1}] (line" in message and "already routes[1]" in message, message


@pytest.mark.parametrize("change,where,what", [
    (lambda r: r["routes"][0].update(scope="delete"), "routes[0].scope", "unknown scope 'delete'"),
    (lambda r: r["routes"][6].update(scope="read"), "routes[6].scope", "public route"),
    (lambda r: r["routes"][0].update(method="FETCH"), "routes[0].method", "'FETCH' is not one of"),
    (lambda r: r["routes"][1]["success"]["schema"]["properties"]["id"].update(example=7), "routes[1].success.body", "filled from the schema does not match"),
    (lambda r: r["routes"][1]["success"].update(schema={"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/nowhere"}}}), "routes[1].success.schema", "cannot fill a body"),
    (lambda r: r["routes"][2]["request"].update(schema={"type": 12}), "routes[2].request.schema", "not a JSON Schema"),
    (lambda r: r["routes"][0]["success"].update(status=404), "routes[0].success.status", "greater than the maximum of 299"),
], ids=["unknown-scope", "public-scoped", "method", "filled-body", "unfillable", "request-schema", "status"])
def test_route_lint(tmp_path: Path, change: Any, where: str, what: str) -> None:
    raw = _raw()
    change(raw)
    message = _problem(tmp_path, raw)
    assert f"{where} (line" in message and what in message, message


def test_a_scope_needs_a_scopes_section(tmp_path: Path) -> None:
    raw = yaml.safe_load((FIXTURES.parent.parent / "specs" / "cloro.yaml").read_text(encoding="utf-8"))
    raw["routes"] = [{"method": "GET", "path": "/v1/results", "scope": "read", "success": {"status": 200, "body": {}}}]
    message = _problem(tmp_path, raw)
    assert "routes[0].scope (line" in message and "needs a scopes section" in message, message


def test_bare_key_spec(tmp_path: Path) -> None:
    """scheme: null loads without wrong_scheme/no_scheme, and refuses them (nothing causes them)."""
    raw = _raw()
    raw["credential"].update(header="X-API-Key", scheme=None)
    raw["credential"].pop("challenge")
    for klass in ("missing", "empty", "malformed", "invalid", "revoked", "token_in_query"):
        raw["failures"][klass] = {**raw["failures"][klass], "status": 403}
    raw["failures"]["expired"]["status"] = 403
    with_classes = copy.deepcopy(raw)
    for klass in ("wrong_scheme", "no_scheme"):
        raw["failures"].pop(klass)
    spec = load_spec(_write(tmp_path, raw))
    assert spec.credential.bare and spec.credential.render("k") == "k"
    message = _problem(tmp_path, with_classes)
    assert "failure class 'wrong_scheme' has nothing that can cause it: credential.scheme is null" in message, message


def test_duplicate_policy(tmp_path: Path) -> None:
    raw = _raw()
    raw["credential"]["duplicates"] = {"policy": "first_wins"}
    message = _problem(tmp_path, raw)
    assert "'duplicate_header' has nothing that can cause it: credential.duplicates.policy is 'first_wins'" in message
    raw["failures"].pop("duplicate_header")
    spec = load_spec(_write(tmp_path, raw))
    assert spec.credential.duplicates == "first_wins" and spec.credential.duplicates_rule.strength == "rfc"
    assert load_spec(TASKBOARD).credential.duplicates == "reject"


def test_body_and_bodies_are_exclusive(tmp_path: Path) -> None:
    raw = _raw()
    raw["failures"]["expired"]["body"] = {"error": "x"}
    assert "failures.expired (line" in _problem(tmp_path, raw)
    raw["failures"]["expired"].pop("body")
    raw["failures"]["expired"]["bodies"].append("not json")
    raw["failures"]["expired"]["schema"] = {"type": "object"}
    assert "failures.expired.bodies[2] (line" in _problem(tmp_path, raw)


def test_fill_is_small_and_deterministic() -> None:
    schema = {
        "type": "object", "required": ["a", "b", "c", "d", "e"],
        "properties": {
            "a": {"type": "integer", "minimum": 3}, "b": {"enum": ["x", "y"]}, "c": {"$ref": "#/$defs/c"},
            "d": {"type": "array", "minItems": 2, "items": {"type": "string", "format": "date"}},
            "e": {"type": ["null", "string"], "minLength": 2}, "f": {"type": "string"},
        },
        "$defs": {"c": {"allOf": [{"type": "object", "required": ["z"], "properties": {"z": {"const": 1}}}]}},
    }
    assert fill(schema) == {"a": 3, "b": "x", "c": {"z": 1}, "d": ["1970-01-01", "1970-01-01"], "e": "xx"}
    with pytest.raises(FillError, match="deeper"):
        fill({"$ref": "#"})
    with pytest.raises(FillError, match="minItems"):
        fill({"type": "array", "minItems": 10**9})


@pytest.mark.parametrize("where,value,what", [
    (["routes", 2, "request", "schema", "properties", "title"], {"type": "string", "pattern": "(a+)+(?=b)"}, "RE2 cannot compile it"),
    (["routes", 0, "path"], "/v1/{a}{b}", "two variables side by side"),
], ids=["lookahead-in-request-schema", "adjacent-variables"])
def test_route_regex_surfaces_are_linear(tmp_path: Path, where: list[Any], value: Any, what: str) -> None:
    """Route schemas' patterns run on RE2 (the mock checks bodies with them); templates cannot backtrack."""
    raw = _raw()
    node: Any = raw
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    message = _problem(tmp_path, raw)
    assert what in message, message


def test_schema_patterns_run_on_re2() -> None:
    """A body check with `(a+)+$` answers at once on a crafted string (Python's re would take minutes)."""
    import time

    from specs import schema_validator

    validator = schema_validator({"type": "string", "pattern": "^(a+)+$"})
    started = time.perf_counter()
    assert not validator.is_valid("a" * 5000 + "!")
    assert validator.is_valid("aaaa")
    assert time.perf_counter() - started < 5  # a hang bound, not a speed target
    props = schema_validator({"type": "object", "patternProperties": {"^x-": {"type": "integer"}}})
    assert props.is_valid({"x-a": 1, "y": "s"}) and not props.is_valid({"x-a": "s"})


def test_route_sources_are_linted_like_every_rule(tmp_path: Path) -> None:
    """An rfc route source names its section; the loader says where it stands."""
    raw = _raw()
    raw["routes"][0]["source"] = {"strength": "rfc", "source": "the HTTP spec says so"}
    message = _problem(tmp_path, raw)
    assert "routes[0].source.source (line" in message and "an rfc rule names its RFC and section" in message, message
