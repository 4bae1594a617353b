"""What every rate-limiter backend shares: which layers a call needs, the public methods, errors
and the snapshot type. Backends implement ``_reserve``, ``_record`` and ``_states`` (and their
async twins when they do I/O)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import random as _random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sellerkit.errors import CapacityWaitError
from sellerkit.ratelimit._core import TIME_EPS, LayerSpec, Pacer, Tuning, parse_rate_header

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
    "wait_as_needed",
    "waiting_as_needed",
]

log = logging.getLogger("sellerkit.ratelimit")

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

#: How long a call may wait for rate-limit capacity unless told otherwise (seconds): one hour.
#: The slowest documented per-seller plan is searchOrders (0.0056/s: a token every 180 s), so
#: one hour holds a queue of 20 callers waiting their turn behind an empty searchOrders bucket
#: (or 60 behind getOrders, one a minute), and 4 behind the slowest per-application quota
#: (GET_SALES_AND_TRAFFIC_REPORT, once per 15 minutes). ``paginate`` and ``sellerkit.bulk``
#: wait as long as the quota requires (``wait_as_needed``).
DEFAULT_MAX_WAIT = 3600.0

#: Waits at least this long (seconds) are logged at INFO on ``sellerkit.ratelimit``.
LOG_WAIT = 3.0
#: A long wait is slept in steps starting at STEP_START seconds, doubling up to STEP_MAX.
STEP_START, STEP_MAX = 0.5, 10.0
#: While a fresh bucket has not heard back, a refused call polls from POLL_START to POLL_MAX s.
POLL_START, POLL_MAX = 0.05, 1.0
#: How often the send-time check may hold one request before letting it go regardless.
PACE_CHECKS = 20

_WAIT_AS_NEEDED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sellerkit_wait_as_needed", default=False)


def waiting_as_needed() -> bool:
    """True inside ``wait_as_needed()``: calls without their own ``max_wait`` wait as long as
    the quota requires."""
    return _WAIT_AS_NEEDED.get()


@contextlib.contextmanager
def wait_as_needed() -> Iterator[None]:
    """Within this block (this thread or task), client calls that set no ``max_wait`` of
    their own wait for rate-limit capacity as long as the quota requires, whatever the
    client's ``max_wait``. ``paginate`` and ``sellerkit.bulk`` use it for every call."""
    token = _WAIT_AS_NEEDED.set(True)
    try:
        yield
    finally:
        _WAIT_AS_NEEDED.reset(token)


class _Default:
    """The type of ``DEFAULT``: "use the limiter's ``max_wait``"."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()

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


def _scaled(plan: tuple[float, int], scale: float) -> tuple[float, int]:
    return float(plan[0]) * scale, max(1, int(plan[1]))


class LimiterBase:
    """The public surface shared by ``RateLimiter`` and ``RedisRateLimiter``.

    Keywords: ``app_limits`` / ``report_quotas`` / ``plans`` map operation keys (report types)
    to (rate, burst) and replace the defaults; ``unknown_plan`` is the start plan of operations
    without one; ``rate_scale`` multiplies every rate (for an emulator run with
    ``--rate-scale``); ``max_wait`` bounds the wait of calls that pass none (``None``: no
    bound); ``log_wait`` is the wait from which one is logged (INFO); ``margin`` and
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
        max_wait: float | None = DEFAULT_MAX_WAIT,
        log_wait: float = LOG_WAIT,
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
        if max_wait is not None and not max_wait >= 0:
            raise ValueError("max_wait must be None or a number of seconds >= 0")
        self.max_wait = max_wait
        self.log_wait = log_wait
        self._pacing = send_margin is not None
        self.tuning = Tuning(margin=margin, send_margin=min(send_margin or 0.0, margin),
                             confirm=max(1, confirm), recover=1.1, max_backoff=max_backoff)
        self._pacer = Pacer()
        self._pacer_lock = threading.Lock()
        # What this process knows of each learning bucket: calls on the wire, responses seen,
        # the learned target and how much header raises sped its queue up (for the waiters).
        self._local_lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._responses: dict[str, int] = {}
        self._targets: dict[str, float] = {}
        self._speedup: dict[str, float] = {}
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

    def _budget(self, max_wait: float | None | _Default) -> float:
        if isinstance(max_wait, _Default):
            max_wait = self.max_wait
        return math.inf if max_wait is None else max(0.0, float(max_wait))

    def _refuse(self, ctx: LimitContext, specs: list[LayerSpec], wait: float, bind: int,
                budget: float) -> CapacityWaitError:
        layer = specs[bind].describe() if 0 <= bind < len(specs) else "rate limit"
        return CapacityWaitError(ctx.operation.key, wait, budget, layer)

    # -- the public methods ----------------------------------------------------------------

    def acquire(self, ctx: LimitContext, *, max_wait: float | None | _Default = DEFAULT
                ) -> float:
        """Block until every layer gives a token; return the seconds waited.

        ``max_wait`` bounds the wait (seconds; ``None``: as long as the quota requires; not
        given: the limiter's ``max_wait``). A call whose wait would exceed it raises
        ``CapacityWaitError`` (a ``RateLimitWaitError``) without taking anything, unless the
        bucket has not heard from the server yet (see ``_unsettled``): then it waits for the
        first responses and tries again, within ``max_wait``."""
        specs = self.layers(ctx)
        budget = self._budget(max_wait)
        polled, poll = 0.0, POLL_START
        while True:
            ok, wait, bind, rates = self._reserve(specs, max(0.0, budget - polled))
            if ok:
                break
            if polled + poll > budget or not self._unsettled(specs[bind]):
                raise self._refuse(ctx, specs, wait, bind, budget)
            self._sleep(poll)
            polled, poll = polled + poll, min(poll * 2, POLL_MAX)
        self._on_reserved(ctx, specs, wait, bind, rates)
        waited = 0.0
        for step in self._wait_steps(wait, specs[bind].key):
            self._sleep(step)
            waited += step
        for step in self._pace_steps(specs, rates):
            self._sleep(step)
            waited += step
        return polled + waited

    async def acquire_async(self, ctx: LimitContext, *,
                            max_wait: float | None | _Default = DEFAULT) -> float:
        """``acquire`` for asyncio: the wait is an ``asyncio.sleep``."""
        specs = self.layers(ctx)
        budget = self._budget(max_wait)
        polled, poll = 0.0, POLL_START
        while True:
            ok, wait, bind, rates = await self._reserve_async(specs, max(0.0, budget - polled))
            if ok:
                break
            if polled + poll > budget or not self._unsettled(specs[bind]):
                raise self._refuse(ctx, specs, wait, bind, budget)
            await self._async_sleep(poll)
            polled, poll = polled + poll, min(poll * 2, POLL_MAX)
        self._on_reserved(ctx, specs, wait, bind, rates)
        waited = 0.0
        for step in self._wait_steps(wait, specs[bind].key):
            await self._async_sleep(step)
            waited += step
        for step in self._pace_steps(specs, rates):
            await self._async_sleep(step)
            waited += step
        return polled + waited

    def _unsettled(self, spec: LayerSpec) -> bool:
        """True while a learning bucket has calls on the wire but fewer than ``confirm``
        responses in this process: its rate is still the catalog's guess, and the first
        responses may raise it (a fresh limiter's first round)."""
        if not spec.learns:
            return False
        with self._local_lock:
            return (self._inflight.get(spec.key, 0) > 0
                    and self._responses.get(spec.key, 0) < self.tuning.confirm)

    def _on_reserved(self, ctx: LimitContext, specs: list[LayerSpec], wait: float, bind: int,
                     rates: list[float]) -> None:
        with self._local_lock:
            key = specs[0].key
            self._inflight[key] = self._inflight.get(key, 0) + 1
        if wait >= self.log_wait and log.isEnabledFor(logging.INFO):
            limit = specs[bind].describe(rates[bind] if bind < len(rates) else None)
            log.info("%s: waiting %.1fs for the %s", ctx.operation.key, wait, limit,
                     extra={"sellerkit_wait": {"seconds": float(wait),
                                               "operation": ctx.operation.key,
                                               "limit": limit}})

    def _wait_steps(self, wait: float, key: str) -> Iterator[float]:
        """The sleeps of a wait of ``wait`` seconds for a slot of bucket ``key``.

        Long waits are cut into steps (0.5 s, doubling up to 10 s); between steps, a rate
        raise the bucket learned from the header meanwhile brings the slot forward by the
        same ratio the bucket's queue was compressed by, so callers queued at the catalog's
        default rate do not sleep out the old schedule."""
        speed0 = self._speedup.get(key, 1.0)
        left, chunk = wait, STEP_START
        while left > TIME_EPS:
            step = left if left <= chunk * 1.5 else chunk
            t = self._clock()
            yield step
            left -= max(step, self._clock() - t)
            speed = self._speedup.get(key, 1.0)
            if speed > speed0:
                left *= speed0 / speed
                speed0 = speed
            chunk = min(chunk * 2, STEP_MAX)

    def _pace_steps(self, specs: list[LayerSpec], rates: list[float]) -> Iterator[float]:
        """The send-time check: the holds before a request may leave. A hold books its send
        moment; a caller that wakes from it late (a stalled event loop or host wakes all its
        due callers together) is checked again, so the stragglers spread out behind the first
        instead of bunching."""
        if not self._pacing:
            return
        # the rate learned since the reservation, if any (a waiter's own rate may be stale)
        targets = self._targets
        layers = [(s.key, targets.get(s.key, r) if s.learns else r, s.burst)
                  for s, r in zip(specs, rates, strict=True)]
        margin = self.tuning.send_margin
        # later than one interval of the seller bucket: check again (the application layers
        # refill hundreds of times faster and absorb any lateness that this one does)
        late_ok = max(0.001, 1 / layers[0][1])
        for _ in range(PACE_CHECKS):
            with self._pacer_lock:
                now = self._clock()
                hold = self._pacer.delay(now, layers, margin)
            if hold <= TIME_EPS:
                return
            yield hold
            if self._clock() - (now + hold) <= late_ok:
                return

    def record(self, ctx: LimitContext, *, status: int, rate_limit_header: str | None) -> None:
        """Learn from a response: the rate header, a 429 (slow down and back off), a success."""
        spec = self.layers(ctx)[0]
        rate, target = self._record(spec, status, parse_rate_header(rate_limit_header),
                                    self._random())
        self._on_recorded(spec, rate, target)

    async def record_async(self, ctx: LimitContext, *, status: int,
                           rate_limit_header: str | None) -> None:
        """``record`` without blocking the event loop (matters for the Redis backend)."""
        spec = self.layers(ctx)[0]
        rate, target = await self._record_async(spec, status,
                                                parse_rate_header(rate_limit_header),
                                                self._random())
        self._on_recorded(spec, rate, target)

    def _on_recorded(self, spec: LayerSpec, rate: float, target: float | None) -> None:
        key = spec.key
        with self._local_lock:
            self._responses[key] = self._responses.get(key, 0) + 1
            if self._inflight.get(key, 0) > 0:
                self._inflight[key] -= 1
            if target is not None:
                old = self._targets.get(key)
                if old is not None and target > old * (1 + 1e-9):
                    self._speedup[key] = self._speedup.get(key, 1.0) * target / old
                self._targets[key] = target
            if len(self._responses) > 100_000:
                self._responses.clear()
                self._inflight.clear()
        if self._pacing:  # the send-time check follows the rate the server grants
            with self._pacer_lock:
                self._pacer.rescale(key, self._clock(), rate if target is None else target)

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
                ) -> tuple[float, float | None]:
        """Apply the learning rules to the seller layer; return its rate and learned target
        afterwards (target None when unknown)."""
        raise NotImplementedError

    async def _record_async(self, spec: LayerSpec, status: int, header: float | None,
                            rnd: float) -> tuple[float, float | None]:
        return self._record(spec, status, header, rnd)

    def _states(self) -> list[BucketState]:
        raise NotImplementedError
