"""`python -m mocks gate` as a CI job runs it: exit statuses, the stderr table, JSON and JUnit
reports, one-line usage errors, the timeout, --allow, and no key in any output."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from junitparser import JUnitXml

from _helpers import CLI_TIMEOUT, run_together
from mocks.__main__ import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
CURL_WRONG_SCHEME = ('curl -sS -X POST -H "Authorization: Token $CLORO_API_KEY" -H "Content-Type: application/json" '
                     '-d "{}" "$CLORO_BASE_URL/v1/monitor"')
CURL_RIGHT = CURL_WRONG_SCHEME.replace("Token", "Bearer")
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the client command lines here are curl")


def gate_cmd(*args: str) -> list[str]:
    """`python -m mocks gate ARGS` (PYTHONPATH is the checkout, as in a client's CI)."""
    return [sys.executable, "-m", "mocks", "gate", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """The CLI runs that need a process of their own, started together from outside the checkout."""
    work = tmp_path_factory.mktemp("client-repo")
    leak = work / "the-key"
    cases = {
        # The client prints its key and tells it to the test through a file: the gate must redact it.
        "report": gate_cmd("cloro", "--report", str(work / "reports"), "--", "sh", "-c",
                           f'printf %s "$CLORO_API_KEY" > {leak}; echo "client key: $CLORO_API_KEY"; '
                           f'echo "lower: $(printf %s "$CLORO_API_KEY" | tr A-Z a-z)" >&2; {CURL_WRONG_SCHEME}'),
        "options-first": gate_cmd("--tls", "cloro", "--scenario", "revoke-after:1", "--",
                                  "sh", "-c", f'{CURL_RIGHT.replace("curl", "curl -f")} && {CURL_RIGHT}'),
    }
    done = run_together({name: (cmd, work, _env()) for name, cmd in cases.items()})
    return {name: (proc, work) for name, proc in done.items()}


def in_process(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`python -m mocks gate ARGS` through mocks.__main__.main, in this process: status, stderr
    (the gate gives this process its signal state back: see the last test)."""
    status = cli_main(["gate", *args])
    return status, capfd.readouterr().err


def test_report_files_table_and_redaction(runs: dict) -> None:
    proc, work = runs["report"]
    assert proc.returncode == 1, proc.stderr
    key = (work / "the-key").read_text()
    assert len(key) >= 20
    assert "client key: <key:valid>" in proc.stdout
    assert "credential.scheme" in proc.stderr and "sources:" in proc.stderr
    assert "scheme keyword `Token`; documented `Bearer`" in proc.stderr
    report = json.loads((work / "reports" / "gate-cloro.json").read_text())
    assert report["verdict"] == "FAIL" and report["exit_status"] == 1 and report["requests"] == 1
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["credential.scheme"]["verdict"] == "FAIL"
    assert rules["credential.scheme"]["strength"] == "documented"
    assert rules["credential.header"]["verdict"] == "PASS"
    (suite,) = list(JUnitXml.fromfile(str(work / "reports" / "gate-cloro.xml")))
    assert suite.failures == 1 and suite.tests == len(rules)
    failed = [c.name for c in suite if not c.is_passed and not c.is_skipped]
    assert failed == ["credential.scheme"]
    # No key, nor its lowercased form, in any output or report.
    texts = [proc.stdout, proc.stderr] + [p.read_text() for p in (work / "reports").iterdir()]
    for text in texts:
        assert key not in text and key.lower() not in text and key[5:25] not in text


@pytest.mark.parametrize("name", ["options-first"])
def test_command_line_forms(runs: dict, name: str) -> None:
    proc, _ = runs[name]
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stderr


@pytest.mark.parametrize("args, status, words", [
    (("cloro", "--", "true"), 1, "client.sent_requests"),
    (("cloro", "--", "sh", "-c", f"{CURL_RIGHT}; exit 4"), 3, "exited with status 4"),
    (("cloro", "--", "no-such-client-command"), 3, "command not found"),
    (("cloro", "--allow", "credential.scheme", "--", "sh", "-c", CURL_WRONG_SCHEME), 0, "ALLOWED"),
    (("cloro", "--", "sh", "-c", CURL_RIGHT), 0, "PASS (no rule broken"),
], ids=["no-request", "client-fails", "not-found", "allow", "pass"])
def test_exit_status(capfd: pytest.CaptureFixture[str], args: tuple[str, ...], status: int, words: str) -> None:
    got, err = in_process(capfd, *args)
    assert got == status, err
    assert words in err


def test_timeout_stops_the_client_promptly(capfd: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    status, err = in_process(capfd, "cloro", "--timeout", "0.5", "--", "sleep", "30")
    assert status == 3 and "timed out after 0.5 s" in err
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("args, words", [
    (("nosuch", "--", "true"), "unknown provider"),
    (("cloro",), "no client command"),
    (("cloro", "--"), "no client command"),
    (("cloro", "--scenario", "explode:1", "--", "true"), "scenarios: expire-after:N"),
    (("crux", "--scenario", "expire-after:1", "--", "true"), "does not apply to crux"),
    (("cloro", "--allow", "no.such.rule", "--", "true"), "one of: client.exit"),
    (("cloro", "--timeout", "-1", "--", "true"), "--timeout must be a positive number"),
    (("cloro", "--frobnicate", "--", "true"), "unrecognized arguments: --frobnicate"),
    ((), "no provider"),
    # Without `--` a command word could be a mistyped option: the one form that works is named.
    (("cloro", "true"), "the client command goes after `--`: `python -m mocks gate cloro [options] -- true`"),
    (("cloro", "--allow", "client.exits", "--", "true"), "--allow client.exits: no such rule for cloro; one of: "
                                                          "client.exit, client.sent_requests, client.no_admin"),
], ids=["provider", "no-command", "no-command-dashes", "scenario", "scenario-provider", "allow", "timeout",
        "option", "nothing", "no-dashes", "allow-typo"])
def test_usage_errors_are_one_line(capfd: pytest.CaptureFixture[str], args: tuple[str, ...], words: str) -> None:
    status, err = in_process(capfd, *args)
    assert status == 2
    assert words in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_sigterm_stops_the_client_too(tmp_path: Path) -> None:
    """The client runs in a session of its own: the gate must stop it when it is stopped itself."""
    pidfile = tmp_path / "client.pid"
    gate_proc = subprocess.Popen(gate_cmd("cloro", "--", "sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"),
                                 cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline and gate_proc.poll() is None, "the client never started"
            time.sleep(0.05)
        client_pid = int(pidfile.read_text())
        gate_proc.terminate()
        _, err = gate_proc.communicate(timeout=CLI_TIMEOUT)
    finally:
        if gate_proc.poll() is None:
            gate_proc.kill()
            gate_proc.wait()
    assert gate_proc.returncode == 128 + 15, err
    assert "stopped by signal 15" in err
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(client_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the client outlived the gate")


def test_an_in_process_gate_leaves_the_callers_signals_as_they_were(capfd: pytest.CaptureFixture[str]) -> None:
    """The gate's stop holds and ignores SIGINT/SIGTERM (no KeyboardInterrupt mid-report); run
    in-process it gives its caller back the mask and the handlers, or the caller, and every process
    it starts after (they inherit both), would stay deaf to Ctrl-C and SIGTERM."""
    stops = (signal.SIGINT, signal.SIGTERM)
    before = (signal.pthread_sigmask(signal.SIG_BLOCK, ()), [signal.getsignal(s) for s in stops])
    status, _ = in_process(capfd, "cloro", "--", "sh", "-c", f"{CURL_RIGHT}")
    assert status == 0
    assert (signal.pthread_sigmask(signal.SIG_BLOCK, ()), [signal.getsignal(s) for s in stops]) == before
    child = subprocess.run([sys.executable, "-c", "import signal; print(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, ())),"
                            " signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)"], capture_output=True, text=True, timeout=30)
    assert child.stdout.split() == ["[]", "True"], child.stdout
