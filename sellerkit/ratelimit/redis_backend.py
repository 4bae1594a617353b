"""The Redis backend: one bucket per seller and operation shared by every process and host.

    from sellerkit.ratelimit import RedisRateLimiter
    limiter = RedisRateLimiter("redis://localhost:6379/0")
    sp = SellingPartner(..., rate_limiter=limiter)

Each bucket is a Redis hash ``<prefix>{<application>}:<layer key>`` holding the GCRA state, the
learned plan and the counters; a reservation and a response are one atomic Lua script each
(``_redis_scripts``), registered with ``register_script`` so they run by SHA. Keys expire
``ttl`` seconds after their last use, so learned rates survive restarts for a day by default and
abandoned sellers leave nothing behind. The ``{application}`` hash tag keeps every key a script
touches in one Redis Cluster slot. Times come from the Redis server unless a clock is injected.

Install with ``pip install 'sellerkit[redis]'``.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sellerkit.errors import SellerkitError
from sellerkit.ratelimit import _redis_scripts as lua
from sellerkit.ratelimit._base import BucketState, LimiterBase
from sellerkit.ratelimit._core import HOLD, MIN_RATE, LayerSpec

__all__ = ["RateLimitBackendError", "RedisRateLimiter"]

T = TypeVar("T")
log = logging.getLogger("sellerkit.ratelimit")


class RateLimitBackendError(SellerkitError):
    """The shared rate-limit store (Redis) failed; the call was not sent."""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:
        from sellerkit.errors import ConfigurationError

        raise ConfigurationError(
            "the Redis rate limiter needs the redis package: pip install 'sellerkit[redis]'"
        ) from None
    return redis


class RedisRateLimiter(LimiterBase):
    """``RateLimiter`` with its buckets in Redis.

    ``url_or_client`` is a ``redis://`` URL or a ``redis.Redis`` client (decoded or not). With a
    URL, asyncio callers get their own ``redis.asyncio`` client per event loop; with a client,
    pass ``async_client=`` too, or async calls run the sync client in a worker thread.
    ``clock=None`` (the default here) takes time from the Redis server. Other keywords as for
    ``RateLimiter``."""

    def __init__(self, url_or_client: Any, *, prefix: str = "sellerkit:rl:",
                 ttl: int = 86_400, async_client: Any = None,
                 clock: Callable[[], float] | None = None, **kwargs: Any) -> None:
        redis = _import_redis()
        self._url: str | None = None
        if isinstance(url_or_client, str):
            self._url = url_or_client
            self._client = redis.Redis.from_url(url_or_client)
        else:
            self._client = url_or_client
        self._prefix = prefix
        self._ttl = int(ttl)
        self._server_time = clock is None
        if clock is not None:
            kwargs["clock"] = clock
        super().__init__(**kwargs)
        self._errors = redis.exceptions.RedisError
        self._reserve_script = self._client.register_script(lua.RESERVE)
        self._record_script = self._client.register_script(lua.RECORD)
        self._time_script = self._client.register_script(lua.TIME)
        self._given_async = async_client
        self._async: weakref.WeakKeyDictionary[Any, tuple[Any, Any, Any]] = (
            weakref.WeakKeyDictionary())

    def __repr__(self) -> str:
        # The URL may hold a password; show only the prefix.
        return f"<RedisRateLimiter prefix={self._prefix!r}>"

    # -- plumbing --------------------------------------------------------------------------

    def _key(self, spec: LayerSpec) -> str:
        return f"{self._prefix}{{{spec.application}}}:{spec.key}"

    def _now_arg(self) -> str:
        return "" if self._server_time else repr(float(self._clock()))

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as exc:
            raise RateLimitBackendError(
                f"Redis rate-limit backend failed: {type(exc).__name__}: {exc}") from None

    async def _aguard(self, aw: Awaitable[T]) -> T:
        try:
            return await aw
        except self._errors as exc:
            raise RateLimitBackendError(
                f"Redis rate-limit backend failed: {type(exc).__name__}: {exc}") from None

    def _async_scripts(self) -> tuple[Any, Any] | None:
        """The (reserve, record) scripts bound to this event loop's client, or None to fall
        back to a worker thread."""
        client = self._given_async
        url = self._url
        if client is None and url is None:
            return None
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            if client is None:
                import redis.asyncio as aioredis

                assert url is not None
                client = aioredis.Redis.from_url(url)
            entry = (client, client.register_script(lua.RESERVE),
                     client.register_script(lua.RECORD))
            self._async[loop] = entry
        return entry[1], entry[2]

    def _reserve_args(self, specs: list[LayerSpec], budget: float) -> tuple[list[str], list[Any]]:
        keys = [self._key(s) for s in specs]
        args: list[Any] = [self._now_arg(), repr(min(float(budget), 1e18)), repr(self.tuning.margin),
                           self._ttl]
        for s in specs:
            args += [repr(float(s.rate)), s.burst, s.kind, s.operation, s.seller,
                     s.application, s.region, s.detail]
        return keys, args

    def _record_args(self, spec: LayerSpec, status: int, header: float | None, rnd: float
                     ) -> tuple[list[str], list[Any]]:
        t = self.tuning
        return [self._key(spec)], [
            self._now_arg(), int(status), "" if header is None else repr(float(header)),
            repr(float(rnd)), t.confirm, repr(t.recover), repr(t.max_backoff), self._ttl,
            repr(float(spec.rate)), spec.burst, spec.kind, spec.operation, spec.seller,
            spec.application, spec.region, spec.detail, repr(HOLD)]

    @staticmethod
    def _reserved(reply: Any) -> tuple[bool, float, int, list[float]]:
        return (bool(int(reply[0])), float(reply[1]), int(reply[2]),
                [float(r) for r in reply[4:]])

    # -- backend hooks ---------------------------------------------------------------------

    def _reserve(self, specs: list[LayerSpec], budget: float
                 ) -> tuple[bool, float, int, list[float]]:
        keys, args = self._reserve_args(specs, budget)
        return self._reserved(self._guard(lambda: self._reserve_script(keys=keys, args=args)))

    async def _reserve_async(self, specs: list[LayerSpec], budget: float
                             ) -> tuple[bool, float, int, list[float]]:
        scripts = self._async_scripts()
        if scripts is None:
            return await asyncio.to_thread(self._reserve, specs, budget)
        keys, args = self._reserve_args(specs, budget)
        return self._reserved(await self._aguard(scripts[0](keys=keys, args=args)))

    # Learning is bookkeeping after a response the caller already has: a Redis failure there
    # is logged and the response still returned (the next acquire reports the outage).

    @staticmethod
    def _recorded(reply: Any) -> tuple[float, float]:
        return float(reply[0]), float(reply[1])

    def _record(self, spec: LayerSpec, status: int, header: float | None, rnd: float
                ) -> tuple[float, float | None]:
        keys, args = self._record_args(spec, status, header, rnd)
        try:
            return self._recorded(self._guard(lambda: self._record_script(keys=keys, args=args)))
        except RateLimitBackendError as exc:
            log.warning("could not record a response in the shared rate limiter: %s", exc)
            return spec.rate, None

    async def _record_async(self, spec: LayerSpec, status: int, header: float | None,
                            rnd: float) -> tuple[float, float | None]:
        scripts = self._async_scripts()
        if scripts is None:
            return await asyncio.to_thread(self._record, spec, status, header, rnd)
        keys, args = self._record_args(spec, status, header, rnd)
        try:
            return self._recorded(await self._aguard(scripts[1](keys=keys, args=args)))
        except RateLimitBackendError as exc:
            log.warning("could not record a response in the shared rate limiter: %s", exc)
            return spec.rate, None

    def _states(self) -> list[BucketState]:
        def read() -> tuple[float, list[dict[Any, Any]], list[str]]:
            now = float(self._clock()) if not self._server_time else float(
                self._time_script(keys=[], args=[""]))
            keys = [k.decode() if isinstance(k, bytes) else k
                    for k in self._client.scan_iter(match=f"{self._prefix}*", count=500)]
            pipe = self._client.pipeline(transaction=False)
            for k in keys:
                pipe.hgetall(k)
            return now, pipe.execute(), keys

        now, hashes, keys = self._guard(read)
        out = []
        for key, raw in zip(keys, hashes, strict=True):
            h = {(k.decode() if isinstance(k, bytes) else k):
                 (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}
            if "target" not in h:
                continue
            out.append(_state(key[len(self._prefix):], h, now))
        return out

    def reset(self) -> int:
        """Delete every bucket under this prefix (learned rates included); returns how many."""
        def run() -> int:
            keys = list(self._client.scan_iter(match=f"{self._prefix}*", count=500))
            return int(self._client.delete(*keys)) if keys else 0

        return self._guard(run)

    def close(self) -> None:
        """Close the Redis client this limiter created (not one passed in)."""
        if self._url is not None:
            self._client.close()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        entry = self._async.pop(loop, None)
        if entry is not None and self._given_async is None:
            await entry[0].aclose()


def _f(h: dict[str, str], name: str, default: float = 0.0) -> float:
    try:
        return float(h[name])
    except (KeyError, ValueError):
        return default


def _state(key: str, h: dict[str, str], now: float) -> BucketState:
    burst = int(_f(h, "burst", 1))
    target = _f(h, "target")
    factor = _f(h, "factor", 1.0)
    rate = max(target * factor, MIN_RATE)
    tat = _f(h, "tat", now)
    tokens = float(burst) if tat <= now else max(0.0, burst - (tat - now) * max(target,
                                                                                   MIN_RATE))
    # the key reads "{application}:<layer key>"; the layer key already names the application
    layer_key = key.split("}:", 1)[1] if key.startswith("{") and "}:" in key else key
    return BucketState(
        key=layer_key, layer=h.get("kind", ""), operation=h.get("op", ""),
        seller=h.get("seller", ""), application=h.get("app", ""), region=h.get("region", ""),
        detail=h.get("detail", ""), rate=rate, burst=burst, tokens=round(tokens, 3),
        default_rate=_f(h, "drate"), learned_rate=_f(h, "learned") if "learned" in h else None,
        last_header=_f(h, "hdr") if "hdr" in h else None, backoff_factor=factor,
        acquired=int(_f(h, "acq")), waits=int(_f(h, "waits")), wait_time=round(_f(h, "wt"), 3),
        throttles=int(_f(h, "thr")), rejected=int(_f(h, "rej")))
