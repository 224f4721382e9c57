"""The pytest plugin as a Python client's repository loads it: from a folder outside the checkout,
nothing installed, either with `-p mocks.pytest_plugin` and PYTHONPATH, or from a conftest.py."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import run_together

ROOT = Path(__file__).resolve().parent.parent

# A client's own tests: a tiny client library that reads CLORO_API_KEY / CLORO_BASE_URL.
CLIENT_TESTS = '''
import os

import pytest

from tests._helpers import run_together
import requests


def monitor(scheme="Bearer", key=None):
    key = key or os.environ["CLORO_API_KEY"]
    return requests.post(os.environ["CLORO_BASE_URL"] + "/v1/monitor", json={"prompt": "p", "model": "CHATGPT"},
                         headers={"Authorization": f"{scheme} {key}"}, timeout=10)


def test_documented_header(authconform_mock):
    assert monitor().status_code == 200
    assert [e["outcome"]["status"] for e in authconform_mock.journal()] == [200]
    assert authconform_mock.violations() == []


def test_wrong_scheme_fails_the_test(authconform_mock):
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


def test_admin_with_the_handle(authconform_mock):
    """The test code holds the admin secret; the client library does not."""
    assert requests.delete(os.environ["CLORO_BASE_URL"] + "/__authconform__/journal", timeout=10).status_code == 403
    authconform_mock.admin("DELETE", "/journal")  # the test's own call: allowed, and it clears the record
    assert authconform_mock.journal() == []
    assert monitor().status_code == 200
    minted = authconform_mock.admin("POST", "/keys", {"state": "valid"})
    assert monitor(key=minted["key"]).status_code == 200
'''

def readme_conftest() -> str:
    """The README's conftest.py snippet, as a client copies it."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (snippet,) = [b for b in blocks if 'pytest_plugins = ["mocks.pytest_plugin"]' in b]
    return snippet


CONFTEST = readme_conftest()


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
    # The judgement after the test body fails the wrong-scheme test itself; the five others pass.
    assert "1 failed, 5 passed" in out, out
    assert " error" not in out and "ERROR" not in out, out
    assert "FAILED test_client.py::test_wrong_scheme_fails_the_test" in out
    assert "credential.scheme" in out and "scheme keyword `Token`; documented `Bearer`" in out
    assert out.endswith("exit 1")


def test_readme_conftest_without_the_variable(tmp_path: Path) -> None:
    """The README's snippet, AUTHCONFORM unset: one line saying what to set, no traceback."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_client.py").write_text("def test_nothing():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUTHCONFORM")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode != 0
    assert "AUTHCONFORM" in out and "Traceback" not in out and "KeyError" not in out
    assert len(out.splitlines()) == 1, out
