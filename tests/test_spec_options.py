"""Spec expressiveness: bare keys (scheme: null), duplicates read first / last, Unicode whitespace
stripped around the token, several accepted bodies. Each option is honoured alike by the mock's
decision and by the suite's expectation (fixed cases and generated engine); a mock that behaves
otherwise than its spec says is caught."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from mocks._thread import MockServer
from specs import ProviderSpec, load_spec
from suites import Verdict, cases_for, mock_target, run_case
from suites.engine._session import EngineOptions, EngineSession
from _helpers import send

FIXTURE = Path(__file__).resolve().parent / "specs" / "taskboard.yaml"


def _base() -> dict[str, Any]:
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))


def _bare(raw: dict[str, Any]) -> None:
    raw["credential"].update(header="X-API-Key", scheme=None)
    raw["credential"]["rule"] = {"strength": "inferred", "source": "X-API-Key: <key>", "reason": "A test fixture: a bare key in its own header."}
    for klass in ("wrong_scheme", "no_scheme"):
        raw["failures"].pop(klass)


def _duplicates(policy: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["credential"]["duplicates"] = {"policy": policy, "rule": {
            "strength": "inferred", "source": "request.headers.get('authorization')", "reason": "A test fixture: a framework that reads one line."}}
        raw["failures"].pop("duplicate_header")
    return change


def _unicode(raw: dict[str, Any]) -> None:
    raw["credential"]["separator"] = {"accepts": "sp", "strip_unicode_whitespace": True, "rule": {
        "strength": "inferred", "source": "scheme, _, param = value.partition(' '); param.strip()", "reason": "A test fixture: FastAPI's split."}}


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "reject": lambda raw: None,
    "bare": _bare,
    "first_wins": _duplicates("first_wins"),
    "last_wins": _duplicates("last_wins"),
    "unicode": _unicode,
}


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProviderSpec]:
    """Each variant of the taskboard fixture, written and loaded (lint included)."""
    out = {}
    for name, change in VARIANTS.items():
        raw = copy.deepcopy(_base())
        change(raw)
        folder = tmp_path_factory.mktemp(name)
        path = folder / "taskboard.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
        out[name] = load_spec(path)
    return out


@pytest.fixture(scope="module")
def mocks(specs: dict[str, ProviderSpec]) -> Iterator[dict[str, MockServer]]:
    """A mock per variant."""
    started = {name: MockServer(spec).start() for name, spec in specs.items()}
    yield started
    for mock in started.values():
        mock.stop()


def _suite(spec: ProviderSpec, mock: MockServer) -> dict[str, Any]:
    """Every fixed case of `spec`, run against `mock` (which may run another variant)."""
    mock.reset()
    target = mock_target(spec, mock.base_url, mock.keys())
    return {c.id: run_case(c, target) for c in cases_for(spec)}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_suite_passes_on_the_variants_own_mock(specs: dict[str, ProviderSpec], mocks: dict[str, MockServer], variant: str) -> None:
    results = _suite(specs[variant], mocks[variant])
    bad = {i: (r.verdict.value, r.reason) for i, r in results.items() if r.verdict is not Verdict.PASS}
    assert not bad, bad


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_engine_agrees_with_the_variants_own_mock(specs: dict[str, ProviderSpec], mocks: dict[str, MockServer], variant: str) -> None:
    """The generated engine's oracle and the mock decide alike (a few examples per strategy)."""
    mock = mocks[variant]
    mock.reset()
    session = EngineSession(mock_target(specs[variant], mock.base_url, mock.keys()), EngineOptions(database=None, max_examples=15))
    try:
        findings = [f for name in ("scheme", "separator", "wire") for f in session.run(name).findings]
    finally:
        session.close()
    assert not [f for f in findings if f.result.verdict in (Verdict.FAIL, Verdict.NON_STRICT)], [
        (f.strategy, f.kind, f.result.check, f.result.got) for f in findings]


@pytest.mark.parametrize("spec_says,mock_does,case", [
    ("first_wins", "reject", "taskboard.positive.duplicate_first_read"),
    ("first_wins", "last_wins", "taskboard.positive.duplicate_first_read"),
    ("last_wins", "first_wins", "taskboard.positive.duplicate_last_read"),
    ("reject", "first_wins", "taskboard.duplicate_header.valid_and_invalid"),
    ("unicode", "reject", "taskboard.positive.unicode_whitespace"),
])
def test_a_mock_that_differs_from_the_spec_is_caught(specs: dict[str, ProviderSpec], mocks: dict[str, MockServer],
                                                     spec_says: str, mock_does: str, case: str) -> None:
    results = _suite(specs[spec_says], mocks[mock_does])
    assert results[case].verdict is not Verdict.PASS, (case, results[case].verdict)


def test_bare_key_mock_and_cases(specs: dict[str, ProviderSpec], mocks: dict[str, MockServer]) -> None:
    spec, mock = specs["bare"], mocks["bare"]
    mock.reset()
    ids = {c.id for c in cases_for(spec)}
    assert not any(".wrong_scheme" in i or ".no_scheme" in i or "scheme_only" in i for i in ids)
    key = mock.keys()["valid"]
    assert send(mock.base_url, "GET", "/v1/me", [("X-API-Key", key)]).status == 200
    refused = send(mock.base_url, "GET", "/v1/me", [("X-API-Key", f"Bearer {key}")])
    assert refused.status == spec.failures["malformed"].status
    assert mock.entries()[-1]["outcome"]["class"] == "malformed"
    assert send(mock.base_url, "GET", "/v1/me", [("Authorization", f"Bearer {key}")]).status == spec.failures["missing"].status


def test_unicode_whitespace_is_stripped_only_around_the_token(mocks: dict[str, MockServer]) -> None:
    """FastAPI: `scheme, _, param = value.partition(" ")`, then `param.strip()`; NBSP before the scheme stays."""
    key = mocks["unicode"].keys()["valid"].encode()
    for name, status_if_stripped in (("unicode", 200), ("reject", 401)):
        mock = mocks[name]
        mock.reset()
        key = mock.keys()["valid"].encode()
        assert send(mock.base_url, "GET", "/v1/me", [(b"Authorization", b"Bearer \xa0" + key + b"\x85")]).status == status_if_stripped
        assert send(mock.base_url, "GET", "/v1/me", [(b"Authorization", b"\xa0Bearer " + key)]).status == 401


def test_either_accepted_body_passes(specs: dict[str, ProviderSpec]) -> None:
    """`bodies: [...]`: the mock sends the first; a server sending the second passes the body check too."""
    from suites._checks import _schema_errors

    expired = specs["reject"].failures["expired"]
    first, second = (dict(b) for b in expired.accepted_bodies())
    assert not _schema_errors(expired.schema, {"error": dict(first["error"])})
    assert not _schema_errors(expired.schema, {"error": dict(second["error"])})
    assert _schema_errors(expired.schema, {"error": {"type": "unauthorized", "message": "nope"}})
