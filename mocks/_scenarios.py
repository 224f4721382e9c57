"""Scenarios: the mock changes state mid-run so a client's error handling is exercised.

`expire-after:N` / `revoke-after:N`: the valid key expires / is revoked after N authenticated
requests with it. `rate-limit:N`: after every N authenticated requests, 429 with `Retry-After`
until that many seconds have passed. `flaky:N`: every Nth request gets, in turn, a 503 with
`Retry-After` and a connection reset.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from specs import ProviderSpec

from ._keys import KeyStore
from ._responses import Decision

FORMS: tuple[str, ...] = ("expire-after:N", "revoke-after:N", "rate-limit:N", "flaky:N")
NAMES: tuple[str, ...] = tuple(f.split(":")[0] for f in FORMS)
# Seconds a rate-limit:N client is told to wait: short, so a client's test suite stays fast.
PAUSE_SECONDS = 1
_SYNTAX = re.compile(r"([a-z-]+):([0-9]+)")


@dataclass(frozen=True)
class Scenario:
    """A named state change and its count N."""

    name: str
    n: int

    def __str__(self) -> str:
        return f"{self.name}:{self.n}"

    def refusal(self, spec: ProviderSpec) -> str | None:
        """Why the scenario cannot run against this spec, or None when it can."""
        if _applies(self.name, spec):
            return None
        state = _STATE_OF[self.name]
        return (
            f"scenario {self} does not apply to {spec.id}: its keys are never {state} "
            f"(keys.states: {', '.join(spec.keys.states)}); scenarios for {spec.id}: {', '.join(scenarios_for(spec))}"
        )


_STATE_OF = {"expire-after": "expired", "revoke-after": "revoked"}


def _applies(name: str, spec: ProviderSpec) -> bool:
    state = _STATE_OF.get(name)
    return state is None or state in spec.keys.states


def scenarios_for(spec: ProviderSpec) -> list[str]:
    """The scenario forms that apply to a spec."""
    return [f for f in FORMS if _applies(f.split(":")[0], spec)]


def parse_scenario(text: str) -> Scenario:
    """`rate-limit:3` -> Scenario; ValueError says the forms that would be right."""
    m = _SYNTAX.fullmatch(text.strip())
    if m is None or m.group(1) not in NAMES or int(m.group(2)) < 1:
        raise ValueError(f"unknown scenario {text!r}; scenarios: {', '.join(FORMS)} (N a whole number >= 1)")
    return Scenario(m.group(1), int(m.group(2)))


class Penalty:
    """rate-limit:N as a limiter: N requests, then `Retry-After` seconds of 429, then N more."""

    def __init__(self, n: int, pause: float = PAUSE_SECONDS):
        self.n = n
        self.pause = pause
        self._counts: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def hit(self, key_id: str, now: float) -> int | None:
        """Count one request; None when it may pass, else the seconds to wait (integer >= 1)."""
        until = self._until.get(key_id, 0.0)
        if now < until:
            return max(1, math.ceil(until - now))
        count = self._counts.get(key_id, 0) + 1
        if count <= self.n:
            self._counts[key_id] = count
            return None
        self._counts[key_id] = 0
        self._until[key_id] = now + self.pause
        return max(1, math.ceil(self.pause))

    def clear(self) -> None:
        """Forget every count and pause."""
        self._counts.clear()
        self._until.clear()


class ScenarioRun:
    """A scenario's counters for one mock, and the changes it makes to the key store."""

    def __init__(self, scenario: Scenario, spec: ProviderSpec, store: KeyStore):
        refusal = scenario.refusal(spec)
        if refusal:
            raise ValueError(refusal)
        self.scenario = scenario
        self.store = store
        self.flaky = scenario.name == "flaky"
        if scenario.name == "rate-limit":
            store.limiter = Penalty(scenario.n)
        self.reset()

    def reset(self) -> None:
        """Counters back to zero (the store's reset restores the keys themselves)."""
        self.requests = 0
        self.authenticated = 0
        self.faults = 0
        self.done = False

    def fault(self) -> str | None:
        """For flaky:N, every Nth request's fault (`unavailable`, then `reset`, in turn), else None."""
        if not self.flaky:
            return None
        self.requests += 1
        if self.requests % self.scenario.n:
            return None
        self.faults += 1
        return "unavailable" if self.faults % 2 else "reset"

    def after(self, decision: Decision) -> None:
        """Count an answered request; after the Nth authenticated one, expire or revoke the valid key."""
        name = self.scenario.name
        if self.done or name not in ("expire-after", "revoke-after"):
            return
        key = self.store.roles.get("valid")
        if key is None or decision.key_id != key.id or decision.klass is not None or decision.status >= 300:
            return
        self.authenticated += 1
        if self.authenticated >= self.scenario.n:
            self.store.set_state(key.id, "expired" if name == "expire-after" else "revoked")
            self.done = True
