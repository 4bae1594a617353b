"""Retry decisions, free of I/O: bounded attempts, exponential backoff with full jitter.

The sync and async clients ask :meth:`RetryPolicy.delay` after each failed attempt; it answers
with the seconds to wait, or ``None`` to give up. Clock and randomness are injected so tests pin
the arithmetic.

What is retried:
* 429 and 5xx responses, and transport failures;
* a non-idempotent request (POST, PATCH) only on 429 or on a failure before it was sent
  (connection refused, connect timeout), since a 5xx or a dropped response may mean Amazon acted;
* never a 4xx other than 429, never an LWA ``invalid_grant``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Random(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class Failure:
    """What went wrong with one attempt."""

    status: int | None = None  # HTTP status, or None for a transport failure
    sent: bool = True  # False when the request surely never reached the server
    rate_limit: float | None = None  # x-amzn-RateLimit-Limit, when present
    retry_after: float | None = None


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    max_retry_time: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    rng: _Random = field(default_factory=random.Random)

    def retryable(self, method: str, failure: Failure) -> bool:
        if failure.status is None:
            return method.upper() in IDEMPOTENT or not failure.sent
        if failure.status == 429:
            return True
        if failure.status >= 500:
            return method.upper() in IDEMPOTENT
        return False

    def delay(self, *, attempt: int, method: str, failure: Failure, elapsed: float,
              max_attempts: int | None = None, budget: float | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1), or None."""
        limit = max_attempts if max_attempts is not None else self.max_attempts
        if attempt >= limit or not self.retryable(method, failure):
            return None
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        wait = self.rng.random() * ceiling  # full jitter
        if failure.rate_limit and failure.rate_limit > 0:
            # Amazon told us the rate: one token takes 1/rate seconds to come back.
            wait = max(wait, min(self.cap, 1.0 / failure.rate_limit))
        if failure.retry_after is not None:
            wait = max(wait, min(self.cap, failure.retry_after))
        total = self.max_retry_time if budget is None else min(budget, self.max_retry_time)
        if elapsed + wait > total:
            return None
        return wait
