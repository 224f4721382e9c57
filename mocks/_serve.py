"""Serving a mock standalone: bind, print the one JSON line, serve until SIGINT/SIGTERM, exit 0."""
from __future__ import annotations

import asyncio
import gc
import json
import signal
import ssl
import sys
from contextlib import contextmanager
from typing import Any, Iterator, TextIO

from aiohttp import web

from specs import atomic_file

from ._app import FAST_PATH, MOCK
from ._fastpath import install as install_fast_path
from ._protocol import QuietRequestHandler, quieten

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


async def make_runner(app: web.Application) -> web.AppRunner:
    """A set-up runner for `app` as every mock serves: quiet error answers, and the probe's fast
    path (mocks/_fastpath.py) unless the app was built with fast_path=False (bench/inprocess.py
    feeds requests to it without a socket)."""
    # auto_decompress off: the mock undoes content codings itself, bounded (mocks/_body.py decode),
    # after the auth decision can be made; aiohttp's own decoder fails the read (a 500 before).
    # keepalive_timeout: a connection idle after its last response is closed as a head that does not
    # come is (the head deadline, mocks/_protocol.py), not after aiohttp's default hour (RFC 9112
    # §9.5: a server may close an idle connection at any time); the same with and without the fast path.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS,
                           auto_decompress=False, keepalive_timeout=QuietRequestHandler.head_timeout)
    await runner.setup()
    quieten(runner, app[MOCK].refused)
    if app[FAST_PATH]:
        install_fast_path(app, runner.server)
    return runner


async def start(app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                reuse_port: bool = False) -> tuple[web.AppRunner, str]:
    """Start serving an app; returns its runner and base URL (port 0 becomes the port bound).
    `reuse_port`: SO_REUSEPORT, so `serve --workers` processes listen on one port."""
    runner = await make_runner(app)
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_port=reuse_port or None)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, base_url(host, bound, ssl_context is not None)


def write_journal(app: web.Application, path: str) -> int:
    """Write every journal entry (redacted) to `path` as JSON Lines, atomically; returns the count."""
    return write_entries(app[MOCK].entries(0), path)


def write_entries(entries: list[dict[str, Any]], path: str) -> int:
    """Write journal entries to `path` as JSON Lines, atomically; returns the count.

    Written to a sibling temporary file and renamed, so a reader never sees a journal cut short.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with atomic_file(path, sync=True) as fh:
        for entry in entries:
            fh.write(encode(entry) + "\n")
    return len(entries)


async def _serve(app: web.Application, host: str, port: int, out: TextIO, tls: bool) -> None:
    material = None
    if tls:
        from ._tls import make_tls  # needs trustme; only loaded for --tls

        material = make_tls()
    try:
        await _serve_until_signal(app, host, port, out, material)
    finally:
        if material is not None:
            material.close()


async def _serve_until_signal(app: web.Application, host: str, port: int, out: TextIO, material: Any) -> None:
    runner, url = await start(app, host, port, material.server_context if material else None)
    # Everything built so far (modules, spec, plan, keys) lives as long as the process: moved out
    # of the collector's view, a full collection under load walks only what requests made. (No
    # gc.collect() first: it would cost the cold start ~10 ms to free a little start-up garbage.)
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        out.write(serve_line(app, url, str(material.ca_path) if material else None) + "\n")
        out.flush()
        await stop.wait()
    finally:
        ignore_stop_signals(loop)
        await runner.cleanup()


# True when this process ends as soon as its command returns (`python -m mocks ...` sets it): a
# stop's held signals are then never handed back, so a late Ctrl-C cannot raise KeyboardInterrupt
# (or a late TERM kill with -15) on the way out.
PROCESS_ENDS_WITH_COMMAND = False


@contextmanager
def stop_signals_restored() -> Iterator[None]:
    """On leaving, the caller's SIGINT/SIGTERM mask and handlers are back, whatever the stop inside
    did to them (blocked, ignored, asyncio's handlers removed): signal state is the process's, and
    serve or gate run in-process (a test, a tool) must not leave its caller deaf to signals, nor
    its child processes, which inherit both. A signal held since the stop began is dropped. In a
    process that ends with the command (PROCESS_ENDS_WITH_COMMAND) nothing is handed back."""
    if PROCESS_ENDS_WITH_COMMAND:
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    handlers = {sig: signal.getsignal(sig) for sig in stops}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        yield
    finally:
        for sig in stops:
            signal.signal(sig, signal.SIG_IGN)  # a pending one is discarded when the mask lifts
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in handlers.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def ignore_stop_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Once the stop has begun, a second SIGINT/SIGTERM is ignored, not the default action.

    The stop is already under way (journal still to write); restoring the default handler here
    would let a second signal (Ctrl-C twice, or a supervisor's TERM after the group's INT) kill
    the process mid-write with status -2/-15. The signals are blocked first: removing the loop's
    handler passes through SIGINT's default handler (asyncio's remove_signal_handler), and a signal
    arriving in that moment would raise KeyboardInterrupt; blocked, it stays pending until exit.
    SIGKILL remains for a stop that hangs. `stop_signals_restored` around the run gives the caller
    its own state back."""
    stops = (signal.SIGINT, signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    for sig in stops:
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)


def serve(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 0,
    out: TextIO | None = None,
    tls: bool = False,
    journal_path: str | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 1 when the address cannot be bound or
    the journal cannot be written. With `journal_path`, the journal is written out once the
    server has stopped, so it holds every request answered."""
    with stop_signals_restored():
        try:
            asyncio.run(_serve(app, host, port, out or sys.stdout, tls))
        except OSError as exc:
            print(f"mocks serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if journal_path is not None:
            try:
                write_journal(app, journal_path)
            except OSError as exc:
                print(f"mocks serve: cannot write the journal to {journal_path}: {exc.strerror or exc}", file=sys.stderr)
                return 1
        return 0


def run_options(args: Any) -> dict[str, Any]:
    """build_app keyword arguments from parsed `serve` options."""
    return {"defects": tuple(args.defect or ()), "scenario": args.scenario, "seed": args.seed,
            "rate_limit": not args.no_rate_limit, "journal_bytes": int(args.journal_mib * 2**20),
            "fast_path": not args.no_fast_path}
