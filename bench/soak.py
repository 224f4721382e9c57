"""README Performance row 7: a raw-socket soak of malformed requests against a mock.

Each request goes on its own connection (so one malformed request cannot poison the next); the
soak counts answers by status, connections the server closed without an answer, and connections
that got neither within the timeout (hung). Resident memory is read from /proc after the first
window of requests and after the last.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from specs import get_spec
from suites import AdminError, MockAdmin

from . import _malformed
from ._probes import probe_request
from ._procs import Server, mock_argv, start
from ._report import floor, ratio, table

# The ceiling: resident memory growth under 10% between the first and the last 10,000 requests.
RSS_GROWTH_CEILING = 0.10


@dataclass
class SoakResult:
    """What a soak saw."""

    provider: str
    requests: int
    seconds: float
    statuses: Counter = field(default_factory=Counter)
    closed: int = 0
    hung: int = 0
    server_5xx: dict[str, int] = field(default_factory=dict)
    hung_classes: dict[str, int] = field(default_factory=dict)
    rss_first_kib: int = 0
    rss_last_kib: int = 0
    alive: bool = True
    probe_after: int = 0
    rss_trace: list[tuple[int, int]] = field(default_factory=list)

    @property
    def growth(self) -> float:
        """RSS growth from the first window to the last, as a fraction."""
        return ratio(self.rss_last_kib - self.rss_first_kib, self.rss_first_kib)

    def problems(self) -> list[str]:
        """Every way this soak failed its floor (no 5xx, no hang, RSS < +10%); empty when it passed."""
        out = []
        if self.server_5xx:
            out.append("5xx answers for " + ", ".join(f"{k} ({n})" for k, n in sorted(self.server_5xx.items())))
        if self.hung:
            out.append(f"{self.hung} connections got neither an answer nor a close ("
                       + ", ".join(f"{k}: {n}" for k, n in sorted(self.hung_classes.items())) + ")")
        if not self.alive:
            out.append("the mock process died")
        elif self.probe_after != 200:
            out.append(f"after the soak the valid probe got {self.probe_after or 'no answer'}, not 200")
        if self.growth >= RSS_GROWTH_CEILING:
            out.append(f"resident memory grew {self.growth:.1%} ({self.rss_first_kib} -> {self.rss_last_kib} KiB)")
        return out


async def exchange(host: str, port: int, data: bytes, timeout: float) -> tuple[int | None, str]:
    """Send one request on a fresh connection: (status, 'answered' | 'closed' | 'hung')."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            try:
                try:
                    writer.write(data)
                    await writer.drain()
                except (ConnectionError, OSError):
                    pass  # the server may answer and close before reading a long request whole
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return None, "closed"
                status = int(head.split(b" ", 2)[1])
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None)
                if length:
                    try:
                        await reader.readexactly(length)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        pass
                return status, "answered"
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except (ConnectionError, OSError):
                    pass
    except TimeoutError:
        return None, "hung"
    except (ConnectionError, OSError):
        return None, "closed"


async def _soak(base_url: str, provider: str, key: str, rss: Callable[[], int], count: int, window: int,
                concurrency: int, timeout: float, seed: int) -> SoakResult:
    spec = get_spec(provider)
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    source = _malformed.requests(spec, f"{host}:{port}", key, count, seed)
    result = SoakResult(provider, 0, 0.0)
    done = 0
    t0 = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        for klass, data in source:
            status, outcome = await exchange(host, port, data, timeout)
            if outcome == "answered" and status is not None:
                result.statuses[status] += 1
                if status >= 500:
                    result.server_5xx[klass] = result.server_5xx.get(klass, 0) + 1
            elif outcome == "closed":
                result.closed += 1
            else:
                result.hung += 1
                result.hung_classes[klass] = result.hung_classes.get(klass, 0) + 1
            done += 1
            if done % window == 0:
                result.rss_trace.append((done, rss()))
                if done == window:
                    result.rss_first_kib = result.rss_trace[-1][1]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.requests = done
    result.seconds = time.perf_counter() - t0
    result.rss_last_kib = rss()
    return result


def soak_url(base_url: str, provider: str, key: str, count: int, *, window: int = 10_000,
             rss: Callable[[], int] = lambda: 0, concurrency: int = 16, timeout: float = 5.0,
             seed: int = 6) -> SoakResult:
    """Send `count` malformed requests to a server; `rss` reads its resident memory (KiB)."""
    return asyncio.run(_soak(base_url, provider, key, rss, count, max(1, min(window, count)), concurrency,
                             timeout, seed))


def soak(server: Server, provider: str, count: int = 100_000, window: int = 10_000, concurrency: int = 16,
         timeout: float = 5.0, seed: int = 6) -> SoakResult:
    """Soak a running mock with `count` malformed requests; then check it is alive and still answers the probe."""
    result = soak_url(server.base_url, provider, server.keys["valid"], count, window=window, rss=server.rss_kib,
                      concurrency=concurrency, timeout=timeout, seed=seed)
    result.alive = server.alive()
    if result.alive:
        # Reset first: a rate-limited spec has spent its budget on the soak's valid-key requests.
        try:
            MockAdmin(server.base_url).reset()
        except AdminError:
            pass  # the probe below then shows what the mock answers
        resp = probe_request(get_spec(provider), "valid", server.keys["valid"]).send(server.base_url)
        result.probe_after = resp.status
    return result


def run_provider(provider: str, count: int = 100_000, window: int = 10_000, extra: Sequence[str] = ()) -> SoakResult:
    """Start the mock, soak it, stop it."""
    with start(mock_argv(provider, *extra)) as server:
        return soak(server, provider, count, window)


def report(results: Sequence[SoakResult]) -> str:
    """The soak table, then every problem."""
    rows = [[r.provider, r.requests, r.seconds, " ".join(f"{s}:{n}" for s, n in sorted(r.statuses.items())),
             r.closed, r.hung, sum(r.server_5xx.values()), r.rss_first_kib // 1024, r.rss_last_kib // 1024,
             f"{r.growth:+.1%}", floor(not r.problems())] for r in results]
    out = [table(["provider", "requests", "seconds", "statuses", "closed", "hung", "5xx", "RSS first MiB",
                  "RSS last MiB", "growth", "floor"], rows)]
    out += [f"{r.provider}: {p}" for r in results for p in r.problems()]
    return "\n".join(out)


def as_json(results: Sequence[SoakResult]) -> dict[str, Any]:
    """Plain data for reports/bench/soak.json."""
    return {"runs": [{**r.__dict__, "statuses": dict(r.statuses), "growth": r.growth, "problems": r.problems()}
                     for r in results]}
