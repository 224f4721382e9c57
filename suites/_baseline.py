"""The expected-deviations baseline: a spec's `deviations` entries (case, check, reason, link) name
where the live provider is known to depart from its spec.

While a live case runs, the runner reports such a check as INFO with the note "known deviation:
<reason> (<link>)" instead of FAIL (DEVIATION is shown as its own badge in report.html, but it is
not a sixth verdict: pytest's exit status follows FAIL only, and INFO already means "observed, not
judged"). After the run this module judges the list itself, so that the baseline never outlives the
bug it excuses: an entry whose deviation no longer happens is stale and fails the run, and so does
an entry naming no case or no check (it could never match, so it would excuse nothing, silently).
Mock runs do not judge the baseline: a mock follows its spec, so every entry would be stale there.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from specs import Deviation, ProviderSpec

from ._cases import cases_for
from ._checks import CHECKS
from ._result import DEVIATION_NOTE, CaseResult
from ._target import MOCK
from ._verdict import Verdict
from .engine import PROPERTY, STRATEGIES

SEEN = "seen"
STALE = "stale"
NOT_RUN = "not run"
UNKNOWN = "unknown"
NOT_JUDGED = "not judged"
# The states that fail the run.
FAILING = (STALE, UNKNOWN)


@dataclass(frozen=True)
class DeviationState:
    """One baseline entry after a run: seen, stale, not run, unknown, or not judged (a mock run)."""

    provider: str
    spec_path: str
    deviation: Deviation
    state: str
    detail: str
    case_id: str | None = None

    @property
    def fails_run(self) -> bool:
        """A stale entry, or one that names no case or check, fails the run."""
        return self.state in FAILING

    def line(self) -> str:
        """One line for the terminal summary."""
        d = self.deviation
        head = f"{self.state.upper()} deviation {self.provider} {d.case}/{d.check}"
        if self.state == STALE:
            return f"{head}: {self.detail}; remove it from {self.spec_path} (it said: {d.reason}; {d.link})"
        if self.state == UNKNOWN:
            return f"{head}: {self.detail}; fix it in {self.spec_path}"
        return f"{head}: {self.detail} ({d.reason}; {d.link})"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = self.deviation
        return {
            "provider": self.provider, "case": d.case, "check": d.check, "reason": d.reason, "link": d.link,
            "state": self.state, "detail": self.detail, "case_id": self.case_id, "spec": self.spec_path,
        }


def _shown_path(path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def matches(deviation: Deviation, case_id: str) -> bool:
    """The runner's own matching: the entry names the full case id or the id without its provider."""
    return deviation.case in (case_id, case_id.split(".", 1)[1] if "." in case_id else case_id)


def _judge_one(spec: ProviderSpec, d: Deviation, known: list[str], by_id: dict[str, CaseResult], mode: str) -> DeviationState:
    path = _shown_path(spec.path)
    names = list(dict.fromkeys([*CHECKS, *PROPERTY]))
    if d.check not in names:
        return DeviationState(spec.id, path, d, UNKNOWN, f"names no check (checks: {', '.join(names)})")
    case_id = next((c for c in known if matches(d, c)), None)
    if case_id is None:
        return DeviationState(spec.id, path, d, UNKNOWN, f"names no case of {spec.id} (e.g. {spec.id}.missing or missing)")
    if mode == MOCK:
        return DeviationState(spec.id, path, d, NOT_JUDGED, "deviations describe the live provider; a mock run does not judge them", case_id)
    result = by_id.get(case_id)
    if result is None:
        return DeviationState(spec.id, path, d, NOT_RUN, "the case was not selected in this run", case_id)
    if result.verdict is Verdict.SKIP:
        return DeviationState(spec.id, path, d, NOT_RUN, f"the case was skipped: {result.reason or 'no reason given'}", case_id)
    bad = [c for c in result.checks if c.check == d.check and c.verdict is not Verdict.PASS]
    if d.klass is not None:
        # A class-scoped entry (generated strategies) is seen only through the findings it excused.
        bad = [c for c in bad if (c.note or "").startswith(f"{DEVIATION_NOTE} {d.reason}")]
    if bad:
        c = bad[0]
        got = f" (got {c.got})" if c.got else ""
        return DeviationState(spec.id, path, d, SEEN, f"{case_id}: {d.check} {c.verdict.value}{got}", case_id)
    answered = (result.response or "").splitlines()[0] if result.response else "no exchange recorded"
    passed = any(c.check == d.check for c in result.checks)
    how = "passes" if passed else "is not judged by (it does not apply to the answer)"
    return DeviationState(spec.id, path, d, STALE, f"{case_id} now {how} {d.check} (the target answered {answered})", case_id)


def judge_baseline(specs: Iterable[ProviderSpec], results: Iterable[CaseResult], mode: str) -> list[DeviationState]:
    """Every deviation of every spec, judged against a run's results (the last result per case)."""
    results = list(results)
    states: list[DeviationState] = []
    for spec in specs:
        if not spec.deviations:
            continue
        mine = [r for r in results if r.provider == spec.id]
        by_id = {r.case_id: r for r in mine}
        generated = [f"{spec.id}.generated.{name}" for name in STRATEGIES]
        known = list(dict.fromkeys([c.id for c in cases_for(spec)] + generated + [r.case_id for r in mine]))
        states += [_judge_one(spec, d, known, by_id, mode) for d in spec.deviations]
    return states


def seen_deviations(states: Iterable[DeviationState]) -> dict[tuple[str, str], DeviationState]:
    """(case id, check) -> the entry seen there: where a report shows a DEVIATION badge."""
    return {(s.case_id, s.deviation.check): s for s in states if s.state == SEEN and s.case_id}
