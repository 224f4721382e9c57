"""The report: every CaseResult of a run, as a failure class x provider matrix of verdicts (terminal
summary), a JSON document (report.json), JUnit XML (junit.xml) and one self-contained HTML page
(report.html). Results arrive redacted; the writers redact once more with every secret of the run,
so no key reaches a file. The expected-deviations baseline, once judged, is reported alongside."""
from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from specs import FAILURE_CLASSES, JUnitCase, JUnitSuite, ProviderSpec, write_json, write_junit, write_text

from ._baseline import NOT_JUDGED, DeviationState
from ._cases import POSITIVE, cases_for
from ._drift import RECORD_FILE, record_of
from ._html import render_html
from ._result import CaseResult
from ._secret import Secret, redact
from ._verdict import Verdict, worst

ROWS: tuple[str, ...] = (POSITIVE, *FAILURE_CLASSES)
NOT_APPLICABLE = "-"
# The spec has cases of the class, and none of them ran: deselected (-k, -m, --lf, --sw) or not collected.
NOT_RUN = "not run"
# Some of them were selected, yet none left a result (its test errored before a verdict: see pytest's errors).
NO_RESULT = "error"
LEGEND = f"worst per class; * some cases skipped; ~ some not run; {NOT_RUN}: none selected (-k, -m, --lf); - no such class"
# One line of a non-passing case in the terminal is cut to this many characters.
REASON_WIDTH = 160


class Report:
    """The results of one run, in the order they came."""

    def __init__(self, mode: str, secrets: Iterable[Secret] = ()):
        self.mode = mode
        self.results: list[CaseResult] = []
        self._secrets: list[Secret] = list(secrets)
        # Provider id -> spec (names, docs links and deviations for the HTML page), when known.
        self.specs: dict[str, ProviderSpec] = {}
        # The expected-deviations baseline, judged after the run (suites._baseline).
        self.baseline: list[DeviationState] = []
        # Case ids the run selected, when known: tells a deselected class from one whose tests errored.
        self.selected: Iterable[str] | None = None
        self._planned: dict[str, dict[str, list[str]]] = {}

    def add(self, result: CaseResult) -> None:
        """Record one case's result."""
        self.results.append(result)

    def add_specs(self, specs: Iterable[ProviderSpec]) -> None:
        """The specs of the run (the HTML page names providers and links their docs from them)."""
        self.specs.update({s.id: s for s in specs})

    @property
    def stale(self) -> list[DeviationState]:
        """Baseline entries that fail the run: deviations that no longer happen, or match nothing."""
        return [s for s in self.baseline if s.fails_run]

    def add_secrets(self, secrets: Iterable[Secret]) -> None:
        """Secrets the writers must also redact (keys of targets started after the report)."""
        self._secrets += list(secrets)

    @property
    def providers(self) -> list[str]:
        """Providers with at least one result, sorted."""
        return sorted({r.provider for r in self.results})

    def planned(self, provider: str) -> dict[str, list[str]]:
        """failure class -> the ids of the provider's fixed cases of that class (empty when its spec is unknown)."""
        if provider not in self._planned:
            spec = self.specs.get(provider)
            planned: dict[str, list[str]] = {}
            for case in cases_for(spec) if spec is not None else ():
                planned.setdefault(case.klass, []).append(case.id)
            self._planned[provider] = planned
        return self._planned[provider]

    def cell(self, provider: str, klass: str) -> str:
        """A matrix cell: the worst verdict of the class's cases, `*` when some were skipped, `~` when
        some did not run; `not run` when none did, `-` when the spec has no such class."""
        results = [r for r in self.results if r.provider == provider and r.klass == klass]
        planned = self.planned(provider).get(klass, [])
        if not results:
            if not planned:
                return NOT_APPLICABLE
            chosen = set(self.selected) if self.selected is not None else set()
            return NO_RESULT if chosen.intersection(planned) else NOT_RUN
        ran = [r.verdict for r in results if r.verdict is not Verdict.SKIP]
        missing = "~" if set(planned) - {r.case_id for r in results} else ""
        if not ran:
            return Verdict.SKIP.value + missing
        return worst(ran).value + ("*" if len(ran) < len(results) else "") + missing

    @property
    def rows(self) -> list[str]:
        """The matrix rows: positive, every failure class, then any other kind of result recorded
        (the Hypothesis engine's `generated`)."""
        return [*ROWS, *dict.fromkeys(r.klass for r in self.results if r.klass not in ROWS)]

    def matrix(self) -> dict[str, dict[str, str]]:
        """provider -> failure class -> cell."""
        return {p: {k: self.cell(p, k) for k in self.rows} for p in self.providers}

    def totals(self) -> dict[str, int]:
        """How many cases ended in each verdict."""
        counts = Counter(r.verdict.value for r in self.results)
        return {v.value: counts.get(v.value, 0) for v in Verdict}

    def summary_lines(self, paint: Callable[[str, str], str] | None = None, width: int = REASON_WIDTH) -> list[str]:
        """The terminal summary: a failure class x provider table of verdicts, the totals, every FAIL
        and NON-STRICT case (grouped by check and reason), then the baseline's entries (seen, stale,
        not run, unknown). `paint(text, cell)` may colour a cell's padded text by its verdict."""
        told = [s.line() for s in self.baseline if s.state != NOT_JUDGED]
        if not self.results:
            return told
        providers, rows = self.providers, self.rows
        column = max(12, *(len(p) + 2 for p in providers))
        first = max(len(k) for k in rows) + 2
        colour = paint or (lambda text, cell: text)
        lines = [
            f"authconform verdicts against the {self.mode} targets ({LEGEND})",
            "failure class".ljust(first) + "".join(p.ljust(column) for p in providers),
        ]
        for k in rows:
            cells = [self.cell(p, k) for p in providers]
            padded = [c.ljust(column) if i < len(cells) - 1 else c for i, c in enumerate(cells)]
            lines.append(k.ljust(first) + "".join(colour(text, cell) for text, cell in zip(padded, cells)))
        totals = self.totals()
        lines.append(f"{len(self.results)} cases: " + ", ".join(colour(f"{n} {v}", v) for v, n in totals.items() if n))
        lines += self.findings_lines(colour, width)
        return [line.rstrip() for line in lines + told]

    def findings_lines(self, paint: Callable[[str, str], str] | None = None, width: int = REASON_WIDTH) -> list[str]:
        """Every FAIL and NON-STRICT case under its verdict, grouped by its one line of why (the
        deciding check, what came back, what was expected: CaseResult.headline), so a reader of the
        terminal need not open report.html."""
        colour = paint or (lambda text, cell: text)
        out: list[str] = []
        for verdict in (Verdict.FAIL, Verdict.NON_STRICT):
            cases = [r for r in self.results if r.verdict is verdict]
            if not cases:
                continue
            groups: dict[str, list[str]] = {}
            for r in cases:
                groups.setdefault(r.headline(width - 2), []).append(r.case_id)
            out.append(colour(f"{verdict.value}: {len(cases)} case{'s' if len(cases) != 1 else ''}", verdict.value))
            for why, ids in groups.items():
                out.append(f"  {why}")
                out += _wrap(ids, width, "    ")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            "tool": "authconform",
            "mode": self.mode,
            "totals": self.totals(),
            "matrix": self.matrix(),
            "cases": [r.as_dict() for r in self.results],
            "deviations": [s.as_dict() for s in self.baseline],
        }

    def junit(self) -> list[JUnitSuite]:
        """JUnit: one testsuite per provider, one testcase per case, verdict and mode as properties;
        then the baseline's entries, if any."""
        suites = []
        for provider in self.providers:
            cases = []
            for r in (r for r in self.results if r.provider == provider):
                props = (("verdict", r.verdict.value), ("mode", r.mode))
                if r.verdict is Verdict.FAIL:
                    first = ((r.reason or "").splitlines() or [f"{r.case_id}: FAIL"])[0]
                    outcome = dict(outcome="failure", message=first, text=r.reason)
                elif r.verdict is Verdict.SKIP:
                    outcome = dict(outcome="skipped", message=r.reason or "")
                else:
                    outcome = dict(system_out=f"{r.verdict.value}: {r.reason}" if r.reason else None)
                cases.append(JUnitCase(r.case_id, f"authconform.{provider}", properties=props, time=r.duration, **outcome))
            suites.append(JUnitSuite(provider, tuple(cases)))
        if self.baseline:
            suites.append(self._junit_baseline())
        return suites

    def _junit_baseline(self) -> JUnitSuite:
        """One testcase per baseline entry: a stale (or unmatched) entry is a failure."""
        cases = [
            JUnitCase(f"{s.deviation.case}/{s.deviation.check}", f"authconform.baseline.{s.provider}", time=0.0,
                      **(dict(outcome="failure", message=s.line(), text=s.line()) if s.fails_run else dict(system_out=s.line())))
            for s in self.baseline
        ]
        return JUnitSuite("baseline", tuple(cases))

    def write(self, directory: str | Path) -> list[Path]:
        """Write report.json, junit.xml and report.html into a folder (created if needed); return their paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        html_path = out / "report.html"
        paths = [write_json(out / "report.json", self.as_dict(), redact=self._redact),
                 write_junit(out / "junit.xml", self.junit(), redact=self._redact)]
        write_text(html_path, self._redact_html(render_html(self)))
        return [*paths, html_path]

    def write_record(self, directory: str | Path) -> Path:
        """Write record.json (what the targets answered, case by case) for `python -m drive drift DIR`."""
        return write_json(Path(directory) / RECORD_FILE, record_of(self.results, self.mode), redact=self._redact)

    def _redact_html(self, page: str) -> str:
        """The page redacted, each placeholder the pass puts in HTML-escaped (a bare `<CLORO_API_KEY>`
        would be parsed as a tag and vanish from the page)."""
        page = self._redact(page)
        for label in {s.label for s in self._secrets}:
            for placeholder in (f"<{label}>", f"<{label}:partial>"):
                page = page.replace(placeholder, html.escape(placeholder))
        return page

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets) if self._secrets else text


def _wrap(words: list[str], width: int, indent: str) -> list[str]:
    """Words joined by ", " over lines no longer than width (a single long word stays whole)."""
    lines, line = [], ""
    for w in words:
        candidate = f"{line}, {w}" if line else w
        if line and len(indent) + len(candidate) > width:
            lines.append(indent + line + ",")
            candidate = w
        line = candidate
    return lines + ([indent + line] if line else [])
