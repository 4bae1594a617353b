"""The in-process backend: every thread and asyncio task of one process shares its buckets."""

from __future__ import annotations

import threading

from sellerkit.ratelimit._base import BucketState, LimiterBase
from sellerkit.ratelimit._core import TIME_EPS, Bucket, LayerSpec

__all__ = ["RateLimiter"]


class RateLimiter(LimiterBase):
    """Token buckets per (seller, region, operation), per (application, operation) where Amazon
    caps the application, and per (application, report type) for capped report types.

    One lock guards all buckets; it is held for microseconds (the reservation arithmetic), and
    the wait itself happens outside it, so threads and asyncio tasks queue without polling.
    See ``LimiterBase`` for the keyword arguments."""

    def _init_backend(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}

    def _bucket(self, spec: LayerSpec) -> Bucket:
        b = self._buckets.get(spec.key)
        if b is None:
            b = self._buckets[spec.key] = Bucket.new(spec)
        elif b.spec is not spec and b.spec != spec:
            b.reseed(spec)
        return b

    def _reserve(self, specs: list[LayerSpec], budget: float
                 ) -> tuple[bool, float, int, list[float]]:
        margin = self.tuning.margin
        with self._lock:
            now = self._clock()
            buckets = [self._bucket(s) for s in specs]
            own = [b.allowed_at(now, margin) for b in buckets]
            start, bind = now, 0
            for i, at in enumerate(own):
                if at > start and at > now + TIME_EPS:
                    start, bind = at, i
            wait = start - now
            if wait > budget:
                buckets[bind].rejected += 1
                return False, wait, bind, []
            for b, at in zip(buckets, own, strict=True):
                if at > now + TIME_EPS:
                    b.waits += 1
                    b.wait_time += wait
                b.take(start)
            return True, wait, bind, [b.plan_rate for b in buckets]

    def _record(self, spec: LayerSpec, status: int, header: float | None, rnd: float
                ) -> tuple[float, float | None]:
        with self._lock:
            now = self._clock()
            b = self._bucket(spec)
            if status == 429:
                b.observe_throttle(now, rnd, self.tuning)
                return b.rate, b.target
            if header is not None:
                b.observe_header(now, header, self.tuning)
            if status < 500:
                b.observe_success(now, self.tuning)
            return b.rate, b.target

    def _states(self) -> list[BucketState]:
        with self._lock:
            now = self._clock()
            return [_state(b, now) for b in self._buckets.values()]


def _state(b: Bucket, now: float) -> BucketState:
    s = b.spec
    return BucketState(
        key=s.key, layer=s.kind, operation=s.operation, seller=s.seller,
        application=s.application, region=s.region, detail=s.detail, rate=b.rate,
        burst=b.burst, tokens=round(b.tokens(now), 3), default_rate=b.default_rate,
        learned_rate=b.learned, last_header=b.last_header, backoff_factor=b.factor,
        acquired=b.acquired, waits=b.waits, wait_time=round(b.wait_time, 3),
        throttles=b.throttles, rejected=b.rejected)
