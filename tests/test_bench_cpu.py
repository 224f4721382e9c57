"""bench/inprocess.py: the in-memory CPU figure counts real answers, and refuses a server that gives none."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bench import inprocess
from bench._probes import PATHS


def test_every_path_gets_a_figure_for_both_servers() -> None:
    """One short round per path: the three servers (bare, mock, mock without its fast path) answered every
    request (else the round raises)."""
    runs = inprocess.run_provider("claid", rounds=1, requests=inprocess.BATCH)
    assert [r.path for r in runs] == list(PATHS)
    assert all(r.bare[0] > 0 and r.mock[0] > 0 and r.plain[0] > 0 and r.ratio > 0 for r in runs)
    assert "bare/mock" in inprocess.report(runs) and "fast path saves us" in inprocess.report(runs)
    assert inprocess.as_json(runs)["runs"][0]["provider"] == "claid" and "saved" in inprocess.as_json(runs)["runs"][0]


def test_a_server_that_stops_answering_fails_the_round() -> None:
    """A handler that never answers is not timed as fast: the round raises instead of reporting a figure."""

    async def never(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/", never)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        try:
            await inprocess._round(runner, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", inprocess.BATCH, timeout=0.2)
        finally:
            await runner.shutdown()
            await runner.cleanup()

    with pytest.raises(RuntimeError, match="stopped answering"):
        asyncio.run(run())
