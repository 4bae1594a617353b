"""What every rate-limiter backend shares: which layers a call needs, the public methods, errors
and the snapshot type. Backends implement ``_reserve``, ``_record`` and ``_states`` (and their
async twins when they do I/O)."""

from __future__ import annotations

import asyncio
import random as _random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sellerkit.errors import RateLimitWaitError
from sellerkit.ratelimit._core import LayerSpec, Pacer, Tuning, parse_rate_header

if TYPE_CHECKING:
    from sellerkit.catalog import Operation

__all__ = [
    "DEFAULT_APP_LIMITS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_REPORT_QUOTAS",
    "DEFAULT_UNKNOWN_PLAN",
    "BucketState",
    "CapacityWaitError",
    "LimitContext",
]

#: Per-application limits Amazon documents beside the per-seller ones, as (rate, burst).
#: Rates from the per-API "Rate limits" pages; Amazon does not publish the application burst,
#: so the per-seller burst is used (UNCONFIRMED, and the smallest safe choice).
DEFAULT_APP_LIMITS: dict[str, tuple[float, int]] = {
    "catalog_items_2022_04_01.getCatalogItem": (250.0, 2),
    "catalog_items_2020_12_01.getCatalogItem": (250.0, 2),
    "catalog_items_2022_04_01.searchCatalogItems": (500.0, 2),
    "catalog_items_2020_12_01.searchCatalogItems": (500.0, 2),
    "product_type_definitions_2020_09_01.searchDefinitionsProductTypes": (100.0, 10),
    "product_type_definitions_2020_09_01.getDefinitionsProductType": (100.0, 10),
    "listings_restrictions_2021_08_01.getListingsRestrictions": (100.0, 10),
}

#: Report types Amazon caps per application across all its sellers, as (rate, burst).
#: GET_SALES_AND_TRAFFIC_REPORT: once per 15 minutes, 96 a day (Amazon support, 2026).
DEFAULT_REPORT_QUOTAS: dict[str, tuple[float, int]] = {
    "GET_SALES_AND_TRAFFIC_REPORT": (1 / 900, 1),
}

#: Operations whose models give no usage plan start here and learn from the header.
DEFAULT_UNKNOWN_PLAN: tuple[float, int] = (0.5, 1)

#: With ``timeout=None`` a call still never waits longer than this (seconds). 15 minutes is
#: the longest documented interval (a per-application report quota).
DEFAULT_MAX_WAIT = 900.0

_CREATE_REPORT = "reports_2021_06_30.createReport"


@dataclass(frozen=True)
class LimitContext:
    """Who is calling what: the limiter's key material for one call."""

    operation: Operation
    seller: str
    application: str
    region: str
    body: Any = None


@dataclass(frozen=True)
class BucketState:
    """One bucket as ``snapshot()`` sees it. ``rate`` is the rate in force (requests/s),
    ``default_rate`` the catalog's (or configured) plan, ``learned_rate`` what
    ``x-amzn-RateLimit-Limit`` told us and we accepted (None until then); ``tokens`` may be
    fractional; ``waits``/``wait_time`` count calls that had to wait for this layer;
    ``rejected`` counts calls refused because the wait exceeded their timeout."""

    key: str
    layer: str
    operation: str
    seller: str
    application: str
    region: str
    detail: str
    rate: float
    burst: int
    tokens: float
    default_rate: float
    learned_rate: float | None
    last_header: float | None
    backoff_factor: float
    acquired: int
    waits: int
    wait_time: float
    throttles: int
    rejected: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CapacityWaitError(RateLimitWaitError):
    """The wait for a token exceeds the call's timeout; ``layer`` says which limit binds."""

    def __init__(self, operation: str, wait: float, budget: float | None, layer: str) -> None:
        super().__init__(operation, wait, budget)
        self.layer = layer
        self.args = (
            f"{operation}: the next token of the {layer} is {wait:.1f}s away, more than the "
            f"{budget if budget is not None else 0:.1f}s this call may wait; raise the call's "
            "timeout (options=CallOptions(timeout=...)) or spread the calls out",)

    def __str__(self) -> str:
        return str(self.args[0])


def _scaled(plan: tuple[float, int], scale: float) -> tuple[float, int]:
    return float(plan[0]) * scale, max(1, int(plan[1]))


class LimiterBase:
    """The public surface shared by ``RateLimiter`` and ``RedisRateLimiter``.

    Keywords: ``app_limits`` / ``report_quotas`` / ``plans`` map operation keys (report types)
    to (rate, burst) and replace the defaults; ``unknown_plan`` is the start plan of operations
    without one; ``rate_scale`` multiplies every rate (for an emulator run with
    ``--rate-scale``); ``max_wait`` bounds calls without a timeout; ``margin`` and
    ``send_margin`` are the seconds of burst kept against network jitter and late callers
    (``send_margin=None`` turns the send-time check off); ``confirm`` is how many agreeing
    headers raise a rate; ``max_backoff`` caps the back-off after 429s; ``clock``, ``sleep``,
    ``async_sleep`` and ``random`` are injectable. docs/rate-limits.md has the details."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        app_limits: Mapping[str, tuple[float, int]] | None = None,
        report_quotas: Mapping[str, tuple[float, int]] | None = None,
        unknown_plan: tuple[float, int] = DEFAULT_UNKNOWN_PLAN,
        plans: Mapping[str, tuple[float, int]] | None = None,
        rate_scale: float = 1.0,
        max_wait: float = DEFAULT_MAX_WAIT,
        margin: float = 0.05,
        send_margin: float | None = 0.01,
        confirm: int = 3,
        max_backoff: float = 60.0,
    ) -> None:
        if rate_scale <= 0:
            raise ValueError("rate_scale must be positive")
        if unknown_plan[0] <= 0 or unknown_plan[1] < 1:
            raise ValueError("unknown_plan must be (rate > 0, burst >= 1)")
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._random = random
        self.app_limits = dict(DEFAULT_APP_LIMITS if app_limits is None else app_limits)
        self.report_quotas = dict(DEFAULT_REPORT_QUOTAS if report_quotas is None
                                  else report_quotas)
        self.unknown_plan = unknown_plan
        self.plans = dict(plans or {})
        self.rate_scale = rate_scale
        self.max_wait = max_wait
        self._pacing = send_margin is not None
        self.tuning = Tuning(margin=margin, send_margin=min(send_margin or 0.0, margin),
                             confirm=max(1, confirm), recover=1.1, max_backoff=max_backoff)
        self._pacer = Pacer()
        self._pacer_lock = threading.Lock()
        self._layer_cache: dict[tuple[str, str, str, str, str], list[LayerSpec]] = {}
        self._init_backend()

    def _init_backend(self) -> None:
        pass

    # -- which buckets a call needs --------------------------------------------------------

    def seller_plan(self, operation: Operation) -> tuple[float, int]:
        """The plan a (seller, operation) bucket starts from."""
        plan = self.plans.get(operation.key) or operation.rate_limit or self.unknown_plan
        return _scaled(plan, self.rate_scale)

    def layers(self, ctx: LimitContext) -> list[LayerSpec]:
        """Every layer ``ctx`` takes a token from; the seller layer comes first."""
        op = ctx.operation
        report_type = ""
        if op.key == _CREATE_REPORT and isinstance(ctx.body, Mapping):
            report_type = str(ctx.body.get("reportType") or "")
        cache_key = (op.key, ctx.seller, ctx.application, ctx.region, report_type)
        cached = self._layer_cache.get(cache_key)
        if cached is not None:
            return cached
        rate, burst = self.seller_plan(op)
        specs = [LayerSpec(
            key=f"seller:{ctx.application}:{ctx.seller}:{ctx.region}:{op.key}",
            kind="seller", operation=op.key, rate=rate, burst=burst, seller=ctx.seller,
            application=ctx.application, region=ctx.region)]
        app = self.app_limits.get(op.key)
        if app is not None:
            rate, burst = _scaled(app, self.rate_scale)
            specs.append(LayerSpec(
                key=f"app:{ctx.application}:{ctx.region}:{op.key}", kind="application",
                operation=op.key, rate=rate, burst=burst, application=ctx.application,
                region=ctx.region))
        quota = self.report_quotas.get(report_type) if report_type else None
        if quota is not None:
            rate, burst = _scaled(quota, self.rate_scale)
            specs.append(LayerSpec(
                key=f"report:{ctx.application}:{report_type}", kind="report", operation=op.key,
                rate=rate, burst=burst, application=ctx.application, detail=report_type))
        if len(self._layer_cache) > 10_000:
            self._layer_cache.clear()
        self._layer_cache[cache_key] = specs
        return specs

    def _budget(self, timeout: float | None) -> float:
        return self.max_wait if timeout is None else max(0.0, float(timeout))

    def _refuse(self, ctx: LimitContext, specs: list[LayerSpec], wait: float, bind: int,
                timeout: float | None) -> CapacityWaitError:
        layer = specs[bind].describe() if 0 <= bind < len(specs) else "rate limit"
        budget = self._budget(timeout)
        return CapacityWaitError(ctx.operation.key, wait, budget, layer)

    # -- the public methods ----------------------------------------------------------------

    def acquire(self, ctx: LimitContext, *, timeout: float | None) -> float:
        """Block until every layer gives a token; return the seconds waited.

        Raises ``CapacityWaitError`` (a ``RateLimitWaitError``) without taking anything when
        the wait would exceed ``timeout`` (``None``: ``max_wait``)."""
        specs = self.layers(ctx)
        ok, wait, bind, rates = self._reserve(specs, self._budget(timeout))
        if not ok:
            raise self._refuse(ctx, specs, wait, bind, timeout)
        if wait > 0:
            self._sleep(wait)
        extra = self._pace(specs, rates)
        if extra > 0:
            self._sleep(extra)
        return max(0.0, wait) + extra

    async def acquire_async(self, ctx: LimitContext, *, timeout: float | None) -> float:
        """``acquire`` for asyncio: the wait is an ``asyncio.sleep``."""
        specs = self.layers(ctx)
        ok, wait, bind, rates = await self._reserve_async(specs, self._budget(timeout))
        if not ok:
            raise self._refuse(ctx, specs, wait, bind, timeout)
        if wait > 0:
            await self._async_sleep(wait)
        extra = self._pace(specs, rates)
        if extra > 0:
            await self._async_sleep(extra)
        return max(0.0, wait) + extra

    def _pace(self, specs: list[LayerSpec], rates: list[float]) -> float:
        if not self._pacing:
            return 0.0
        layers = [(s.key, r, s.burst) for s, r in zip(specs, rates, strict=True)]
        with self._pacer_lock:
            return self._pacer.delay(self._clock(), layers, self.tuning.send_margin)

    def record(self, ctx: LimitContext, *, status: int, rate_limit_header: str | None) -> None:
        """Learn from a response: the rate header, a 429 (drain and back off), a success."""
        spec = self.layers(ctx)[0]
        rate = self._record(spec, status, parse_rate_header(rate_limit_header), self._random())
        self._rescale(spec, rate)

    async def record_async(self, ctx: LimitContext, *, status: int,
                           rate_limit_header: str | None) -> None:
        """``record`` without blocking the event loop (matters for the Redis backend)."""
        spec = self.layers(ctx)[0]
        rate = await self._record_async(spec, status, parse_rate_header(rate_limit_header),
                                        self._random())
        self._rescale(spec, rate)

    def _rescale(self, spec: LayerSpec, rate: float) -> None:
        if self._pacing:
            with self._pacer_lock:
                self._pacer.rescale(spec.key, self._clock(), rate)

    def snapshot(self) -> list[BucketState]:
        """The state of every bucket, sorted by operation, layer and key."""
        return sorted(self._states(), key=lambda b: (b.operation, b.layer, b.key))

    def save_snapshot(self, path: str | Path | None = None) -> Path:
        """Write ``snapshot()`` to ``path`` (default: ``default_snapshot_path()``) atomically
        with mode 0600, for ``sellerkit limits`` to show after the run."""
        from sellerkit.ratelimit._state import write_snapshot

        return write_snapshot(self.snapshot(), path, backend=type(self).__name__)

    # -- backend hooks ---------------------------------------------------------------------

    def _reserve(self, specs: list[LayerSpec], budget: float
                 ) -> tuple[bool, float, int, list[float]]:
        """Reserve the earliest instant every layer has a token, unless it is more than
        ``budget`` away: (reserved, wait, index of the binding layer, rate of each layer)."""
        raise NotImplementedError

    async def _reserve_async(self, specs: list[LayerSpec], budget: float
                             ) -> tuple[bool, float, int, list[float]]:
        return self._reserve(specs, budget)

    def _record(self, spec: LayerSpec, status: int, header: float | None, rnd: float
                ) -> float:
        """Apply the learning rules to the seller layer; return its rate afterwards."""
        raise NotImplementedError

    async def _record_async(self, spec: LayerSpec, status: int, header: float | None,
                            rnd: float) -> float:
        return self._record(spec, status, header, rnd)

    def _states(self) -> list[BucketState]:
        raise NotImplementedError
