"""Client-side rate limiting: wait for capacity instead of collecting 429s.

Amazon gives every operation a token bucket per selling partner and application (getOrders:
0.0167 requests/s, burst 20) and, for some operations, a second one per application across all
its sellers (getCatalogItem: 2/s per seller, 250/s per application). Some report types are capped
per application (GET_SALES_AND_TRAFFIC_REPORT: once per 15 minutes). The client calls::

    waited = limiter.acquire(ctx, max_wait=3600)   # before sending (acquire_async in asyncio)
    limiter.record(ctx, status=200, rate_limit_header="0.5")   # after each response

``RateLimiter`` keeps the buckets in the process (threads and asyncio tasks share them);
``RedisRateLimiter`` keeps them in Redis so a fleet of processes shares one bucket per seller and
operation. Both start from the catalog's default plans, learn the real plan from
``x-amzn-RateLimit-Limit`` (lowering at once, raising only on agreement), slow down, drain and
back off on a 429 and recover with the successes that follow, and never wait longer than the
call's ``max_wait`` (``None``: as long as the quota requires; ``timeout`` bounds only the HTTP
attempt). ``snapshot()`` exposes every bucket; ``save_snapshot()`` stores it
for ``sellerkit limits``. The math is in ``_core``; docs/rate-limits.md explains the choices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sellerkit.ratelimit._base import (
    DEFAULT,
    DEFAULT_APP_LIMITS,
    DEFAULT_MAX_WAIT,
    DEFAULT_REPORT_QUOTAS,
    DEFAULT_UNKNOWN_PLAN,
    BucketState,
    CapacityWaitError,
    LimitContext,
    LimiterBase,
    wait_as_needed,
    waiting_as_needed,
)
from sellerkit.ratelimit._memory import RateLimiter
from sellerkit.ratelimit._state import default_snapshot_path, read_snapshot

if TYPE_CHECKING:
    from sellerkit.ratelimit.redis_backend import RateLimitBackendError, RedisRateLimiter

__all__ = [
    "DEFAULT",
    "DEFAULT_APP_LIMITS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_REPORT_QUOTAS",
    "DEFAULT_UNKNOWN_PLAN",
    "BucketState",
    "CapacityWaitError",
    "LimitContext",
    "LimiterBase",
    "RateLimitBackendError",
    "RateLimiter",
    "RedisRateLimiter",
    "default_snapshot_path",
    "read_snapshot",
    "wait_as_needed",
    "waiting_as_needed",
]


def __getattr__(name: str) -> Any:
    # redis is an optional extra; import it only when the Redis backend is asked for.
    if name in ("RedisRateLimiter", "RateLimitBackendError"):
        from sellerkit.ratelimit import redis_backend

        return getattr(redis_backend, name)
    raise AttributeError(f"module 'sellerkit.ratelimit' has no attribute {name!r}")
