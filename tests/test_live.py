"""The live path: `pytest --live` with keys from the environment, against a mock started separately
(`python -m mocks serve ID --port 0`) standing in for the live endpoint. The key never appears in
stdout, stderr, JUnit XML or report.json, not even as a 6-character slice."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Iterator

import pytest
from aiohttp import web

from drive import MockProcess
from _local_server import LocalServer
from fixtures import run_guarded
from fixtures._selftest import run_suite
from specs import get_spec, load_all
from suites import LIVE, MOCK, Secret, Target, cases_for, run_case
from suites._secret import leaks

# Credential states a live run takes from optional variables (the valid key is ID_API_KEY).
OPTIONAL = ("expired", "revoked", "limited", "username", "password")


@pytest.fixture
def separate_mock(request) -> Iterator[MockProcess]:
    """A mock of the parametrised provider in its own process, stopped by PID afterwards."""
    mock = MockProcess(request.param).wait_ready()
    try:
        yield mock
    finally:
        mock.stop()


def _secrets(mock: MockProcess, states: tuple[str, ...]) -> dict[str, Secret]:
    """The mock's keys of some states, each wrapped under its environment variable's name."""
    spec = get_spec(mock.provider)
    return {spec.credential_env(s): Secret(mock.keys[s], spec.credential_env(s)) for s in states if s in mock.keys}


def _assert_no_leak(secrets: dict[str, Secret], *texts: str) -> None:
    """No key or password, nor any 6+ char slice of one, in any output (usernames identify, they
    are not secret; the mock's is the word 'authconform')."""
    for name, secret in secrets.items():
        if name.endswith("_USERNAME"):
            continue
        leaked = [i for i, text in enumerate(texts) if leaks(text, secret)]
        assert not leaked, f"{name} leaked into output #{leaked}"


def _outputs(run, folder: Path) -> tuple[str, ...]:
    return (run.stdout, run.stderr, *(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())))


def test_live_without_any_key_is_not_green() -> None:
    """`pytest --live` with no key for any selected provider: a CI job whose secret is missing must
    not pass on "190 skipped": one line naming the variables, non-zero exit, nothing run."""
    run = run_suite(["--live"], select=())
    assert run.returncode != 0, run.stdout[-2000:]
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "no selected provider has its key" in line]
    assert len(lines) == 1, run.stdout[-2000:] + run.stderr[-2000:]
    assert all(spec.env("API_KEY") in lines[0] for spec in load_all()) and "--allow-skip" in lines[0]
    assert "passed" not in run.stdout and "skipped" not in run.stdout


def test_live_without_keys_skips_every_provider_and_exits_0_with_allow_skip() -> None:
    """`pytest --live --allow-skip` with no key set: only the suite is collected (not tests/), every
    case is skipped with its provider's reason naming the variable, and the run exits 0."""
    run = run_suite(["--live", "--allow-skip", "-rs"], select=())
    assert run.returncode == 0, run.stdout[-2000:]
    total = sum(len(cases_for(s)) for s in load_all())
    skipped = re.search(r"^=+ (\d+) skipped in ", run.stdout, re.M)
    assert skipped and int(skipped.group(1)) >= total, run.stdout[-500:]
    assert "tests/" not in run.stdout
    for spec in load_all():
        assert f"{spec.id}: {spec.env('API_KEY')} is not set" in run.stdout


@pytest.mark.slow
@pytest.mark.parametrize("separate_mock", [s.id for s in load_all()], indirect=True)
def test_live_against_a_separately_started_mock(separate_mock: MockProcess, tmp_path: Path) -> None:
    """With only ID_API_KEY the run passes and the cases needing other keys are skipped naming the
    variable; with the optional keys set too, those cases run (and pass)."""
    mock, provider = separate_mock, separate_mock.provider
    spec = get_spec(provider)
    cases = {c.id: c for c in cases_for(spec)}
    base = ["-rs", "--live", "--provider", provider, "--base-url", mock.base_url]

    only_key = tmp_path / "only-key"
    run = run_suite([*base, "--report", str(only_key), f"--junitxml={only_key / 'pytest-junit.xml'}"], _secrets(mock, ("valid",)))
    assert run.returncode == 0, run.stdout[-3000:]
    first = {c["case_id"]: c for c in json.loads((only_key / "report.json").read_text())["cases"]}
    needing = [cid for cid, c in cases.items() if set(c.needs) & set(OPTIONAL)]
    for cid in needing:
        assert first[cid]["verdict"] == "SKIP", cid
        wanted = [spec.credential_env(s) for s in cases[cid].needs if s in OPTIONAL]
        assert all(name in first[cid]["reason"] for name in wanted), first[cid]["reason"]
    _assert_no_leak(_secrets(mock, ("valid", *OPTIONAL)), *_outputs(run, only_key))

    all_keys = tmp_path / "all-keys"
    secrets = _secrets(mock, ("valid", *OPTIONAL))
    run = run_suite([*base, "--report", str(all_keys), f"--junitxml={all_keys / 'pytest-junit.xml'}"], secrets)
    assert run.returncode == 0, run.stdout[-3000:]
    second = {c["case_id"]: c for c in json.loads((all_keys / "report.json").read_text())["cases"]}
    assert all(second[cid]["verdict"] == "PASS" for cid in needing), {cid: second[cid]["verdict"] for cid in needing}
    # What stays skipped on live: the mock-only rate-limit case and the binding cases, with reasons.
    for cid, c in second.items():
        if c["verdict"] == "SKIP":
            assert cases[cid].mock_only or {"account", "other_binding"} & set(cases[cid].needs), cid
            assert "would spend the live quota" in c["reason"] or "only the mock's admin API provides" in c["reason"]
        else:
            assert c["verdict"] == "PASS", (cid, c.get("reason"))
    _assert_no_leak(secrets, *_outputs(run, all_keys))


@pytest.fixture
def echoing_mock() -> Iterator[MockProcess]:
    """A cloro mock that echoes the presented credential in its error bodies and accepts a missing one."""
    mock = MockProcess("cloro", ["echo_credential", "accept_missing"]).wait_ready()
    try:
        yield mock
    finally:
        mock.stop()


def test_a_failing_live_run_leaks_no_key(echoing_mock: MockProcess, tmp_path: Path) -> None:
    """A live run that FAILs (the target echoes keys back) shows every key as its placeholder only."""
    mock = echoing_mock
    secrets = _secrets(mock, ("valid", *OPTIONAL))
    run = run_suite(
        ["-vv", "-rA", "--live", "--provider", "cloro", "--base-url", mock.base_url, "--report", str(tmp_path), f"--junitxml={tmp_path / 'pytest-junit.xml'}"],
        secrets,
    )
    assert run.returncode == 1, run.stdout[-3000:]
    assert "check: no_credential_echo [FAIL]" in run.stdout
    assert "<CLORO_API_KEY>" in run.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    echoed = [c["case_id"] for c in report["cases"] if any(k["check"] == "no_credential_echo" and k["verdict"] == "FAIL" for k in c["checks"])]
    assert "cloro.invalid.one_char_changed" in echoed and "cloro.expired" in echoed
    _assert_no_leak(secrets, *_outputs(run, tmp_path))


def test_a_live_429_is_waited_out_once() -> None:
    """On live, a 429 with Retry-After is the provider pacing the run: wait, retry once, judge that."""
    seen: list[int] = []

    async def pacing(request: web.Request) -> web.Response:
        seen.append(1)
        if len(seen) == 1:
            return web.json_response({"success": False, "error": "Rate limit exceeded"}, status=429, headers={"Retry-After": "0"})
        return web.json_response({"success": False, "error": "Invalid or missing API key"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="cloro"'})

    spec = get_spec("cloro")
    case = next(c for c in cases_for(spec) if c.id == "cloro.missing")
    with LocalServer(pacing) as url:
        result = run_case(case, Target(spec, url, LIVE, {"valid": Secret("k" * 40, "CLORO_API_KEY")}))
        assert result.verdict.value == "PASS" and len(seen) == 2
        seen.clear()
        # On a mock the 429 is the answer, and it is judged.
        mock = run_case(case, Target(spec, url, MOCK, {"valid": Secret("k" * 40, "CLORO_API_KEY")}))
        assert mock.verdict.value == "FAIL" and len(seen) == 1


def test_an_internal_error_is_reported_without_the_key() -> None:
    """A bug in a case's build that puts the key in its exception: the failure shows the placeholder."""
    spec = get_spec("cloro")
    secret = Secret("Zq" * 20, "CLORO_API_KEY")

    def broken_build(ctx):
        raise ValueError(f"cannot use {ctx.credential('valid').reveal()}")

    case = dataclasses.replace(next(c for c in cases_for(spec) if c.id == "cloro.positive"), build=broken_build)
    with pytest.raises(pytest.fail.Exception) as failed:
        run_guarded(case, Target(spec, "http://127.0.0.1:9", LIVE, {"valid": secret}))
    message = str(failed.value)
    assert "the suite itself failed" in message and "ValueError: cannot use <CLORO_API_KEY>" in message
    assert not leaks(message, secret)
