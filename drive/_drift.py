"""`python -m drive drift DIR`: run every case of a live record (`pytest --live --record DIR`) against
a fresh mock of its provider and compare the answers (suites/_drift.py says what is compared)."""
from __future__ import annotations

from typing import Any, Sequence

from specs import ProviderSpec
from suites import Answer, Drift, DriftReport, Verdict, cases_for, compare, mock_target, run_case

from ._mock_process import start_mocks


def drift_against_mocks(record: dict[str, Any], specs: Sequence[ProviderSpec]) -> DriftReport:
    """Run every recorded case of the given specs against a fresh mock of its provider and compare."""
    by_provider = {s.id: s for s in specs}
    recorded = [c for c in record["cases"] if c["provider"] in by_provider]
    notes: list[str] = []
    drifts: list[Drift] = []
    compared = 0
    providers = list(dict.fromkeys(c["provider"] for c in recorded))
    if not providers:
        return DriftReport([], 0, ["the record holds no case of the selected providers"])
    mocks = start_mocks(providers)
    try:
        for provider in providers:
            spec, mock = by_provider[provider], mocks[provider]
            target = mock_target(spec, mock.base_url, mock.keys)
            cases = {c.id: c for c in cases_for(spec)}
            for rec in (c for c in recorded if c["provider"] == provider):
                case = cases.get(rec["case_id"])
                if case is None:
                    notes.append(f"{rec['case_id']}: the spec has no such case now; not compared")
                    continue
                result = run_case(case, target)
                if result.verdict is Verdict.SKIP or result.response is None:
                    notes.append(f"{case.id}: not run on the mock ({result.reason or 'no exchange'}); not compared")
                    continue
                compared += 1
                drifts += compare(spec, case.id, case.klass, Answer.from_dict(rec["response"]), Answer.parse(result.response))
    finally:
        for mock in mocks.values():
            mock.stop()
    return DriftReport(drifts, compared, notes)
