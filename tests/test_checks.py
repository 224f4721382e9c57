"""No check that cannot fail: for every check, a target broken in exactly that respect makes the
suite report FAIL for it (NON-STRICT where the rule it breaks is `rfc` or `inferred`), while the
clean mock passes the same case.

Broken targets are mocks started with `--defect NAME` (ARCHITECTURE.md, Defects) and, for checks
no defect covers, a tiny local aiohttp server.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest
from aiohttp import web

from _local_server import LocalServer
from mocks._thread import MockServer
from specs import Deviation, get_spec
from suites import LIVE, MOCK, CaseResult, MockAdmin, Secret, Target, Verdict, cases_for, mock_target, run_case
from suites._verdict import worst

FAIL, NON_STRICT, PASS, INFO = Verdict.FAIL, Verdict.NON_STRICT, Verdict.PASS, Verdict.INFO

# (check, provider, defect, case, the check's verdict on the defective mock)
DEFECT_ROWS: tuple[tuple[str, str, str, str, Verdict], ...] = (
    # Security: accepting a request without a valid credential is FAIL whatever the rule's strength.
    ("request_rejected", "cloro", "accept_missing", "cloro.missing", FAIL),
    ("request_rejected", "claid", "accept_any_token", "claid.invalid.unknown", FAIL),  # claid's 401 rule is rfc
    ("request_rejected", "cryptocloud", "accept_other_scheme", "cryptocloud.wrong_scheme.bearer", FAIL),
    ("request_rejected", "crux", "accept_raw_key", "crux.no_scheme.raw_key", FAIL),
    ("request_rejected", "cloro", "prefix_compare", "cloro.invalid.extended", FAIL),
    ("request_rejected", "cloro", "short_compare", "cloro.invalid.one_char_changed", FAIL),
    ("request_rejected", "flash", "short_compare", "flash.invalid.truncated", FAIL),
    ("request_rejected", "crux", "case_insensitive_compare", "crux.invalid.case_flipped", FAIL),
    ("request_rejected", "cloro", "accept_query_key", "cloro.token_in_query.access_token", FAIL),
    ("request_rejected", "cryptocloud", "accept_expired", "cryptocloud.expired", FAIL),  # inferred rule, still FAIL
    ("request_rejected", "crux", "accept_revoked", "crux.revoked", FAIL),
    ("request_rejected", "claid", "ignore_scope", "claid.insufficient_scope", FAIL),
    ("request_rejected", "flash", "ignore_binding", "flash.invalid.other_binding", FAIL),
    ("request_rejected", "flash", "accept_refused_kind", "flash.invalid.refused_kind", FAIL),
    # Judged at the weaker of rule and trigger: cloro documents that a rate limit exists, not
    # after how many requests it applies.
    ("request_rejected", "cloro", "ignore_rate_limit", "cloro.rate_limited", NON_STRICT),
    ("status_matches_catalogue", "cloro", "status_403_for_401", "cloro.expired", FAIL),
    ("status_matches_catalogue", "claid", "status_401_for_403", "claid.insufficient_scope", NON_STRICT),
    ("body_matches_catalogue", "cryptocloud", "wrong_error_body", "cryptocloud.invalid.unknown", FAIL),
    # The body is documented, which requests get it is not (the table names an invalid token only).
    ("body_matches_catalogue", "cryptocloud", "wrong_error_body", "cryptocloud.missing", NON_STRICT),
    ("body_matches_catalogue", "cloro", "wrong_error_body", "cloro.invalid.unknown", FAIL),
    ("body_matches_catalogue", "cloro", "wrong_error_body", "cloro.revoked", NON_STRICT),  # inferred rule
    ("body_matches_catalogue", "claid", "wrong_error_body", "claid.missing", NON_STRICT),
    ("message_in_body", "flash", "wrong_error_body", "flash.expired", FAIL),
    # "Invalid Token Format" is documented, which tokens get it is not: the trigger is inferred.
    ("message_in_body", "flash", "wrong_error_body", "flash.malformed.scheme_only", NON_STRICT),
    ("headers_match_catalogue", "crux", "no_challenge", "crux.missing", FAIL),
    ("challenge_on_401", "cloro", "no_challenge", "cloro.invalid.unknown", NON_STRICT),
    ("no_credential_echo", "cloro", "echo_credential", "cloro.invalid.one_char_changed", FAIL),
    ("no_credential_echo", "flash", "echo_credential", "flash.wrong_scheme.token", FAIL),
    ("answered_by_app", "cloro", "crash_duplicate_header", "cloro.duplicate_header.same", FAIL),
    ("answered_by_app", "claid", "crash_non_ascii", "claid.malformed.non_ascii", FAIL),
    ("answered_by_app", "crux", "crash_long_header", "crux.invalid.oversized", FAIL),
    ("accepted", "cloro", "case_sensitive_scheme", "cloro.positive.scheme_lowercase", NON_STRICT),
)


def _case(case_id: str):
    provider = case_id.split(".")[0]
    return next(c for c in cases_for(get_spec(provider)) if c.id == case_id)


def check_verdict(result: CaseResult, check: str) -> Verdict | None:
    """The worst verdict a check gave in a result (None when it did not apply)."""
    verdicts = [c.verdict for c in result.checks if c.check == check]
    return worst(verdicts) if verdicts else None


@pytest.fixture(scope="module")
def mock_targets() -> Iterator[dict[tuple[str, str | None], Target]]:
    """A clean mock per provider and a mock per (provider, defect) of the table, each on its own
    127.0.0.1 port (in-process threads: 36 mock subprocesses would cost ~20 s of start-up here)."""
    wanted = {(p, None) for _, p, _, _, _ in DEFECT_ROWS} | {(p, d) for _, p, d, _, _ in DEFECT_ROWS}
    servers = {key: MockServer(key[0], defects=(key[1],) if key[1] else ()) for key in sorted(wanted, key=str)}
    try:
        for server in servers.values():
            server.start()
        yield {key: mock_target(get_spec(key[0]), s.base_url, MockAdmin(s.base_url).keys()) for key, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize(("check", "provider", "defect", "case_id", "verdict"), DEFECT_ROWS, ids=[f"{r[0]}-{r[2]}-{r[3]}" for r in DEFECT_ROWS])
def test_check_catches_defect(mock_targets, check: str, provider: str, defect: str, case_id: str, verdict: Verdict) -> None:
    """The clean mock passes the check; the mock with the defect gets the expected verdict for it."""
    case = _case(case_id)
    clean = run_case(case, mock_targets[(provider, None)])
    broken = run_case(case, mock_targets[(provider, defect)])
    assert check_verdict(clean, check) is PASS, clean.reason
    assert check_verdict(broken, check) is verdict, [(c.check, c.verdict.value) for c in broken.checks]
    assert broken.verdict is worst(c.verdict for c in broken.checks)
    if verdict is FAIL:
        assert broken.reason and "Expected " in broken.reason and "replay: curl" in broken.reason


# --- checks no defect covers: a local server broken in that one respect ----------------------


def _local_target(provider: str, url: str, **creds: str) -> Target:
    spec = get_spec(provider)
    return Target(spec, url, MOCK, {s: Secret(v, spec.env(s.upper())) for s, v in creds.items()})


def _cloro_key() -> str:
    return "Q" * 20 + "w" * 20


async def _refuse_everything(request: web.Request) -> web.Response:
    return web.json_response({"success": False, "error": "Invalid or missing API key"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="cloro"'})


async def _wrong_success_body(request: web.Request) -> web.Response:
    return web.json_response({"success": False}, status=200)


async def _drop(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=200)


async def _parser_style_400(request: web.Request) -> web.Response:
    return web.Response(status=400, text="Bad Request", content_type="text/plain")


async def _exchange_without_token(request: web.Request) -> web.Response:
    return web.json_response({"detail": "ok"}, status=200)


def test_accepted_fails_when_the_valid_key_is_refused() -> None:
    """`accepted`: a target that refuses the valid key in its documented form is FAIL."""
    with LocalServer(_refuse_everything) as url:
        result = run_case(_case("cloro.positive"), _local_target("cloro", url, valid=_cloro_key()))
    assert check_verdict(result, "accepted") is FAIL
    assert result.reason.startswith("Expected 200, got 401 Unauthorized for POST /v1/monitor (credential: valid)")


def test_success_body_matches_flags_a_wrong_success_body() -> None:
    """`success_body_matches`: a 200 whose body is not the success schema (inferred rule: NON-STRICT)."""
    with LocalServer(_wrong_success_body) as url:
        result = run_case(_case("cloro.positive"), _local_target("cloro", url, valid=_cloro_key()))
    assert check_verdict(result, "accepted") is PASS
    assert check_verdict(result, "success_body_matches") is NON_STRICT


def test_answered_by_app_fails_on_a_dropped_connection() -> None:
    """`answered_by_app`: a connection closed without a response is FAIL, and no other check judges it."""
    with LocalServer(_drop) as url:
        result = run_case(_case("cloro.missing"), _local_target("cloro", url))
    assert check_verdict(result, "answered_by_app") is FAIL
    assert check_verdict(result, "status_matches_catalogue") is None
    assert "no response" in (result.reason or "")


def test_a_plain_text_400_is_recorded_as_answered_by_the_parser() -> None:
    """A parser's 400 (no provider body) for two credential lines is the HTTP layer's answer (RFC
    9110 §5.3): INFO, never compared with the application's catalogue."""
    with LocalServer(_parser_style_400) as url:
        result = run_case(_case("cloro.duplicate_header.same"), _local_target("cloro", url, valid=_cloro_key()))
    assert check_verdict(result, "http_layer") is INFO
    assert check_verdict(result, "status_matches_catalogue") is None
    assert check_verdict(result, "body_matches_catalogue") is None
    assert result.verdict is INFO
    assert "refused by the HTTP layer: 400" in (result.reason or "")


def test_exchange_issues_token_fails_without_a_token() -> None:
    """`exchange_issues_token`: an exchange answering 2xx without the token field is FAIL (documented)."""
    with LocalServer(_exchange_without_token) as url:
        result = run_case(_case("crux.positive.exchange"), _local_target("crux", url, username="someone", password="pass-word-123"))
    assert check_verdict(result, "exchange_issues_token") is FAIL
    assert result.verdict is FAIL
    assert "pass-word-123" not in repr(result.as_dict())


def test_a_known_live_deviation_is_info_not_fail(mock_targets) -> None:
    """A spec's `deviations` entry turns that check's failure on a live target into INFO."""
    broken = mock_targets[("cloro", "accept_missing")]
    checks = ("request_rejected", "status_matches_catalogue", "body_matches_catalogue")
    known = tuple(Deviation("missing", c, "answers 200 to anyone", "https://example.invalid/issue/1") for c in checks)
    live = dataclasses.replace(broken, spec=dataclasses.replace(broken.spec, deviations=known), mode=LIVE, admin=None)
    result = run_case(_case("cloro.missing"), live)
    assert [check_verdict(result, c) for c in checks] == [INFO] * 3
    assert result.verdict is INFO
    assert "known deviation: answers 200 to anyone" in (result.reason or "")
    # The same defect on the mock, where deviations do not apply, stays FAIL.
    assert run_case(_case("cloro.missing"), broken).verdict is FAIL
