"""How long to wait before reconnecting: X's documented policy, used by every source and the store retry."""

from __future__ import annotations

import random
import time
from enum import StrEnum


class Backoff(StrEnum):
    """The kind of failure, which sets how fast the waits grow."""

    NETWORK = "network"
    HTTP = "http"
    RATE_LIMIT = "rate_limit"


class ReconnectPolicy:
    """X's documented reconnect policy, usable by every source.

    After a connection that delivered data drops, the first reconnect is immediate. Consecutive
    failures then back off by class: network errors linearly (+250 ms, at most 16 s), HTTP errors
    exponentially from 5 s (at most 320 s), 429 exponentially from 60 s, also waiting for the rate-limit
    reset when the service gives one. ``jitter`` spreads reconnects of many clients (Jetstream).
    """

    def __init__(self, jitter: float = 0.0, rng: random.Random | None = None) -> None:
        self.failures = dict.fromkeys(Backoff, 0)
        self.jitter = jitter
        self._rng = rng or random.Random()

    def delivered(self) -> None:
        """The connection delivered data: start again from an immediate reconnect."""
        self.failures = dict.fromkeys(self.failures, 0)

    def delay(self, kind: Backoff, retry_at: float | None = None, now: float | None = None) -> float:
        """Record one failure of ``kind`` and return the seconds to wait before the next attempt."""
        self.failures[kind] += 1
        n = self.failures[kind]
        if kind == Backoff.NETWORK:
            wait = min(0.25 * (n - 1), 16.0)
        elif kind == Backoff.HTTP:
            wait = min(5.0 * 2 ** (n - 1), 320.0)
        else:
            wait = min(60.0 * 2 ** (n - 1), 3840.0)
        if retry_at is not None:
            wait = max(wait, retry_at - (time.time() if now is None else now))
        if self.jitter and wait:
            wait *= 1 + self._rng.uniform(0, self.jitter)
        return wait
