"""The mock's command line driven from outside: `python -m mocks serve ID --port 0` as a subprocess,
read back from the JSON line it prints first, stopped by PID; `python -m mocks defects ID --json` for
the defects a provider's mock can be run with. drive/ never imports mocks; it only starts them,
for the kill matrix, the drift check and the pytest fixtures alike."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable, Mapping

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
LIST_TIMEOUT = 60.0


class MockStartError(RuntimeError):
    """A mock did not come up: says which and why (the last lines of its stderr)."""


class MockProcess:
    """One running mock: its provider, base URL and keys, and the process behind them."""

    def __init__(self, provider: str, defects: Iterable[str] = (), python: str = sys.executable, host: str = "127.0.0.1",
                 env: Mapping[str, str] | None = None, seed: str | None = None):
        self.provider = provider
        self.defects = tuple(defects)
        self.base_url = ""
        self.keys: dict[str, str] = {}
        argv = [python, "-m", "mocks", "serve", provider, "--host", host, "--port", "0"]
        for name in self.defects:
            argv += ["--defect", name]
        if seed is not None:
            argv += ["--seed", seed]
        self._stderr = tempfile.TemporaryFile()
        self._first = threading.Event()
        self._line = b""
        # env: the whole environment of the mock (None: this process's), e.g. with AUTHCONFORM_SPECS_DIR.
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=dict(env) if env is not None else None)
        # The first line carries the keys; later output is drained so the mock never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read, name=f"mock-{provider}-stdout", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The process id (the only handle used to stop it)."""
        return self.proc.pid

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        self._line = stream.readline()
        self._first.set()
        for _ in iter(lambda: stream.read(65536), b""):
            pass

    def _stderr_tail(self, lines: int = 5) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-lines:]
        return " | ".join(tail) or "(nothing on stderr)"

    def wait_ready(self, timeout: float = START_TIMEOUT) -> "MockProcess":
        """Wait for the JSON line (bounded by timeout); MockStartError when it does not come."""
        if not self._first.wait(timeout):
            self.stop()
            raise MockStartError(f"mock {self.provider}: no JSON line within {timeout:.0f}s")
        line = self._line.decode("utf-8", "replace").strip()
        if not line:
            self.proc.wait(STOP_TIMEOUT)
            raise MockStartError(f"mock {self.provider} exited with {self.proc.returncode}: {self._stderr_tail()}")
        try:
            info = json.loads(line)
            self.base_url = str(info["base_url"]).rstrip("/")
            keys = info["keys"]
            self.keys = {str(k): str(v) for k, v in keys.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            self.stop()
            # The line holds keys: say what is wrong with it, never what it says.
            raise MockStartError(f"mock {self.provider}: its first line ({len(line)} chars) is not JSON with base_url and keys") from None
        return self

    def stop(self) -> int | None:
        """SIGTERM by PID, then SIGKILL after STOP_TIMEOUT; returns the exit status (idempotent)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self._reader.join(STOP_TIMEOUT)
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


def start_mocks(providers: Iterable[str], defects: Iterable[str] = (), timeout: float = START_TIMEOUT,
                seed: str | None = None) -> Mapping[str, MockProcess]:
    """Start one mock per provider, all at once (keys from `seed` when given), and wait for each;
    on any failure stop them all."""
    started = {p: MockProcess(p, defects, seed=seed) for p in providers}
    deadline = time.monotonic() + timeout
    try:
        for mock in started.values():
            mock.wait_ready(max(0.1, deadline - time.monotonic()))
    except MockStartError:
        for mock in started.values():
            mock.stop()
        raise
    return started


def applicable_defects(provider: str, python: str = sys.executable) -> dict[str, bool]:
    """The defects `python -m mocks defects ID --json` says apply to a provider's mock, in catalogue
    order, each with whether the suite must catch it with a FAIL (`must_fail`: security and crashes)."""
    try:
        run = subprocess.run([python, "-m", "mocks", "defects", provider, "--json"], cwd=ROOT, capture_output=True,
                             text=True, timeout=LIST_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MockStartError(f"`python -m mocks defects {provider} --json` did not answer within {LIST_TIMEOUT:.0f}s") from None
    if run.returncode != 0:
        tail = " | ".join(run.stderr.strip().splitlines()[-2:]) or "(nothing on stderr)"
        raise MockStartError(f"`python -m mocks defects {provider} --json` exited {run.returncode}: {tail}")
    try:
        listed = json.loads(run.stdout)
        if not isinstance(listed, list) or not all(isinstance(d, dict) and isinstance(d["must_fail"], bool) for d in listed):
            raise TypeError("not a list of defects")
        return {str(d["name"]): d["must_fail"] for d in listed}
    except (ValueError, KeyError, TypeError):
        raise MockStartError(f"`python -m mocks defects {provider} --json` did not print a JSON list of defects") from None
