"""The conformance suite: cases from each spec, checks and verdicts, a raw-socket transport, reports.

specs/ -> cases (suites._cases) -> a target (mock or live) over real TCP -> checks -> verdicts -> report.
"""
from ._admin import AdminError, MockAdmin
from ._baseline import DeviationState, judge_baseline
from ._cases import POSITIVE, Case, Outgoing, cases_for
from ._checks import CHECKS, FAILURE_CHECKS, POSITIVE_CHECKS, CheckFailed, NotApplicable, Observation, Observed
from ._health import check_health
from ._drift import Answer, Drift, DriftReport, RecordError, drift_against_mocks, load_record
from ._report import Report
from ._result import CaseResult, CheckResult
from ._runner import run_case
from ._secret import Secret, leaks, redact
from ._target import ENV_SUFFIX, LIVE, MOCK, Target, check_base_url, live_target, mock_target
from ._transport import Connection, RawRequest, RawResponse
from ._verdict import Verdict, verdict_for, worst

__all__ = [
    "CHECKS", "ENV_SUFFIX", "FAILURE_CHECKS", "LIVE", "MOCK", "POSITIVE", "POSITIVE_CHECKS",
    "AdminError", "Answer", "Case", "CaseResult", "CheckFailed", "CheckResult", "Connection", "DeviationState", "Drift", "DriftReport", "MockAdmin", "NotApplicable",
    "Observation", "Observed", "Outgoing", "RawRequest", "RawResponse", "RecordError", "Report", "Secret", "Target", "Verdict",
    "cases_for", "check_base_url", "check_health", "drift_against_mocks", "judge_baseline", "leaks", "live_target", "load_record", "mock_target", "redact", "run_case", "verdict_for", "worst",
]
