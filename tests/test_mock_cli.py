"""`python -m mocks`: the serve line, clean exit on SIGTERM/SIGINT, defects listing, CLI errors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, Iterator

import pytest

from mocks import DEFECTS
from mocks import __main__ as cli
from _helpers import IDS, SPECS, admin, probe_request

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
START_SECONDS = 15.0
# A stop slower than this is a hang (the 2 s floor under load is bench/sigterm.py's figure).
STOP_SECONDS = 10.0


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m mocks ARGS` to completion (bounded)."""
    return subprocess.run([PY, "-m", "mocks", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


class Served:
    """A `python -m mocks serve` subprocess and its first stdout line."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([PY, "-m", "mocks", "serve", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the serve line is flushed as soon as the port is bound
        if not line:
            self.stop()
            raise AssertionError(f"serve printed nothing; stderr: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.line: dict[str, Any] = json.loads(line)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float, str]:
        """Send a signal; returns (exit status, seconds to exit, stderr)."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return code, time.monotonic() - start, err


@pytest.fixture
def served() -> Iterator[Any]:
    """Start `serve` subprocesses; every one is stopped at teardown."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        s = Served(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.stop()


def test_serve_line_and_sigterm(served: Any) -> None:
    """Every provider: first line {"provider", "base_url", "keys"}; it answers; SIGTERM exits 0 within 2 s."""
    runs = {provider: served(provider, "--port", "0") for provider in IDS}
    for provider, s in runs.items():
        spec = SPECS[provider]
        line = s.line
        assert set(line) == {"provider", "base_url", "keys"} and line["provider"] == provider
        assert line["base_url"].startswith("http://127.0.0.1:") and not line["base_url"].endswith(":0")
        assert admin(line["base_url"], "GET", "keys")[1] == line["keys"]
        assert set(spec.keys.states) <= set(line["keys"])
        if spec.exchange:
            assert {"username", "password"} <= set(line["keys"])
        reply = probe_request(line["base_url"], spec, spec.credential.render(line["keys"]["valid"]))
        assert reply.status == spec.probe.success.status
    for s in runs.values():
        code, took, err = s.stop(signal.SIGTERM)
        assert code == 0 and took < STOP_SECONDS and "Traceback" not in err


def test_sigint_with_open_connection(served: Any) -> None:
    """SIGINT exits 0 promptly even with a keep-alive connection open."""
    import socket

    s = served("cloro")
    port = int(s.line["base_url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /v1/monitor HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 401")
        code, took, err = s.stop(signal.SIGINT)
    assert code == 0 and took < STOP_SECONDS and "Traceback" not in err


def test_seed_makes_keys_deterministic(served: Any) -> None:
    """Two runs with the same --seed mint the same keys; another seed, other keys."""
    a = served("flash", "--seed", "7").line["keys"]
    b = served("flash", "--seed", "7").line["keys"]
    c = served("flash", "--seed", "8").line["keys"]
    assert a == b and a["valid"] != c["valid"]


def test_serve_with_defect_and_scenario(served: Any) -> None:
    """--defect and --scenario reach the app."""
    spec = SPECS["cloro"]
    s = served("cloro", "--defect", "accept_missing", "--defect", "no_challenge", "--scenario", "rate-limit:1")
    _, info = admin(s.line["base_url"], "GET", "info")
    assert info["defects"] == ["accept_missing", "no_challenge"] and info["scenario"] == "rate-limit:1"
    assert probe_request(s.line["base_url"], spec, None).status == 200


def test_port_in_use_is_one_line_error(served: Any) -> None:
    """A port already bound: one line on stderr, non-zero exit, no traceback."""
    port = served("crux").line["base_url"].rsplit(":", 1)[1]
    result = run_cli("serve", "crux", "--port", port)
    assert result.returncode == 1 and "cannot listen on 127.0.0.1:" + port in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "args,needles",
    [
        (["serve", "nope"], ["unknown provider 'nope'", "providers: " + ", ".join(IDS)]),
        (["serve", "cloro", "--defect", "sloppy"], ["unknown defect 'sloppy'", "defects: " + ", ".join(DEFECTS)]),
        (["serve", "claid", "--defect", "accept_expired"], ["does not apply to claid", "defects for claid: accept_missing"]),
        (["serve", "cloro", "--scenario", "soon"], ["unknown scenario 'soon'", "expire-after:N, revoke-after:N, rate-limit:N, flaky:N"]),
        (["serve", "crux", "--scenario", "expire-after:2"], ["does not apply to crux", "scenarios for crux: revoke-after:N"]),
        (["serve", "cloro", "--port", "99999"], ["invalid port '99999'"]),
        (["defects", "nope"], ["unknown provider 'nope'"]),
        ([], ["serve", "defects", "gate"]),
    ],
)
def test_cli_errors(capsys: pytest.CaptureFixture[str], args: list[str], needles: list[str]) -> None:
    """Bad arguments: exit 2 and a message that says what would be right."""
    with pytest.raises(SystemExit) as exit_:
        code = cli.main(args)
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    for needle in needles:
        assert needle in err


def test_cli_error_in_a_subprocess_has_no_traceback() -> None:
    """The same from a real `python -m mocks`: exit 2, one error line after the usage, no traceback."""
    result = run_cli("serve", "claid", "--defect", "accept_expired")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("python -m mocks serve: error: defect 'accept_expired'")


def test_defects_listing() -> None:
    """`defects` lists every defect with its bug and rule; `defects ID` only those that apply."""
    every = run_cli("defects")
    assert every.returncode == 0
    assert [line.split()[0] for line in every.stdout.splitlines()] == list(DEFECTS)
    assert all("breaks:" in line for line in every.stdout.splitlines())
    claid = run_cli("defects", "claid", "--json")
    names = [d["name"] for d in json.loads(claid.stdout)]
    assert "ignore_scope" in names and "accept_expired" not in names
    scen = run_cli("scenarios", "crux")
    assert scen.stdout.split() == ["revoke-after:N", "rate-limit:N", "flaky:N"]


def test_gate_missing_does_not_break_the_others(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without mocks/_gate_cli.py, `gate` says so (exit 2) and `defects` still runs."""
    import mocks

    monkeypatch.setitem(sys.modules, "mocks._gate_cli", None)  # import of it now fails as if absent
    monkeypatch.delattr(mocks, "_gate_cli", raising=False)
    assert cli.main(["defects", "cloro"]) == 0
    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "cloro", "--", "true"])
    assert exit_.value.code == 2 and "gate is not available" in capsys.readouterr().err


def test_gate_broken_does_not_break_the_others(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A _gate_cli.py whose add_arguments fails: `gate` reports it, the others work."""
    broken = types.ModuleType("mocks._gate_cli")

    def add_arguments(parser: Any) -> None:
        raise RuntimeError("half written")

    broken.add_arguments = add_arguments  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mocks._gate_cli", broken)
    import mocks

    monkeypatch.setattr(mocks, "_gate_cli", broken, raising=False)
    assert cli.main(["scenarios"]) == 0
    with pytest.raises(SystemExit):
        cli.main(["gate"])
    assert "half written" in capsys.readouterr().err


def test_gate_present_is_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a _gate_cli module, `gate` uses its add_arguments and main."""
    fake = types.ModuleType("mocks._gate_cli")
    seen: dict[str, Any] = {}
    fake.add_arguments = lambda p: p.add_argument("provider")  # type: ignore[attr-defined]
    fake.main = lambda args: seen.setdefault("provider", args.provider) and 5  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mocks._gate_cli", fake)
    import mocks

    monkeypatch.setattr(mocks, "_gate_cli", fake, raising=False)
    assert cli.main(["gate", "flash"]) == 5 and seen["provider"] == "flash"


def test_serve_needs_no_gate_import() -> None:
    """`serve --help` works from a clean interpreter, with _gate's own imports untouched."""
    env = dict(os.environ)
    result = subprocess.run([PY, "-c", "import mocks.__main__ as m; m.build_parser()"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr


def test_flaky_reset_is_quiet(served: Any) -> None:
    """flaky: a reset connection is a real RST for the client and leaves no traceback in the log."""
    import http.client

    spec = SPECS["claid"]
    s = served("claid", "--scenario", "flaky:1")
    for expected in ("unavailable", "reset"):
        try:
            status: Any = probe_request(s.line["base_url"], spec, None).status
        except (ConnectionError, http.client.RemoteDisconnected):
            status = "reset"
        assert status == (503 if expected == "unavailable" else "reset")
    code, _, err = s.stop()
    assert code == 0 and err == ""


def test_serve_tls(served: Any) -> None:
    """--tls: an https base URL, the CA bundle in the serve line, verified without --insecure; removed at exit."""
    import ssl
    import urllib.request

    s = served("cloro", "--tls")
    line = s.line
    assert line["base_url"].startswith("https://127.0.0.1:") and Path(line["ca_bundle"]).is_file()
    spec = SPECS["cloro"]
    request = urllib.request.Request(
        line["base_url"] + spec.probe.path, data=spec.probe.encode(), method="POST",
        headers={"Authorization": spec.credential.render(line["keys"]["valid"]), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=line["ca_bundle"]), timeout=10) as resp:
        assert resp.status == 200
    code, _, err = s.stop()
    assert code == 0 and err == "" and not Path(line["ca_bundle"]).exists()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_repeated_stop_signal_does_not_kill_the_stop(served: Any, tmp_path: Path, workers: str, sig: int) -> None:
    """Ctrl-C twice, or the group's INT then a supervisor's TERM: the stop that began finishes, exit 0,
    journal written; a second signal during it must not fall back to the default action (-2/-15)."""
    journal = tmp_path / "journal.jsonl"
    s = served(IDS[0], "--workers", workers, "--journal", str(journal))
    spec = SPECS[IDS[0]]
    probe_request(s.line["base_url"], spec, spec.credential.render(s.line["keys"]["valid"]))
    deadline = time.monotonic() + STOP_SECONDS
    while s.proc.poll() is None and time.monotonic() < deadline:  # bounded: at most STOP_SECONDS of signals
        try:
            s.proc.send_signal(sig)
        except ProcessLookupError:
            break
        time.sleep(0.002)
    code, _, err = s.stop(signal.SIGTERM)
    assert code == 0, f"exit status {code}; stderr: {err[-3000:]}"
    assert "Traceback" not in err and journal.exists() and journal.read_text().count("\n") >= 1
