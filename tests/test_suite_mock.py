"""The suite as `make test-mock` runs it: `python -m pytest suites` against a mock of every provider,
each started on a free 127.0.0.1 port; plus selection with -k, a planted defect, and usage errors."""
from __future__ import annotations

import json
import re

import pytest
from junitparser import JUnitXml

from fixtures import settings_from
from fixtures._selftest import run_suite
from specs import load_all
from suites import cases_for


def _report(folder) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def test_the_suite_passes_on_every_clean_mock(tmp_path) -> None:
    """Every case of every spec ends PASS against the provider's own mock; the summary has the matrix."""
    run = run_suite(["-q", "--report", str(tmp_path)])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    expected = {c.id for spec in load_all() for c in cases_for(spec)}
    report = _report(tmp_path)
    verdicts = {c["case_id"]: c["verdict"] for c in report["cases"]}
    assert set(verdicts) == expected
    assert {v for v in verdicts.values()} == {"PASS"}, [k for k, v in verdicts.items() if v != "PASS"]
    assert f"{len(expected)} passed" in run.stdout
    # The terminal summary: one row per failure class, one column per provider.
    header = next(line for line in run.stdout.splitlines() if line.startswith("failure class"))
    assert header.split()[2:] == sorted(s.id for s in load_all())
    # A provider without expired keys has no expired case: "-" in its column.
    row = r"\s+".join(["expired"] + ["PASS" if "expired" in s.failures else "-" for s in sorted(load_all(), key=lambda s: s.id)])
    assert re.search(rf"^{row}$", run.stdout, re.M), run.stdout[-3000:]
    assert sorted(c.name for suite in JUnitXml.fromfile(str(tmp_path / "junit.xml")) for c in suite) == sorted(expected)


@pytest.mark.parametrize("expression", ["cloro.expired", "cloro and expired"])
def test_k_selects_a_case_by_its_id(expression: str) -> None:
    """Case ids are test ids: `-k cloro.expired` runs that case alone (only cloro's mock starts)."""
    run = run_suite(["-q", "-k", expression])
    assert run.returncode == 0, run.stdout[-2000:]
    assert "1 passed" in run.stdout
    assert re.search(r"^expired\s+PASS$", run.stdout, re.M)


def test_a_planted_defect_fails_the_run_with_a_readable_message() -> None:
    """A mock that accepts a missing credential: FAIL, exit 1, the message says what and how to replay."""
    run = run_suite(["-q", "--provider", "cloro", "--mock-defect", "accept_missing", "-k", "cloro.missing"])
    assert run.returncode == 1, run.stdout[-2000:]
    assert "Expected 401, got 200 OK for POST /v1/monitor (credential: none)" in run.stdout
    assert "check: request_rejected [FAIL]" in run.stdout
    assert "rule (documented; FAIL whatever the strength): If authentication fails" in run.stdout
    assert "replay: curl -sS -i -X POST http://127.0.0.1:" in run.stdout
    assert re.search(r"^missing\s+FAIL$", run.stdout, re.M)


class _Options:
    """The options of a pytest config, as settings_from reads them."""

    def __init__(self, **given: object):
        self.given = {"live": False, "sandbox": False, "provider": [], "base_url": None, "report": None, "mock_defect": [], "mock_seed": None, **given}

    def getoption(self, name: str, default: object = None) -> object:
        return self.given.get(name, default)


# Every provider the specs folder holds (a spec dropped in is known too): never a pinned list.
KNOWN = ", ".join(sorted(s.id for s in load_all()))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"provider": ["nope"]}, f"--provider nope: unknown provider; known: {KNOWN}"),
        ({"base_url": "http://127.0.0.1:1"}, "--base-url needs exactly one --provider (got 0)"),
        ({"provider": ["cloro", "crux"], "base_url": "http://127.0.0.1:1"}, "--base-url needs exactly one --provider (got 2)"),
        ({"provider": ["cloro"], "base_url": "ftp://x"}, "--base-url: a base URL is http://host[:port] or https://host[:port], got 'ftp://x'"),
        ({"provider": ["cloro"], "base_url": "http://127.0.0.1:99999"}, "--base-url: a base URL's port is a number from 0 to 65535"),
        ({"live": True, "mock_defect": ["accept_missing"]}, "--mock-defect starts mocks with a defect; it cannot go with --live or --base-url"),
        ({"mock_defect": ["nope"]}, "--mock-defect nope: unknown defect; known: accept_missing, accept_any_token,"),
        ({"sandbox": True}, "--sandbox picks a spec's sandbox URL for a live run: add --live"),
        ({"live": True, "mock_seed": "7"}, "--mock-seed sets the keys of the mocks the suite starts; it cannot go with --live or --base-url"),
    ],
)
def test_bad_options_say_what_would_be_right(given: dict, message: str) -> None:
    """Each bad option is a one-line usage error naming what is right."""
    with pytest.raises(pytest.UsageError) as err:
        settings_from(_Options(**given))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_good_options_select_providers_in_the_order_given() -> None:
    """--provider narrows the run; --base-url goes with exactly one."""
    settings = settings_from(_Options(provider=["crux", "cloro", "crux"]))
    assert settings.providers == ("crux", "cloro") and settings.mode == "mock"
    one = settings_from(_Options(live=True, allow_skip=True, provider=["claid"], base_url="http://127.0.0.1:8080/"))
    assert (one.providers, one.base_url, one.mode) == (("claid",), "http://127.0.0.1:8080", "live")


def test_a_bad_option_exits_4_with_one_line_and_no_traceback() -> None:
    """End to end: pytest prints the usage error on one line and exits 4."""
    run = run_suite(["--provider", "nope"])
    assert run.returncode == 4
    assert f"ERROR: --provider nope: unknown provider; known: {KNOWN}" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_sandbox_picks_targets_sandbox_or_says_there_is_none() -> None:
    """--live --sandbox: the spec's targets.sandbox; a spec without one is skipped with one line naming the way out."""
    import dataclasses

    from suites import live_target

    spec = load_all()[0]
    with_box = dataclasses.replace(spec, sandbox_url="https://sandbox.example.invalid")
    without = dataclasses.replace(spec, sandbox_url=None)
    env = {spec.env("API_KEY"): "k" * 40}
    assert settings_from(_Options(live=True, sandbox=True, allow_skip=True)).sandbox
    assert live_target(with_box, env, sandbox=True).base_url == "https://sandbox.example.invalid"
    assert live_target(with_box, env).base_url == spec.live_url
    target = live_target(without, env, sandbox=True)
    assert target.unavailable == (f"{spec.id}: --sandbox, but the spec names no sandbox (targets.sandbox); "
                                  f"set {spec.env('BASE_URL')} or drop --sandbox")
    # An explicit base URL still wins over both.
    assert live_target(without, {**env, spec.env("BASE_URL"): "http://127.0.0.1:9"}, sandbox=True).base_url == "http://127.0.0.1:9"
