"""The generated engine against `--live` targets (local mocks standing in for providers): the
request budget is never exceeded (counted on the wire by a proxy), pacing and 429 Retry-After are
honoured, a forced failure leaves no trace of the key anywhere, and a seed or a printed replay
command reproduces what was found."""
from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

import pytest
from aiohttp import web

from drive import MockProcess
from _local_server import LocalServer
from fixtures import ROOT
from fixtures._selftest import clean_env
from specs import get_spec
from suites import Connection, RawRequest, Secret, Verdict, mock_target
from suites._secret import leaks
from suites.engine._live import GuardedConnection, Limits
from suites.engine._session import EngineOptions, EngineSession

RUN_TIMEOUT = 240.0


def _pytest(args: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`pytest suites/test_generated.py ARGS` from the repo root in a clean environment."""
    plugin = [] if "suites.engine.plugin" in (ROOT / "conftest.py").read_text() else ["-p", "suites.engine.plugin"]
    argv = [sys.executable, "-m", "pytest", "suites/test_generated.py", *plugin, *args]
    return subprocess.run(argv, cwd=cwd, env=clean_env(env), capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)


class CountingProxy:
    """A TCP proxy on 127.0.0.1:0 that counts the request lines clients send through it."""

    MARK = b" HTTP/1.1\r\n"

    def __init__(self, upstream: str):
        host, port = upstream.split("//", 1)[1].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.streams: list[bytearray] = []
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def requests(self) -> int:
        """Request lines seen so far, over every connection."""
        return sum(bytes(s).count(self.MARK) for s in self.streams)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None) -> None:
        try:
            while data := await reader.read(65536):
                if record is not None:
                    record += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        record = bytearray()
        self.streams.append(record)
        await asyncio.gather(self._pipe(reader, up_writer, record), self._pipe(up_reader, writer, None))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self._loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, server.wait_closed(), return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> "CountingProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def crux_defective() -> Iterator[MockProcess]:
    """A crux mock with bugs: it echoes credentials, compares keys by prefix, and crashes on long
    headers (found only by the random search, so the Hypothesis database gets written)."""
    mock = MockProcess("crux", ["echo_credential", "prefix_compare", "crash_long_header"]).wait_ready()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.mark.slow
def test_live_budget_is_never_exceeded() -> None:
    """`--live --request-budget 30`: the proxy counts at most 30 generated requests on the wire (and
    the one health check before any case), the same number the engine reports, and the run says
    where it stopped."""
    mock = MockProcess("claid").wait_ready()
    try:
        with CountingProxy(mock.base_url) as proxy:
            done = _pytest(["--live", "--provider", "claid", "--base-url", proxy.base_url, "--request-budget", "30",
                            "--pace", "200", "-q"], {"CLAID_API_KEY": mock.keys["valid"]})
            counted = proxy.requests
    finally:
        mock.stop()
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    reported = re.search(r"claid: (\d+) examples, (\d+) requests", done.stdout)
    assert reported, done.stdout[-2000:]
    generated = counted - 1  # the target's health check: one probe request before the cases
    assert 0 < generated <= 30
    assert int(reported.group(2)) == generated
    assert "of the request budget spent" in done.stdout or "request budget of 30 spent" in done.stdout


def test_pace_holds_requests_apart() -> None:
    """--pace 20: requests arrive at least 1/20 s apart (server-side arrival times)."""
    arrivals: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        return web.Response(status=401)

    with LocalServer(handle) as url:
        guard = GuardedConnection(Connection(url), Limits(budget=6, rps=20.0))
        for _ in range(6):
            guard.send(RawRequest.build("GET", "/"))
        guard.close()
    # Arrival times carry the scheduler's jitter: the span is the robust figure.
    assert len(arrivals) == 6 and arrivals[-1] - arrivals[0] >= 5 / 20 * 0.95


def test_429_retry_after_is_waited_out() -> None:
    """A 429 with Retry-After: 1 is followed by the retry no sooner than a second later."""
    arrivals: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(status=200)

    with LocalServer(handle) as url:
        guard = GuardedConnection(Connection(url), Limits(budget=5))
        assert guard.send(RawRequest.build("GET", "/")).status == 200
        guard.close()
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.99 and guard.sent == 2


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_forced_failure_leaves_no_trace_of_the_key(tmp_path: Path, crux_defective: MockProcess) -> None:
    """A live run that fails (echo and prefix compare): stdout, stderr, JUnit XML, the report and
    the Hypothesis database hold neither the key nor any 6-character slice of it."""
    key = crux_defective.keys["valid"]
    secret = Secret(key, "CRUX_API_KEY")
    hyp, reports, junit = tmp_path / "hypothesis", tmp_path / "report", tmp_path / "junit.xml"
    done = _pytest(
        ["--live", "--provider", "crux", "--base-url", crux_defective.base_url, "--request-budget", "700", "--pace", "1000",
         "--report", str(reports), f"--junitxml={junit}", "-o", "junit_logging=all", "-rA"],
        {"CRUX_API_KEY": key, "HYPOTHESIS_STORAGE_DIRECTORY": str(hyp)},
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "[FAIL] crux/" in done.stdout and "<CRUX_API_KEY>" in done.stdout
    written = _files(hyp) + _files(reports) + [junit]
    assert _files(hyp / "examples"), "the Hypothesis database holds no example: nothing to check"
    assert (reports / "report.json").exists() and junit.exists()
    places = {"stdout": done.stdout, "stderr": done.stderr}
    places.update({str(p.relative_to(tmp_path)): p.read_bytes().decode("latin-1") for p in written})
    leaked = [name for name, text in places.items() if leaks(text, secret)]
    assert not leaked, f"the key (or a 6+ char slice of it) is in: {leaked}"


def test_seed_repeats_the_search() -> None:
    """The same seed draws the same requests in the same order; another seed draws others."""
    mock = MockProcess("crux").wait_ready()
    target = mock_target(get_spec("crux"), mock.base_url, mock.keys)

    def drawn(seed: int) -> list[str]:
        session = EngineSession(target, EngineOptions(max_examples=25, seed=seed, database=None))
        seen: list[str] = []
        execute = session.execute
        session.execute = lambda item: (seen.append(item.describe()), execute(item))[1]  # type: ignore[method-assign]
        try:
            session.run("token")
        finally:
            session.close()
        return seen

    try:
        first, again, other = drawn(7), drawn(7), drawn(8)
    finally:
        mock.stop()
    assert len(first) > 25 and again == first
    assert other != first


def test_printed_replay_command_reproduces_the_failure(crux_defective: MockProcess) -> None:
    """The command a FAIL prints sends the same request again: the defective mock accepts it
    (200), and the output shows the key only as its placeholder."""
    target = mock_target(get_spec("crux"), crux_defective.base_url, crux_defective.keys)
    session = EngineSession(target, EngineOptions(database=None))
    try:
        run = session.run("token")
    finally:
        session.close()
    finding = next(f for f in run.findings if f.check == "request_rejected" and f.verdict is Verdict.FAIL)
    argv = shlex.split(finding.replay)
    assert argv[:3] == ["python", "-m", "suites.engine.replay"]
    done = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HTTP/1.1 200" in done.stdout and "<CRUX_API_KEY>" in done.stdout
    assert not leaks(done.stdout + done.stderr, Secret(crux_defective.keys["valid"], "K"))


def test_bad_engine_options_are_one_line_usage_errors() -> None:
    """--request-budget, --pace, --max-examples: a bad value says what would be right."""
    for args, words in ((["--request-budget", "lots"], "--request-budget lots: expected a whole number"),
                        (["--pace", "-1"], "--pace -1: expected requests per second above 0"),
                        (["--max-examples", "0"], "--max-examples 0: expected a whole number of examples above 0")):
        done = _pytest([*args, "-q"], {})
        assert done.returncode == 4 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
