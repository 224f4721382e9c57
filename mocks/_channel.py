"""What `serve --workers` (mocks/_workers.py) shares between its processes: the control channel of
each parent-worker socketpair (length-prefixed marshal messages, calls both ways) and the journal's
numbering across workers (each entry numbered the first time the parent reads it)."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import marshal
import socket
import struct
from array import array
from bisect import bisect_left, bisect_right
from operator import itemgetter
from typing import Any, Awaitable, Callable, Sequence

# A call on the control channel that takes longer than this means the other end is stuck.
CALL_SECONDS = 10.0
_FRAME = struct.Struct("!I")

Handle = Callable[[str, dict[str, Any]], Awaitable[Any]]


class RelayError(ConnectionError):
    """An admin change or read the parent could not complete on every worker."""


class Channel:
    """One end of a parent-worker socketpair: length-prefixed messages, calls in both directions.

    A call is `{"id", "op", "args"}`, its answer `{"re": id, "ok": ...}` or `{"re": id, "error":
    [kind, message]}`; each incoming call runs as its own task, in arrival order. Messages are
    `marshal`led: both ends are the same program (a fork), and a journal of 40,000 entries
    crosses in ~30 ms where JSON took ~0.5 s each way.
    """

    def __init__(self, sock: socket.socket, handle: Handle):
        self.sock = sock
        self.handle = handle
        self._ids = itertools.count(1)
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Wrap the socket in asyncio streams (inside the running loop)."""
        self._reader, self._writer = await asyncio.open_unix_connection(sock=self.sock)

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            raise RelayError("the control channel is closed")
        data = marshal.dumps(message)
        self._writer.write(_FRAME.pack(len(data)) + data)

    async def call(self, op: str, args: dict[str, Any] | None = None, timeout: float = CALL_SECONDS) -> Any:
        """Ask the other end to run `op`; its answer, or its KeyError/ValueError raised here."""
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._calls[ident] = future
        try:
            self._send({"id": ident, "op": op, "args": args or {}})
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise RelayError(f"no answer to {op!r} within {timeout:.0f} s") from None
        finally:
            self._calls.pop(ident, None)

    async def run(self) -> None:
        """Read messages until the other end closes: answers settle calls, calls run as tasks."""
        try:
            while True:
                size = _FRAME.unpack(await self._reader.readexactly(_FRAME.size))[0]
                message = marshal.loads(await self._reader.readexactly(size))
                if "re" in message:
                    self._settle(message)
                else:
                    task = asyncio.create_task(self._answer(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for future in self._calls.values():
                if not future.done():
                    future.set_exception(RelayError("the control channel closed"))
            self.close()

    def _settle(self, message: dict[str, Any]) -> None:
        future = self._calls.get(message["re"])
        if future is None or future.done():
            return
        if "error" in message:
            kind, text = message["error"]
            future.set_exception({"KeyError": KeyError, "ValueError": ValueError}.get(kind, RelayError)(text))
        else:
            future.set_result(message["ok"])

    async def _answer(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"re": message["id"]}
        try:
            reply["ok"] = await self.handle(message["op"], message["args"])
        except KeyError as exc:
            reply["error"] = ["KeyError", str(exc.args[0]) if exc.args else "KeyError"]
        except (ValueError, RelayError) as exc:
            reply["error"] = [type(exc).__name__, str(exc)]
        try:
            self._send(reply)
        except RelayError:
            pass

    async def drain(self) -> None:
        """Wait until everything written has gone to the socket."""
        if self._writer is not None and not self._writer.is_closing():
            try:
                await self._writer.drain()
            except ConnectionError:
                pass

    def close(self) -> None:
        """Close this end (the other end then reads EOF)."""
        if self._writer is not None:
            self._writer.close()
        else:
            self.sock.close()


class Numbering:
    """Journal sequence numbers across workers, given the first time the parent reads an entry.

    Per worker, two parallel increasing arrays map its own `seq` to the journal's. A worker holds
    at most `limit` entries (its newest), so older pairs are dropped, keeping one as the floor.
    """

    def __init__(self, workers: int, limit: int):
        self.last = 0
        self.limit = limit
        self._own = [array("q") for _ in range(workers)]
        self._seq = [array("q") for _ in range(workers)]

    def since(self, worker: int, seq: int) -> int:
        """The worker's own seq after which all its entries numbered above `seq` lie."""
        i = bisect_right(self._seq[worker], seq)
        return self._own[worker][i - 1] if i else 0

    def number(self, pulls: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Renumber the workers' entries (each list in its own seq order); all of them in journal order."""
        out: list[dict[str, Any]] = []
        fresh: list[list[tuple[int, dict[str, Any]]]] = []
        for w, entries in enumerate(pulls):
            own, seq = self._own[w], self._seq[w]
            known = own[-1] if own else 0
            new = []
            for e in entries:
                if e["seq"] <= known:  # read before: it has its number (pulls never skip an entry)
                    e["seq"] = seq[bisect_left(own, e["seq"])]
                    out.append(e)
                else:
                    new.append((w, e))
            fresh.append(new)
        # A merge keeps each worker's own order even if the wall clock stepped back.
        for w, e in heapq.merge(*fresh, key=lambda pair: pair[1]["time"]):
            self.last += 1
            self._own[w].append(e["seq"])
            self._seq[w].append(self.last)
            e["seq"] = self.last
            out.append(e)
        for own, seq in zip(self._own, self._seq):
            if len(own) > 2 * self.limit:
                del own[: len(own) - self.limit - 1], seq[: len(seq) - self.limit - 1]
        out.sort(key=itemgetter("seq"))
        return out
