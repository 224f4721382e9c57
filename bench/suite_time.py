"""README Performance row 5: the wall time of `make test-mock` (all five providers), with the venv already set up."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from ._procs import ROOT, BenchError
from ._report import floor, table

# The ceiling for the whole conformance run against every mock.
SUITE_CEILING_S = 60.0


@dataclass
class SuiteTime:
    """How long `make test-mock` took, how it ended, and pytest's closing line."""

    seconds: float
    exit_code: int
    summary: str


def run(timeout: float = 900.0) -> SuiteTime:
    """`make setup` (not timed), then `make test-mock` timed from fork to exit."""
    make = shutil.which("make")
    if make is None:
        raise BenchError("make is not installed: `apt-get install -y make`")
    setup = subprocess.run([make, "-s", "setup"], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if setup.returncode != 0:
        raise BenchError(f"make setup failed: {(setup.stderr or setup.stdout).strip()[-300:]}")
    t0 = time.perf_counter()
    proc = subprocess.run([make, "-s", "test-mock"], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    closing = [line.strip("= ") for line in proc.stdout.splitlines() if re.search(r"\b(passed|failed|error)", line)]
    return SuiteTime(seconds, proc.returncode, closing[-1] if closing else proc.stdout.strip()[-200:])


def report(result: SuiteTime) -> str:
    """The one-row table."""
    return table(["what", "wall s", "exit", "pytest said", "floor <= 60 s"],
                 [["make test-mock", result.seconds, result.exit_code, result.summary,
                   floor(result.seconds <= SUITE_CEILING_S)]])


def as_json(result: SuiteTime) -> dict[str, Any]:
    """Plain data for reports/bench/suite.json."""
    return dict(result.__dict__)
