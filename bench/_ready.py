"""Waiting for a server to answer, and timing how long that takes from process start."""
from __future__ import annotations

import time

from suites import RawResponse

from ._probes import ProbeRequest
from ._procs import BenchError, Server


def wait_for(server: Server, request: ProbeRequest, status: int | None, timeout: float = 60.0,
             interval: float = 0.01) -> tuple[float, RawResponse]:
    """Send `request` until it gets `status` (None: any HTTP answer); seconds from process start, and the answer."""
    deadline = time.perf_counter() + timeout
    last = ""
    while time.perf_counter() < deadline:
        if not server.alive():
            raise BenchError(f"server exited with {server.proc.returncode} before answering: {server.stderr_tail()[-200:]}")
        try:
            resp = request.send(server.base_url, timeout=5.0)
        except OSError as exc:  # not listening yet
            last = str(exc)
            time.sleep(interval)
            continue
        if resp.status and (status is None or resp.status == status):
            return time.perf_counter() - server.started, resp
        last = resp.error or f"status {resp.status}"
        time.sleep(interval)
    raise BenchError(f"no {status or 'HTTP'} answer from {server.base_url} within {timeout:.0f}s (last: {last})")
