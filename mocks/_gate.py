"""Gate a client library: run its own tests against a provider mock, then judge every request it made.

`python -m mocks gate ID -- CMD` serves the mock, runs CMD with `ID_API_KEY` and `ID_BASE_URL` (and,
with --tls, a CA bundle) in its environment, and judges the journal with mocks/_rules.py: one line
in any CI job gates a client library, whatever its language.
Exit status: 0 pass; 1 a rule broken; 2 bad usage; 3 the client command failed (or did not start,
or timed out); 128+N the gate got signal N (it still judges and reports what it has). A table of
violations goes to stderr; JSON and JUnit XML under --report.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Mapping, Sequence

import aiohttp
from aiohttp import web

from specs import (ADMIN_HEADER, ADMIN_PREFIX, EXCHANGE_LOGIN, KEY_LIST_IDENTIFIERS, KEY_LIST_RESOURCES, JUnitCase, JUnitSuite,
                   ProviderSpec, SpecError, get_spec, load_all, write_json, write_junit)

from ._app import MOCK, build_app
from ._journal import REFUSED_ADMIN, REFUSED_PARSER
from ._keys import KeyStore
from ._protocol import unused_connections
from ._redact import GrowingRedactor, Redactor
from ._rules import Context, GateRule, Violation, judge, rules_for
from ._scenarios import parse_scenario
from ._serve import ignore_stop_signals, start, stop_signals_restored

if TYPE_CHECKING:  # trustme is imported only when --tls asks for it
    from ._tls import TLSMaterial

ADMIN = ADMIN_PREFIX.rstrip("/")
EXIT_PASS, EXIT_BROKEN, EXIT_USAGE, EXIT_CLIENT = 0, 1, 2, 3
# Every wait is bounded: the client's whole run, its shutdown after SIGTERM, one admin call.
DEFAULT_TIMEOUT = 600.0
KILL_GRACE = 5.0
ADMIN_TIMEOUT = 10.0
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
# The gate judges every request of a client's run, so its mock keeps a journal far larger than
# `serve`'s default; a run that still overflows it is told so on the summary line.
GATE_JOURNAL_ENTRIES = 1_000_000
GATE_JOURNAL_BYTES = 256 * 1024 * 1024
# Some CI runners set HTTP(S)_PROXY: the client must reach the mock on loopback directly.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# Under --tls, the throwaway CA's bundle goes to the client under the names Python (ssl, aiohttp,
# httpx), requests, curl and Node read, besides the provider-named `ID_CA_BUNDLE`.
CA_BUNDLE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


class GateError(Exception):
    """A usage problem the gate reports as one line (exit 2)."""


# --- redaction ------------------------------------------------------------------------------------

# Entries of the admin API's `GET keys` that are no secret (specs/_contract.py): the binding names a
# resource, the username identifies. Neither is redacted from anything.
NOT_SECRET = KEY_LIST_RESOURCES + KEY_LIST_IDENTIFIERS


def redactor(keys: Mapping[str, str], admin_secret: str | None = None, *, spec: ProviderSpec | None = None,
             store: KeyStore | None = None) -> Redactor:
    """The mock's own redactor over every secret the client was given or could find (and the
    run's admin secret, which nothing should ever print); with the mock's key store, also every
    key minted during the run. A key's documented prefix (`credential.token.prefix`) stays readable."""
    prefix = spec.credential.token.prefix if spec is not None else ""
    found = [(v, k, "") if k in EXCHANGE_LOGIN else (v, f"key:{k}", prefix) for k, v in keys.items()
             if k not in NOT_SECRET and isinstance(v, str) and v]
    if admin_secret:
        found.append((admin_secret, "admin_secret", ""))
    return Redactor(found) if store is None else GrowingRedactor(store, found)


def _redact_json(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, redact) for k, v in value.items()}
    return value


# --- the mock, in this process --------------------------------------------------------------------


@dataclass
class RunningMock:
    """A provider mock on 127.0.0.1:PORT (HTTP or HTTPS), with its admin API at hand."""

    spec: ProviderSpec
    base_url: str
    runner: web.AppRunner
    tls: TLSMaterial | None
    keys: dict[str, str] = field(default_factory=dict)
    # The per-run admin secret: only the gate (or the test holding this handle) can call the admin
    # API; the client's environment and command line never carry it (mocks/_app.py, ADMIN_HEADER).
    admin_secret: str = ""

    def _ssl(self) -> Any:
        return self.tls.client_context() if self.tls else None

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the mock's admin API with the run's admin secret; the JSON answer."""
        timeout = aiohttp.ClientTimeout(total=ADMIN_TIMEOUT)
        headers = {ADMIN_HEADER: self.admin_secret} if self.admin_secret else {}
        # trust_env=False: a CI proxy must not sit between the gate and its own mock.
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            async with session.request(method, self.base_url + ADMIN + path, ssl=self._ssl(), headers=headers,
                                       json=body) as resp:
                resp.raise_for_status()
                return await resp.json(content_type=None) if resp.content_length != 0 else None

    async def journal(self) -> tuple[list[dict[str, Any]], int]:
        """Every request the mock kept since the last reset (keys already redacted by the mock),
        and how many older ones its bound dropped."""
        answer = await self.admin("GET", "/journal")
        return list((answer or {}).get("entries") or []), int((answer or {}).get("dropped") or 0)

    async def close(self) -> None:
        """Stop serving and delete the throwaway CA (idempotent)."""
        await self.runner.cleanup()
        if self.tls is not None:
            self.tls.close()


async def start_mock(spec: ProviderSpec, *, tls: bool = False, scenario: str | None = None,
                     seed: str | None = None) -> RunningMock:
    """Serve a provider's mock on a free port of 127.0.0.1 in this event loop, its admin API behind a
    fresh secret; read its keys. `seed` makes the keys deterministic (never the secret)."""
    admin_secret = secrets.token_urlsafe(32)
    app = build_app(spec, scenario=scenario, seed=seed, journal_limit=GATE_JOURNAL_ENTRIES,
                    journal_bytes=GATE_JOURNAL_BYTES, admin_secret=admin_secret)
    if tls:
        from ._tls import make_tls

        material: TLSMaterial | None = make_tls()
    else:
        material = None
    try:
        runner, url = await start(app, "127.0.0.1", 0, material.server_context if material else None)
    except BaseException:
        if material is not None:
            material.close()
        raise
    mock = RunningMock(spec, url, runner, material, admin_secret=admin_secret)
    try:
        mock.keys = {str(k): str(v) for k, v in (await mock.admin("GET", "/keys")).items()}
    except BaseException:
        await mock.close()
        raise
    return mock


def client_env(spec: ProviderSpec, mock: RunningMock, base: Mapping[str, str]) -> dict[str, str]:
    """The client's environment: `ID_API_KEY`, `ID_BASE_URL` (+ exchange credentials, CA bundle)."""
    env = dict(base)
    env[spec.credential_env("valid")] = mock.keys["valid"]
    env[spec.base_url_env] = mock.base_url
    if spec.exchange is not None:
        for what in EXCHANGE_LOGIN:
            if what in mock.keys:
                env[spec.credential_env(what)] = mock.keys[what]
    if mock.tls is not None:
        bundle = str(mock.tls.ca_path)
        for name in (*CA_BUNDLE_VARS, spec.ca_bundle_env):
            env[name] = bundle
    for name in ("NO_PROXY", "no_proxy"):
        present = [p for p in env.get(name, "").split(",") if p]
        env[name] = ",".join(present + [h for h in LOOPBACK_NAMES if h not in present])
    return env


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


# --- the verdict ----------------------------------------------------------------------------------


@dataclass
class GateResult:
    """What one gated run found: the client's status, the journal, the broken rules."""

    spec: ProviderSpec
    base_url: str
    command: list[str]
    tls: bool
    scenario: str | None
    client_exit: int
    client_problem: str | None
    entries: list[dict[str, Any]]
    violations: list[Violation]
    allowed: frozenset[str]
    seconds: float
    dropped: int = 0
    timed_out: bool = False
    # The signal (SIGINT, SIGTERM) that stopped the gate mid-run: what it had is still judged and
    # reported, and the gate exits 128 + the signal's number.
    stopped_by: int | None = None
    # TLS connections of the client that never carried a request: the handshake failed (a client
    # that does not trust the throwaway CA, or speaks plain HTTP to https://), or the client closed
    # right after it (one that checks the certificate once the handshake is done, as wget does).
    tls_refused: int = 0

    @property
    def broken(self) -> list[Violation]:
        """Violations that count (not --allow'ed)."""
        return [v for v in self.violations if v.rule.id not in self.allowed]

    @property
    def exit_status(self) -> int:
        """128 + signal when stopped; 3 client failed or timed out; 1 any other rule broken; 0 pass."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        broken = self.broken
        if self.timed_out or any(v.rule.id == "client.exit" for v in broken):
            return EXIT_CLIENT
        return EXIT_BROKEN if broken else EXIT_PASS

    def rule_verdicts(self) -> list[tuple[GateRule, str, list[Violation]]]:
        """Every rule with PASS / FAIL / NON-STRICT / ALLOWED and its violations."""
        rows = []
        for rule in rules_for(self.spec):
            mine = [v for v in self.violations if v.rule.id == rule.id]
            verdict = "PASS" if not mine else ("ALLOWED" if rule.id in self.allowed else rule.verdict)
            rows.append((rule, verdict, mine))
        return rows


async def gate(spec: ProviderSpec, command: Sequence[str], *, tls: bool = False, scenario: str | None = None,
               timeout: float = DEFAULT_TIMEOUT, allow: Sequence[str] = (), env: Mapping[str, str] | None = None,
               out: BinaryIO | None = None, err: BinaryIO | None = None, seed: str | None = None,
               stop: asyncio.Event | None = None) -> GateResult:
    """Start the mock, run the client against it, judge the journal; the result (nothing printed).
    `stop` set mid-run (a signal): the client's group is stopped and what the mock saw is judged."""
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr.buffer
    started = time.monotonic()
    mock = await start_mock(spec, tls=tls, scenario=scenario, seed=seed)
    try:
        store = mock.runner.app[MOCK].store

        def make() -> Redactor:  # the store grows: keys a client mints during the run are known too
            return redactor(mock.keys, mock.admin_secret, spec=spec, store=store)

        redact = make()
        longest = max((len(v) for v in (*mock.keys.values(), mock.admin_secret) if isinstance(v, str)), default=0)
        run = await run_client(command, client_env(spec, mock, os.environ if env is None else env), timeout, out, err,
                               lambda: StreamRedactor(make, longest), stop)
        kept, dropped = await mock.journal()
        entries = _redact_json(kept, redact)
        # The gate's own admin calls open connections too; each sends a request, so none is silent.
        failed, silent = unused_connections(mock.runner) if tls else (0, 0)
        tls_refused = failed + silent
    finally:
        await mock.close()
    ctx = Context(base_url=mock.base_url, client_exit=run.exit, secrets=mock.keys, client_problem=run.problem)
    violations = judge(spec, entries, ctx)
    stopped_by = _signal_seen(stop)
    return GateResult(spec, mock.base_url, [redact(c) for c in command], tls, scenario, run.exit,
                      run.problem, entries, violations, frozenset(allow), time.monotonic() - started, dropped,
                      run.timed_out, stopped_by, tls_refused)


def _signal_seen(stop: asyncio.Event | None) -> int | None:
    return getattr(stop, "signum", None) if stop is not None and stop.is_set() else None


# --- reports --------------------------------------------------------------------------------------


def format_violations(violations: Sequence[Violation], allowed: frozenset[str] = frozenset()) -> str:
    """Violations as an aligned text table, then each broken rule's source."""
    rows = [("VERDICT", "RULE", "FIRST", "REQUEST", "N", "WHAT")]
    for v in violations:
        verdict = "ALLOWED" if v.rule.id in allowed else v.verdict
        rows.append((verdict, v.rule.id, f"#{v.seq}" if v.seq is not None else "-", v.request, str(v.count), v.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:5])) + "  " + r[5] for r in rows]
    lines.append("sources:")
    for rule in dict.fromkeys(v.rule for v in violations):
        lines.append(f"  {rule.id} [{rule.strength}{', security' if rule.security else ''}]: {rule.source}")
    return "\n".join(lines) + "\n"


def table(result: GateResult) -> str:
    """The run's summary for stderr: head line, violations table, verdict line."""
    spec = result.spec
    n = len(result.entries)
    head = f"authconform gate {spec.id}: {n} request{'s' * (n != 1)}"
    refused = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == REFUSED_PARSER)
    admin = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == REFUSED_ADMIN)
    if refused:
        head += f" ({refused} refused by the mock's HTTP parser as malformed)"
    if admin:
        head += f" ({admin} to the admin API, refused: no admin secret)"
    head += f", client exit {result.client_exit}"
    if result.client_problem:
        head += f" ({result.client_problem})"
    if result.dropped:
        head += (f"; the journal bound dropped the {result.dropped} oldest request(s), so only the last {n}"
                 " were judged")
    if result.tls_refused:
        bundle = spec.ca_bundle_env
        head += (f"; {result.tls_refused} TLS connection(s) refused the handshake or closed right after it "
                 f"without a request: the client does not trust the mock's throwaway CA (its bundle is ${bundle}, "
                 f'also SSL_CERT_FILE, CURL_CA_BUNDLE, ...; wget needs --ca-certificate="${bundle}") or spoke plain '
                 "HTTP to https://")
    body = format_violations(result.violations, result.allowed) if result.violations else ""
    return f"{head}\n{body}authconform gate {spec.id}: {verdict_line(result)}\n"


def verdict_line(result: GateResult) -> str:
    """The overall verdict and why the gate exits as it does (a row's verdict stays its own)."""
    code, broken = result.exit_status, result.broken
    if result.stopped_by is not None:
        return (f"STOPPED (exit {code}: stopped by signal {result.stopped_by}; what the mock saw until then "
                f"was judged: {len(broken)} violation(s))")
    if code == EXIT_CLIENT:
        return f"FAIL (exit {code}: the client command failed: {result.client_problem or f'exit {result.client_exit}'})"
    if broken:
        fails = sorted({v.rule.id for v in broken if v.verdict == "FAIL"})
        lenient = sorted({v.rule.id for v in broken if v.verdict != "FAIL"})
        parts = ([f"FAIL: {', '.join(fails)}"] if fails else []) + ([f"NON-STRICT: {', '.join(lenient)}"] if lenient else [])
        word = "FAIL" if fails else "NON-STRICT"
        return f"{word} (exit {code}: the gate fails on every broken rule not --allow'ed; {'; '.join(parts)})"
    if result.violations:
        return f"PASS ({len(result.violations)} violation(s), each allowed by --allow; exit 0)"
    return f"PASS (no rule broken of {len(rules_for(result.spec))})"


def report_json(result: GateResult) -> dict[str, Any]:
    """The whole run as JSON: rules with verdicts and violations, and the redacted journal."""
    return {
        "provider": result.spec.id,
        "base_url": result.base_url,
        "tls": result.tls,
        "scenario": result.scenario,
        "command": result.command,
        "client_exit": result.client_exit,
        "client_problem": result.client_problem,
        "exit_status": result.exit_status,
        "verdict": "PASS" if result.exit_status == EXIT_PASS else "FAIL",
        "timed_out": result.timed_out,
        "stopped_by_signal": result.stopped_by,
        "tls_connections_refused": result.tls_refused,
        "seconds": round(result.seconds, 3),
        "requests": len(result.entries),
        "dropped": result.dropped,
        "rules": [
            {"id": rule.id, "title": rule.title, "strength": rule.strength, "security": rule.security,
             "source": rule.source, "verdict": verdict,
             "violations": [{"seq": v.seq, "request": v.request, "detail": v.detail, "count": v.count} for v in mine]}
            for rule, verdict, mine in result.rule_verdicts()
        ],
        "journal": result.entries,
    }


def report_junit(result: GateResult) -> JUnitSuite:
    """One JUnit test case per rule; a broken rule is a <failure> (an --allow'ed one is <skipped>)."""
    cases = []
    for rule, verdict, mine in result.rule_verdicts():
        text = "\n".join(f"#{v.seq} {v.request} (x{v.count}): {v.detail}" for v in mine)
        if verdict in ("FAIL", "NON-STRICT"):
            case = JUnitCase(rule.id, f"gate.{result.spec.id}", "failure", f"{verdict}: {rule.title}",
                             f"{text}\nsource [{rule.strength}]: {rule.source}", type=verdict)
        elif verdict == "ALLOWED":
            case = JUnitCase(rule.id, f"gate.{result.spec.id}", "skipped", f"allowed by --allow: {text}")
        else:
            case = JUnitCase(rule.id, f"gate.{result.spec.id}")
        cases.append(case)
    return JUnitSuite(f"authconform.gate.{result.spec.id}", tuple(cases), time=result.seconds)


def write_reports(result: GateResult, directory: Path) -> list[Path]:
    """`gate-ID.json` and `gate-ID.xml` under the report folder, by specs' writers. The gate redacts
    before: the journal and the command line are redacted in `gate()`, and rules judge the redacted journal."""
    stem = directory / f"gate-{result.spec.id}"
    return [write_json(stem.with_suffix(".json"), report_json(result)),
            write_junit(stem.with_suffix(".xml"), [report_junit(result)])]


# --- command line ---------------------------------------------------------------------------------


class _HeadParser(argparse.ArgumentParser):
    """Parses `ID [options]` (the part before `--`); errors become GateError, not SystemExit."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise GateError(message)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls", action="store_true", default=None,
                        help=f"serve HTTPS with a throwaway CA; its bundle is exported as {', '.join(CA_BUNDLE_VARS)} "
                             "and ID_CA_BUNDLE")
    parser.add_argument("--scenario", metavar="NAME",
                        help="change the mock's state mid-run: expire-after:N, revoke-after:N, rate-limit:N, flaky:N")
    parser.add_argument("--report", metavar="DIR", help="write gate-ID.json and gate-ID.xml (JUnit) here")
    parser.add_argument("--timeout", metavar="SECONDS", type=float,
                        help=f"stop the client after this long (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--allow", metavar="RULE", action="append",
                        help="report this rule but do not fail on it (repeatable)")


def rules_help() -> str:
    """The rule names --allow takes: those every provider has, then those only some have."""
    try:
        specs = sorted(load_all(), key=lambda sp: sp.id)
    except (SpecError, OSError, ValueError) as exc:  # a broken spec must not break --help
        return f"rules: (cannot list them: {str(exc).splitlines()[0]})"
    per_spec = {sp.id: [r.id for r in rules_for(sp)] for sp in specs}
    every = [rid for rid in next(iter(per_spec.values()), []) if all(rid in ids for ids in per_spec.values())]
    some: dict[str, list[str]] = {}
    for pid, ids in per_spec.items():
        for rid in ids:
            if rid not in every:
                some.setdefault(rid, []).append(pid)
    extra = "; ".join(f"{rid} ({', '.join(pids)})" for rid, pids in some.items())
    return (f"rules (for --allow RULE): {', '.join(every)}" + (f"; only some providers: {extra}" if extra else "")
            + ". Exit status: 0 pass, 1 a rule broken, 2 usage, 3 the client failed or timed out, "
              "128+N stopped by signal N (130 for SIGINT; the report is still written).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `gate` subcommand's arguments: `ID [options] -- CMD [ARGS...]`."""
    parser.epilog = rules_help()
    _options(parser)
    # One REMAINDER for `ID [options] -- CMD`: argparse would let a REMAINDER command swallow the
    # options written after ID, so the part before `--` is parsed again in main().
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="ID [options] -- CMD [ARGS...]",
                        help="provider id, then the client's test command after `--`, run with ID_API_KEY and "
                             "ID_BASE_URL set")


def _split(args: argparse.Namespace) -> argparse.Namespace:
    """`ID [options] -- CMD` -> provider, options (before or after ID) and command."""
    rest = list(getattr(args, "rest", None) or [])
    if "--" in rest:
        cut = rest.index("--")
        head, command = rest[:cut], rest[cut + 1 :]
    elif len(rest) > 1:  # `gate cloro true`: is `true` the command or a typo of an option? Say which form works.
        raise GateError(f"the client command goes after `--`: `python -m mocks gate {rest[0]} [options] -- "
                        f"{' '.join(rest[1:3])}{' ...' if len(rest) > 3 else ''}`")
    else:
        head, command = rest, []
    parser = _HeadParser(prog="gate", add_help=False)
    parser.add_argument("provider")
    _options(parser)
    if not head:
        raise GateError("no provider: `python -m mocks gate ID [--tls] [--scenario NAME] [--report DIR] -- CMD [ARGS...]`")
    opts = parser.parse_args(head)
    for name in ("tls", "scenario", "report", "timeout"):
        if getattr(opts, name) is None:
            setattr(opts, name, getattr(args, name, None))
    opts.tls = bool(opts.tls)
    opts.timeout = DEFAULT_TIMEOUT if opts.timeout is None else opts.timeout
    opts.allow = list(getattr(args, "allow", None) or []) + list(opts.allow or [])
    opts.command = command
    return opts


def _check(args: argparse.Namespace) -> tuple[ProviderSpec, list[str]]:
    """The spec and the command, or a GateError saying what would be right."""
    command = args.command
    if not command:
        raise GateError(f"no client command: write it after `--`, e.g. `python -m mocks gate {args.provider} -- pytest tests/`")
    try:
        spec = get_spec(args.provider)
    except SpecError as exc:
        raise GateError(str(exc).splitlines()[0]) from None
    except (KeyError, LookupError, FileNotFoundError):
        known = ", ".join(sorted(s.id for s in load_all()))
        raise GateError(f"unknown provider `{args.provider}`; one of: {known}") from None
    if not args.timeout > 0:
        raise GateError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.scenario is not None:
        try:
            refusal = parse_scenario(args.scenario).refusal(spec)
        except ValueError as exc:
            raise GateError(f"--scenario: {exc}") from None
        if refusal:
            raise GateError(f"--scenario: {refusal}")
    if args.report is not None:
        args.report = report_folder(args.report, spec.id)
    known_rules = [r.id for r in rules_for(spec)]
    for rid in args.allow:
        if rid not in known_rules:
            raise GateError(f"--allow {rid}: no such rule for {spec.id}; one of: {', '.join(known_rules)}")
    return spec, command


def report_folder(raw: str, provider: str) -> Path:
    """The --report folder, made and proven writable before the client runs (GateError if it cannot be).

    A report that cannot be written is found out now, as a usage error, not after the client's whole
    run: an empty name (which Path reads as the current folder), a file, a link to nothing, a report
    name taken by a folder, a folder that cannot be created or written."""
    hint = f"give a folder (created if missing) for gate-{provider}.json and .xml"
    if not raw.strip():
        raise GateError(f"--report needs a folder name; {hint}")
    folder = Path(raw)
    if folder.is_symlink() and not folder.exists():
        raise GateError(f"--report {raw}: a link to nothing; {hint}")
    if folder.exists() and not folder.is_dir():
        raise GateError(f"--report {raw}: that is a file; {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GateError(f"--report {raw}: cannot create it ({exc.strerror or exc}); {hint}") from None
    for name in (f"gate-{provider}.json", f"gate-{provider}.xml"):
        if (folder / name).is_dir():
            raise GateError(f"--report {raw}: {name} there is a folder; {hint}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GateError(f"--report {raw}: not writable; {hint}")
    return folder


class _Stopped(Exception):
    """The gate got a second SIGINT or SIGTERM while it was already stopping."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Stop(asyncio.Event):
    """Set by the first SIGINT/SIGTERM; `signum` says which."""

    signum: int | None = None


async def _until_signal(make: Callable[[_Stop], Any]) -> Any:
    """Run the gate; the first SIGINT/SIGTERM stops the client's process group (it runs in a session
    of its own, out of reach of a signal sent to ours) and lets the gate judge and report what it
    has; a second one cancels the gate outright."""
    loop = asyncio.get_running_loop()
    stop = _Stop()
    task = asyncio.ensure_future(make(stop))
    got: list[int] = []

    def on_signal(signum: int) -> None:
        got.append(signum)
        if stop.is_set():
            task.cancel()
        else:
            stop.signum = signum
            stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if got:
            raise _Stopped(got[-1]) from None
        raise
    finally:
        # What is left (the table, the reports) is short and bounded: a later SIGINT/SIGTERM is
        # blocked, then ignored, never Python's KeyboardInterrupt mid-write (see ignore_stop_signals).
        ignore_stop_signals(loop)


def main(args: argparse.Namespace) -> int:
    """Run `gate` from parsed arguments; the exit status."""
    try:
        args = _split(args)
        spec, command = _check(args)
    except GateError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with stop_signals_restored():
        return _run_and_report(args, spec, command)


def _run_and_report(args: argparse.Namespace, spec: ProviderSpec, command: list[str]) -> int:
    """The gate's run, its table and reports (SIGINT/SIGTERM held once the run stops)."""
    try:
        result = asyncio.run(_until_signal(lambda stop: gate(spec, command, tls=args.tls, scenario=args.scenario,
                                                             timeout=args.timeout, allow=args.allow, stop=stop)))
    except _Stopped as stop:
        print(f"gate: stopped by signal {stop.signum} twice; the client was stopped, nothing judged", file=sys.stderr)
        return 128 + stop.signum
    sys.stdout.flush()
    sys.stderr.write(table(result))
    if args.report is not None:
        try:
            for path in write_reports(result, args.report):
                print(f"gate: wrote {path}", file=sys.stderr)
        except OSError as exc:
            print(f"gate: cannot write the reports to {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    return result.exit_status
