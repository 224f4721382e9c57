"""README Performance row 6: `serve --workers N` (N processes on one port): req/s for N = 1 and 2, shared state checked.

With N = 1 the mock is pinned to core 0 and wrk to core 1; with N = 2 the workers need both cores,
so nothing is pinned and wrk shares the cores with them (a 2-core machine has no third).
Shared state: a key minted through the admin API must work on every connection (whichever worker
accepts it), the journal must list every request, and a revoked key must fail on every connection.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from specs import get_spec
from suites import AdminError, MockAdmin

from . import _wrk
from ._probes import probe_request
from ._procs import SERVER_CPUS, mock_argv, serve_has, start
from ._report import floor, ratio, table
from .throughput import mock_options


@dataclass
class WorkersRun:
    """One N: req/s, p99 and what the shared-state check found."""

    workers: int
    rps: float = 0.0
    p99_ms: float = 0.0
    problems: list[str] = field(default_factory=list)


def shared_state(base_url: str, provider: str, requests: int = 60) -> list[str]:
    """Mint a key, use it on `requests` fresh connections, read the journal, revoke it, use it again."""
    spec = get_spec(provider)
    admin = MockAdmin(base_url)
    problems = []
    try:
        admin.clear_journal()
        key_id, key = admin.mint_entry("valid")
    except AdminError as exc:
        return [f"admin API: {exc}"]
    req = probe_request(spec, "valid", key)
    ok = sum(req.send(base_url).status == req.expect_status for _ in range(requests))
    if ok != requests:
        problems.append(f"a minted key worked on {ok} of {requests} connections (key store not shared)")
    try:
        entries = admin.journal()
    except AdminError as exc:
        return problems + [f"journal: {exc}"]
    mine = [e for e in entries if (e.get("credential") or {}).get("key_id") == key_id]
    if len(mine) != requests:
        problems.append(f"the journal lists {len(mine)} of the {requests} requests (journal not shared)")
    if "revoked" in spec.keys.states:
        try:
            admin.revoke(key_id)
        except AdminError as exc:
            return problems + [f"revoke: {exc}"]
        want = spec.failures["revoked"].status
        still = sum(req.send(base_url).status != want for _ in range(requests))
        if still:
            problems.append(f"a revoked key still passed on {still} of {requests} connections")
    return problems


def run_provider(provider: str, workers: Sequence[int] = (1, 2), duration: float = 5.0,
                 connections: int = 50) -> list[WorkersRun]:
    """req/s and the shared-state check for each N."""
    if not serve_has("--workers"):
        return [WorkersRun(n, problems=["`serve` has no --workers option"]) for n in workers]
    spec = get_spec(provider)
    runs = []
    for n in workers:
        cpus = SERVER_CPUS if n == 1 else None
        with start(mock_argv(provider, *mock_options(spec), "--workers", str(n)), cpus=cpus) as mock:
            run = WorkersRun(n)
            run.problems = shared_state(mock.base_url, provider)
            MockAdmin(mock.base_url).reset()
            req = probe_request(spec, "valid", mock.keys["valid"])
            _wrk.run(mock.base_url, req, connections=connections, duration=1, cpus=None if n > 1 else "1")
            res = _wrk.run(mock.base_url, req, connections=connections, duration=duration,
                           cpus=None if n > 1 else "1")
            run.rps, run.p99_ms = res.rps, res.p99_ms
            if res.non_2xx or res.socket_errors or res.timeouts:
                run.problems.append(f"{res.non_2xx} non-2xx, {res.socket_errors + res.timeouts} socket errors")
            runs.append(run)
    return runs


def report(provider: str, runs: Sequence[WorkersRun]) -> str:
    """The scale-out table, then every problem."""
    base = runs[0].rps if runs else 0.0
    rows = [[provider, r.workers, r.rps, f"{ratio(r.rps, base):.2f}x", r.p99_ms, floor(not r.problems)] for r in runs]
    out = [table(["provider", "workers", "req/s", "vs N=1", "p99 ms", "shared state"], rows)]
    out += [f"{provider} workers={r.workers}: {p}" for r in runs for p in r.problems]
    return "\n".join(out)


def as_json(provider: str, runs: Sequence[WorkersRun]) -> dict[str, Any]:
    """Plain data for reports/bench/scaleout.json."""
    return {"provider": provider, "runs": [r.__dict__ for r in runs]}
