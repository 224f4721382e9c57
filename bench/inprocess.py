"""Server CPU per request without sockets: the mock's and the bare handler's, the steadier A/B.

Over loopback, req/s and even CPU per request move 10-25% between rounds on a shared machine,
more than the differences a change to the hot path makes. Here each server's own aiohttp
protocol gets the same request bytes through an in-memory transport (pipelined in batches of
100, answers counted as they are written), so the figure is the CPU the server's Python spends
per request (aiohttp's parser, the handler, the response) with the kernel's share left out.
Rounds alternate between the bare and the mock server; a figure is the best round (interference
only ever adds time) and the median is kept too. The mock is prepared as `serve` prepares it
(mocks/_serve.py `make_runner`); the bare app is bench/bare_server.py's. After each path's pairs
of rounds, the same mock built without its fast path (`build_app(fast_path=False)`: aiohttp's
public API only, mocks/_fastpath.py left out) runs as many rounds, so the fast path's worth is
measured in the same run.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from aiohttp import web

from mocks import MOCK, build_app, make_runner
from specs import get_spec

from . import bare_server
from ._probes import PATHS, probe_request
from ._report import table

BATCH = 100


class _Transport(asyncio.Transport):
    """Swallows what the server writes, counting the responses in it."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0
        self._closing = False

    def write(self, data: Any) -> None:
        self.answers += bytes(data).count(b"HTTP/1.1 ")

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(bytes(x) for x in lines))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def abort(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


async def _round(runner: web.AppRunner, raw: bytes, requests: int, timeout: float = 10.0) -> float:
    """CPU microseconds per request for `requests` requests on one connection (RuntimeError when a
    batch is not answered within `timeout` seconds)."""
    assert runner.server is not None
    protocol = runner.server()
    transport = _Transport()
    protocol.connection_made(transport)
    started = time.process_time()
    for i in range(requests // BATCH):
        protocol.data_received(raw * BATCH)
        deadline = time.monotonic() + timeout
        while transport.answers < (i + 1) * BATCH:
            if time.monotonic() > deadline:
                raise RuntimeError("the server stopped answering the in-memory requests")
            await asyncio.sleep(0)
    spent = time.process_time() - started
    protocol.connection_lost(None)
    return spent / requests * 1e6


@dataclass
class CpuRun:
    """One provider and path: microseconds per request of each round, bare, mock, and mock
    without its fast path (`plain`)."""

    provider: str
    path: str
    bare: list[float] = field(default_factory=list)
    mock: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Bare over mock, best rounds: the req/s ratio these costs would give (above 1: the mock is cheaper)."""
        return min(self.bare) / min(self.mock) if self.bare and self.mock else 0.0

    @property
    def saved(self) -> float:
        """Microseconds per request the fast path saves, best rounds (0.0 when not measured)."""
        return min(self.plain) - min(self.mock) if self.plain and self.mock else 0.0


async def _provider(provider: str, rounds: int, requests: int) -> list[CpuRun]:
    spec = get_spec(provider)
    success = spec.probe.success
    # One seed: the same keys in both mocks, so one request means the same to each.
    mock_app = build_app(spec, rate_limit=False, seed="bench")
    plain_app = build_app(spec, rate_limit=False, seed="bench", fast_path=False)
    bare_app = bare_server.build_app(spec.probe.method, spec.probe.path, success.status, success.body_bytes(),
                                     "application/json")
    mock, plain = await make_runner(mock_app), await make_runner(plain_app)
    bare = web.AppRunner(bare_app, access_log=None, handle_signals=False)
    await bare.setup()
    key = mock_app[MOCK].keys()["valid"]
    runs = []
    try:
        for path in PATHS:
            raw = probe_request(spec, path, key).raw().encode("127.0.0.1:8080")
            run = CpuRun(provider, path)
            for runner in (bare, mock, plain):  # warm each before measuring
                await _round(runner, raw, BATCH)
            for _ in range(rounds):
                run.bare.append(await _round(bare, raw, requests))
                run.mock.append(await _round(mock, raw, requests))
            # After the pair's rounds, not between them: a third server's rounds in between made the
            # mock's best round 0.3 us slower (measured), and the pair is the headline figure.
            for _ in range(rounds):
                run.plain.append(await _round(plain, raw, requests))
            runs.append(run)
    finally:
        await mock.cleanup()
        await plain.cleanup()
        await bare.cleanup()
    return runs


def run_provider(provider: str, rounds: int = 15, requests: int = 2000) -> list[CpuRun]:
    """Every path of one provider, `rounds` alternating rounds of `requests` each."""
    return asyncio.run(_provider(provider, rounds, requests))


def report(runs: Sequence[CpuRun]) -> str:
    """The table: best and median microseconds per request, the ratio, and the fast path's worth."""
    med = statistics.median
    rows = [[r.provider, r.path, min(r.bare), min(r.mock), min(r.mock) - min(r.bare), med(r.bare), med(r.mock),
             f"{r.ratio:.2f}x", min(r.plain), r.saved] for r in runs]
    return table(["provider", "path", "bare us (best)", "mock us (best)", "mock extra us", "bare us (median)",
                  "mock us (median)", "bare/mock", "mock us (no fast path, best)", "fast path saves us"], rows)


def as_json(runs: Sequence[CpuRun]) -> dict[str, Any]:
    """Plain data for reports/bench/cpu.json."""
    return {"batch": BATCH, "runs": [{**r.__dict__, "ratio": r.ratio, "saved": r.saved} for r in runs]}
