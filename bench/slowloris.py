"""README Performance row 9: slow connections that send their request head a byte a second.

While `count` such connections trickle, other clients must still be served within the normal
latency (p99 of fresh-connection probes no worse than NORMAL_FACTOR x the quiet p99 plus
NORMAL_SLACK_S), and the server must close every slow connection by a timeout before its head
would ever be complete.
"""
from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence
from urllib.parse import urlsplit

from specs import get_spec

from ._probes import ProbeRequest, probe_request
from ._procs import Server, mock_argv, start
from ._report import floor, table
from .throughput import mock_options

# "Within the normal latency": a loaded 2-core machine jitters, so 2x the quiet p99 plus 5 ms.
NORMAL_FACTOR = 2.0
NORMAL_SLACK_S = 0.005


def p99(samples: Sequence[float]) -> float:
    """The 99th percentile (nearest rank) of latency samples, in seconds."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def latencies(base_url: str, request: ProbeRequest, n: int) -> tuple[list[float], int]:
    """n probes, each on a fresh connection: their latencies and how many got no answer."""
    out, failed = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            resp = request.send(base_url, timeout=10.0)
        except OSError:
            failed += 1
            continue
        if resp.status != request.expect_status:
            failed += 1
        out.append(time.perf_counter() - t0)
    return out, failed


@dataclass
class SlowClients:
    """`count` connections writing `head` one byte per `interval`, in a thread of their own."""

    host: str
    port: int
    count: int
    head: bytes
    interval: float = 1.0
    opened: int = 0
    closed_after: list[float] = field(default_factory=list)
    answered: int = 0
    completed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the connections and start trickling."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()

    def wait_closed(self, timeout: float) -> None:
        """Wait until the server has closed every slow connection, or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.closed_after) + self.completed < self.count:
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop trickling and close what is still open (within about one interval)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)

    async def _main(self) -> None:
        await asyncio.gather(*(self._one() for _ in range(self.count)))

    async def _one(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.closed_after.append(0.0)
            return
        self.opened += 1
        t0 = time.monotonic()
        try:
            for byte in self.head:
                if self._stop.is_set():
                    return
                try:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    data = await asyncio.wait_for(reader.read(4096), self.interval)
                except asyncio.TimeoutError:
                    continue  # still open, nothing said: send the next byte
                except (ConnectionError, OSError):
                    data = b""
                # EOF (or a reset) is the server's timeout closing us; bytes are an early answer (408/400).
                self.answered += bool(data)
                self.closed_after.append(time.monotonic() - t0)
                return
            self.completed += 1
        finally:
            writer.close()


@dataclass
class SlowResult:
    """What the slow-connection run saw."""

    provider: str
    count: int
    opened: int
    quiet_p99: float
    loaded_p99: float
    loaded_failed: int
    closed: int
    answered: int
    close_times: list[float]
    waited: float

    @property
    def ceiling(self) -> float:
        """The p99 the loaded probes must stay under."""
        return NORMAL_FACTOR * self.quiet_p99 + NORMAL_SLACK_S

    def problems(self) -> list[str]:
        """Every way the run failed; empty when it passed."""
        out = []
        if self.loaded_failed:
            out.append(f"{self.loaded_failed} probes went unanswered while the slow connections were open")
        if self.loaded_p99 > self.ceiling:
            out.append(f"probe p99 {self.loaded_p99 * 1000:.1f} ms with slow connections open, over "
                       f"{self.ceiling * 1000:.1f} ms (quiet p99 {self.quiet_p99 * 1000:.1f} ms)")
        if self.opened < self.count:
            out.append(f"only {self.opened} of {self.count} slow connections could be opened")
        if self.closed < self.opened:
            out.append(f"{self.opened - self.closed} of {self.opened} slow connections were still open after "
                       f"{self.waited:.0f} s: the server has no timeout for a request head")
        return out


def run_server(server: Server, provider: str, count: int = 200, close_within: float = 120.0,
               probes: int = 200, interval: float = 1.0) -> SlowResult:
    """Measure quiet latency, open the slow connections, measure again, wait for the server to close them."""
    spec = get_spec(provider)
    req = probe_request(spec, "valid", server.keys["valid"])
    parts = urlsplit(server.base_url)
    quiet, _ = latencies(server.base_url, req, probes)
    # A head that cannot be complete before close_within: the request line, then padding a byte a second.
    head = f"{spec.probe.method} {spec.probe.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nX-Slow: ".encode()
    head += b"a" * int(close_within / interval + 60)
    slow = SlowClients(parts.hostname or "127.0.0.1", parts.port or 80, count, head, interval)
    t0 = time.monotonic()
    slow.start()
    try:
        time.sleep(min(3.0, close_within / 4))
        loaded, failed = latencies(server.base_url, req, probes)
        slow.wait_closed(max(0.0, close_within - (time.monotonic() - t0)))
        waited = time.monotonic() - t0
    finally:
        slow.stop()
    return SlowResult(provider, count, slow.opened, p99(quiet), p99(loaded), failed, len(slow.closed_after),
                      slow.answered, sorted(slow.closed_after), waited)


def run_provider(provider: str, count: int = 200, close_within: float = 120.0) -> SlowResult:
    """Start the mock and run the slow connections against it."""
    spec = get_spec(provider)
    with start(mock_argv(provider, *mock_options(spec))) as mock:
        return run_server(mock, provider, count, close_within)


def report(results: Sequence[SlowResult]) -> str:
    """The slow-connection table, then every problem."""
    rows = []
    for r in results:
        closed = f"{r.closed}/{r.opened}"
        when = f"{statistics.median(r.close_times):.1f} / {max(r.close_times):.1f}" if r.close_times else "-"
        rows.append([r.provider, r.count, r.quiet_p99 * 1000, r.loaded_p99 * 1000, r.loaded_failed, closed, when,
                     floor(not r.problems())])
    out = [table(["provider", "slow conns", "quiet p99 ms", "p99 with slow ms", "unanswered", "closed by server",
                  "closed after s (median / max)", "floor"], rows)]
    out += [f"{r.provider}: {p}" for r in results for p in r.problems()]
    return "\n".join(out)


def as_json(results: Sequence[SlowResult]) -> dict[str, Any]:
    """Plain data for reports/bench/slowloris.json."""
    return {"runs": [{**r.__dict__, "problems": r.problems()} for r in results]}
