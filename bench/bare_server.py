"""The limit the mocks race: a bare aiohttp handler, no auth, answering one route with a fixed response.

`python bench/bare_server.py --method POST --path /v1/monitor --status 200 --body '{...}' --port 0`
prints `{"base_url": ...}` as its first stdout line, like `python -m mocks serve`, then serves until
SIGINT/SIGTERM and exits 0. It imports aiohttp only, so its cold start is aiohttp's own.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from aiohttp import web


def build_app(method: str, path: str, status: int, body: bytes, content_type: str) -> web.Application:
    """An app whose one route answers every request with the same status and body."""

    async def handler(request: web.Request) -> web.Response:
        """The fixed response: no auth, no body parsing."""
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route(method, path, handler)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Bind, print the JSON line, serve until a signal."""
    app = build_app(args.method, args.path, args.status, args.body.encode("utf-8"), args.content_type)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"base_url": f"http://{args.host}:{port}"}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="bare_server.py", description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--body", default="{}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535 (0 = any free port), got {args.port}")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
