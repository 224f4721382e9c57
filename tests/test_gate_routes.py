"""The gate on a whole API: a client calling five routes with the right key passes; one that sends a
wrong scheme to any route, or any path, fails credential.scheme (real curl and requests)."""
from __future__ import annotations

import asyncio
import io
import shutil
import sys
from pathlib import Path

import pytest

from mocks._gate import gate
from mocks._gate_result import GateResult
from specs import ProviderSpec, load_all, load_spec

SPEC = load_spec(Path(__file__).resolve().parent / "specs" / "taskboard.yaml")
CURL = shutil.which("curl")
TIMEOUT = 60.0

# Five different routes (and the probe), as a client library's own test suite would call them.
CURL_CALLS = """
set -e
auth="Authorization: ${SCHEME:-Bearer} $TASKBOARD_API_KEY"
base="$TASKBOARD_BASE_URL"
curl -fsS -H "$auth" "$base/v1/tasks"
curl -fsS -H "$auth" "$base/v1/tasks/t1"
curl -fsS -H "$auth" -H "Content-Type: application/json" -d '{"title": "x"}' "$base/v1/tasks"
curl -fsS -H "$auth" -H "Content-Type: application/json" -X PATCH -d '{"done": true}' "$base/v1/tasks/t1"
curl -fsS -H "$auth" -X DELETE "$base/v1/tasks/t1"
curl -fsS -H "$auth" "$base/v1/me"
"""

REQUESTS_CALLS = """
import os, sys, requests
base, key = os.environ["TASKBOARD_BASE_URL"], os.environ["TASKBOARD_API_KEY"]
scheme = sys.argv[1] if len(sys.argv) > 1 else "Bearer"
s = requests.Session()
s.headers["Authorization"] = "Bearer " + key
calls = [("GET", "/v1/tasks", None), ("GET", "/v1/tasks/t1", None), ("POST", "/v1/tasks", {"title": "x"}),
         ("PATCH", "/v1/tasks/t1", {"done": True}), ("GET", "/v1/tasks/t1/comments/c1.json", None)]
for i, (method, path, body) in enumerate(calls):
    headers = {"Authorization": scheme + " " + key} if i == 3 else {}  # one call with the chosen scheme
    r = s.request(method, base + path, json=body, headers=headers, timeout=10)
    print(method, path, r.status_code)
"""


def _run(command: list[str], env: dict[str, str] | None = None) -> GateResult:
    out, err = io.BytesIO(), io.BytesIO()
    import os

    merged = {**os.environ, **(env or {})}
    return asyncio.run(gate(SPEC, command, timeout=TIMEOUT, env=merged, out=out, err=err))


def _broken(result: GateResult) -> set[str]:
    return {v.rule.id for v in result.violations}


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_calling_five_routes_with_the_right_key_passes() -> None:
    result = _run(["sh", "-c", CURL_CALLS])
    assert result.client_exit == 0 and not result.violations, [(v.rule.id, v.request, v.detail) for v in result.violations]
    paths = {(e["method"], e["path"]) for e in result.entries}
    assert len(paths) >= 6 and all(e["outcome"]["class"] is None for e in result.entries)


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_with_the_wrong_scheme_on_routes_fails() -> None:
    result = _run(["sh", "-c", CURL_CALLS.replace("set -e", "") + "true\n"], env={"SCHEME": "Token"})
    assert "credential.scheme" in _broken(result)
    judged = {v.request for v in result.violations if v.rule.id == "credential.scheme"}
    assert {"GET /v1/tasks", "POST /v1/tasks", "DELETE /v1/tasks/t1"} <= judged


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("target", ["/", "/no/such/path", "/v1/health"])
def test_a_wrong_scheme_to_any_path_fails(target: str) -> None:
    """An unknown path, the root, a public route: the credential is judged whatever the answer."""
    result = _run(["sh", "-c", f'curl -sS -H "Authorization: Token $TASKBOARD_API_KEY" "$TASKBOARD_BASE_URL{target}"'])
    assert result.client_exit == 0
    assert "credential.scheme" in _broken(result), [(v.rule.id, v.request) for v in result.violations]


def test_requests_client_five_routes() -> None:
    pytest.importorskip("requests")
    good = _run([sys.executable, "-c", REQUESTS_CALLS])
    assert not good.violations, [(v.rule.id, v.request, v.detail) for v in good.violations]
    assert len({(e["method"], e["path"]) for e in good.entries}) == 5
    bad = _run([sys.executable, "-c", REQUESTS_CALLS, "Token"])
    assert [(v.rule.id, v.request) for v in bad.violations if v.rule.id == "credential.scheme"] == [
        ("credential.scheme", "PATCH /v1/tasks/t1")]


def test_limited_scope_on_a_route_is_judged() -> None:
    """A key without a route's scope: scope.covers, on that route (the gate's rules on the mock's
    journal; a gated client never sees a limited key, so the mock is driven directly here)."""
    from mocks._thread import MockServer
    from mocks._rules import Context, judge
    from _helpers import send

    mock = MockServer(SPEC).start()
    try:
        limited = mock.keys()["limited"]
        send(mock.base_url, "POST", "/v1/tasks", [("Authorization", f"Bearer {limited}"), ("Content-Type", "application/json")], b'{"title":"x"}')
        send(mock.base_url, "GET", "/v1/tasks", [("Authorization", f"Bearer {limited}")])
        found = judge(SPEC, mock.entries(), Context(mock.base_url, 0))
    finally:
        mock.stop()
    assert {(v.rule.id, v.request) for v in found} == {("scope.covers", "POST /v1/tasks")}


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("spec", [s for s in load_all() if s.credential.scheme], ids=lambda s: s.id)
def test_another_scheme_to_the_root_of_any_provider_fails(spec: ProviderSpec) -> None:
    """`gate ID -- curl -H "Authorization: <other scheme> $KEY" "$ID_BASE_URL/"`: the root is no route
    of any provider, yet the credential is judged there (it used to end PASS)."""
    other = "Token" if spec.credential.scheme.lower() == "bearer" else "Bearer"
    command = f'curl -sS -H "{spec.credential.header}: {other} ${spec.env("API_KEY")}" "${spec.env("BASE_URL")}/"'
    result = asyncio.run(gate(spec, ["sh", "-c", command], timeout=TIMEOUT, out=io.BytesIO(), err=io.BytesIO()))
    assert result.client_exit == 0
    assert ("credential.scheme", "GET /") in {(v.rule.id, v.request) for v in result.violations}


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_the_gate_command_on_a_spec_folder_with_routes(tmp_path: Path) -> None:
    """End to end, as a CI line: `python -m mocks gate taskboard -- sh -c '<curl five routes>'` with
    AUTHCONFORM_SPECS_DIR naming the fixture folder: exit 0; with the wrong scheme: exit 1, the rule named."""
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "AUTHCONFORM_SPECS_DIR": str(Path(__file__).resolve().parent / "specs")}

    def gate_cli(scheme: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mocks", "gate", "taskboard", "--", "sh", "-c", CURL_CALLS.replace("set -e", "") + "true\n"],
                              cwd=root, env={**env, "SCHEME": scheme}, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)

    good = gate_cli("Bearer")
    assert good.returncode == 0, good.stderr[-2000:]
    assert "6 requests, client exit 0" in good.stderr and "PASS (no rule broken" in good.stderr
    bad = gate_cli("Token")
    assert bad.returncode == 1, bad.stderr[-2000:]
    assert "credential.scheme" in bad.stderr and "GET /v1/tasks/t1" in bad.stderr
