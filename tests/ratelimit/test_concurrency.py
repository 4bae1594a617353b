"""Real clocks, real concurrency: threads and asyncio tasks sharing one in-process limiter, and
processes sharing one bucket through a real Redis. Each test checks the send times against the
bucket (never more than burst + rate * interval in any interval, give or take scheduler noise)
and that the quota is used (the run takes about as long as the bucket requires, not longer)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import threading
import time

import pytest

from sellerkit.ratelimit import CapacityWaitError, RateLimiter, RedisRateLimiter
from tests.ratelimit.helpers import ctx

KEY = "orders_v0.getOrder"
RATE, BURST = 100.0, 5
TOL = 0.03  # seconds of scheduler noise allowed when checking conformance


def assert_conforms(times: list[float], rate: float, burst: int, tol: float = TOL) -> None:
    times = sorted(times)
    for i in range(len(times)):
        for j in range(i, len(times)):
            count = j - i + 1
            allowed = burst + rate * (times[j] - times[i] + tol)
            assert count <= allowed, (i, j, times[j] - times[i])


def expected_duration(n: int, rate: float, burst: int) -> float:
    return (n - burst) / rate


def test_threads_share_one_bucket() -> None:
    lim = RateLimiter(plans={KEY: (RATE, BURST)}, margin=0)
    c = ctx(KEY)
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            lim.acquire(c, max_wait=10)
            with lock:
                times.append(time.monotonic())

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert len(times) == 80
    assert_conforms(times, RATE, BURST)
    assert expected_duration(80, RATE, BURST) - 0.01 <= elapsed < expected_duration(
        80, RATE, BURST) + 1.0
    state = lim.snapshot()[0]
    # a thread that starts late may find a refilled token; nearly all calls wait
    assert state.acquired == 80 and 70 <= state.waits <= 75


async def test_asyncio_tasks_share_one_bucket() -> None:
    lim = RateLimiter(plans={KEY: (RATE, BURST)}, margin=0)
    c = ctx(KEY)
    times: list[float] = []

    async def one() -> None:
        await lim.acquire_async(c, max_wait=10)
        times.append(time.monotonic())

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(60)))
    elapsed = time.monotonic() - t0
    assert_conforms(times, RATE, BURST)
    assert expected_duration(60, RATE, BURST) - 0.01 <= elapsed < expected_duration(
        60, RATE, BURST) + 1.0


def test_threads_with_short_timeouts_fail_fast_and_take_nothing() -> None:
    lim = RateLimiter(plans={KEY: (2.0, 2)}, margin=0)
    c = ctx(KEY)
    results: list[str] = []
    gate = threading.Barrier(10)

    def worker() -> None:
        gate.wait()
        try:
            lim.acquire(c, max_wait=1.2)
            results.append("ok")
        except CapacityWaitError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 2 at once, then one every 0.5s: the ones at 0.5 and 1.0 fit in 1.2s, the rest are refused
    assert results.count("ok") == 4
    assert results.count("CapacityWaitError") == 6
    assert lim.snapshot()[0].acquired == 4


def _redis_worker(url: str, start_at: float, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    lim = RedisRateLimiter(url, plans={KEY: (RATE, BURST)}, margin=0)
    c = ctx(KEY)
    time.sleep(max(0.0, start_at - time.time()))
    times = []
    for _ in range(n):
        lim.acquire(c, max_wait=10)
        times.append(time.time())
    lim.close()
    out.put(times)


def test_processes_share_one_bucket_through_redis(redis_url: str) -> None:
    spawn = mp.get_context("spawn")
    out = spawn.Queue()
    start_at = time.time() + 1.5
    procs = [spawn.Process(target=_redis_worker, args=(redis_url, start_at, 15, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    times = [t for _ in procs for t in out.get(timeout=30)]
    for p in procs:
        p.join(timeout=10)
        assert p.exitcode == 0
    assert len(times) == 45
    assert_conforms(times, RATE, BURST)
    elapsed = max(times) - min(times)  # from the first send, in case a process started late
    assert elapsed >= expected_duration(45, RATE, BURST) - 0.02
    assert elapsed < expected_duration(45, RATE, BURST) + 1.0
    snap = RedisRateLimiter(redis_url).snapshot()
    assert [(s.acquired, s.layer) for s in snap] == [(45, "seller")]


def test_learned_rates_are_shared_through_redis(redis_url: str) -> None:
    a = RedisRateLimiter(redis_url, confirm=2)
    b = RedisRateLimiter(redis_url, confirm=2)
    c = ctx(KEY)
    a.record(c, status=200, rate_limit_header="1.0")
    b.record(c, status=200, rate_limit_header="1.0")   # two processes agree: confirmed
    assert [s.rate for s in a.snapshot()] == [1.0]
    b.record(c, status=429, rate_limit_header=None)
    assert [(s.rate, s.throttles) for s in a.snapshot()] == [(0.5, 1)]
    assert b.reset() == 1 and a.snapshot() == []


async def test_redis_async_client_per_event_loop(redis_url: str) -> None:
    lim = RedisRateLimiter(redis_url, plans={KEY: (RATE, BURST)}, margin=0)
    c = ctx(KEY)
    times: list[float] = []

    async def one() -> None:
        await lim.acquire_async(c, max_wait=10)
        times.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(30)))
    await lim.record_async(c, status=200, rate_limit_header="100")
    assert_conforms(times, RATE, BURST)
    assert lim.snapshot()[0].acquired == 30
    await lim.aclose()
    lim.close()


def test_redis_errors_are_sellerkit_errors() -> None:
    from sellerkit.errors import SellerkitError

    lim = RedisRateLimiter("redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(SellerkitError) as info:
        lim.acquire(ctx(KEY), max_wait=1)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(lim)
    # learning after a response never turns that response into an error
    lim.record(ctx(KEY), status=200, rate_limit_header="0.5")


async def test_redis_with_a_given_client_works_sync_and_async(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    lim = RedisRateLimiter(client, prefix="given:")
    c = ctx(KEY)
    assert lim.acquire(c, max_wait=0) == 0.0
    assert await lim.acquire_async(c, max_wait=0) == 0.0   # worker-thread fallback
    await lim.record_async(c, status=200, rate_limit_header="0.25")
    state = lim.snapshot()[0]
    assert (state.acquired, state.rate, state.layer) == (2, 0.25, "seller")
    lim.close()   # leaves a client it did not create open
    assert client.ping()
    client.close()
