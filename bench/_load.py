"""A small keep-alive load client in asyncio, for runs that must not depend on wrk (the tests).

Each connection sends the same request again and again on one socket and reads every answer
whole; a connection the server closes or resets counts as an error and is not reopened. When the
time is up (or the stop event is set) requests still in flight are abandoned.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Answers by status, errors by kind, and how many connections were open at the peak."""

    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    opened: int = 0
    seconds: float = 0.0

    @property
    def answers(self) -> int:
        """How many responses came back whole."""
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        """How many responses were 5xx."""
        return sum(n for s, n in self.statuses.items() if s >= 500)


async def _connection(host: str, port: int, data: bytes, deadline: float, stop: threading.Event,
                      result: LoadResult, opened: asyncio.Event, timeout: float) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        result.errors[f"connect: {type(exc).__name__}"] += 1
        return
    result.opened += 1
    await opened.wait()  # every connection open before the first request: they are concurrent
    try:
        while time.monotonic() < deadline and not stop.is_set():
            writer.write(data)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            status = int(head.split(b" ", 2)[1])
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if length:
                await asyncio.wait_for(reader.readexactly(length), timeout)
            result.statuses[status] += 1
            if b"connection: close" in head.lower():
                result.errors["server closed keep-alive"] += 1
                return
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        if not stop.is_set():
            result.errors[f"closed: {type(exc).__name__}"] += 1
    except asyncio.TimeoutError:
        result.errors["timeout"] += 1
    except (OSError, ValueError, IndexError) as exc:
        result.errors[f"{type(exc).__name__}"] += 1
    finally:
        writer.close()


async def _run(host: str, port: int, data: bytes, connections: int, seconds: float, stop: threading.Event,
               timeout: float) -> LoadResult:
    result = LoadResult()
    opened = asyncio.Event()
    t0 = time.monotonic()
    tasks = [asyncio.create_task(_connection(host, port, data, t0 + seconds + timeout, stop, result, opened, timeout))
             for _ in range(connections)]
    # Release the requests once every connection is open (or could not be).
    while result.opened + sum(result.errors.values()) < connections and time.monotonic() - t0 < timeout:
        await asyncio.sleep(0.01)
    start = time.monotonic()
    opened.set()
    deadline = start + seconds
    while time.monotonic() < deadline and not stop.is_set() and not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    stop.set()
    for task in tasks:  # a request still waiting for its answer is abandoned, not awaited
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.seconds = time.monotonic() - start
    return result


def hammer(host: str, port: int, data: bytes, connections: int, seconds: float,
           stop: threading.Event | None = None, timeout: float = 10.0) -> LoadResult:
    """Open `connections` keep-alive connections, send `data` on each for `seconds` (or until stop is set)."""
    return asyncio.run(_run(host, port, data, connections, seconds, stop or threading.Event(), timeout))
