"""Run many calls with bounded concurrency and get each result as soon as it is ready.

    from sellerkit.bulk import run_many, arun_many

    for r in run_many(lambda oid: sp.orders_v0.get_order(order_id=oid), order_ids,
                      concurrency=8):
        if r.ok:
            save(r.value)
        else:
            log.warning("order %s failed: %s", r.item, r.error)

    async for r in arun_many(lambda oid: asp.orders_v0.get_order(order_id=oid), order_ids,
                             concurrency=32):
        ...

Results arrive in completion order; ``Result.index`` is the item's position in the input. An
exception from one item is kept in that item's ``Result.error`` and never stops the others
(``KeyboardInterrupt``, ``SystemExit`` and cancellation still propagate). Items are pulled from
the input lazily, so a generator of 10,000 order ids is never materialised, and at most
``concurrency`` calls are in flight. Pacing is the rate limiter's job: the calls share the
client's limiter, so concurrency only has to be high enough to keep the buckets busy while
requests are on the wire. Every call runs inside ``sellerkit.ratelimit.wait_as_needed()``: a
call that sets no ``max_wait`` of its own waits for rate-limit capacity as long as the quota
requires (getOrders: one a minute after its burst of 20), whatever the client's ``max_wait``.
Leaving the loop early stops handing out new items; calls already running finish (threads) or
are cancelled (asyncio).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import itertools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Result", "arun_many", "run_many"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Result(Generic[T, R]):
    """The outcome for one item: ``value`` when it worked, ``error`` when it raised."""

    item: T
    value: R | None = None
    error: BaseException | None = None
    index: int = -1

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> R:
        """The value, or the item's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def _waiting(fn: Callable[[T], R], item: T) -> R:
    from sellerkit.ratelimit import wait_as_needed

    with wait_as_needed():
        return fn(item)


def _check(concurrency: int) -> int:
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
    return concurrency


def run_many(fn: Callable[[T], R], items: Iterable[T], *, concurrency: int = 8
             ) -> Iterator[Result[T, R]]:
    """Call ``fn(item)`` for every item on up to ``concurrency`` threads; yield ``Result``s
    as they complete."""
    limit = _check(concurrency)
    source = enumerate(items)
    pool = cf.ThreadPoolExecutor(max_workers=limit, thread_name_prefix="sellerkit-bulk")
    running: dict[cf.Future[R], tuple[int, T]] = {}
    try:
        for index, item in itertools.islice(source, limit):
            running[pool.submit(_waiting, fn, item)] = (index, item)
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                index, item = running.pop(fut)
                for nindex, nitem in itertools.islice(source, 1):
                    running[pool.submit(_waiting, fn, nitem)] = (nindex, nitem)
                exc = fut.exception()
                if exc is not None and not isinstance(exc, Exception):
                    raise exc  # KeyboardInterrupt, SystemExit: not a per-item failure
                if exc is not None:
                    yield Result(item, None, exc, index)
                else:
                    yield Result(item, fut.result(), None, index)
    finally:
        for fut in running:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


async def arun_many(afn: Callable[[T], Awaitable[R]], items: Iterable[T] | AsyncIterable[T], *,
                    concurrency: int = 32) -> AsyncIterator[Result[T, R]]:
    """Await ``afn(item)`` for every item, at most ``concurrency`` at a time; yield
    ``Result``s as they complete. ``items`` may be an iterable or an async iterable."""
    limit = _check(concurrency)
    aiter_ = _aenumerate(items)
    exhausted = False
    running: dict[asyncio.Task[Any], tuple[int, T]] = {}

    from sellerkit.ratelimit import wait_as_needed

    async def call(item: T) -> R:
        with wait_as_needed():  # each task has its own context: this stays inside the task
            return await afn(item)

    async def refill() -> None:
        nonlocal exhausted
        while not exhausted and len(running) < limit:
            try:
                index, item = await anext(aiter_)
            except StopAsyncIteration:
                exhausted = True
                return
            running[asyncio.ensure_future(call(item))] = (index, item)

    try:
        await refill()
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            finished = [(task, *running.pop(task)) for task in done]
            await refill()  # keep the slots busy while the caller handles these results
            for task, index, item in finished:
                if task.cancelled():
                    yield Result(item, None, asyncio.CancelledError(), index)
                    continue
                exc = task.exception()
                if exc is not None and not isinstance(exc, Exception):
                    raise exc  # KeyboardInterrupt, SystemExit: not a per-item failure
                yield Result(item, None if exc else task.result(), exc, index)
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await aiter_.aclose()


async def _aenumerate(items: Iterable[T] | AsyncIterable[T]
                      ) -> AsyncGenerator[tuple[int, T], None]:
    if isinstance(items, AsyncIterable):
        index = 0
        async for item in items:
            yield index, item
            index += 1
    else:
        for index, item in enumerate(items):
            yield index, item
