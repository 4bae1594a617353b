"""Waiting for quota is not a timeout: ``timeout`` bounds one HTTP attempt, ``max_wait`` the
wait for rate-limit capacity (client setting, env, profile, ``CallOptions``); ``paginate`` and
``sellerkit.bulk`` wait as long as the quota requires; long waits are logged for the CLI.

The emulator runs with rate limits on and time-scaled (``rate_scale``): its getOrders refills
at 0.0167/s x scale after a burst of 20, as Amazon's does at 0.0167/s.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.bulk import arun_many, run_many
from sellerkit.config import load_settings
from sellerkit.emulator import Emulator
from sellerkit.emulator.config import EmulatorConfig
from sellerkit.errors import (
    CapacityWaitError,
    ConfigurationError,
    RateLimitWaitError,
    SellerkitError,
)
from sellerkit.ratelimit import DEFAULT_MAX_WAIT, RateLimiter, wait_as_needed
from tests.ratelimit.helpers import FakeClock, counting, ctx

GET_ORDERS = "orders_v0.getOrders"     # 0.0167/s, burst 20
US = "ATVPDKIKX0DER"


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path))
    for var in ("SELLERKIT_MAX_WAIT", "SELLERKIT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("SELLERKIT_CONFIG", str(tmp_path / "empty.toml"))



def client(emu: Emulator, scale: float, cls: Any = SellingPartner, **kw: Any) -> Any:
    transport = emu.sync_transport() if cls is SellingPartner else emu.async_transport()
    return cls(client_id=emu.config.client_id, client_secret=emu.config.client_secret,
               refresh_token=emu.refresh_token(0), endpoint="http://127.0.0.1:8787",
               lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", transport=transport,
               rate_limiter=RateLimiter(rate_scale=scale), **kw)


def orders_args() -> dict[str, Any]:
    return {"MarketplaceIds": [US], "CreatedAfter": "2000-01-01T00:00:00Z"}


# -- the setting ---------------------------------------------------------------------------

def test_max_wait_setting_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().max_wait == DEFAULT_MAX_WAIT == 3600
    cfg = tmp_path / "config.toml"
    cfg.write_text("[profiles.default]\nmax_wait = 120\n")
    monkeypatch.setenv("SELLERKIT_CONFIG", str(cfg))
    assert load_settings().max_wait == 120
    monkeypatch.setenv("SELLERKIT_MAX_WAIT", "0")
    s = load_settings()
    assert s.max_wait == 0 and s.sources["max_wait"] == "env SELLERKIT_MAX_WAIT"
    assert load_settings(max_wait=5).max_wait == 5
    monkeypatch.setenv("SELLERKIT_MAX_WAIT", "soon")
    with pytest.raises(ConfigurationError, match="SELLERKIT_MAX_WAIT='soon' is not a number"):
        load_settings()
    monkeypatch.delenv("SELLERKIT_MAX_WAIT")
    with pytest.raises(ConfigurationError, match="must not be negative"):
        load_settings(max_wait=-1)


def test_capacity_wait_error_is_exported_like_every_other_exception() -> None:
    import sellerkit.errors
    import sellerkit.ratelimit

    assert "CapacityWaitError" in sellerkit.errors.__all__
    assert sellerkit.ratelimit.CapacityWaitError is CapacityWaitError
    assert issubclass(CapacityWaitError, RateLimitWaitError)
    assert issubclass(CapacityWaitError, SellerkitError)


def test_bad_call_option_max_wait_is_a_sellerkit_error() -> None:
    emu = Emulator(EmulatorConfig(rate_scale=100, orders=1))
    sp = client(emu, 100)
    with pytest.raises(ConfigurationError, match="max_wait"):
        sp.call(GET_ORDERS, options=CallOptions(max_wait="soon"),  # type: ignore[arg-type]
                **orders_args())
    sp.close()


# -- timeout is not the wait -----------------------------------------------------------------

def test_a_wait_longer_than_the_timeout_still_goes_through_and_max_wait_0_fails_fast() -> None:
    scale = 40.0                                         # one getOrders token every 1.5 s
    emu = Emulator(EmulatorConfig(rate_scale=scale, orders=5))
    seen = counting(emu)
    sp = client(emu, scale, timeout=1.0)                 # each attempt may take 1 s
    for _ in range(20):
        sp.call(GET_ORDERS, **orders_args())
    t0 = time.monotonic()
    sp.call(GET_ORDERS, **orders_args())                 # waits ~1.5 s > timeout: fine
    assert time.monotonic() - t0 >= 1.0
    with pytest.raises(CapacityWaitError) as info:       # interactive code: fail fast
        sp.call(GET_ORDERS, options=CallOptions(max_wait=0), **orders_args())
    assert "per-seller limit of orders_v0.getOrders" in str(info.value)
    assert "max_wait" in str(info.value)
    assert seen[(GET_ORDERS, False)] == 0
    sp.close()
    fast = client(emu, scale, max_wait=0)                # the client setting, same effect
    fast.limiter = sp.limiter
    t0 = time.monotonic()
    with pytest.raises(CapacityWaitError):
        fast.call(GET_ORDERS, **orders_args())
    assert time.monotonic() - t0 < 1.0
    fast.close()


def test_paginate_30_pages_of_getorders_with_default_options() -> None:
    """The issue's case at a realistic ratio: 20 pages of burst, then one page per token;
    every page arrives, no error, no 429, in about the time the plan allows."""
    scale = 100.0                                        # 1.67 tokens/s: 0.6 s per page
    emu = Emulator(EmulatorConfig(rate_scale=scale, orders=500))
    seen = counting(emu)
    sp = client(emu, scale, timeout=0.5)                 # shorter than each page's wait
    t0 = time.monotonic()
    pages = list(sp.paginate(sp.orders_v0.get_orders, marketplace_ids=[US],
                             created_after="2000-01-01T00:00:00Z", max_results_per_page=5))
    elapsed = time.monotonic() - t0
    assert len(pages) >= 30
    assert seen[(GET_ORDERS, False)] == 0 and seen[(GET_ORDERS, True)] == len(pages)
    allowed = (len(pages) - 20) / (0.0167 * scale)       # what the bucket allows
    assert 0.8 * allowed <= elapsed < allowed + 15
    orders = [o["AmazonOrderId"] for p in pages for o in p.payload["Orders"]]
    assert len(orders) == len(set(orders))               # every page, once
    sp.close()


def test_run_many_and_arun_many_wait_as_long_as_the_quota_requires() -> None:
    scale = 200.0                                        # 0.3 s per token after the burst
    emu = Emulator(EmulatorConfig(rate_scale=scale, orders=5))
    seen = counting(emu)
    sp = client(emu, scale, max_wait=0)                  # the client alone would fail fast
    results = list(run_many(lambda i: sp.call(GET_ORDERS, **orders_args()), range(24),
                            concurrency=8))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:2]
    with pytest.raises(CapacityWaitError):               # outside the bulk runner: fails fast
        sp.call(GET_ORDERS, **orders_args())
    sp.close()
    assert seen[(GET_ORDERS, False)] == 0


async def test_arun_many_waits_as_long_as_the_quota_requires() -> None:
    scale = 200.0
    emu = Emulator(EmulatorConfig(rate_scale=scale, orders=5))
    seen = counting(emu)
    sp = client(emu, scale, AsyncSellingPartner, max_wait=0)
    results = [r async for r in arun_many(lambda i: sp.call(GET_ORDERS, **orders_args()),
                                          range(24), concurrency=24)]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:2]
    # an explicit per-call max_wait still wins inside the runner
    late = [r async for r in arun_many(
        lambda i: sp.call(GET_ORDERS, options=CallOptions(max_wait=0), **orders_args()),
        range(3))]
    assert all(isinstance(r.error, CapacityWaitError) for r in late)
    await sp.aclose()
    assert seen[(GET_ORDERS, False)] == 0


# -- the log record the CLI renders ------------------------------------------------------------

def test_a_long_wait_is_logged_with_its_limit(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, async_sleep=clock.async_sleep, margin=0)
    c = ctx(GET_ORDERS)
    caplog.set_level(logging.INFO, logger="sellerkit.ratelimit")
    for _ in range(20):
        lim.acquire(c)
    assert not caplog.records                            # no wait, nothing to say
    with wait_as_needed():
        lim.acquire(c, max_wait=None)
    (rec,) = [r for r in caplog.records if r.name == "sellerkit.ratelimit"]
    assert rec.levelno == logging.INFO
    wait = rec.sellerkit_wait  # type: ignore[attr-defined]
    assert set(wait) == {"seconds", "operation", "limit"}
    assert wait["operation"] == GET_ORDERS and isinstance(wait["seconds"], float)
    assert wait["seconds"] == pytest.approx(1 / 0.0167)
    assert wait["limit"] == "per-seller limit of orders_v0.getOrders (1 request per 60s, burst 20)"
    assert "59.9s" in rec.getMessage()
