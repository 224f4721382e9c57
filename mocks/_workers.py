"""`serve --workers N`: N forked processes accept on one port (SO_REUSEPORT); the parent keeps the state.

Every worker is a fork of one built app, so all start with the same plan and the same keys (a
shared seed, secret when the user gave none: later mints are the same in every copy). A probe
request never leaves the worker that accepted it. An admin change (mint, expire, revoke, journal
clear, reset, and an exchange that must re-mint the user's token) goes to the parent over the
worker's control channel (mocks/_channel.py), a socketpair made before the fork (no path on disk); the parent applies
it to its own copy, pushes it to every worker, checks they all got the same answer, and only then
answers: after any admin call, every connection sees the change (read-your-writes).

The journal stays with each worker. A read (GET journal, the --journal file) goes through the
parent, which numbers each entry the first time it reads it (new entries of all workers merged by
time): numbers are unique, increasing and never change, so `since=` works across workers.

A worker can die or hang (SIGKILL, SIGSTOP, a stuck loop). The parent notices within a bound (the
channel's EOF at once; a heartbeat for silence), kills a silent one and serves on with the rest:
no admin call, journal read or stop waits on a lost worker past WORKER_SECONDS, and the stop
writes the journal of every worker still there.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import signal
import socket
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from aiohttp import web

from specs import ProviderSpec

from ._app import CHANGES, MOCK, MockState
from ._channel import CALL_SECONDS, Channel, Handle, Numbering, RelayError
from ._scenarios import Scenario
from ._serve import SHUTDOWN_SECONDS, base_url, ignore_stop_signals, serve_line, start, stop_signals_restored, write_entries

MAX_WORKERS = 64
# Every worker must have bound the port and said so within this long.
READY_SECONDS = 30.0
# A stop: each worker closes its listener and lets in-flight requests finish (SHUTDOWN_SECONDS),
# then hands over its journal (measured: 0.3 s for 75,000 entries in all); a worker still silent
# after this long is given up (the journal is then not written) and killed.
STOP_SECONDS = SHUTDOWN_SECONDS + 2.5
# A worker told to stop by a signal of its own waits this long for the parent to run the stop.
TERM_GRACE = 2.0
# A worker that has not answered the parent for this long is stuck (SIGSTOP, a hung loop): the
# parent SIGKILLs it, which also closes its listening socket, so the kernel stops handing it
# connections (SO_REUSEPORT would keep routing to a stopped process), and serves on with the
# rest. The parent asks every worker for a sign of life WORKER_SECONDS / 3 apart, and an admin
# change waits at most this long for any one worker; a journal read (which can take a worker a
# second per few hundred thousand entries) waits up to CALL_SECONDS, unless the heartbeat finds
# the worker stuck first. Tests shorten it through AUTHCONFORM_WORKER_SECONDS.
WORKER_SECONDS = float(os.environ.get("AUTHCONFORM_WORKER_SECONDS") or 5.0)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

def workers_count(text: str) -> int:
    """argparse type: a worker count 1..64."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"invalid worker count {text!r}; --workers takes a whole number 1..{MAX_WORKERS} (1: one process, as without it)")
    return int(text)


def refusal(spec: ProviderSpec, workers: int, scenario: Scenario | None, rate_limit: bool) -> str | None:
    """Why `--workers N` cannot serve these options (per-request counters are per process), or None."""
    if workers < 2:
        return None
    if not hasattr(socket, "SO_REUSEPORT"):
        return "--workers N > 1 needs SO_REUSEPORT, which this platform lacks; use --workers 1"
    if scenario is not None:
        return (f"--scenario {scenario} counts requests, and each of {workers} workers would count only its own; "
                f"run it with --workers 1")
    if spec.rate_limit is not None and rate_limit:
        rl = spec.rate_limit
        return (f"{spec.id} has a rate limit ({rl.requests} requests per {rl.window_seconds} s) that each of {workers} "
                f"workers would count on its own; add --no-rate-limit, or use --workers 1")
    return None


def shared_seed(seed: str | int | None) -> str | int:
    """The seed every worker's key store uses: the user's, else a fresh secret one."""
    return secrets.token_hex(16) if seed is None else seed


# -- a worker --------------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this worker when the parent dies, even by SIGKILL (elsewhere the channel's EOF does)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # loaded in the worker only: `serve` without --workers does not pay for it

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


async def _work(app: web.Application, index: int, sock: socket.socket, host: str, port: int, ssl_context: Any) -> None:
    state: MockState = app[MOCK]
    state.worker = {"index": index, "pid": os.getpid()}
    done = asyncio.Event()
    runner: web.AppRunner | None = None
    stopped = False

    async def close_listener() -> None:
        nonlocal stopped
        if runner is not None and not stopped:
            stopped = True
            await runner.cleanup()

    def pull(args: dict[str, Any]) -> dict[str, Any]:
        return {"entries": state.entries(int(args["since"])), "dropped": state.journal.dropped}

    async def handle(op: str, args: dict[str, Any]) -> Any:
        if op == "journal":
            return pull(args)
        if op == "ping":  # the parent's heartbeat: a worker whose loop runs answers at once
            return {}
        if op == "stop":  # no new connections, in-flight requests answered, then the whole journal
            await close_listener()
            return pull(args)
        if op in CHANGES:
            return state.apply(op, args)
        raise ValueError(f"unknown control call {op!r}")

    channel = Channel(sock, handle)
    await channel.open()
    reading = asyncio.create_task(channel.run())
    reading.add_done_callback(lambda _: done.set())  # the parent is gone, or done with us
    loop = asyncio.get_running_loop()

    def term() -> None:
        # A SIGTERM here (a process-group signal, or this worker alone): the parent runs the stop
        # of every worker, journal included; without an answer soon, stop alone.
        asyncio.ensure_future(_ask_stop(channel))
        loop.call_later(TERM_GRACE, done.set)

    loop.add_signal_handler(signal.SIGTERM, term)
    try:
        runner, url = await start(app, host, port, ssl_context, reuse_port=True)
    except OSError as exc:
        await channel.call("ready", {"error": f"cannot listen on {host}:{port}: {exc.strerror or exc}"})
        return
    state.relay = channel.call
    # As a single `serve` does (mocks/_serve.py): start-up objects out of the collector's view.
    gc.freeze()
    await channel.call("ready", {"url": url})
    await done.wait()
    await close_listener()
    await channel.drain()
    channel.close()


async def _ask_stop(channel: Channel) -> None:
    try:
        await channel.call("term")
    except RelayError:
        pass


def _worker(app: web.Application, index: int, sock: socket.socket, host: str, port: int, ssl_context: Any, parent: int) -> None:
    """A forked worker's whole life; never returns (os._exit: nothing of the parent's runs here)."""
    code = 0
    try:
        _die_with_parent(parent)
        # Ctrl-C reaches the whole process group; the parent runs the stop for every worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.run(_work(app, index, sock, host, port, ssl_context))
    except BaseException as exc:  # a worker must not fall back into the parent's code
        print(f"mocks serve: worker {index} failed: {type(exc).__name__}", file=sys.stderr)
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# -- the parent ------------------------------------------------------------------------------------
class Parent:
    """The parent of N workers: the authoritative state, the admin changes, the journal reads, the stop."""

    def __init__(self, app: web.Application, pids: Sequence[int], socks: Sequence[socket.socket], url: str):
        self.app = app
        self.state: MockState = app[MOCK]
        self.pids = list(pids)
        self.url = url
        self.channels = [Channel(s, self._handler(i)) for i, s in enumerate(socks)]
        self.numbering = Numbering(len(socks), self.state.journal.limit)
        self.ready: dict[int, dict[str, Any]] = {}
        # Workers still serving; one that died or got stuck leaves (its journal entries with it).
        self.alive: set[int] = set(range(len(socks)))
        self._stopping = False

    def _handler(self, index: int) -> Handle:
        async def handle(op: str, args: dict[str, Any]) -> Any:
            if op == "ready":
                self.ready[index] = args
                self._event.set()
                return {}
            if op == "term":
                self._stop.set()
                return {}
            async with self._lock:
                if op == "journal":
                    return await self.journal(int(args["since"]))
                if op in CHANGES:
                    return await self.change(op, args)
            raise ValueError(f"unknown control call {op!r}")

        return handle

    async def _each(self, op: str, args: Callable[[int], dict[str, Any]], timeout: float = WORKER_SECONDS) -> dict[int, Any]:
        """Call `op` on every live worker at once; their answers by index. A worker that does not
        answer within `timeout` (or whose channel closed) is lost and left out: never a hang."""
        live = sorted(self.alive)
        answers = await asyncio.gather(*(self.channels[i].call(op, args(i), timeout=timeout) for i in live),
                                       return_exceptions=True)
        out = {}
        for i, answer in zip(live, answers):
            if isinstance(answer, RelayError):
                self._lose(i, f"did not answer {op!r} within {timeout:g} s")
            elif isinstance(answer, BaseException):
                raise answer  # KeyError/ValueError: the change is refused, as in the parent
            else:
                out[i] = answer
        return out

    async def change(self, op: str, args: dict[str, Any]) -> Any:
        """Apply one admin change here (KeyError/ValueError: nothing changes), then on every worker."""
        mine = self.state.apply(op, args)
        answers = (await self._each(op, lambda i: args)).values()
        if op == "clear":  # the parent's own journal is always empty: the workers' counts are the answer
            return {"cleared": sum(a["cleared"] for a in answers)}
        if any(a != mine for a in answers):
            raise RelayError(f"{op}: a worker's state no longer matches the parent's")
        return mine

    async def journal(self, since: int) -> dict[str, Any]:
        """The journal of every live worker after `since`, numbered across workers."""
        pulls = await self._each("journal", lambda i: {"since": self.numbering.since(i, since)}, timeout=CALL_SECONDS)
        entries = self.numbering.number([pulls[i]["entries"] if i in pulls else [] for i in range(len(self.channels))])
        return {"entries": [e for e in entries if e["seq"] > since], "dropped": sum(p["dropped"] for p in pulls.values())}

    def _lose(self, index: int, why: str) -> None:
        """A worker died or got stuck: SIGKILL it (a stuck one keeps its listening socket, and the
        kernel keeps handing it connections), say so on stderr, serve on with the rest."""
        if index not in self.alive:
            return
        self.alive.discard(index)
        pid = self.pids[index]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.channels[index].close()
        then = "stopping" if self._stopping else f"serving on with {len(self.alive)} worker(s)"
        print(f"mocks serve: worker {index} (pid {pid}) {why}; killed, its journal entries are lost; {then}",
              file=sys.stderr, flush=True)
        self._event.set()

    async def _heartbeat(self) -> None:
        """Ask every live worker for a sign of life, WORKER_SECONDS / 3 apart; a silent one is lost."""
        while self.alive:
            await asyncio.sleep(WORKER_SECONDS / 3)
            await self._each("ping", lambda i: {})

    async def run(self, out: TextIO, ca_bundle: str | None, journal_path: str | None) -> int:
        """Wait for every worker, print the serve line, serve until a signal (or every worker is lost)."""
        self._lock = asyncio.Lock()
        self._event = asyncio.Event()  # a worker said ready, a channel closed, a worker was lost
        self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        for c in self.channels:
            await c.open()
        reading = [asyncio.create_task(c.run()) for c in self.channels]
        for task in reading:
            task.add_done_callback(lambda _: self._event.set())
        try:
            failure = await self._started(reading)
            if failure is None:
                out.write(serve_line(self.app, self.url, ca_bundle) + "\n")
                out.flush()
                failure = await self._serve(reading)
            if failure is not None:
                print(f"mocks serve: {failure}", file=sys.stderr)
            code = await self._shutdown(journal_path)
            return 1 if failure is not None or len(self.alive) < len(self.channels) else code
        finally:
            ignore_stop_signals(loop)

    async def _serve(self, reading: list[asyncio.Task[None]]) -> str | None:
        """Serve until a stop signal (None), or until no worker is left (what happened)."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stop.is_set():
                for i, task in enumerate(reading):
                    if task.done() and i in self.alive:  # its channel closed: it died
                        self._lose(i, _how_it_ended(self.pids[i], wait=0.2))
                if not self.alive:
                    return "every worker is gone; stopped"
                self._event.clear()
                stop = asyncio.create_task(self._stop.wait())
                event = asyncio.create_task(self._event.wait())
                await asyncio.wait([stop, event], return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                event.cancel()
            return None
        finally:
            heartbeat.cancel()

    async def _started(self, reading: list[asyncio.Task[None]]) -> str | None:
        """None once every worker listens; else what went wrong, in one line."""
        deadline = time.monotonic() + READY_SECONDS
        while len(self.ready) < len(self.channels):
            errors = [r["error"] for r in self.ready.values() if "error" in r]
            if errors:
                return errors[0]
            if any(t.done() for t in reading):
                return self._death(reading)
            if self._stop.is_set():
                return "stopped by a signal before every worker was listening"
            self._event.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return f"{len(self.channels) - len(self.ready)} worker(s) not listening after {READY_SECONDS:.0f} s"
            stop = asyncio.create_task(self._stop.wait())
            event = asyncio.create_task(self._event.wait())
            await asyncio.wait([stop, event], timeout=left, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            event.cancel()
        errors = [r["error"] for r in self.ready.values() if "error" in r]
        return errors[0] if errors else None

    def _death(self, reading: list[asyncio.Task[None]]) -> str:
        index = next(i for i, t in enumerate(reading) if t.done())
        pid = self.pids[index]
        return f"worker {index} (pid {pid}) {_how_it_ended(pid)}; stopped the other workers"

    async def _shutdown(self, journal_path: str | None) -> int:
        """Stop every live worker (each answers what is in flight first), then write the journal:
        always what it has, the entries of every worker that handed them over."""
        self._stopping = True
        async with self._lock:
            pulls = await self._each("stop", lambda i: {"since": 0}, timeout=STOP_SECONDS)
        for c in self.channels:
            c.close()
        if journal_path is None:
            return 0
        lost = [i for i in range(len(self.channels)) if i not in pulls]
        if lost:
            print(f"mocks serve: {journal_path} lacks the entries of worker(s) {', '.join(map(str, lost))}",
                  file=sys.stderr)
        try:
            write_entries(self.numbering.number([pulls[i]["entries"] if i in pulls else []
                                                 for i in range(len(self.channels))]), journal_path)
        except OSError as exc:
            print(f"mocks serve: cannot write the journal to {journal_path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        return 1 if lost else 0


def _how_it_ended(pid: int, wait: float = 1.0) -> str:
    """`was killed by SIGKILL` / `exited with status 3` / `closed its control channel` (bounded wait).

    It blocks the parent's loop for at most `wait`: only ever called once the server is failing."""
    deadline = time.monotonic() + wait
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return "is gone"
        if done:
            if os.WIFSIGNALED(status):
                return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
            return f"exited with status {os.WEXITSTATUS(status)}"
        if time.monotonic() >= deadline:
            return "closed its control channel"
        time.sleep(0.02)


def _reap(pids: Sequence[int], wait: float = STOP_SECONDS) -> None:
    """Wait for every worker to exit; SIGKILL any still running after `wait` seconds."""
    deadline = time.monotonic() + wait
    left = set(pids)
    while left:
        for pid in list(left):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                left.discard(pid)
        if not left:
            return
        if time.monotonic() >= deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            return
        time.sleep(0.01)


def _reserve(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to host:port with SO_REUSEPORT: picks the port for `--port 0`
    and holds it while the workers bind it too. Connections go to listening sockets only."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve_workers(
    app: web.Application,
    workers: int,
    host: str = "127.0.0.1",
    port: int = 0,
    out: TextIO | None = None,
    tls: bool = False,
    journal_path: str | None = None,
) -> int:
    """Serve `app` from `workers` forked processes on one port until SIGINT/SIGTERM, as `serve` does.

    The app's key store must be seeded (`shared_seed`), so every copy mints the same keys. 0 on a
    clean stop; 1 when the port cannot be bound, a worker was lost (the journal file then holds the
    others' entries), or the journal cannot be written.
    """
    material = None
    if tls:
        from ._tls import make_tls  # needs trustme; only loaded for --tls

        material = make_tls()
    try:
        try:
            reserved = _reserve(host, port)
        except OSError as exc:
            print(f"mocks serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        with reserved:
            bound = reserved.getsockname()[1]
            pairs = [socket.socketpair() for _ in range(workers)]
            pids = _fork(app, pairs, reserved, host, bound, material.server_context if material else None)
            for _, theirs in pairs:
                theirs.close()
            parent = Parent(app, pids, [mine for mine, _ in pairs], base_url(host, bound, tls))
            try:
                with stop_signals_restored():
                    return asyncio.run(parent.run(out or sys.stdout, str(material.ca_path) if material else None, journal_path))
            finally:
                _reap(pids)
    finally:
        if material is not None:
            material.close()


def _fork(app: web.Application, pairs: list[tuple[socket.socket, socket.socket]], reserved: socket.socket,
          host: str, port: int, ssl_context: Any) -> list[int]:
    """Fork one worker per socketpair; each keeps only its own end (so the parent's death is its EOF)."""
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pids = []
    for index, (_, theirs) in enumerate(pairs):
        pid = os.fork()
        if pid == 0:
            reserved.close()
            for j, (mine, other) in enumerate(pairs):
                mine.close()
                if j != index:
                    other.close()
            _worker(app, index, theirs, host, port, ssl_context, parent)
        pids.append(pid)
    return pids
