"""An imported API gates a real client: `gate ID -- CMD` passes curl and requests calling five routes
of the draft (from Carbone's published OpenAPI document) with the right key, and fails a client that
sends the wrong scheme to any one route, public ones included."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specs import SPECS_DIR_ENV

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DOCUMENT = ROOT / "tests" / "fixtures" / "openapi" / "carbone.io.json"
# Five routes of the document: four need the key, GET /status is public (`security: []`).
ROUTES = ("GET /template/t1", "DELETE /template/t1", "POST /template", "POST /render/t1", "GET /status")
CURL = """for r in "GET /template/t1" "DELETE /template/t1" "POST /template" "POST /render/t1" "GET /status"; do
  set -- $r
  curl -fsS -o /dev/null -X "$1" -H "Authorization: ${SCHEME:-Bearer} $CARBONE_API_KEY" -H 'Content-Type: application/json' \\
       --data-binary '{}' "$CARBONE_BASE_URL$2" || [ -n "$SCHEME" ] || exit 1
done"""
REQUESTS = """import os, requests
base, key = os.environ["CARBONE_BASE_URL"], os.environ["CARBONE_API_KEY"]
for route in %r:
    method, path = route.split(" ")
    scheme = os.environ.get("WRONG_ON") == route and "Token" or "Bearer"
    r = requests.request(method, base + path, json={}, headers={"Authorization": f"{scheme} {key}"}, timeout=30)
    assert scheme == "Token" or r.ok, (route, r.status_code)
""" % (ROUTES,)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A specs folder holding the draft imported from Carbone's document."""
    out = tmp_path_factory.mktemp("imported")
    proc = subprocess.run([PY, "-m", "specs", "import-openapi", str(DOCUMENT), "--id", "carbone", "--out", str(out / "carbone.yaml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def gate(folder: Path, *cmd: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m mocks gate carbone -- CMD` with the specs folder pointing at the draft."""
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("CARBONE_")}, SPECS_DIR_ENV: str(folder), **env}
    return subprocess.run([PY, "-m", "mocks", "gate", "carbone", "--", *cmd], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=full, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_calling_five_routes_passes_and_a_wrong_scheme_fails(folder: Path) -> None:
    """The right key on five routes: PASS; `Token` instead of `Bearer` on every one: FAIL, credential.scheme."""
    ok = gate(folder, "sh", "-c", CURL)
    assert ok.returncode == 0, ok.stderr
    assert "5 requests, client exit 0" in ok.stderr and "PASS" in ok.stderr
    bad = gate(folder, "sh", "-c", CURL, SCHEME="Token")
    assert bad.returncode == 1, bad.stderr
    assert "FAIL" in bad.stderr and "credential.scheme" in bad.stderr


def test_requests_calling_five_routes_passes(folder: Path) -> None:
    """requests with the right key on five routes (one public): PASS."""
    ok = gate(folder, PY, "-c", REQUESTS)
    assert ok.returncode == 0, ok.stderr
    assert "5 requests, client exit 0" in ok.stderr


@pytest.mark.parametrize("wrong_on", ROUTES[1:])
def test_requests_with_a_wrong_scheme_on_one_route_fails(folder: Path, wrong_on: str) -> None:
    """requests sends the right key to four routes and `Token` to one (public GET /status too):
    the gate fails on credential.scheme and names that route."""
    bad = gate(folder, PY, "-c", REQUESTS, WRONG_ON=wrong_on)
    assert bad.returncode == 1, bad.stderr
    row = next(line for line in bad.stderr.splitlines() if "credential.scheme" in line and line.startswith("FAIL"))
    assert wrong_on.split(" ")[1] in row
