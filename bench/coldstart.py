"""README Performance row 3: cold start to the first 200, the mock against the bare aiohttp process (and Prism).

Each sample starts a fresh process (pinned to core 0) and times from just before its fork to the
first 200 answer to the probe with a valid key; the figure is the median of the samples.
Both sides start as on a machine where they have run before: the project's modules compiled
(aiohttp's are, from its install; with PYTHONDONTWRITEBYTECODE set, as in some sandboxes, Python
would recompile the mock's ~4,000 lines at every start) and one unmeasured start of each first
(which writes the mock's checked-spec cache, as any first run does).
"""
from __future__ import annotations

import compileall
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from specs import get_spec

from ._prism import prism_argv, write_openapi
from ._probes import probe_request
from ._procs import ROOT, bare_argv, free_port, mock_argv, start, start_port
from ._ready import wait_for
from ._report import floor, ratio, table

# The ceiling: the mock's cold start at most 1.2x the bare aiohttp process's.
COLD_CEILING = 1.2


@dataclass
class ColdStart:
    """Median seconds to the first 200 for one provider's bare, mock and Prism processes."""

    provider: str
    bare: float
    mock: float
    prism: float | None
    bare_samples: list[float]
    mock_samples: list[float]

    @property
    def ratio(self) -> float:
        """Mock over bare."""
        return ratio(self.mock, self.bare)


def mock_first_200(provider: str) -> float:
    """Seconds from starting `python -m mocks serve` to its first 200 on the probe."""
    spec = get_spec(provider)
    with start(mock_argv(provider)) as mock:
        req = probe_request(spec, "valid", mock.keys["valid"])
        return wait_for(mock, req, spec.probe.success.status)[0]


def bare_first_200(provider: str) -> float:
    """Seconds from starting the bare handler to its first 200 on the same probe."""
    spec = get_spec(provider)
    s = spec.probe.success
    with start(bare_argv(s.status, s.body_bytes(), "application/json", spec.probe.method, spec.probe.path)) as bare:
        return wait_for(bare, probe_request(spec, "missing", None), s.status)[0]


def prism_first_200(provider: str) -> float:
    """Seconds from starting Prism on the spec's OpenAPI document to its first 200 (key value unchecked)."""
    spec = get_spec(provider)
    with tempfile.TemporaryDirectory(prefix="authconform-bench-") as tmp:
        port = free_port()
        with start_port(prism_argv(write_openapi(spec, Path(tmp)), port), port) as prism:
            return wait_for(prism, probe_request(spec, "valid", "0" * 40), spec.probe.success.status)[0]


def compile_project() -> None:
    """Bytecode for specs/ and mocks/, checked by source hash (an edited file is never run stale)."""
    for folder in ("specs", "mocks"):
        compileall.compile_dir(ROOT / folder, quiet=2, invalidation_mode=compileall.py_compile.PycInvalidationMode.CHECKED_HASH)


def run_provider(provider: str, samples: int = 5, with_prism: bool = True) -> ColdStart:
    """Interleaved samples of bare and mock (so drift hits both alike), one of Prism; after one
    unmeasured start of each."""
    compile_project()
    bare_first_200(provider)
    mock_first_200(provider)
    bare, mock = [], []
    for _ in range(samples):
        bare.append(bare_first_200(provider))
        mock.append(mock_first_200(provider))
    prism = prism_first_200(provider) if with_prism else None
    return ColdStart(provider, statistics.median(bare), statistics.median(mock), prism, bare, mock)


def report(results: Sequence[ColdStart]) -> str:
    """The cold-start table."""
    rows = [[r.provider, r.bare, r.mock, f"{r.ratio:.2f}x", r.prism if r.prism is not None else "-",
             f"{ratio(r.prism or 0.0, r.mock):.1f}x" if r.prism else "-", floor(r.ratio <= COLD_CEILING)]
            for r in results]
    return table(["provider", "bare s", "mock s", "mock/bare", "prism s", "prism/mock", "floor <= 1.2x"], rows)


def as_json(results: Sequence[ColdStart]) -> dict[str, Any]:
    """Plain data for reports/bench/coldstart.json."""
    return {"runs": [{**r.__dict__, "ratio": r.ratio} for r in results]}
