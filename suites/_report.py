"""The report: every CaseResult of a run, as a failure class x provider matrix of verdicts (terminal
summary), a JSON document (report.json), JUnit XML (junit.xml) and one self-contained HTML page
(report.html). Results arrive redacted; the writers redact once more with every secret of the run,
so no key reaches a file. The expected-deviations baseline, once judged, is reported alongside."""
from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from specs import FAILURE_CLASSES, ProviderSpec

from ._baseline import NOT_JUDGED, DeviationState
from ._cases import POSITIVE
from ._drift import RECORD_FILE, record_of
from ._html import render_html
from ._result import CaseResult
from ._secret import Secret, redact
from ._verdict import Verdict, worst

ROWS: tuple[str, ...] = (POSITIVE, *FAILURE_CLASSES)
NOT_APPLICABLE = "-"


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

    def cell(self, provider: str, klass: str) -> str:
        """A matrix cell: the worst verdict of the class's cases, `*` when some were skipped."""
        verdicts = [r.verdict for r in self.results if r.provider == provider and r.klass == klass]
        if not verdicts:
            return NOT_APPLICABLE
        ran = [v for v in verdicts if v is not Verdict.SKIP]
        if not ran:
            return Verdict.SKIP.value
        return worst(ran).value + ("*" if len(ran) < len(verdicts) else "")

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

    def summary_lines(self) -> list[str]:
        """The terminal summary: a failure class x provider table of verdicts, the totals, then the
        baseline's entries (seen, stale, not run, unknown)."""
        told = [s.line() for s in self.baseline if s.state != NOT_JUDGED]
        if not self.results:
            return told
        providers, rows = self.providers, self.rows
        width = max(12, *(len(p) + 2 for p in providers))
        first = max(len(k) for k in rows) + 2
        lines = [
            f"authconform verdicts against the {self.mode} targets (worst per class; * some cases skipped; - no such class)",
            "failure class".ljust(first) + "".join(p.ljust(width) for p in providers),
        ]
        lines += [k.ljust(first) + "".join(self.cell(p, k).ljust(width) for p in providers) for k in rows]
        totals = self.totals()
        lines.append(f"{len(self.results)} cases: " + ", ".join(f"{n} {v}" for v, n in totals.items() if n))
        return [line.rstrip() for line in lines + told]

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

    def junit(self) -> ET.Element:
        """JUnit XML: one testsuite per provider, one testcase per case, verdict as a property."""
        root = ET.Element("testsuites", name="authconform")
        for provider in self.providers:
            results = [r for r in self.results if r.provider == provider]
            suite = ET.SubElement(
                root, "testsuite", name=provider, tests=str(len(results)),
                failures=str(sum(r.verdict is Verdict.FAIL for r in results)),
                skipped=str(sum(r.verdict is Verdict.SKIP for r in results)), errors="0",
                time=f"{sum(r.duration for r in results):.3f}",
            )
            for r in results:
                case = ET.SubElement(suite, "testcase", classname=f"authconform.{provider}", name=r.case_id, time=f"{r.duration:.3f}")
                props = ET.SubElement(case, "properties")
                ET.SubElement(props, "property", name="verdict", value=r.verdict.value)
                ET.SubElement(props, "property", name="mode", value=r.mode)
                if r.verdict is Verdict.FAIL:
                    ET.SubElement(case, "failure", message=((r.reason or "").splitlines() or [f"{r.case_id}: FAIL"])[0]).text = r.reason
                elif r.verdict is Verdict.SKIP:
                    ET.SubElement(case, "skipped", message=r.reason or "")
                elif r.reason:
                    ET.SubElement(case, "system-out").text = f"{r.verdict.value}: {r.reason}"
        if self.baseline:
            self._junit_baseline(root)
        return root

    def _junit_baseline(self, root: ET.Element) -> None:
        """One testcase per baseline entry: a stale (or unmatched) entry is a failure."""
        suite = ET.SubElement(root, "testsuite", name="baseline", tests=str(len(self.baseline)),
                              failures=str(len(self.stale)), skipped="0", errors="0", time="0.000")
        for s in self.baseline:
            case = ET.SubElement(suite, "testcase", classname=f"authconform.baseline.{s.provider}",
                                 name=f"{s.deviation.case}/{s.deviation.check}", time="0.000")
            if s.fails_run:
                ET.SubElement(case, "failure", message=s.line()).text = s.line()
            else:
                ET.SubElement(case, "system-out").text = s.line()

    def write(self, directory: str | Path) -> list[Path]:
        """Write report.json, junit.xml and report.html into a folder (created if needed); return their paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        json_path, xml_path, html_path = out / "report.json", out / "junit.xml", out / "report.html"
        json_path.write_text(self._redact(json.dumps(self.as_dict(), indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
        xml = ET.tostring(self.junit(), encoding="unicode")
        xml_path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + self._redact(xml) + "\n", encoding="utf-8")
        html_path.write_text(self._redact_html(render_html(self)), encoding="utf-8")
        return [json_path, xml_path, html_path]

    def write_record(self, directory: str | Path) -> Path:
        """Write record.json (what the targets answered, case by case) for `python -m suites drift DIR`."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        path = out / RECORD_FILE
        path.write_text(self._redact(json.dumps(record_of(self.results, self.mode), indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
        return path

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
