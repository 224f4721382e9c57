"""The conformance suite: cases from each spec, checks and verdicts, a raw-socket transport, reports.

specs/ -> cases (suites._cases) -> a target (mock or live) over real TCP -> checks -> verdicts -> report.
"""
# The names fixtures/, the root conftest.py, bench/ and the tests use (tests/test_layout.py keeps
# other packages to them).
from ._admin import AdminError, MockAdmin
from ._baseline import judge_baseline
from ._cases import Case, cases_for
from ._health import check_health
from ._drift import Answer, Drift, DriftReport, RecordError, compare, load_record
from ._report import Report
from ._result import CaseResult
from ._runner import run_case
from ._secret import Secret, redact
from ._target import LIVE, MOCK, Target, check_base_url, live_target, mock_target
from ._transport import Connection, RawRequest, RawResponse, send
from ._verdict import Verdict

__all__ = [
    "LIVE", "MOCK", "AdminError", "Answer", "Case", "CaseResult", "Connection", "Drift", "DriftReport",
    "MockAdmin", "RawRequest", "RawResponse", "RecordError", "Report", "Secret", "Target", "Verdict",
    "cases_for", "check_base_url", "check_health", "compare", "judge_baseline", "live_target",
    "load_record", "mock_target", "redact", "run_case", "send",
]
