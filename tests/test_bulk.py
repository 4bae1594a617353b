"""run_many / arun_many: bounded concurrency, results as they complete, errors kept per item,
lazy consumption of the input, and clean early exit."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from sellerkit.bulk import Result, arun_many, run_many


class Gauge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_run_many_bounds_concurrency_and_keeps_errors_per_item() -> None:
    gauge = Gauge()

    def work(i: int) -> int:
        with gauge:
            time.sleep(0.01)
            if i % 7 == 3:
                raise ValueError(f"bad {i}")
            return i * i

    results = list(run_many(work, range(50), concurrency=4))
    assert len(results) == 50
    assert gauge.peak == 4
    by_item = {r.item: r for r in results}
    assert set(by_item) == set(range(50))
    assert all(r.index == r.item for r in results)
    failed = [r for r in results if not r.ok]
    assert sorted(r.item for r in failed) == [i for i in range(50) if i % 7 == 3]
    assert all(isinstance(r.error, ValueError) for r in failed)
    assert by_item[5].value == 25 and by_item[5].unwrap() == 25
    with pytest.raises(ValueError, match="bad 3"):
        by_item[3].unwrap()


def test_run_many_yields_in_completion_order() -> None:
    def work(delay: float) -> float:
        time.sleep(delay)
        return delay

    order = [r.value for r in run_many(work, [0.3, 0.05, 0.15], concurrency=3)]
    assert order == [0.05, 0.15, 0.3]


def test_run_many_pulls_items_lazily_and_stops_early() -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10_000):
            pulled.append(i)
            yield i

    gen = run_many(lambda i: i, source(), concurrency=3)
    first = [next(gen) for _ in range(5)]
    gen.close()
    assert len(first) == 5
    assert len(pulled) <= 5 + 3 + 1


def test_run_many_rejects_bad_concurrency() -> None:
    with pytest.raises(ValueError):
        list(run_many(lambda i: i, [1], concurrency=0))


async def test_arun_many_bounds_concurrency_and_keeps_errors() -> None:
    running = peak = 0

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005 * (i % 3))
        running -= 1
        if i == 13:
            raise KeyError(i)
        return -i

    results = [r async for r in arun_many(work, range(100), concurrency=10)]
    assert peak == 10
    assert sorted(r.item for r in results) == list(range(100))
    bad = [r for r in results if not r.ok]
    assert [(r.item, type(r.error)) for r in bad] == [(13, KeyError)]
    assert {r.item: r.value for r in results if r.ok}[99] == -99


async def test_arun_many_accepts_async_iterables_and_cancels_on_early_exit() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def source() -> AsyncIterator[int]:
        for i in range(1000):
            yield i

    async def work(i: int) -> int:
        started.append(i)
        try:
            await asyncio.sleep(0 if i < 2 else 10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    got: list[Result[int, int]] = []
    agen = arun_many(work, source(), concurrency=5)
    async for r in agen:
        got.append(r)
        if len(got) == 2:
            break
    await agen.aclose()  # type: ignore[attr-defined]
    assert sorted(r.item for r in got) == [0, 1]
    assert len(started) <= 7
    assert sorted(cancelled) == sorted(i for i in started if i >= 2)


def test_run_many_lets_keyboard_interrupt_through() -> None:
    def work(i: int) -> int:
        if i == 1:
            raise KeyboardInterrupt
        return i

    with pytest.raises(KeyboardInterrupt):
        list(run_many(work, range(3), concurrency=1))
