"""Scenarios change the mock's state mid-run: expire-after, revoke-after, rate-limit, flaky."""
from __future__ import annotations

import http.client
import time
from typing import Any

import pytest

from mocks import build_app
from mocks._scenarios import FORMS as SCENARIOS
from mocks._scenarios import parse_scenario, scenarios_for
from specs import thaw
from _helpers import IDS, SPECS, probe_request

CHANGES = {"expire-after": "expired", "revoke-after": "revoked"}
STATE_CASES = [(p, name) for p in IDS for name in CHANGES if CHANGES[name] in SPECS[p].keys.states]


@pytest.mark.parametrize("provider,name", STATE_CASES, ids=[f"{p}-{n}" for p, n in STATE_CASES])
def test_key_state_changes_after_n(running: Any, provider: str, name: str) -> None:
    """The valid key works N times, then gets the spec's answer for an expired / revoked key."""
    spec = SPECS[provider]
    server = running(provider, scenario=f"{name}:2")
    auth = spec.credential.render(server.keys()["valid"])
    statuses = [probe_request(server.base_url, spec, auth).status for _ in range(2)]
    assert statuses == [spec.probe.success.status] * 2
    state = CHANGES[name]
    reply = probe_request(server.base_url, spec, auth)
    assert (reply.status, reply.json()) == (spec.failures[state].status, thaw(spec.failures[state].body))
    assert [e["outcome"]["class"] for e in server.entries()] == [None, None, state]


def test_failed_requests_do_not_count(running: Any) -> None:
    """Only authenticated requests with the valid key count towards N."""
    spec = SPECS["cloro"]
    server = running("cloro", scenario="revoke-after:1")
    for _ in range(3):
        probe_request(server.base_url, spec, None)
    auth = spec.credential.render(server.keys()["valid"])
    assert [probe_request(server.base_url, spec, auth).status for _ in range(2)] == [200, 401]


@pytest.mark.parametrize("provider,name", [(p, n) for p in IDS for n in CHANGES if CHANGES[n] not in SPECS[p].keys.states])
def test_state_change_refused_where_the_provider_has_no_such_state(provider: str, name: str) -> None:
    """expire-after on a provider whose keys never expire is refused, naming the scenarios that apply."""
    with pytest.raises(ValueError, match=f"does not apply to {provider}.*scenarios for {provider}: "):
        build_app(SPECS[provider], scenario=f"{name}:3")
    assert f"{name}:N" not in scenarios_for(SPECS[provider])


@pytest.mark.parametrize("provider", IDS)
def test_rate_limit_scenario(running: Any, provider: str) -> None:
    """rate-limit:2: two requests pass, the third gets 429 with an integer Retry-After."""
    spec = SPECS[provider]
    server = running(provider, scenario="rate-limit:2")
    auth = spec.credential.render(server.keys()["valid"])
    assert [probe_request(server.base_url, spec, auth).status for _ in range(2)] == [spec.probe.success.status] * 2
    reply = probe_request(server.base_url, spec, auth)
    assert reply.status == 429 and reply.header("Retry-After") == "1"
    if "rate_limited" in spec.failures:
        assert reply.json() == thaw(spec.failures["rate_limited"].body)
    assert server.entries()[-1]["outcome"]["retry_after"] == 1


def test_rate_limit_lifts_after_retry_after(running: Any) -> None:
    """After waiting Retry-After seconds the client gets N more requests."""
    spec = SPECS["flash"]
    server = running("flash", scenario="rate-limit:1")
    auth = spec.credential.render(server.keys()["valid"])
    assert probe_request(server.base_url, spec, auth).status == 200
    first = probe_request(server.base_url, spec, auth)
    assert first.status == 429
    assert probe_request(server.base_url, spec, auth).status == 429  # still inside the pause
    time.sleep(int(first.header("Retry-After") or 1) + 0.05)
    assert probe_request(server.base_url, spec, auth).status == 200


def test_flaky(running: Any) -> None:
    """flaky:3: every third request fails, first with 503 + Retry-After, then with a connection reset."""
    spec = SPECS["claid"]
    server = running("claid", scenario="flaky:3")
    auth = spec.credential.render(server.keys()["valid"])
    outcomes: list[Any] = []
    for _ in range(6):
        try:
            outcomes.append(probe_request(server.base_url, spec, auth).status)
        except (ConnectionError, http.client.RemoteDisconnected):
            outcomes.append("reset")
    assert outcomes == [200, 200, 503, 200, 200, "reset"]
    faults = [e["outcome"]["fault"] for e in server.entries()]
    assert faults == [None, None, "unavailable", None, None, "reset"]


def test_reset_restarts_the_scenario(running: Any) -> None:
    """POST reset puts the key back and the counters to zero."""
    spec = SPECS["cryptocloud"]
    server = running("cryptocloud", scenario="expire-after:1")
    auth = spec.credential.render(server.keys()["valid"])
    assert [probe_request(server.base_url, spec, auth).status for _ in range(2)] == [200, 401]
    server.reset()
    assert [probe_request(server.base_url, spec, auth).status for _ in range(2)] == [200, 401]


@pytest.mark.parametrize("text", ["expire-after", "expire-after:0", "expire-after:x", "later:3", "flaky:-1", ""])
def test_parse_errors_list_the_forms(text: str) -> None:
    """A bad scenario says the forms that would be right."""
    with pytest.raises(ValueError) as err:
        parse_scenario(text)
    assert all(form in str(err.value) for form in SCENARIOS)


def test_parse() -> None:
    """The four forms parse to their name and N."""
    assert [(s.name, s.n) for s in map(parse_scenario, ["expire-after:3", "revoke-after:1", "rate-limit:10", "flaky:2"])] == [
        ("expire-after", 3), ("revoke-after", 1), ("rate-limit", 10), ("flaky", 2)]
