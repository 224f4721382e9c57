"""Server processes for the benchmarks: start one pinned to a core, read its JSON line, stop it by PID."""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# Server on core 0, load generator on core 1: the two never share a core (README Performance, row 1).
SERVER_CPUS = "0"
LOAD_CPUS = "1"
START_TIMEOUT = 30.0


class BenchError(Exception):
    """A benchmark cannot run: says what is missing and how to get it."""


def pinned(argv: Sequence[str], cpus: str | None) -> list[str]:
    """argv run under `taskset -c cpus` when taskset exists and the machine has those cores."""
    if cpus is None or shutil.which("taskset") is None or os.cpu_count() is None or os.cpu_count() < 2:
        return list(argv)
    return ["taskset", "-c", cpus, *argv]


def mock_argv(provider: str, *extra: str) -> list[str]:
    """The command line of `python -m mocks serve ID --port 0` with extra options."""
    return [sys.executable, "-m", "mocks", "serve", provider, "--host", "127.0.0.1", "--port", "0", *extra]


@lru_cache(maxsize=None)
def serve_has(option: str) -> bool:
    """Whether `python -m mocks serve --help` lists an option (the mock grows options over time)."""
    out = subprocess.run([sys.executable, "-m", "mocks", "serve", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    return option in out.stdout


def bare_argv(status: int, body: bytes, content_type: str, method: str, path: str) -> list[str]:
    """The command line of the bare aiohttp handler answering `method path` with status and body."""
    return [sys.executable, str(BENCH / "bare_server.py"), "--method", method, "--path", path,
            "--status", str(status), "--content-type", content_type, "--body", body.decode("utf-8"), "--port", "0"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for servers that cannot bind port 0 and say so)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server process: its PID, base URL and the JSON object it printed first."""

    proc: subprocess.Popen[bytes]
    base_url: str
    errfile: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    ready: float = 0.0

    @property
    def pid(self) -> int:
        """The server's PID (taskset execs, so this is the server itself)."""
        return self.proc.pid

    @property
    def keys(self) -> dict[str, Any]:
        """The keys the mock printed (empty for other servers)."""
        return dict(self.info.get("keys") or {})

    def rss_kib(self) -> int:
        """Resident memory of the process now, in KiB (0 when it is gone)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the process has used so far, from /proc (0.0 when it is gone)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # Fields 14 and 15 of proc(5) (utime, stime), counted after the ") " that ends the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int | None:
        """Send sig, wait up to timeout, then SIGKILL; the exit code (negative for a signal)."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def stderr_tail(self, limit: int = 600) -> str:
        """The last bytes the process wrote to stderr so far."""
        if self.errfile is None or self.errfile.closed:
            return ""
        self.errfile.seek(0, os.SEEK_END)
        self.errfile.seek(max(0, self.errfile.tell() - limit))
        return self.errfile.read().decode("utf-8", "replace").strip()

    def close_log(self) -> None:
        """Drop the stderr file (after stop)."""
        if self.errfile is not None:
            self.errfile.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close_log()


def start(argv: Sequence[str], cpus: str | None = SERVER_CPUS, timeout: float = START_TIMEOUT) -> Server:
    """Start a server that prints one JSON line with base_url first; return once it has."""
    # stderr goes to a file: a pipe nobody drains would block a server that logs under load.
    errfile = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(pinned(argv, cpus), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=errfile)
    assert proc.stdout is not None
    line = b""
    deadline = t0 + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.perf_counter()
        if left <= 0 or proc.poll() is not None:
            break
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            line += chunk
    server = Server(proc, "", errfile, started=t0)
    try:
        info = json.loads(line.split(b"\n", 1)[0])
        server.info, server.base_url = info, info["base_url"]
    except (ValueError, KeyError, TypeError):
        server.stop(signal.SIGKILL)
        why = server.stderr_tail().splitlines()[-1:] or [f"printed {line[:200]!r}"]
        server.close_log()
        raise BenchError(f"{' '.join(argv[1:4])} did not print its JSON line within {timeout:.0f}s: {why[0]}") from None
    server.ready = time.perf_counter()
    return server


def start_port(argv: Sequence[str], port: int, cpus: str | None = SERVER_CPUS) -> Server:
    """Start a server that listens on a known port and prints no JSON line (Prism)."""
    errfile = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(pinned(argv, cpus), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errfile)
    return Server(proc, f"http://127.0.0.1:{port}", errfile, started=t0)
