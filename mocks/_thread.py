"""A mock served from a background thread on 127.0.0.1, port 0: for tests and pytest fixtures."""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, TypeVar

from aiohttp import web

from specs import ProviderSpec

from ._app import MOCK, MockState, build_app
from ._serve import start

T = TypeVar("T")
STOP_SECONDS = 5.0


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the cleanup left running (a connection lingering over an unread body, say) and
    let it finish, so closing the loop destroys no pending task (asyncio logs each one)."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class MockServer:
    """One provider mock on a real TCP port, in its own thread and event loop (a context manager)."""

    def __init__(self, spec: ProviderSpec | str, host: str = "127.0.0.1", port: int = 0, **options: Any):
        self.app: web.Application = build_app(spec, **options)
        self.host = host
        self.port = port
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def state(self) -> MockState:
        """The mock's state; touch it from other threads only through `call`."""
        return self.app[MOCK]

    def start(self) -> "MockServer":
        """Bind and serve; returns once the port is open (re-raises a bind error)."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[str] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._runner, url = loop.run_until_complete(start(self.app, self.host, self.port))
            except BaseException as exc:  # handed to the starting thread
                started.set_exception(exc)
                loop.close()
                return
            started.set_result(url)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._runner.cleanup())
                _finish_tasks(loop)
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"mock-{self.state.spec.id}", daemon=True)
        self._thread.start()
        self.base_url = started.result(timeout=STOP_SECONDS)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        thread, loop = self._thread, self._loop
        self._thread = None
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_SECONDS)

    def call(self, fn: Callable[[MockState], T]) -> T:
        """Run `fn(state)` on the server's loop (thread-safe) and return its result."""
        if self._loop is None or self._thread is None:
            return fn(self.state)

        async def job() -> T:
            return fn(self.state)

        return asyncio.run_coroutine_threadsafe(job(), self._loop).result(STOP_SECONDS)

    def keys(self) -> dict[str, Any]:
        """The keys by role (as GET /__authconform__/keys)."""
        return self.call(lambda s: s.keys())

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """The journal, redacted."""
        return self.call(lambda s: s.entries(since))

    def reset(self) -> None:
        """Keys, journal and counters back to the start."""
        self.call(lambda s: s.reset())

    def __enter__(self) -> "MockServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
