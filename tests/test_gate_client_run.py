"""The client command under the gate: its process group, its output as bytes, timeouts, signals,
the report folder, a refused TLS handshake, the overall verdict line. Real gate processes, real sh,
curl and wget where present; every wait bounded.
"""
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

from _helpers import stop
from mocks._client import StreamRedactor
from mocks._gate import redactor

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 60
CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="the client command lines here are curl")
RIGHT = ('curl -sS -o /dev/null -X POST -H "Authorization: Bearer $CLORO_API_KEY" -H "Content-Type: application/json" '
         '-d \'{"prompt": "p", "model": "CHATGPT"}\' "$CLORO_BASE_URL/v1/monitor"')


def gate(*args: str, cwd: Path, timeout: float = CLI_TIMEOUT) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m mocks gate ARGS` as a CI job runs it: the process (bytes) and its wall time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mocks", "gate", *args], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout)
    return proc, time.monotonic() - started


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for init to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


@needs_curl
def test_background_job_neither_outlives_nor_holds_the_gate(tmp_path: Path) -> None:
    """CMD exits at once, leaving a job that holds stdout: the gate returns promptly, kills the job."""
    proc, took = gate("cloro", "--timeout", "40", "--", "sh", "-c", f"{RIGHT}; sleep 120 & echo $! > bg.pid; echo started",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b"started" in proc.stdout and b"timed out" not in proc.stderr
    assert took < 20, f"the gate waited {took:.1f} s for a background job"  # hang bound: the timeout is 40 s
    pid = int((tmp_path / "bg.pid").read_text())
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid), "the client's background job outlived the gate"


@needs_curl
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the gate reaps orphans with Linux's PR_SET_CHILD_SUBREAPER")
def test_a_job_that_left_the_clients_group_does_not_outlive_the_gate(tmp_path: Path) -> None:
    """A background job that calls setsid (a daemon's way) is out of the group's reach: the gate,
    the reaper of the client's orphans, kills it too, and is not held by its open stdout."""
    escape = (f"{sys.executable} -c 'import os, time; os.setsid(); open(\"esc.pid\", \"w\").write(str(os.getpid())); "
              f"time.sleep(120)' &")
    proc, took = gate("cloro", "--timeout", "40", "--", "sh", "-c", f"{RIGHT}; {escape} sleep 1; echo started",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b"started" in proc.stdout and took < 20, took  # hang bound: the timeout is 40 s
    pid = int((tmp_path / "esc.pid").read_text())
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _running(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)  # this test's own leftover
    assert not alive, "a client's job that left its process group outlived the gate"


@needs_curl
@pytest.mark.parametrize("script", [f"{RIGHT}; sleep 60", f"trap '' TERM; {RIGHT}; sleep 60"],
                         ids=["sleeps", "ignores-sigterm"])
def test_timeout_exits_3_and_says_so_once(tmp_path: Path, script: str) -> None:
    """Timed out: exit 3; the head line and the client.exit row say the same thing (not `status -15`)."""
    proc, took = gate("cloro", "--timeout", "2", "--report", str(tmp_path / "r"), "--", "sh", "-c", script, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert took < 30
    assert "(timed out after 2 s)" in err
    row = next(line for line in err.splitlines() if line.startswith("FAIL") and "client.exit" in line)
    assert row.endswith("timed out after 2 s") and "-15" not in row and "-9" not in row
    report = json.loads((tmp_path / "r" / "gate-cloro.json").read_text())
    assert report["timed_out"] is True and report["exit_status"] == 3


@needs_curl
def test_output_passes_as_bytes_losslessly_and_redacted(tmp_path: Path) -> None:
    """A 3,000,009-byte line, non-UTF-8 bytes and the key at a 64 KiB read boundary: every byte
    comes through, the key never does."""
    key_at = 65536 - 7  # the key straddles the first 64 KiB read of the pipe
    script = (f"{RIGHT}; printf %s \"$CLORO_API_KEY\" > key; "
              "head -c 3000000 /dev/zero | tr '\\0' x; printf '123456789\\n'; "
              "printf '\\377\\376\\200 caf\\303\\251 \\351t\\351\\n'; "
              f"head -c {key_at} /dev/zero | tr '\\0' y; printf '%s' \"$CLORO_API_KEY\"; "
              "head -c 200000 /dev/zero | tr '\\0' z; printf '\\n'")
    proc, _ = gate("cloro", "--", "sh", "-c", script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    key = (tmp_path / "key").read_bytes()
    expected = (b"x" * 3_000_000 + b"123456789\n" + b"\xff\xfe\x80 caf\xc3\xa9 \xe9t\xe9\n"
                + b"y" * key_at + b"<key:valid>" + b"z" * 200_000 + b"\n")
    assert len(proc.stdout) == len(expected) and proc.stdout == expected
    assert key not in proc.stdout and key not in proc.stderr


def test_stream_redactor_catches_a_key_split_anywhere() -> None:
    """Fed in two pieces cut at every offset through the key, the output equals the whole redacted."""
    key = "sk_live_" + "AbCdEfGhIjKlMnOpQrStUvWx0123456789"
    make = lambda: redactor({"valid": key})  # noqa: E731
    data = ("a" * 5000 + key + "b" * 5000 + "\n" + "c" * 300 + key.swapcase()).encode() + b"\xff\n"
    whole = make()(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    start = data.index(key.encode())
    for cut in range(start - 2, start + len(key) + 2):
        stream = StreamRedactor(make, len(key))
        out = stream.feed(data[:cut]) + stream.feed(data[cut:]) + stream.flush()
        assert out == whole, cut
    assert key.encode() not in whole and b"\xff\n" in whole


@needs_curl
def test_report_at_an_existing_file_is_a_usage_error(tmp_path: Path) -> None:
    """One line, exit 2, before the client runs (no PASS printed, no traceback)."""
    (tmp_path / "reports").write_text("not a folder")
    proc, _ = gate("cloro", "--report", "reports", "--", "sh", "-c", f"{RIGHT}; echo ran", cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "--report reports: that is a file" in err
    assert b"ran" not in proc.stdout and "Traceback" not in err


@needs_curl
@pytest.mark.parametrize("make, arg, needle", [
    (lambda d: None, "", "--report needs a folder name"),
    (lambda d: (d / "dangling").symlink_to(d / "nowhere"), "dangling", "a link to nothing"),
    (lambda d: (d / "reports" / "gate-cloro.json").mkdir(parents=True), "reports", "gate-cloro.json there is a folder"),
    (lambda d: (d / "file").write_text("x"), "file/reports", "cannot create it"),
], ids=["empty", "dangling-link", "report-name-is-a-folder", "under-a-file"])
def test_a_report_folder_that_cannot_take_the_report_is_refused_before_the_client_runs(tmp_path: Path, make, arg: str, needle: str) -> None:
    """Found before the client runs, one line, exit 2 (it used to print PASS, then fail, or write
    into the current folder for `--report ''`)."""
    make(tmp_path)
    proc, _ = gate("cloro", "--report", arg, "--", "sh", "-c", f"{RIGHT}; echo ran", cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert b"ran" not in proc.stdout and "Traceback" not in err
    assert not list(tmp_path.glob("gate-*")), "nothing written into the current folder"


def _gate_with_sleeping_client(tmp_path: Path, request: str) -> subprocess.Popen[str]:
    """`mocks gate cloro --report r` whose client sends `request`, writes its PID to client.pid and
    sleeps; returned once the client has started."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gate_proc = subprocess.Popen(
        [sys.executable, "-m", "mocks", "gate", "cloro", "--report", "r", "--", "sh", "-c",
         f"{request}; echo $$ > client.pid; sleep 60"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "client.pid").exists() or not (tmp_path / "client.pid").read_text().strip():
        if time.monotonic() > deadline or gate_proc.poll() is not None:
            gate_proc.kill()
            gate_proc.wait()
            raise AssertionError("the client never started")
        time.sleep(0.05)
    return gate_proc


@needs_curl
def test_sigint_stops_the_client_and_still_reports(tmp_path: Path) -> None:
    """SIGINT mid-run: exit 130, the client's group stopped, the requests so far judged and reported."""
    gate_proc = _gate_with_sleeping_client(tmp_path, RIGHT.replace("Bearer", "Token"))
    _, err = stop(gate_proc, sig=signal.SIGINT)
    assert gate_proc.returncode == 130, err
    assert "STOPPED (exit 130: stopped by signal 2" in err and "credential.scheme" in err
    report = json.loads((tmp_path / "r" / "gate-cloro.json").read_text())
    assert report["stopped_by_signal"] == 2 and report["exit_status"] == 130 and report["requests"] == 1
    assert not _running(int((tmp_path / "client.pid").read_text()))


@needs_curl
def test_a_non_strict_row_stays_non_strict(tmp_path: Path) -> None:
    """Only NON-STRICT rules broken: the rows say NON-STRICT; the last line says why the run exits 1."""
    proc, _ = gate("cloro", "--scenario", "rate-limit:1", "--", "sh", "-c", f"{RIGHT}; {RIGHT}; {RIGHT}", cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    rows = [line for line in err.splitlines()
            if "retry.after_429" in line and not line.startswith((" ", "authconform gate"))]
    assert rows and all(r.startswith("NON-STRICT") for r in rows), err
    last = err.strip().splitlines()[-1]
    assert last.startswith("authconform gate cloro: NON-STRICT (exit 1: the gate fails on every broken rule"), last
    assert "FAIL" not in last  # the overall word follows the rows


def test_help_lists_the_rules(tmp_path: Path) -> None:
    """`gate --help` names the rules --allow takes and the exit statuses."""
    proc, _ = gate("--help", cwd=tmp_path)
    out = proc.stdout.decode()
    assert proc.returncode == 0
    for rid in ("client.exit", "client.no_admin", "credential.scheme", "retry.after_429", "scope.covers (claid)"):
        assert rid in out
    assert "130 for SIGINT" in out


@needs_curl
@pytest.mark.parametrize("client", ["curl", "wget"])
def test_refused_tls_handshake_is_named(tmp_path: Path, client: str) -> None:
    """A client that does not trust the mock's CA: the gate says so, not only "0 requests"."""
    if shutil.which(client) is None:
        pytest.skip(f"{client} is not installed")
    cmd = ('env -u CURL_CA_BUNDLE -u SSL_CERT_FILE curl -sS -o /dev/null "$CLORO_BASE_URL/v1/monitor"' if client == "curl"
           else 'wget -q -O /dev/null "$CLORO_BASE_URL/v1/monitor"')
    proc, _ = gate("cloro", "--tls", "--", "sh", "-c", cmd, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert "0 requests" in err and "1 TLS connection(s) refused the handshake" in err
    assert '--ca-certificate="$CLORO_CA_BUNDLE"' in err


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_wget_with_the_readme_flag_passes(tmp_path: Path) -> None:
    """The README's wget line under --tls: --ca-certificate="$ID_CA_BUNDLE"."""
    cmd = ('wget -q -O /dev/null --ca-certificate="$CLORO_CA_BUNDLE" --header "Authorization: Bearer $CLORO_API_KEY" '
           '--header "Content-Type: application/json" --post-data \'{"prompt": "p", "model": "CHATGPT"}\' '
           '"$CLORO_BASE_URL/v1/monitor"')
    proc, _ = gate("cloro", "--tls", "--", "sh", "-c", cmd, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b"TLS connection" not in proc.stderr


@needs_curl
def test_a_closed_stdout_does_not_block_the_client(tmp_path: Path) -> None:
    """`gate ... | head -c 100`: the client's output is still drained, its run judged, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mocks", "gate", "cloro", "--", "sh", "-c",
                             f"head -c 5000000 /dev/zero | tr '\\0' x; echo; {RIGHT}"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.read(100) == b"x" * 100
        proc.stdout.close()  # the reader goes away, as `head -c 100` does
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "1 request, client exit 0" in text and "Traceback" not in text and "BrokenPipe" not in text


@needs_curl
def test_a_burst_of_signals_never_kills_the_gate_with_a_traceback(tmp_path: Path) -> None:
    """SIGINT, then more in a burst (Ctrl-C held down): the gate stops with 130 and its own line, never
    KeyboardInterrupt, whether a signal lands while the loop runs, while its handlers are removed or
    after (the stop blocks and then ignores SIGINT/SIGTERM, as serve does)."""
    gate_proc = _gate_with_sleeping_client(tmp_path, RIGHT)
    for _ in range(400):  # bounded: at most about 2 s of signals (Popen.send_signal is a no-op once it ended)
        if gate_proc.poll() is not None:
            break
        gate_proc.send_signal(signal.SIGINT)
        time.sleep(0.005)
    _, err = stop(gate_proc, sig=None)
    assert gate_proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert not _running(int((tmp_path / "client.pid").read_text()))
