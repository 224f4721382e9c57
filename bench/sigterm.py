"""README Performance row 10: SIGTERM under load: the mock exits 0 within 2 s, its journal written out whole.

A keep-alive load client (bench/_load.py, so no wrk needed) loads the mock; after a while the
mock gets SIGTERM and the clock runs until it has exited.
The journal must then be on disk in full: `serve --journal PATH` writes it when the mock stops
(JSON `{"entries": [...]}` or JSON Lines); every entry parses, sequence numbers run without a gap,
and there are at least as many as the answers the load client counted. So that "every answer"
can be asked, the mock runs with a journal bound (`--journal-mib 64`) no 2 s load can fill.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

from specs import get_spec

from ._load import LoadResult, hammer
from ._probes import probe_request
from ._procs import BenchError, Server, mock_argv, serve_has, start
from ._report import floor, table
from .throughput import mock_options

# Far above what 2 s of load makes (~50,000 requests of ~50 packed bytes): the bound drops nothing.
WHOLE_JOURNAL_MIB = 64

# The bound: exit 0 within 2 s of SIGTERM.
EXIT_WITHIN_S = 2.0


@dataclass
class JournalCheck:
    """What the journal file held."""

    present: bool = False
    entries: int = 0
    problems: list[str] = field(default_factory=list)


def read_journal(path: Path) -> JournalCheck:
    """Parse a written-out journal (JSON object with entries, or JSON Lines) and check it is whole."""
    check = JournalCheck()
    if not path.exists():
        check.problems.append("no journal file was written")
        return check
    check.present = True
    text = path.read_text(encoding="utf-8", errors="replace")
    entries: list[Any] = []
    try:
        data = json.loads(text)
        entries = data["entries"] if isinstance(data, dict) else data
    except (ValueError, KeyError, TypeError):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except ValueError:
                check.problems.append(f"journal line {n} of {len(text.splitlines())} is not whole JSON")
                break
    check.entries = len(entries)
    seqs = [e.get("seq") for e in entries if isinstance(e, dict)]
    if len(seqs) != len(entries) or any(not isinstance(s, int) for s in seqs):
        check.problems.append("journal entries without an integer seq")
    elif any(b != a + 1 for a, b in zip(seqs, seqs[1:])):
        check.problems.append("journal seq numbers have gaps or repeats")
    return check


@dataclass
class SigtermResult:
    """How the mock stopped under load."""

    provider: str
    exit_code: int | None
    seconds: float
    answered: int
    journal: JournalCheck
    journal_option: bool

    def problems(self) -> list[str]:
        """Every way the stop failed; empty when it passed."""
        out = []
        if self.exit_code != 0:
            out.append(f"exit status {self.exit_code} after SIGTERM, not 0")
        if self.seconds > EXIT_WITHIN_S:
            out.append(f"took {self.seconds:.2f} s to exit after SIGTERM (limit {EXIT_WITHIN_S:.0f} s)")
        if not self.journal_option:
            out.append("`serve` has no --journal PATH option, so the journal is not written out at all")
        else:
            out += self.journal.problems
            if self.journal.present and self.journal.entries < self.answered:
                out.append(f"journal holds {self.journal.entries} entries but the client got {self.answered} answers")
        return out


def run_server(server: Server, provider: str, journal: Path | None, load_seconds: float = 2.0,
               connections: int = 50, grace: float = 3.0) -> SigtermResult:
    """Load a running server, SIGTERM it after load_seconds, time its exit (waiting up to 2 s + grace)."""
    spec = get_spec(provider)
    req = probe_request(spec, "valid", server.keys["valid"])
    parts = urlsplit(server.base_url)
    stop = threading.Event()
    loads: list[LoadResult] = []
    data = req.raw().encode(parts.netloc)
    thread = threading.Thread(target=lambda: loads.append(
        hammer(parts.hostname or "127.0.0.1", parts.port or 80, data, connections, load_seconds + 60, stop)))
    thread.start()
    try:
        time.sleep(load_seconds)
        if not server.alive():
            raise BenchError(f"the server died under load: {server.stderr_tail()[-200:]}")
        t0 = time.perf_counter()
        os.kill(server.pid, signal.SIGTERM)
        try:
            code: int | None = server.proc.wait(EXIT_WITHIN_S + grace)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.perf_counter() - t0
    finally:
        stop.set()
        thread.join(30)
    answered = loads[0].answers if loads else 0
    check = read_journal(journal) if journal is not None else JournalCheck()
    return SigtermResult(provider, code, seconds, answered, check, journal is not None)


def run_provider(provider: str, load_seconds: float = 2.0, connections: int = 50) -> SigtermResult:
    """Start the mock (with --journal when serve has it), load it, SIGTERM it, read its journal."""
    spec = get_spec(provider)
    has_journal = serve_has("--journal")
    with tempfile.TemporaryDirectory(prefix="authconform-sigterm-") as tmp:
        journal = Path(tmp) / "journal.json"
        extra = ["--journal", str(journal)] if has_journal else []
        if serve_has("--journal-mib"):
            extra += ["--journal-mib", str(WHOLE_JOURNAL_MIB)]
        with start(mock_argv(provider, *mock_options(spec), *extra)) as mock:
            return run_server(mock, provider, journal if has_journal else None, load_seconds, connections)


def report(results: Sequence[SigtermResult]) -> str:
    """The SIGTERM table, then every problem."""
    rows = [[r.provider, r.exit_code, r.seconds, r.answered, r.journal.entries if r.journal_option else "n/a",
             floor(not r.problems())] for r in results]
    out = [table(["provider", "exit", "seconds to exit", "answers before", "journal entries", "floor"], rows)]
    out += [f"{r.provider}: {p}" for r in results for p in r.problems()]
    return "\n".join(out)


def as_json(results: Sequence[SigtermResult]) -> dict[str, Any]:
    """Plain data for reports/bench/sigterm.json."""
    return {"runs": [{**r.__dict__, "journal": r.journal.__dict__, "problems": r.problems()} for r in results]}
