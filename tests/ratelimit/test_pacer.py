"""The send-time check: a caller that wakes up late must not leave right behind the next one."""

from __future__ import annotations

import pytest

from sellerkit.ratelimit import RateLimiter
from sellerkit.ratelimit._core import Pacer
from tests.ratelimit.helpers import FakeClock, ctx

KEY = "orders_v0.getOrder"


def test_pacer_holds_only_what_would_bunch() -> None:
    p = Pacer()
    layer = [("k", 10.0, 2)]                       # T = 0.1s, Amazon tolerates 2 at once
    assert p.delay(0.0, layer, 0.01) == 0.0
    assert p.delay(0.0, layer, 0.01) == pytest.approx(0.01)   # the send margin, no more
    assert p.delay(0.5, layer, 0.01) == 0.0                   # late is never held
    assert p.delay(0.5, layer, 0.01) == pytest.approx(0.01)


def test_pacer_follows_rate_changes() -> None:
    p = Pacer()
    layer = [("k", 1.0, 1)]
    p.delay(0.0, layer, 0.0)
    p.rescale("k", 0.0, 4.0)
    assert p.delay(0.0, [("k", 4.0, 1)], 0.0) == pytest.approx(0.25)


class LateClock(FakeClock):
    """One sleep overshoots, as a starved thread or a busy event loop would."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.late_on: int | None = None
        self.calls = 0

    def sleep(self, seconds: float) -> None:
        self.calls += 1
        super().sleep(seconds + (0.05 if self.calls == self.late_on else 0.0))


def test_a_late_caller_pushes_the_next_one_back() -> None:
    clock = LateClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, plans={KEY: (10.0, 1)}, margin=0.0,
                      send_margin=0.0)
    c = ctx(KEY)
    assert lim.acquire(c, max_wait=1) == 0.0        # leaves at 0.0
    clock.late_on = 1
    assert lim.acquire(c, max_wait=1) == pytest.approx(0.1)   # slot 0.1, wakes at 0.15
    assert clock.now == pytest.approx(0.15)
    # the next slot is 0.2, but a request at 0.2 would reach Amazon 50 ms after the last one:
    # with burst 1 and 10/s that is a 429, so it is held until 0.25
    assert lim.acquire(c, max_wait=1) == pytest.approx(0.1)
    assert clock.now == pytest.approx(0.25)


def test_on_time_callers_are_never_held() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, plans={KEY: (10.0, 3)})
    c = ctx(KEY)
    waits = [lim.acquire(c, max_wait=5) for _ in range(10)]
    # margin 0.05 of the burst is kept back once; after that exactly 10/s
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.05)
    assert waits[3:] == pytest.approx([0.1] * 7)


def test_callers_that_wake_late_from_a_hold_are_checked_again() -> None:
    """A stalled event loop wakes every due caller at once. Those that were held by the
    send-time check must not all leave together: each is checked again and spreads out."""
    clock = FakeClock()
    lim = RateLimiter(clock=clock, plans={KEY: (10.0, 1)}, margin=0, send_margin=0)
    spec = lim.layers(ctx(KEY))
    rates = [10.0]
    first = list(lim._pace_steps(spec, rates))            # leaves at once
    second = lim._pace_steps(spec, rates)
    third = lim._pace_steps(spec, rates)
    assert first == []
    assert next(second) == pytest.approx(0.1)             # booked 0.1 s later
    assert next(third) == pytest.approx(0.2)              # and 0.2 s later
    clock.advance(0.5)                                    # both wake 0.3-0.4 s late
    assert list(second) == []                             # checked again: room, it goes
    assert next(third) == pytest.approx(0.1)              # checked again: held behind it
    clock.advance(0.1)
    assert list(third) == []
