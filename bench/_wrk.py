"""The load generator: wrk (Debian package `wrk`), one thread, fixed connections and duration."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._probes import ProbeRequest
from ._procs import LOAD_CPUS, BenchError, pinned

INSTALL_HINT = "install it with `apt-get install -y wrk` (Debian/Ubuntu, as root) and run again"


def ensure_wrk(install: bool = True) -> str:
    """The path of wrk; installed with apt-get when missing and we are root, else a BenchError."""
    found = shutil.which("wrk")
    if found:
        return found
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: wrk not found; installing the Debian package `wrk` (one time)", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(f"wrk (the HTTP load generator) is not installed: {INSTALL_HINT}")


def lua_string(data: bytes | str) -> str:
    """A Lua string literal for any bytes (decimal escapes for everything but plain characters)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    plain = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-./:;,=")
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03d}" for b in raw) + '"'


def lua_script(request: ProbeRequest) -> str:
    """A wrk script that sends the same request on every connection (wrk builds it once)."""
    lines = [f"wrk.method = {lua_string(request.method)}", f"wrk.body = {lua_string(request.body)}"]
    lines += [f"wrk.headers[{lua_string(n)}] = {lua_string(v)}" for n, v in request.headers]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    timeouts: int
    duration_s: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise BenchError(f"wrk printed a latency bench cannot read: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output: str) -> WrkResult:
    """Read req/s, p50, p99, request count, non-2xx and socket errors from wrk --latency output."""
    def grab(pattern: str, default: str | None = None) -> str:
        m = re.search(pattern, output)
        if m:
            return m.group(1)
        if default is None:
            raise BenchError(f"wrk output lacks {pattern!r}: {output.strip()[-300:]}")
        return default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = [int(x) for x in errors.groups()] if errors else [0, 0, 0, 0]
    return WrkResult(
        rps=float(grab(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(grab(r"\n\s+50%\s+(\S+)")),
        p99_ms=_ms(grab(r"\n\s+99%\s+(\S+)")),
        requests=int(grab(r"(\d+) requests in")),
        non_2xx=int(grab(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(counts[:3]),
        timeouts=counts[3],
        duration_s=_ms(grab(r"requests in ([\d.]+\w+),")) / 1000.0,
    )


def run(base_url: str, request: ProbeRequest, *, connections: int = 50, duration: float = 5.0,
        threads: int = 1, timeout: float = 2.0, cpus: str | None = LOAD_CPUS) -> WrkResult:
    """Load base_url with one request for `duration` seconds and return what wrk measured."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="authconform-wrk-") as tmp:
        script = Path(tmp) / "probe.lua"
        # The script holds a mock key: private to us, and gone with the folder.
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(lua_script(request))
        argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", f"--timeout={max(1, round(timeout))}s",
                "--latency", "-s", str(script), base_url.rstrip("/") + request.target]
        proc = subprocess.run(pinned(argv, cpus), capture_output=True, text=True, timeout=duration + 60)
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return parse(proc.stdout)
