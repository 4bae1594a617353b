"""The limiter inside the real client against the emulator with rate limits on: calls beyond the
burst wait instead of drawing 429s, the limiter learns the emulator's (scaled) rate from
x-amzn-RateLimit-Limit, several sellers stay inside an application-wide limit together, and the
same run without the limiter does get throttled (so the emulator really enforces limits)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.bulk import arun_many, run_many
from sellerkit.emulator import Emulator
from sellerkit.emulator.config import EmulatorConfig
from sellerkit.emulator.ratelimit import RateLimiter as EmulatorLimiter
from sellerkit.errors import ApiError, ThrottledError
from sellerkit.ratelimit import RateLimiter
from tests.ratelimit.helpers import counting

SCALE = 20.0  # getOrder: 10/s, burst 30
GET_ORDER = "orders_v0.getOrder"
CATALOG = "catalog_items_2022_04_01.getCatalogItem"
US = "ATVPDKIKX0DER"



def client(emu: Emulator, limiter: Any, seller: int = 0, **kw: Any) -> SellingPartner:
    return SellingPartner(
        client_id=emu.config.client_id, client_secret=emu.config.client_secret,
        refresh_token=emu.refresh_token(seller), endpoint="http://127.0.0.1:8787",
        lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", transport=emu.sync_transport(),
        rate_limiter=limiter, **kw)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path))


def test_calls_past_the_burst_wait_instead_of_drawing_429s() -> None:
    emu = Emulator(EmulatorConfig(rate_scale=SCALE, sellers=1))
    seen = counting(emu)
    limiter = RateLimiter(rate_scale=SCALE)
    sp = client(emu, limiter)
    t0 = time.monotonic()
    results = list(run_many(lambda i: sp.call(GET_ORDER, orderId=f"902-{i:07d}-0000000"),
                            range(40), concurrency=8))
    elapsed = time.monotonic() - t0
    # 30 at once, then 10 at 10/s
    assert 0.9 <= elapsed < 3.0
    assert seen[(GET_ORDER, False)] == 0 and seen[(GET_ORDER, True)] == 40
    assert not [r for r in results if isinstance(r.error, ThrottledError)]
    assert all(r.ok or isinstance(r.error, ApiError) for r in results)
    state = next(s for s in limiter.snapshot() if s.operation == GET_ORDER)
    assert state.last_header == pytest.approx(0.5 * SCALE)
    assert state.learned_rate == pytest.approx(0.5 * SCALE)
    # how many of the last 10 wait depends on how fast 8 threads start (a busy machine refills part
    # of the bucket meanwhile); the elapsed time above shows the limiter held them back
    assert state.throttles == 0 and state.waits > 0
    sp.close()


def test_without_the_limiter_the_emulator_throttles() -> None:
    emu = Emulator(EmulatorConfig(rate_scale=SCALE, sellers=1))
    seen = counting(emu)
    sp = client(emu, False, retry=None)
    for i in range(40):
        try:
            sp.call(GET_ORDER, orderId=f"902-{i:07d}-0000000", options=CallOptions(
                max_attempts=1))
        except ApiError:
            pass
    assert seen[(GET_ORDER, False)] >= 5


def test_a_limiter_that_starts_too_high_learns_from_the_header_and_429s() -> None:
    """Defaults can be wrong (here: the client thinks the plan is 4x the emulator's); the
    limiter lowers the rate from x-amzn-RateLimit-Limit before the burst is gone."""
    emu = Emulator(EmulatorConfig(rate_scale=SCALE, sellers=1))
    seen = counting(emu)
    limiter = RateLimiter(rate_scale=SCALE, plans={GET_ORDER: (2.0, 30)})
    sp = client(emu, limiter)
    list(run_many(lambda i: sp.call(GET_ORDER, orderId=f"902-{i:07d}-0000000",
                                    options=CallOptions(max_attempts=1)),
                  range(45), concurrency=4))
    state = next(s for s in limiter.snapshot() if s.operation == GET_ORDER)
    assert state.rate == pytest.approx(0.5 * SCALE)
    assert seen[(GET_ORDER, False)] <= 1


async def test_many_sellers_stay_inside_the_application_limit_together() -> None:
    emu = Emulator(EmulatorConfig(rate_scale=SCALE, sellers=10))
    # a low application limit (2/s unscaled, 40/s here, burst 40) so that 10 sellers at 2/s
    # each (40/s each here) would exceed it 10 times over
    emu.limiter = EmulatorLimiter(scale=SCALE, clock=emu.clock, app_limits={CATALOG: 2.0})
    seen = counting(emu)
    limiter = RateLimiter(rate_scale=SCALE, app_limits={CATALOG: (2.0, 40)})
    clients = [AsyncSellingPartner(
        client_id=emu.config.client_id, client_secret=emu.config.client_secret,
        refresh_token=emu.refresh_token(i), endpoint="http://127.0.0.1:8787",
        lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", transport=emu.async_transport(),
        rate_limiter=limiter) for i in range(10)]

    asins = emu.simulation.catalog_asins()

    async def one(i: int) -> Any:
        sp = clients[i % 10]
        return await sp.call(CATALOG, asin=asins[i % len(asins)], marketplaceIds=[US])

    t0 = time.monotonic()
    results = [r async for r in arun_many(one, range(80), concurrency=40)]
    elapsed = time.monotonic() - t0
    assert seen[(CATALOG, False)] == 0
    assert seen[(CATALOG, True)] == 80
    assert 0.9 <= elapsed < 3.0       # 40 at once, then 40 at 40/s
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert all(r.value.payload["asin"] == asins[r.item % len(asins)] for r in results)
    app = next(s for s in limiter.snapshot() if s.layer == "application")
    # how many of the last 40 wait depends on how fast 40 tasks start (a loaded machine refills
    # part of the bucket meanwhile), so only that some waited is certain
    assert app.acquired == 80 and app.waits > 0
    for sp in clients:
        await sp.aclose()
    await asyncio.sleep(0)
