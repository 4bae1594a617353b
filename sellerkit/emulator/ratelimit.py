"""Amazon-style throttling for the emulator: token buckets per (application, seller, operation)
from each operation's default usage plan, plus the per-application layer that some APIs document.

A request takes one token from its pair bucket and, where the operation has one, one from the
application-wide bucket; it is throttled when either is empty (whichever threshold is hit
first, as Amazon describes it). The clock is injected so tests can pin the arithmetic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sellerkit.catalog import Operation
from sellerkit.emulator.config import DEFAULT_BURST, DEFAULT_RATE

__all__ = ["APP_LIMITS", "UNLIMITED_RATE", "Bucket", "RateLimiter", "format_rate"]

#: What ``x-amzn-RateLimit-Limit`` advertises when throttling is off (``--no-rate-limits``): a
#: rate no client reaches, so a client that learns its plan from the header (as Amazon asks)
#: stops pacing at Amazon's defaults instead of believing a plan the emulator does not enforce.
UNLIMITED_RATE = 1_000_000.0

# Per-application limits from Amazon's per-API rate-limit pages (rate per second across all the
# application's sellers). The burst of an application bucket is not documented: one second's
# worth of requests.
APP_LIMITS: dict[str, float] = {
    "catalog_items_2022_04_01.getCatalogItem": 250.0,
    "catalog_items_2020_12_01.getCatalogItem": 250.0,
    "catalog_items_2022_04_01.searchCatalogItems": 500.0,
    "catalog_items_2020_12_01.searchCatalogItems": 500.0,
    "product_type_definitions_2020_09_01.searchDefinitionsProductTypes": 100.0,
    "product_type_definitions_2020_09_01.getDefinitionsProductType": 100.0,
    "listings_restrictions_2021_08_01.getListingsRestrictions": 100.0,
}


@dataclass(slots=True)
class Bucket:
    """A token bucket: ``rate`` tokens per second up to ``burst``, full when created."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


def format_rate(rate: float) -> str:
    """How ``x-amzn-RateLimit-Limit`` spells a rate: ``0.0167``, ``2.0``, ``16.7``."""
    text = f"{rate:.6g}"
    if "e" in text and rate >= 1:
        text = f"{rate:.1f}"
    return text if ("." in text or "e" in text) else text + ".0"


class RateLimiter:
    """Throttling decisions for the emulator. Thread-safe; O(1) per request."""

    def __init__(self, *, scale: float = 1.0, enabled: bool = True,
                 clock: Callable[[], float], app_limits: dict[str, float] | None = None) -> None:
        self.scale = scale
        self.enabled = enabled
        self._clock = clock
        self._app_limits = APP_LIMITS if app_limits is None else app_limits
        self._pairs: dict[tuple[str, str, str], Bucket] = {}
        self._apps: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()
        self._plans: dict[str, tuple[float, float, str]] = {}

    def plan(self, op: Operation) -> tuple[float, float, str]:
        """(scaled rate, burst, header value) of an operation; with throttling off, the rate
        is ``UNLIMITED_RATE``."""
        plan = self._plans.get(op.key)
        if plan is None and not self.enabled:
            plan = (UNLIMITED_RATE, UNLIMITED_RATE, format_rate(UNLIMITED_RATE))
            self._plans[op.key] = plan
        if plan is None:
            if op.rate is not None and op.burst is not None and op.rate > 0:
                rate, burst = op.rate, float(op.burst)
            else:
                rate, burst = DEFAULT_RATE, float(DEFAULT_BURST)
            rate *= self.scale
            plan = (rate, max(burst, 1.0), format_rate(rate))
            self._plans[op.key] = plan
        return plan

    def acquire(self, op: Operation, application_id: str, seller_id: str) -> bool:
        """Take a token for one request; False means throttle it (nothing is taken then)."""
        if not self.enabled:
            return True
        rate, burst, _ = self.plan(op)
        now = self._clock()
        with self._lock:
            pair_key = (application_id, seller_id, op.key)
            pair = self._pairs.get(pair_key)
            if pair is None:
                pair = self._pairs[pair_key] = Bucket(rate, burst, burst, now)
            else:
                pair.refill(now)
            app: Bucket | None = None
            app_rate = self._app_limits.get(op.key)
            if app_rate is not None:
                app_key = (application_id, op.key)
                app = self._apps.get(app_key)
                if app is None:
                    scaled = app_rate * self.scale
                    app = self._apps[app_key] = Bucket(scaled, max(scaled, 1.0),
                                                       max(scaled, 1.0), now)
                else:
                    app.refill(now)
            if pair.tokens < 1.0 or (app is not None and app.tokens < 1.0):
                return False
            pair.tokens -= 1.0
            if app is not None:
                app.tokens -= 1.0
            return True
