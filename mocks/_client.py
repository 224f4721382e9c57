"""The gated client: its command run in a process group (and session) of its own, its output passed
on losslessly with every key redacted, and the whole group stopped on exit, timeout or signal;
jobs that leave the group are found and stopped too (a subreaper on Linux)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Mapping, Sequence

# Every wait is bounded: the client's shutdown after SIGTERM.
KILL_GRACE = 5.0
# The client's output is read in pieces of this size and passed on as bytes (see StreamRedactor).
READ_CHUNK = 64 * 1024
# Output held back waiting for the end of its line is let out after this long without new output.
IDLE_FLUSH = 0.5
# An unfinished line is never held longer than this, whatever it holds.
MAX_HELD = 1 << 20
# The output redactor remembers what it redacted; it is renewed after this much output.
REDACTOR_RENEW = 64 << 20
# Once CMD has exited and its process group is stopped, its output is drained for at most this long.
DRAIN_SECONDS = 2.0


# --- the client command ---------------------------------------------------------------------------


class StreamRedactor:
    """A byte stream redacted piece by piece, losslessly: bytes in, bytes out.

    Bytes are decoded with surrogateescape (any byte sequence survives the round trip, non-UTF-8
    included), redacted with the mock's redactor, encoded back. A piece ends at a newline (no key
    form spans one) or, in a long line, at a point where redacting the two sides apart gives what
    redacting them together gives: a key arriving in two reads is still caught whole. The tail after
    the cut (at most `window` bytes, or a line not finished) waits for more.
    """

    def __init__(self, make: Callable[[], Callable[[str], str]], longest: int):
        self._make = make
        self._redact = make()
        self._seen = 0
        self._pending = b""
        # The redaction of a secret covers at most a few times its length (encoded forms): hold back
        # that much of an unfinished line, and look that far either side of a cut.
        self.window = max(256, 8 * longest + 64)

    def _r(self, data: bytes) -> bytes:
        return self._redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def _clean(self, buf: bytes, cut: int) -> bool:
        lo, hi = max(0, cut - self.window), min(len(buf), cut + self.window)
        return self._r(buf[lo:cut]) + self._r(buf[cut:hi]) == self._r(buf[lo:hi])

    def _cut(self, buf: bytes) -> int:
        """Where the bytes held can be cut (0: keep holding them)."""
        nl = buf.rfind(b"\n")
        if nl >= 0 and len(buf) - nl - 1 <= self.window:
            return nl + 1
        cut = len(buf) - self.window
        step = max(1, self.window // 4)
        for _ in range(8):  # a bounded search back for a clean cut
            if cut <= 0:
                break
            if self._clean(buf, cut):
                return cut
            cut -= step
        # A line that is secrets back to back for 3 windows: cut it anyway once it is long (the
        # redactor still replaces each piece of 6+ characters), never hold the stream unbounded.
        return len(buf) - self.window if len(buf) > MAX_HELD else max(nl + 1, 0)

    def feed(self, data: bytes) -> bytes:
        """Take bytes read; the redacted bytes that can go out now."""
        buf = self._pending + data
        cut = self._cut(buf)
        self._pending = buf[cut:]
        return self._out(buf[:cut])

    def flush(self) -> bytes:
        """Everything still held, redacted (end of stream, or the client went quiet)."""
        buf, self._pending = self._pending, b""
        return self._out(buf)

    def _out(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._seen += len(data)
        if self._seen > REDACTOR_RENEW:  # the redactor remembers texts it saw: bound that memory
            self._redact, self._seen = self._make(), len(data)
        return self._r(data)


class _Sink:
    """Our stdout or stderr as the pump writes to it: once it is gone (a reader that closed the pipe,
    `gate ... | head`), the client's output is still read and dropped, so the client never blocks
    on a full pipe and the gate still judges its run."""

    def __init__(self, sink: BinaryIO):
        self.sink: BinaryIO | None = sink

    def write(self, data: bytes) -> None:
        """Write and flush, unless the sink has gone."""
        if data and self.sink is not None:
            try:
                self.sink.write(data)
                self.sink.flush()
            except (OSError, ValueError):  # EPIPE, or a file closed under us
                gone, self.sink = self.sink, None
                # What stays buffered in it must not fail again when the interpreter exits.
                with contextlib.suppress(OSError, ValueError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, gone.fileno())
                    os.close(devnull)


async def _pump(stream: asyncio.StreamReader | None, sink: BinaryIO, redact: StreamRedactor) -> None:
    """Copy the client's output to ours as it comes, bytes for bytes, key material redacted."""
    if stream is None:
        return
    out = _Sink(sink)
    try:
        while True:
            try:
                data = await asyncio.wait_for(stream.read(READ_CHUNK), IDLE_FLUSH)
            except asyncio.TimeoutError:  # quiet for a while: let a prompt or partial line out
                data = None
            if data == b"":
                return
            out.write(redact.feed(data) if data is not None else redact.flush())
    finally:
        out.write(redact.flush())  # also when the drain is cut short: what was read goes out


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal the client's process group (CMD leads a session of its own); False when none is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _ClientProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's subprocess protocol, telling when the process itself exited: `Process.wait()`
    also waits for the pipes, which a background job of the client can hold open for ever."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop):
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        """Note the exit, then let asyncio close the transport once the pipes are done."""
        super().process_exited()
        self.exited.set()


@dataclass
class ClientRun:
    """How the client command ended: its status, and why the gate counts it as failed, if it does."""

    exit: int
    problem: str | None = None
    timed_out: bool = False
    stopped_by: int | None = None  # the signal that stopped the gate (SIGINT, SIGTERM)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running. A killed background job whose parent has
    gone is a zombie until init reaps it (some inits take seconds): zombies do not count."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return _signal_group(pgid, 0)
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


# prctl(2) PR_SET_CHILD_SUBREAPER (Linux): orphans of the client's processes become the gate's
# children instead of init's, so a job that left the client's group (setsid, a daemon's double fork)
# can still be found, stopped and reaped.
PR_SET_CHILD_SUBREAPER = 36


def _subreaper(on: bool) -> bool:
    """Make this process the reaper of its descendants' orphans (Linux); False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children() -> set[int]:
    """The pids whose parent is this process (live ones and zombies)."""
    me, out = str(os.getpid()).encode(), set()
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as fh:
                        fields = fh.read().rsplit(b")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if len(fields) > 1 and fields[1] == me:
                    out.add(int(name))
    return out


def _ours(pid: int, marks: set[bytes]) -> bool:
    """Whether a process has the client's environment entries `marks` (its mock's URL): concurrent
    gate runs in one process adopt each other's orphans, and each stops only its own."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return marks <= set(fh.read().split(b"\0"))
    except OSError:
        return False


async def _stop_escaped(before: set[int], client: int, marks: set[bytes]) -> None:
    """Kill and reap the orphans adopted from the client (see PR_SET_CHILD_SUBREAPER): each is a
    session of its own now, stopped with its group; bounded rounds, as each death may orphan more."""
    deadline = time.monotonic() + KILL_GRACE
    waiting: set[int] = set()  # killed, not yet reaped (a zombie's environment cannot be read)
    while time.monotonic() < deadline:
        adopted = {pid for pid in _children() - before - {client} - waiting if _ours(pid, marks)}
        if not adopted and not waiting:
            return
        for pid in adopted:
            for kill in (os.killpg, os.kill):  # its group (a daemon leads one) and itself
                with contextlib.suppress(OSError):
                    kill(pid, signal.SIGKILL)
        waiting |= adopted
        await asyncio.sleep(0.05)
        for pid in list(waiting):
            try:
                done = os.waitpid(pid, os.WNOHANG)[0] == pid
            except ChildProcessError:
                done = True
            if done:
                waiting.discard(pid)


async def _stop(pgid: int, exited: asyncio.Event) -> None:
    """SIGTERM the client's whole process group (CMD and its background jobs), SIGKILL what is left
    after KILL_GRACE."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + KILL_GRACE
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(exited.wait(), KILL_GRACE)
    while _group_alive(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)


async def run_client(command: Sequence[str], env: Mapping[str, str], timeout: float, out: BinaryIO, err: BinaryIO,
                     redact: Callable[[], StreamRedactor], stop: asyncio.Event | None = None) -> ClientRun:
    """Run CMD in a session of its own, its output passed through redacted, until it exits, the
    timeout passes or `stop` is set; then stop its whole process group and drain its output (bounded)."""
    loop = asyncio.get_running_loop()
    reaper = _subreaper(True)
    before = _children() if reaper else set()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _ClientProtocol(READ_CHUNK, loop), *command, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        _subreaper(False)
        return ClientRun(127, f"cannot run `{command[0]}`: command not found")
    except PermissionError:
        _subreaper(False)
        return ClientRun(126, f"cannot run `{command[0]}`: permission denied")
    except OSError as exc:
        _subreaper(False)
        return ClientRun(126, f"cannot run `{command[0]}`: {exc.strerror or exc}")
    pgid = transport.get_pid()  # the session leader: its pid is the group's id
    pumps = [asyncio.ensure_future(_pump(protocol.stdout, out, redact())),
             asyncio.ensure_future(_pump(protocol.stderr, err, redact()))]
    waits = [asyncio.ensure_future(protocol.exited.wait())]
    if stop is not None:
        waits.append(asyncio.ensure_future(stop.wait()))
    run = ClientRun(0)
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not protocol.exited.is_set():
            if stop is not None and stop.is_set():
                run.problem = "stopped: the gate got a stop signal"
            else:
                run.timed_out, run.problem = True, f"timed out after {timeout:g} s"
    finally:
        for w in waits:
            w.cancel()
        await _stop(pgid, protocol.exited)
        if reaper:
            await _stop_escaped(before, pgid, {f"{k}={v}".encode() for k, v in env.items() if k.endswith("_BASE_URL")})
            _subreaper(False)
        # What the group wrote is read to the end; a process that left the group (setsid) and holds
        # the pipes open does not hold the gate: the drain is bounded, then the pipes are closed.
        _, pending = await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
        for p in pending:
            p.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        transport.close()
    code = transport.get_returncode()
    run.exit = code if code is not None else -signal.SIGKILL
    if run.problem is None and run.exit < 0:
        run.problem = f"killed by signal {-run.exit}"
    return run

