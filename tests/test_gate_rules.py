"""The gate's rules on hand-written journals: the edges real clients do not reach on their own
(a cross-host redirect, which the mock does not yet send), and the exact bounds of the retry rules."""
from __future__ import annotations

from typing import Any

import pytest

from mocks._rules import Context, judge, rules_for
from specs import get_spec, load_all

HOST = "127.0.0.1:8000"
CTX = Context(base_url=f"http://{HOST}", client_exit=0)


def entry(seq: int, status: int, *, t: float = 0.0, host: str = HOST, key: bool = True,
          path: str = "/v1/monitor", klass: str | None = None) -> dict[str, Any]:
    """A journal entry as the mock writes it (ARCHITECTURE.md), the key already redacted."""
    headers = [["Host", host]] + ([["Authorization", "Bearer <key:k1>"]] if key else [])
    return {
        "seq": seq, "time": t, "method": "POST", "path": path, "query": [], "headers": headers, "body": "",
        "remote": "127.0.0.1", "outcome": {"class": klass, "variant": None, "status": status},
        "credential": {"header_lines": int(key), "scheme": "Bearer" if key else None, "key_id": "k1" if key else None,
                       "state": "valid" if key else None, "in_query": False, "in_body": False, "in_cookie": False},
    }


def broken(entries: list[dict[str, Any]], provider: str = "cloro") -> set[str]:
    return {v.rule.id for v in judge(get_spec(provider), entries, CTX)}


def test_key_follows_redirect_to_another_host() -> None:
    journal = [entry(1, 307), entry(2, 200, host="localhost:8000")]
    assert broken(journal) == {"key.not_cross_host"}


def test_key_stripped_on_cross_host_redirect_passes() -> None:
    journal = [entry(1, 307), entry(2, 401, host="localhost:8000", key=False, klass="missing")]
    assert "key.not_cross_host" not in broken(journal)


def test_host_header_without_redirect_is_not_a_leak() -> None:
    """Claid's sample sets `Host: api.claid.ai`: the bytes still went to the server it connected to."""
    assert broken([entry(1, 200, host="api.claid.ai")]) == set()


@pytest.mark.parametrize("repeats, charged", [(0, False), (1, False), (2, True)])
def test_one_repeat_after_401_is_allowed(repeats: int, charged: bool) -> None:
    journal = [entry(i + 1, 401, klass="expired") for i in range(repeats + 1)]
    for e in journal:
        e["credential"]["state"] = "expired"
    journal.insert(0, entry(0, 200))  # valid when first used: the scenario expired it
    assert ("retry.after_401" in broken(journal)) is charged


@pytest.mark.parametrize("gap, charged", [(0.5, True), (0.96, False), (1.2, False)])
def test_retry_after_bound(gap: float, charged: bool) -> None:
    journal = [entry(1, 429, t=10.0, klass="rate_limited"), entry(2, 200, t=10.0 + gap)]
    assert ("retry.after_429" in broken(journal)) is charged


def test_retry_after_from_the_journal_when_recorded() -> None:
    first = entry(1, 429, t=0.0, klass="rate_limited")
    first["outcome"]["retry_after"] = 3
    assert "retry.after_429" in broken([first, entry(2, 200, t=2.0)])


def test_no_request_and_client_exit() -> None:
    spec = get_spec("cloro")
    assert {v.rule.id for v in judge(spec, [], CTX)} == {"client.sent_requests"}
    failed = Context(base_url=CTX.base_url, client_exit=2)
    assert {v.rule.id for v in judge(spec, [], failed)} == {"client.exit"}


@pytest.mark.parametrize("provider", [s.id for s in load_all()])
def test_every_rule_has_source_and_strength(provider: str) -> None:
    rules = rules_for(get_spec(provider))
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.source and rule.strength in ("documented", "rfc", "inferred", "gate")
        # The gate's own rules (`client.exit`, `client.sent_requests`, `client.no_admin`) are tagged as
        # the gate's, not as a provider's documented sentence; they fail the run.
        assert (rule.strength == "gate") == (rule.id in ("client.exit", "client.sent_requests", "client.no_admin"))
        strict = rule.strength in ("documented", "gate") or rule.security
        assert rule.verdict == ("FAIL" if strict else "NON-STRICT")
