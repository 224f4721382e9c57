"""Per-key rate limiting: a fixed window of `requests` per `window` seconds, as spec.rate_limit says."""
from __future__ import annotations

import math


class FixedWindow:
    """Counts each key's requests in a window that opens with its first request."""

    def __init__(self, requests: int, window: float):
        self.requests = requests
        self.window = window
        self._counts: dict[str, list[float]] = {}

    def hit(self, key_id: str, now: float) -> int | None:
        """Count one request; None when within the limit, else the seconds to wait (an integer >= 1)."""
        slot = self._counts.get(key_id)
        if slot is None or now - slot[0] >= self.window:
            slot = self._counts[key_id] = [now, 0]
        slot[1] += 1
        if slot[1] <= self.requests:
            return None
        # RFC 9110 §10.2.3: Retry-After = delay-seconds, a non-negative integer.
        return max(1, math.ceil(slot[0] + self.window - now))

    def clear(self) -> None:
        """Forget every count."""
        self._counts.clear()
