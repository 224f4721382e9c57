"""Benchmarks 1 and 2: each mock's req/s and p99 against a bare aiohttp handler and Prism, per path.

For every provider and every path (valid key, wrong key, missing header) the same wrk load (one
thread, 50 connections, same duration) goes to the bare handler, the mock and Prism in turn, each
server pinned to core 0 and wrk to core 1; the ratios come from figures measured in the same run.
Each path runs `rounds` times, the order of the servers turning each round so drift hits all
alike; a figure is the median over rounds. Besides req/s, the server's own CPU time per request
(from /proc) is kept: on a machine shared with other work it is the steadier measure of cost.
"""
from __future__ import annotations

import json
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from specs import ProviderSpec, get_spec

from . import _wrk
from ._prism import prism_argv, write_openapi
from ._probes import PATHS, ProbeRequest, probe_request
from ._procs import Server, bare_argv, free_port, mock_argv, serve_has, start, start_port
from ._ready import wait_for
from ._report import floor, ratio, table

# The floors: 0.9x the bare handler's req/s, p99 within 1.3x, 3x Prism's req/s.
RPS_FLOOR = 0.9
P99_CEILING = 1.3
PRISM_FLOOR = 3.0


@dataclass
class Figures:
    """One server's figures on one path: medians over rounds, totals of what wrk counted."""

    rps: float
    p99_ms: float
    cpu_us: float
    requests: int
    non_2xx: int
    socket_errors: int
    timeouts: int
    rounds: list[tuple[float, float, float]]

    @staticmethod
    def of(samples: Sequence[tuple[_wrk.WrkResult, float]]) -> "Figures":
        """Medians of (req/s, p99, CPU us per request) over the rounds."""
        med = statistics.median
        return Figures(
            rps=med(r.rps for r, _ in samples), p99_ms=med(r.p99_ms for r, _ in samples),
            cpu_us=med(c for _, c in samples), requests=sum(r.requests for r, _ in samples),
            non_2xx=sum(r.non_2xx for r, _ in samples), socket_errors=sum(r.socket_errors for r, _ in samples),
            timeouts=sum(r.timeouts for r, _ in samples), rounds=[(r.rps, r.p99_ms, c) for r, c in samples])


@dataclass
class PathRun:
    """The three servers' figures for one provider and one path."""

    provider: str
    path: str
    bare: Figures
    mock: Figures
    prism: Figures | None
    problems: list[str] = field(default_factory=list)

    @property
    def cpu_ratio(self) -> float:
        """Mock CPU per request over bare CPU per request (above 1: the mock costs more)."""
        return ratio(self.mock.cpu_us, self.bare.cpu_us)

    @property
    def rps_ratio(self) -> float:
        """Mock req/s over bare req/s."""
        return ratio(self.mock.rps, self.bare.rps)

    @property
    def p99_ratio(self) -> float:
        """Mock p99 over bare p99."""
        return ratio(self.mock.p99_ms, self.bare.p99_ms)

    @property
    def prism_ratio(self) -> float:
        """Mock req/s over Prism req/s."""
        return ratio(self.mock.rps, self.prism.rps) if self.prism else 0.0

    def floors(self) -> dict[str, bool]:
        """Which floors of README Performance row 1 this path meets."""
        out = {"rps >= 0.9x bare": self.rps_ratio >= RPS_FLOOR, "p99 <= 1.3x bare": self.p99_ratio <= P99_CEILING}
        if self.prism:
            out["rps >= 3x prism"] = self.prism_ratio >= PRISM_FLOOR
        return out


def mock_options(spec: ProviderSpec) -> list[str]:
    """Options for the mock under load.

    A rate-limited spec (cloro: 60 requests a minute) would answer the valid path with 429 after
    60 requests; `--no-rate-limit` (or, on an older mock, the `ignore_rate_limit` defect) keeps
    every other step of the decision and drops only the counter.
    """
    if not spec.rate_limit:
        return []
    return ["--no-rate-limit"] if serve_has("--no-rate-limit") else ["--defect", "ignore_rate_limit"]


def _check_statuses(spec: ProviderSpec, mock: Server, requests: dict[str, ProbeRequest]) -> list[str]:
    """One request per path before the load: the mock must give the spec's status (and body on success)."""
    problems = []
    for name, req in requests.items():
        resp = req.send(mock.base_url)
        if resp.status != req.expect_status:
            problems.append(f"{name}: mock answered {resp.status or resp.error}, spec says {req.expect_status}")
        elif name == "valid":
            try:
                same = json.loads(resp.body) == json.loads(spec.probe.success.body_bytes())
            except ValueError:
                same = resp.body == spec.probe.success.body_bytes()
            if not same:
                problems.append("valid: the mock's success body differs from the spec's (bare serves the spec's)")
    return problems


def _check_prism(prism: Server, requests: dict[str, ProbeRequest]) -> list[str]:
    """Prism must answer the probe as a mock of the document would: 2xx with a credential, 401 without.

    Prism checks that a credential is there, not which key it is: the wrong-key path gets its 200.
    """
    problems = []
    for name, req in requests.items():
        status = req.send(prism.base_url).status
        want_2xx = name != "missing"
        if (200 <= status < 300) != want_2xx:
            problems.append(f"{name}: Prism answered {status or 'nothing'}, so its figure is not of the same work")
    return problems


def _under_load(name: str, req: ProbeRequest, res: Figures, who: str) -> list[str]:
    """wrk's own counts must show every answer had the path's status class, and no socket errors."""
    problems = []
    want_2xx = 200 <= req.expect_status < 300
    if want_2xx and res.non_2xx:
        problems.append(f"{name}: {who} gave {res.non_2xx} non-2xx answers under load")
    if not want_2xx and res.non_2xx != res.requests and who == "mock":
        problems.append(f"{name}: {who} gave {res.requests - res.non_2xx} 2xx answers under load")
    if res.socket_errors or res.timeouts:
        problems.append(f"{name}: {who}: {res.socket_errors} socket errors, {res.timeouts} timeouts")
    return problems


def measure(server: Server, req: ProbeRequest, duration: float, connections: int,
            warmup: float) -> tuple[_wrk.WrkResult, float]:
    """A discarded warm-up run, then the measured one: wrk's figures and the server's CPU us per request."""
    if warmup > 0:
        _wrk.run(server.base_url, req, connections=connections, duration=warmup)
    cpu0 = server.cpu_seconds()
    res = _wrk.run(server.base_url, req, connections=connections, duration=duration)
    return res, ratio(server.cpu_seconds() - cpu0, res.requests) * 1e6


def run_provider(provider: str, duration: float = 5.0, connections: int = 50, warmup: float = 1.0,
                 paths: Sequence[str] = PATHS, with_prism: bool = True, rounds: int = 3) -> list[PathRun]:
    """Every path of one provider: bare, mock and Prism under the same wrk load."""
    spec = get_spec(provider)
    success = spec.probe.success
    ctype = "application/json" if not isinstance(success.body, str) else "text/plain"
    runs = []
    with tempfile.TemporaryDirectory(prefix="authconform-bench-") as tmp, \
            start(mock_argv(provider, *mock_options(spec))) as mock, \
            start(bare_argv(success.status, success.body_bytes(), ctype, spec.probe.method, spec.probe.path)) as bare:
        key = mock.keys["valid"]
        requests = {p: probe_request(spec, p, key) for p in paths}
        problems = _check_statuses(spec, mock, requests)
        prism = None
        if with_prism:
            port = free_port()
            prism = start_port(prism_argv(write_openapi(spec, Path(tmp)), port), port)
        try:
            if prism is not None:
                wait_for(prism, requests[paths[0]], None)
                problems += _check_prism(prism, requests)
            servers = {"bare": bare, "mock": mock, **({"prism": prism} if prism is not None else {})}
            for name, req in requests.items():
                samples: dict[str, list[tuple[_wrk.WrkResult, float]]] = {k: [] for k in servers}
                order = list(servers)
                for _ in range(rounds):
                    for who in order:
                        samples[who].append(measure(servers[who], req, duration, connections, warmup))
                    order = order[1:] + order[:1]
                figs = {k: Figures.of(v) for k, v in samples.items()}
                run = PathRun(provider, name, figs["bare"], figs["mock"], figs.get("prism"),
                              [x for x in problems if x.startswith(name + ":")])
                run.problems += _under_load(name, req, figs["mock"], "mock")
                runs.append(run)
        finally:
            if prism is not None:
                prism.stop()
                prism.close_log()
    return runs


def report(runs: Sequence[PathRun]) -> str:
    """The table of figures and ratios, then every floor missed and every problem seen."""
    rows = []
    for r in runs:
        rows.append([r.provider, r.path, r.bare.rps, r.mock.rps, f"{r.rps_ratio:.2f}x",
                     r.prism.rps if r.prism else "-", f"{r.prism_ratio:.1f}x" if r.prism else "-",
                     r.bare.p99_ms, r.mock.p99_ms, f"{r.p99_ratio:.2f}x",
                     r.bare.cpu_us, r.mock.cpu_us, f"{r.cpu_ratio:.2f}x", floor(all(r.floors().values()))])
    out = [table(["provider", "path", "bare req/s", "mock req/s", "mock/bare", "prism req/s", "mock/prism",
                  "bare p99 ms", "mock p99 ms", "p99 mock/bare", "bare CPU us/req", "mock CPU us/req",
                  "CPU mock/bare", "floors"], rows)]
    for r in runs:
        missed = [k for k, ok in r.floors().items() if not ok]
        if missed:
            out.append(f"{r.provider} {r.path}: floor missed: {', '.join(missed)}")
        out += [f"{r.provider} {p}" for p in r.problems]
    return "\n".join(out)


def as_json(runs: Sequence[PathRun]) -> dict[str, Any]:
    """The runs as plain data for reports/bench/throughput.json."""
    return {"runs": [{**asdict(r), "rps_ratio": r.rps_ratio, "p99_ratio": r.p99_ratio, "prism_ratio": r.prism_ratio,
                      "cpu_ratio": r.cpu_ratio, "floors": r.floors()} for r in runs]}
