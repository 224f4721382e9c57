"""Serving a mock standalone: bind, print the one JSON line, serve until SIGINT/SIGTERM, exit 0."""
from __future__ import annotations

import asyncio
import json
import signal
import ssl
import sys
from typing import Any, TextIO

from aiohttp import web

from ._app import MOCK
from ._protocol import quieten

# A stop signal closes listeners, then waits this long for in-flight requests (well under 2 s).
SHUTDOWN_SECONDS = 0.5


def base_url(host: str, port: int, tls: bool = False) -> str:
    """`http://127.0.0.1:8080`, brackets around an IPv6 host."""
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def serve_line(app: web.Application, url: str, ca_bundle: str | None = None) -> str:
    """The first stdout line of `serve`: provider, base URL and keys (and the CA bundle with TLS)."""
    state = app[MOCK]
    line: dict[str, Any] = {"provider": state.spec.id, "base_url": url, "keys": state.keys()}
    if ca_bundle is not None:
        line["ca_bundle"] = ca_bundle
    return json.dumps(line)


async def start(app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, str]:
    """Start serving an app; returns its runner and base URL (port 0 becomes the port bound)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    quieten(runner)
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, base_url(host, bound, ssl_context is not None)


async def _serve(app: web.Application, host: str, port: int, out: TextIO, tls: bool) -> None:
    material = None
    if tls:
        from ._tls import make_tls  # needs `cryptography`; only loaded for --tls

        material = make_tls()
    try:
        await _serve_until_signal(app, host, port, out, material)
    finally:
        if material is not None:
            material.close()


async def _serve_until_signal(app: web.Application, host: str, port: int, out: TextIO, material: Any) -> None:
    runner, url = await start(app, host, port, material.server_context if material else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        out.write(serve_line(app, url, str(material.ca_path) if material else None) + "\n")
        out.flush()
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0, out: TextIO | None = None, tls: bool = False) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 1 when the address cannot be bound."""
    try:
        asyncio.run(_serve(app, host, port, out or sys.stdout, tls))
    except OSError as exc:
        print(f"mocks serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def run_options(args: Any) -> dict[str, Any]:
    """build_app keyword arguments from parsed `serve` options."""
    return {"defects": tuple(args.defect or ()), "scenario": args.scenario, "seed": args.seed, "rate_limit": not args.no_rate_limit}
