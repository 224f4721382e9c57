"""Bounded versions of the robustness runs of bench/ (README Performance rows 7-10), each shown to fail on a broken server.

The full runs (100,000 malformed requests, 1,000 connections for 60 s, 200 slow connections) are
`python -m bench soak keepalive slowloris sigterm`; these keep the same checks at a size that fits
`make test`. Servers are real processes on 127.0.0.1, ended by PID.
"""
from __future__ import annotations

import json
import signal
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from bench import _malformed, sigterm, slowloris, soak
from bench._load import hammer
from bench._probes import probe_request
from bench._procs import Server, bare_argv, mock_argv, serve_has, start
from specs import get_spec, spec_paths

PROVIDERS = [p.stem for p in spec_paths()]
# One request of every malformed class, several times over.
SOAK_COUNT = len(_malformed.GENERATORS) * 20


@pytest.fixture
def mock(request: pytest.FixtureRequest) -> Iterator[Server]:
    """`python -m mocks serve ID` as a process (ID from the test's `provider` parameter), stopped after."""
    provider = request.node.callspec.params["provider"]
    extra = getattr(request, "param", ())
    with start(mock_argv(provider, *extra)) as server:
        yield server


def _bare(provider: str) -> Server:
    spec = get_spec(provider)
    s = spec.probe.success
    server = start(bare_argv(s.status, s.body_bytes(), "application/json", spec.probe.method, spec.probe.path))
    server.info["keys"] = {"valid": "0" * 40}
    return server


# -- 7: raw-socket soak -----------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_soak_of_malformed_requests_gets_no_5xx_no_hang(provider: str, mock: Server) -> None:
    """Every malformed class gets an answer or a close, never a 5xx; the mock still answers after."""
    result = soak.soak(mock, provider, count=SOAK_COUNT, window=SOAK_COUNT, timeout=5.0)
    assert result.requests == SOAK_COUNT
    # RSS growth is judged by the full soak only: a few hundred requests measure warm-up, not leaks.
    assert [p for p in result.problems() if "resident memory" not in p] == []


@pytest.mark.parametrize("provider", ["cloro"])
@pytest.mark.parametrize("mock", [("--defect", "crash_long_header", "--defect", "crash_non_ascii")], indirect=True)
def test_soak_reports_a_mock_that_answers_5xx(provider: str, mock: Server) -> None:
    """The soak names the classes that drew 5xx from a mock planted with the crash defects."""
    result = soak.soak(mock, provider, count=len(_malformed.GENERATORS) * 10, window=10)
    assert {"long_value", "non_ascii_value"} <= set(result.server_5xx)
    assert any("5xx answers for" in p for p in result.problems())


def test_soak_reports_a_server_that_never_answers() -> None:
    """A listener that accepts and says nothing is counted as hung, not as fine."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = soak.soak_url(url, "cloro", "0" * 40, 4, window=4, concurrency=4, timeout=0.5)
    assert result.hung == 4
    assert any("neither an answer nor a close" in p for p in result.problems())


# -- 8: many concurrent keep-alive connections -----------------------------------------------------
@pytest.mark.parametrize("provider", ["crux"])
def test_many_keepalive_connections_all_served(provider: str, mock: Server) -> None:
    """300 connections open at once, each sending the probe for 1 s: no error, no 5xx."""
    req = probe_request(get_spec(provider), "valid", mock.keys["valid"])
    parts = urlsplit(mock.base_url)
    result = hammer(parts.hostname or "", parts.port or 0, req.raw().encode(parts.netloc), 300, 1.0)
    assert result.opened == 300
    assert dict(result.errors) == {}
    assert result.server_errors == 0
    assert set(result.statuses) == {req.expect_status}
    assert result.answers >= 300


@pytest.mark.parametrize("provider", ["crux"])
@pytest.mark.parametrize("mock", [("--scenario", "flaky:50")], indirect=True)
def test_keepalive_load_reports_resets_and_5xx(provider: str, mock: Server) -> None:
    """Against a mock that answers 503 and resets connections now and then, the client counts both."""
    req = probe_request(get_spec(provider), "valid", mock.keys["valid"])
    parts = urlsplit(mock.base_url)
    result = hammer(parts.hostname or "", parts.port or 0, req.raw().encode(parts.netloc), 20, 1.0)
    assert result.server_errors > 0
    assert sum(result.errors.values()) > 0


# -- 9: slow connections ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("provider", ["flash"])
def test_slow_connections_are_closed_and_others_served(provider: str, mock: Server) -> None:
    """20 connections trickling a head a byte a second: every other request is answered, the slow ones closed.

    How fast the others are served (p99 against the quiet p99) is a speed figure: bench/slowloris.py
    measures it; a unit test on a shared machine judges only what cannot flake (answered, opened, closed)."""
    result = slowloris.run_server(mock, provider, count=20, close_within=30.0, probes=60)
    assert result.loaded_failed == 0, result.problems()
    assert result.opened == result.count, result.problems()
    assert result.closed == result.opened, result.problems()


def test_slow_check_reports_a_server_without_a_head_timeout() -> None:
    """The bare aiohttp handler (no head timeout set) keeps slow connections open: the check says so."""
    with _bare("flash") as bare:
        result = slowloris.run_server(bare, "flash", count=5, close_within=2.0, probes=10, interval=0.5)
    assert result.closed == 0
    assert any("no timeout for a request head" in p for p in result.problems())


# A stop slower than this is a hang, not a slow machine.
HANG_SECONDS = 10.0


# -- 10: SIGTERM under load --------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["claid"])
def test_sigterm_under_load_exits_0_promptly(provider: str) -> None:
    """The mock, loaded by 20 keep-alive connections, exits 0 soon after SIGTERM (the 2 s floor
    itself is bench/sigterm.py's figure: a timed unit test would fail on a slow CI machine)."""
    with start(mock_argv(provider)) as server:
        result = sigterm.run_server(server, provider, None, load_seconds=1.0, connections=20)
    assert result.answered > 0
    assert result.exit_code == 0
    assert result.seconds <= HANG_SECONDS


@pytest.mark.parametrize("provider", ["claid"])
def test_sigterm_writes_the_journal_out_whole(provider: str) -> None:
    """`serve --journal PATH`: after SIGTERM under load the file holds every entry, none cut short."""
    if not serve_has("--journal"):
        pytest.skip("`python -m mocks serve` has no --journal PATH option yet (the SIGTERM run needs it)")
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.json"
        with start(mock_argv(provider, "--journal", str(journal))) as server:
            result = sigterm.run_server(server, provider, journal, load_seconds=1.0, connections=20)
    assert result.problems() == []
    assert result.journal.entries >= result.answered > 0


IGNORES_SIGTERM = textwrap.dedent("""
    import json, signal, socket, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
    print(json.dumps({"base_url": "http://127.0.0.1:%d" % s.getsockname()[1], "keys": {"valid": "0" * 40}}), flush=True)
    time.sleep(60)
""")


def test_sigterm_check_reports_a_server_that_ignores_it() -> None:
    """A process that ignores SIGTERM is reported as not exiting (and is then killed by PID)."""
    server = start([sys.executable, "-c", IGNORES_SIGTERM])
    try:
        result = sigterm.run_server(server, "claid", None, load_seconds=0.2, connections=2, grace=0.3)
    finally:
        server.stop(signal.SIGKILL)
        server.close_log()
    assert result.exit_code is None
    assert any("not 0" in p for p in result.problems())


def test_journal_check_finds_a_journal_cut_short(tmp_path: Path) -> None:
    """A JSON Lines journal whose last line was cut, or with a gap in seq, is not whole."""
    cut = tmp_path / "cut.jsonl"
    cut.write_text(json.dumps({"seq": 1}) + "\n" + json.dumps({"seq": 2})[:7] + "\n")
    assert any("not whole JSON" in p for p in sigterm.read_journal(cut).problems)
    gap = tmp_path / "gap.json"
    gap.write_text(json.dumps({"entries": [{"seq": 1}, {"seq": 3}]}))
    assert any("gaps" in p for p in sigterm.read_journal(gap).problems)
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"entries": [{"seq": 1}, {"seq": 2}]}))
    assert sigterm.read_journal(whole).problems == [] and sigterm.read_journal(whole).entries == 2
