"""Printing and saving benchmark figures: aligned tables, floors, a JSON file per benchmark."""
from __future__ import annotations

import platform
import os
from pathlib import Path
from typing import Any, Sequence

from specs import write_json

from ._procs import ROOT

REPORT_DIR = ROOT / "reports" / "bench"


def ratio(a: float, b: float) -> float:
    """a / b, or 0.0 when b is 0."""
    return a / b if b else 0.0


def floor(ok: bool) -> str:
    """The word a table prints for a floor."""
    return "met" if ok else "MISSED"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def machine() -> dict[str, Any]:
    """What machine the figures were measured on."""
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "memory_mib": mem, "cpu": cpu, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def save(name: str, data: dict[str, Any]) -> Path:
    """Write one benchmark's figures to reports/bench/NAME.json (git-ignored); its path."""
    return write_json(REPORT_DIR / f"{name}.json", {"machine": machine(), **data})
