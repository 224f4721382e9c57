"""Live safety for the generated engine: a request budget per provider, pacing, and 429 honoured.

Every request the engine sends goes through `GuardedConnection.send`, which counts it before it
leaves, refuses once the budget is spent, keeps requests at most `rps` per second apart, and on a
429 waits the `Retry-After` the server asked for (RFC 9110 §10.2.3, RFC 6585 §4) before sending
again.
"""
from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Callable

from .._transport import Connection, RawRequest, RawResponse

# Defaults for --live: a small request budget per provider and a gentle pace (requests per
# second), since a live API is someone's production service.
DEFAULT_BUDGET = 50
DEFAULT_PACE = 2.0
# The longest Retry-After the engine waits out; a provider asking for more ends its generation.
MAX_RETRY_AFTER = 60.0
# Retry-After absent or unreadable on a 429: wait this long (RFC 6585 §4 "MAY include").
DEFAULT_RETRY_AFTER = 1.0


class BudgetSpent(Exception):
    """No more requests may be sent to this provider: the budget is spent, or it asked us to stop."""


@dataclass(frozen=True)
class Limits:
    """Budget (None: unlimited), pace in requests per second (None: as fast as it answers)."""

    budget: int | None = None
    rps: float | None = None
    max_retry_after: float = MAX_RETRY_AFTER
    # The live run's deadline for this provider (on `clock`'s scale), and why it stops there.
    deadline: float | None = None
    deadline_reason: str = "the live deadline passed"


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class GuardedConnection:
    """A keep-alive Connection that counts, paces and honours 429 (see the module docstring)."""

    def __init__(
        self,
        conn: Connection,
        limits: Limits,
        on_429: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.conn = conn
        self.limits = limits
        # Called on a 429 before waiting; True means it cleared the limit (a mock's reset).
        self.on_429 = on_429
        self.clock = clock
        self.sleep = sleep
        self.sent = 0
        self.waited = 0.0
        self.stopped: str | None = None
        self._next = 0.0
        # A share of the budget for the current strategy (None: no share, only the budget).
        self._share: tuple[int, int] | None = None

    def share(self, requests: int | None) -> None:
        """From now on, at most `requests` more before the current share is spent (None: no share)."""
        self._share = None if requests is None else (self.sent, requests)

    @property
    def remaining(self) -> int | None:
        """Requests left in the budget (None: unlimited)."""
        return None if self.limits.budget is None else max(0, self.limits.budget - self.sent)

    def _pace(self) -> None:
        if self.limits.rps:
            delay = self._next - self.clock()
            if delay > 0:
                self.sleep(delay)
                self.waited += delay
            self._next = self.clock() + 1.0 / self.limits.rps

    def _one(self, request: RawRequest) -> RawResponse:
        if self.stopped:
            raise BudgetSpent(self.stopped)
        if self.limits.budget is not None and self.sent >= self.limits.budget:
            self.stopped = f"request budget of {self.limits.budget} spent"
            raise BudgetSpent(self.stopped)
        if self.limits.deadline is not None and self.clock() > self.limits.deadline:
            self.stopped = self.limits.deadline_reason
            raise BudgetSpent(self.stopped)
        if self._share is not None and self.sent - self._share[0] >= self._share[1]:
            raise BudgetSpent(f"this strategy's share ({self._share[1]}) of the request budget spent")
        self._pace()
        # Counted before it leaves: a request that gets no answer was still sent.
        self.sent += 1
        return self.conn.send(request)

    def send(self, request: RawRequest) -> RawResponse:
        """Send within the limits; BudgetSpent when no request may go out."""
        response = self._one(request)
        if response.status != 429:
            return response
        if self.on_429 is not None and self.on_429():
            return self._one(request)
        wait = retry_after(response.header("Retry-After"))
        if wait > self.limits.max_retry_after:
            # Honour it by not sending again at all during this run.
            self.stopped = f"429 with Retry-After {wait:.0f}s (more than {self.limits.max_retry_after:.0f}s)"
            return response
        self.sleep(wait)
        self.waited += wait
        self._next = max(self._next, self.clock())
        return self._one(request)

    def close(self) -> None:
        """Close the underlying connection."""
        self.conn.close()
