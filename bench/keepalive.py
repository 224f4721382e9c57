"""README Performance row 8: 1,000 concurrent keep-alive connections for 60 s: no errors, no 5xx.

wrk holds the connections (keep-alive is its default) and sends the valid-key probe; `ss` counts
the established connections on the mock's port half-way through, so the 1,000 are shown concurrent.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlsplit

from specs import get_spec

from . import _wrk
from ._probes import probe_request
from ._procs import mock_argv, start
from ._report import floor, table
from .throughput import mock_options


@dataclass
class KeepAliveResult:
    """What the long run saw."""

    provider: str
    connections: int
    seconds: float
    established: int
    wrk: _wrk.WrkResult
    alive: bool

    def problems(self) -> list[str]:
        """Every way the run failed; empty when it passed."""
        out = []
        if self.wrk.socket_errors or self.wrk.timeouts:
            out.append(f"{self.wrk.socket_errors} socket errors and {self.wrk.timeouts} timeouts")
        if self.wrk.non_2xx:
            out.append(f"{self.wrk.non_2xx} answers were not 2xx")
        if self.established and self.established < self.connections:
            out.append(f"only {self.established} of {self.connections} connections were open at once")
        if not self.alive:
            out.append("the mock process died")
        return out


def established(port: int) -> int:
    """Established TCP connections whose local port is `port` (the server side), via `ss`; 0 without ss."""
    if shutil.which("ss") is None:
        return 0
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    return len([line for line in out.splitlines() if re.search(r"\S", line)])


def run_provider(provider: str, connections: int = 1000, seconds: float = 60.0) -> KeepAliveResult:
    """Start the mock and hold `connections` keep-alive connections on it for `seconds`."""
    spec = get_spec(provider)
    with start(mock_argv(provider, *mock_options(spec))) as mock:
        port = urlsplit(mock.base_url).port or 80
        req = probe_request(spec, "valid", mock.keys["valid"])
        counted: list[int] = []
        timer = threading.Timer(seconds / 2, lambda: counted.append(established(port)))
        timer.start()
        try:
            res = _wrk.run(mock.base_url, req, connections=connections, duration=seconds, timeout=5.0)
        finally:
            timer.cancel()
        return KeepAliveResult(provider, connections, seconds, counted[0] if counted else 0, res, mock.alive())


def report(results: Sequence[KeepAliveResult]) -> str:
    """The keep-alive table, then every problem."""
    rows = [[r.provider, r.connections, r.established or "n/a", r.seconds, r.wrk.requests, r.wrk.rps, r.wrk.p99_ms,
             r.wrk.socket_errors + r.wrk.timeouts, r.wrk.non_2xx, floor(not r.problems())] for r in results]
    out = [table(["provider", "connections", "open at once", "seconds", "requests", "req/s", "p99 ms", "errors",
                  "non-2xx", "floor"], rows)]
    out += [f"{r.provider}: {p}" for r in results for p in r.problems()]
    return "\n".join(out)


def as_json(results: Sequence[KeepAliveResult]) -> dict[str, Any]:
    """Plain data for reports/bench/keepalive.json."""
    return {"runs": [{**r.__dict__, "wrk": r.wrk.__dict__, "problems": r.problems()} for r in results]}
