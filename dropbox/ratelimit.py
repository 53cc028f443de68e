"""A global budget for failed codename logins.

Every reporter arrives through tor, so per-address limits mean nothing: the
budget is shared by all. It refills steadily, so a real reporter who meets an
empty budget (because someone is guessing) waits a minute, never longer, and
a guesser gets a few dozen tries a minute against a 90-bit codename.
"""
from __future__ import annotations

import threading
import time


class FailureBudget:
    def __init__(self, per_minute: int):
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def available(self) -> bool:
        """Whether one more failure may be tried now; checked before the costly derivation."""
        with self._lock:
            self._refill()
            return self._tokens >= 1

    def spend(self) -> None:
        with self._lock:
            self._refill()
            self._tokens = max(0.0, self._tokens - 1)
