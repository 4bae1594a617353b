"""Token buckets like Amazon's: per (application, seller, operation), plus per application where
Amazon documents it; the clock is injected so the arithmetic is exact."""

from __future__ import annotations

import httpx

from sellerkit.catalog import get_catalog
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.ratelimit import RateLimiter, format_rate

from .conftest import FakeClock

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"  # 0.016/s, burst 15
QUOTA = {"errors": [{"code": "QuotaExceeded",
                     "message": "You exceeded your quota for the requested resource.",
                     "details": ""}]}  # Amazon sends an empty details member


def _emu(clock: FakeClock, **kw: object) -> tuple[Emulator, httpx.Client]:
    emu = Emulator(EmulatorConfig(clock=clock, orders=1, sellers=2, **kw))  # type: ignore[arg-type]
    return emu, httpx.Client(transport=emu.sync_transport(), base_url="http://e")


def test_burst_then_429_then_refill(clock: FakeClock) -> None:
    emu, client = _emu(clock)
    op = get_catalog().operation("sellers_v1.getMarketplaceParticipations")
    assert (op.rate, op.burst) == (0.016, 15)
    headers = {"x-amz-access-token": emu.access_token()}
    for _ in range(15):
        r = client.get(PARTICIPATIONS, headers=headers)
        assert r.status_code == 200
        assert r.headers["x-amzn-RateLimit-Limit"] == "0.016"
    throttled = client.get(PARTICIPATIONS, headers=headers)
    assert throttled.status_code == 429
    assert throttled.json() == QUOTA
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]
    clock.advance(1 / 0.016 - 0.01)
    assert client.get(PARTICIPATIONS, headers=headers).status_code == 429
    clock.advance(0.02)
    assert client.get(PARTICIPATIONS, headers=headers).status_code == 200
    assert client.get(PARTICIPATIONS, headers=headers).status_code == 429


def test_buckets_are_per_seller_and_operation(clock: FakeClock) -> None:
    emu, client = _emu(clock)
    first = {"x-amz-access-token": emu.access_token(0)}
    for _ in range(15):
        client.get(PARTICIPATIONS, headers=first)
    assert client.get(PARTICIPATIONS, headers=first).status_code == 429
    second = {"x-amz-access-token": emu.access_token(1)}
    assert client.get(PARTICIPATIONS, headers=second).status_code == 200
    assert client.get("/sellers/v1/account", headers=first).status_code == 200


def test_rate_scale_multiplies_rates_and_the_header(clock: FakeClock) -> None:
    emu, client = _emu(clock, rate_scale=1000)
    headers = {"x-amz-access-token": emu.access_token()}
    r = client.get(PARTICIPATIONS, headers=headers)
    assert r.headers["x-amzn-RateLimit-Limit"] == "16.0"
    for _ in range(14):
        client.get(PARTICIPATIONS, headers=headers)
    assert client.get(PARTICIPATIONS, headers=headers).status_code == 429
    clock.advance(1 / 16)
    assert client.get(PARTICIPATIONS, headers=headers).status_code == 200


def test_no_rate_limits(clock: FakeClock) -> None:
    emu, client = _emu(clock, rate_limits=False)
    headers = {"x-amz-access-token": emu.access_token()}
    responses = [client.get(PARTICIPATIONS, headers=headers) for _ in range(40)]
    assert all(r.status_code == 200 for r in responses)
    # The header tells a client what the emulator grants: without throttling, a rate no
    # client reaches, not Amazon's 0.016/s (a client learning from it would crawl for nothing).
    rates = {float(r.headers["x-amzn-RateLimit-Limit"]) for r in responses}
    assert len(rates) == 1 and rates.pop() >= 100_000


def test_operations_without_a_plan_get_the_documented_default(clock: FakeClock) -> None:
    op = next(o for o in get_catalog() if o.plan == "unknown")
    limiter = RateLimiter(clock=clock)
    assert limiter.plan(op)[:2] == (1.0, 5.0)
    assert [limiter.acquire(op, "app", "s") for _ in range(6)] == [True] * 5 + [False]
    clock.advance(1.0)
    assert limiter.acquire(op, "app", "s")


def test_application_layer_caps_all_sellers_together(clock: FakeClock) -> None:
    op = get_catalog().operation("catalog_items_2022_04_01.getCatalogItem")  # 2/s per pair
    limiter = RateLimiter(clock=clock)
    granted = sum(limiter.acquire(op, "app", f"seller{i}") for i in range(400))
    assert granted == 250  # each seller has burst 2, but the application has 250/s
    clock.advance(0.5)
    granted = sum(limiter.acquire(op, "app", f"seller{i}") for i in range(400, 800))
    assert granted == 125
    assert limiter.acquire(op, "other-app", "seller0")


def test_pair_limit_still_applies_under_the_application_limit(clock: FakeClock) -> None:
    op = get_catalog().operation("catalog_items_2022_04_01.getCatalogItem")
    limiter = RateLimiter(clock=clock)
    assert [limiter.acquire(op, "app", "s") for _ in range(3)] == [True, True, False]


def test_format_rate() -> None:
    assert format_rate(0.0167) == "0.0167"
    assert format_rate(2) == "2.0"
    assert format_rate(16.7) == "16.7"
