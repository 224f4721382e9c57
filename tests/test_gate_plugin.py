"""The pytest plugin as a Python client's repository loads it: from a folder outside the checkout,
nothing installed, either with `-p mocks.pytest_plugin` and PYTHONPATH, or from a conftest.py."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.test_gate_cli import run_together

ROOT = Path(__file__).resolve().parent.parent

# A client's own tests: a tiny client library that reads CLORO_API_KEY / CLORO_BASE_URL.
CLIENT_TESTS = '''
import os

import pytest

from tests.test_gate_cli import run_together
import requests


def monitor(scheme="Bearer", key=None):
    key = key or os.environ["CLORO_API_KEY"]
    return requests.post(os.environ["CLORO_BASE_URL"] + "/v1/monitor", json={"prompt": "p", "model": "CHATGPT"},
                         headers={"Authorization": f"{scheme} {key}"}, timeout=10)


def test_documented_header(authconform_mock):
    assert monitor().status_code == 200
    assert [e["outcome"]["status"] for e in authconform_mock.journal()] == [200]
    assert authconform_mock.violations() == []


def test_wrong_scheme_is_caught_at_teardown(authconform_mock):
    assert monitor(scheme="Token").status_code == 401  # the client's own test is content...


@pytest.mark.authconform(judge=False)
def test_bad_key_on_purpose(authconform_mock):
    assert monitor(key="x" * 40).status_code == 401
    assert {v.rule.id for v in authconform_mock.violations()} == {"credential.key"}


@pytest.mark.authconform("cloro", tls=True)
def test_https(authconform_mock):
    assert authconform_mock.base_url.startswith("https://")
    assert monitor().status_code == 200  # verified against REQUESTS_CA_BUNDLE, no verify=False


@pytest.mark.authconform(scenario="revoke-after:1")
def test_revocation(authconform_mock):
    assert [monitor().status_code for _ in range(2)] == [200, 401]
'''

CONFTEST = '''
import os
import sys

sys.path.insert(0, os.environ["AUTHCONFORM"])  # the checkout, wherever it is
pytest_plugins = ["mocks.pytest_plugin"]
'''


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The client's test run, once per way of loading the plugin (both at once)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # A client's pytest: no hypothesis plugin (ours has it installed; loading it costs a second).
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
                  "-p", "no:hypothesispytest"]
    cases = {}
    for how in ("dash-p", "conftest"):
        folder = tmp_path_factory.mktemp(how)
        (folder / "test_client.py").write_text(CLIENT_TESTS)
        if how == "dash-p":
            cases[how] = ([*pytest_cmd, "-p", "mocks.pytest_plugin", "--authconform-provider", "cloro"], folder,
                          {**base, "PYTHONPATH": str(ROOT)})
        else:
            (folder / "conftest.py").write_text(CONFTEST)
            (folder / "pytest.ini").write_text("[pytest]\nauthconform_provider = cloro\n")
            cases[how] = (pytest_cmd, folder, {**base, "AUTHCONFORM": str(ROOT)})
    return {how: f"{p.stdout}{p.stderr}\nexit {p.returncode}" for how, p in run_together(cases).items()}


@pytest.mark.parametrize("how", ["dash-p", "conftest"])
def test_client_repository_loads_the_plugin(runs: dict[str, str], how: str) -> None:
    out = runs[how]
    # The teardown judgement errors the wrong-scheme test; the four others pass.
    assert "5 passed, 1 error" in out, out
    assert "ERROR at teardown of test_wrong_scheme_is_caught_at_teardown" in out
    assert "credential.scheme" in out and "scheme keyword `Token`; documented `Bearer`" in out
    assert out.endswith("exit 1")
