"""The kill matrix: every defect of ARCHITECTURE.md, planted in every provider's mock it applies to,
is caught by the fixed cases. ARCHITECTURE.md: "The suite must report a non-PASS verdict (FAIL for
documented rules and security) on at least one case for every applicable defect"."""
from __future__ import annotations

import pytest

from mocks import MockServer, defects_for
from specs import load_all
from suites import MockAdmin, Verdict, cases_for, mock_target, run_case

# Defects that let a request without a valid credential through, echo one, or crash: FAIL whatever
# the strength of the rule they break. The others break a rule whose strength decides.
SECURITY = frozenset(
    {
        "accept_missing", "accept_any_token", "accept_other_scheme", "accept_raw_key", "prefix_compare",
        "short_compare", "case_insensitive_compare", "accept_query_key", "echo_credential", "accept_expired",
        "accept_revoked", "ignore_scope", "ignore_binding", "accept_refused_kind", "crash_long_header",
        "crash_non_ascii", "crash_duplicate_header",
    }
)
PAIRS = [(spec, defect) for spec in load_all() for defect in defects_for(spec)]


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "defect"), PAIRS, ids=[f"{s.id}-{d}" for s, d in PAIRS])
def test_every_applicable_defect_is_caught(spec, defect: str) -> None:
    """Some case of the provider ends non-PASS on the defective mock; FAIL for security defects."""
    with MockServer(spec, defects=(defect,)) as server:
        target = mock_target(spec, server.base_url, MockAdmin(server.base_url).keys())
        results = [run_case(case, target) for case in cases_for(spec)]
    caught = {r.case_id: r.verdict for r in results if r.verdict in (Verdict.FAIL, Verdict.NON_STRICT)}
    assert caught, f"{defect} survived every case of {spec.id}"
    if defect in SECURITY:
        assert Verdict.FAIL in caught.values(), caught
