"""Fixtures for the rate-limiter tests: a fake clock, and limiter factories for both backends
so the same scenarios pin the in-process rules and their Lua mirror in Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sellerkit.ratelimit import RateLimiter
from tests.ratelimit.helpers import FakeClock, Rnd


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rnd() -> Rnd:
    return Rnd()


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, clock: FakeClock, rnd: Rnd
                 ) -> Callable[..., Any]:
    """make_limiter(**kwargs) -> a limiter of the parametrised backend on the fake clock."""
    created: list[Any] = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("async_sleep", clock.async_sleep)
        kwargs.setdefault("random", rnd)
        if url is None:
            return RateLimiter(clock=clock, **kwargs)
        from sellerkit.ratelimit import RedisRateLimiter

        kwargs.setdefault("prefix", "t:")
        lim = RedisRateLimiter(url, clock=clock, **kwargs)
        created.append(lim)
        return lim

    yield make
    for lim in created:
        lim.close()
