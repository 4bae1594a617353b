"""The token-bucket math every backend shares, free of I/O, locks and clocks.

A bucket is kept as a GCRA "theoretical arrival time" (``tat``): the moment the bucket would be
full again if nothing else were taken. At time ``t`` it holds ``burst - (tat - t) * rate`` tokens
(capped at ``burst``); a call may go at ``tat - tau`` where ``tau = (burst - 1) / rate``. Taking a
token at time ``s`` moves ``tat`` to ``max(tat, s) + 1 / rate``. Because ``s`` may lie in the
future, a caller *reserves* its slot under the lock and sleeps outside it: the waiters form a
queue without polling, and a call that would wait longer than it may is refused before it takes
anything. A call that needs several layers (seller, application, report type) reserves the same
instant ``s`` in each, the latest of their earliest slots, so it takes one token from every layer.

``margin`` (seconds) is subtracted from ``tau``: requests leave the client in the order of their
slots but reach Amazon after a variable delay, and two requests whose delays differ by ``d``
arrive ``d`` closer together than they were scheduled. Keeping ``margin`` of the burst in
reserve absorbs that jitter; it costs one ``margin`` of delay once, not a lower rate.

A caller can also wake up late (a busy event loop, the GIL, a loaded host) and then send right
behind the caller of the next slot. ``Pacer`` checks the moments requests actually leave against
the same bucket, with only ``send_margin`` held back, and delays a send that would bunch up more
than Amazon's bucket tolerates. On time, it never delays anything.

Learning (``observe_header``, ``observe_throttle``, ``observe_success``) only touches the layer
keyed by seller and operation: ``x-amzn-RateLimit-Limit`` reports only that pair's rate. The Redis
backend mirrors these rules in Lua (``_redis_scripts.py``); the shared tests in
``tests/ratelimit`` run the same scenarios against both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EPS",
    "HOLD",
    "MIN_FACTOR",
    "MIN_RATE",
    "TIME_EPS",
    "Bucket",
    "LayerSpec",
    "Pacer",
    "Tuning",
    "parse_rate_header",
]

#: Waits shorter than this (seconds) are float noise, not waits.
TIME_EPS = 1e-6
#: Rates closer than this (relative) count as equal, so 0.0167 vs 0.016666 never flaps.
EPS = 0.02
#: Lowest rate a bucket may fall to; 1e-4 rps is one request every ~2.8 hours.
MIN_RATE = 1e-4
#: Each 429 halves the rate, down to this fraction of the learned one.
MIN_FACTOR = 1 / 16
#: After a 429, further 429s within this many seconds (or the back-off, if longer) answer
#: requests that were already on the wire: they do not slow the bucket down again.
HOLD = 0.5


@dataclass(frozen=True)
class Tuning:
    """The knobs of the learning rules; both backends take the same values."""

    margin: float = 0.05
    send_margin: float = 0.01
    confirm: int = 3
    recover: float = 1.1
    max_backoff: float = 60.0


@dataclass(frozen=True)
class LayerSpec:
    """One layer a call must take a token from, with the plan it starts from."""

    key: str
    kind: str  # "seller" | "application" | "report"
    operation: str
    rate: float
    burst: int
    seller: str = ""
    application: str = ""
    region: str = ""
    detail: str = ""  # the report type of a "report" layer

    @property
    def learns(self) -> bool:
        return self.kind == "seller"

    def describe(self, rate: float | None = None) -> str:
        """What this limit is, for messages: its rate (``rate`` when given, else the plan's)
        and burst."""
        plan = f"{_fmt_rate(self.rate if rate is None else rate)}, burst {self.burst}"
        if self.kind == "seller":
            return f"per-seller limit of {self.operation} ({plan})"
        if self.kind == "application":
            return f"per-application limit of {self.operation} ({plan})"
        return f"per-application quota for report type {self.detail} ({plan})"


def _fmt_rate(rate: float) -> str:
    if rate >= 1:
        return f"{rate:g} requests/s"
    return f"1 request per {1 / rate:.0f}s"


def parse_rate_header(value: str | None) -> float | None:
    """``x-amzn-RateLimit-Limit`` as a positive finite float, or None when absent or odd."""
    if value is None:
        return None
    try:
        rate = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(rate) or rate <= 0:
        return None
    return rate


@dataclass
class Bucket:
    """The mutable state of one layer (in-process backend)."""

    spec: LayerSpec
    default_rate: float
    burst: int
    target: float
    tat: float | None = None
    last: float | None = None  # the latest slot reserved
    factor: float = 1.0
    hold: float | None = None
    pending: float = 0.0
    pending_n: int = 0
    streak: int = 0
    last_header: float | None = None
    learned: float | None = None
    acquired: int = 0
    waits: int = 0
    wait_time: float = 0.0
    throttles: int = 0
    rejected: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, spec: LayerSpec) -> Bucket:
        return cls(spec=spec, default_rate=spec.rate, burst=spec.burst, target=spec.rate)

    @property
    def rate(self) -> float:
        """The rate in force: the learned (or default) rate times the back-off factor."""
        return max(self.target * self.factor, MIN_RATE)

    @property
    def plan_rate(self) -> float:
        """The rate the server grants, as far as we know: tokens refill at this rate."""
        return max(self.target, MIN_RATE)

    def tau(self, margin: float) -> float:
        return max(0.0, (self.burst - 1) / self.plan_rate - margin)

    def allowed_at(self, now: float, margin: float) -> float:
        """The earliest moment a token is free (may be <= now). While backing off (factor
        below 1), slots are also spaced at the slowed rate, without burst."""
        tat = now if self.tat is None else self.tat
        at = tat - self.tau(margin)
        if self.factor < 1.0 and self.last is not None:
            at = max(at, self.last + 1 / self.rate)
        return at

    def take(self, at: float) -> None:
        tat = at if self.tat is None else max(self.tat, at)
        self.tat = tat + 1 / self.plan_rate
        self.last = at
        self.acquired += 1

    def tokens(self, now: float) -> float:
        if self.tat is None or self.tat <= now:
            return float(self.burst)
        return max(0.0, self.burst - (self.tat - now) * self.plan_rate)

    def reseed(self, spec: LayerSpec) -> None:
        """A caller brought a different default plan (e.g. another limiter config): follow it
        unless we learned something ourselves."""
        self.spec = spec
        self.burst = spec.burst
        if abs(self.default_rate - spec.rate) > EPS * spec.rate:
            if self.target == self.default_rate:
                self.target = spec.rate
            self.default_rate = spec.rate

    def _set_target(self, now: float, target: float) -> None:
        """Change the learned rate while keeping the tokens the bucket holds now (the debt of
        the reserved slots is rescaled). The back-off factor never touches ``tat``: callers
        queued for their slots send at them whatever the factor does, so stretching their
        debt would leave the bucket idle after them."""
        old = self.plan_rate
        self.target = target
        if self.tat is not None and self.tat > now:
            self.tat = now + (self.tat - now) * old / self.plan_rate

    def observe_header(self, now: float, header: float, tuning: Tuning) -> None:
        """Learn from ``x-amzn-RateLimit-Limit``: lower at once, raise only on agreement."""
        self.last_header = header
        if header <= self.target * (1 + EPS):
            self.pending, self.pending_n = 0.0, 0
            if header < self.target * (1 - EPS):
                self._set_target(now, header)
            self.learned = self.target
            return
        self.pending = header if self.pending_n == 0 else min(self.pending, header)
        self.pending_n += 1
        if self.pending_n >= tuning.confirm:
            self._set_target(now, self.pending)
            self.learned = self.target
            self.pending, self.pending_n = 0.0, 0

    def observe_success(self, now: float, tuning: Tuning) -> None:
        """The server took a request: recover from a back-off by ``recover`` per success."""
        self.streak = 0
        if self.factor < 1.0:
            self.factor = min(1.0, self.factor * tuning.recover)

    def observe_throttle(self, now: float, rnd: float, tuning: Tuning) -> float:
        """A 429: forget unconfirmed raises, slow down, drain the bucket and back off.

        The learned rate (``target``) is kept: the slow-down is the ``factor``, which halves
        (down to ``MIN_FACTOR``) and recovers with every success. 429s that arrive during the
        back-off of the previous one answer requests sent before it, so they count but do not
        slow down again. Returns the back-off in seconds (the time until the next token)."""
        self.throttles += 1
        self.pending, self.pending_n = 0.0, 0
        if self.hold is not None and now < self.hold:
            return self.hold - now
        self.streak += 1
        self.factor = max(MIN_FACTOR, self.factor / 2)
        interval = 1 / self.rate
        backoff = max(interval, min(interval * 2 ** (self.streak - 1), tuning.max_backoff))
        backoff *= 1 + 0.25 * rnd
        # empty now, next token after the back-off. Callers already queued further out keep
        # their slots (their sends refill at the plan rate); the slots after them are spaced
        # at the slowed rate until the successes have brought the factor back (allowed_at).
        drained = now + backoff + (self.burst - 1) / self.plan_rate
        self.tat = drained if self.tat is None else max(self.tat, drained)
        self.hold = now + max(backoff, HOLD)
        return backoff


class Pacer:
    """The send-time check: a second GCRA per bucket, fed with the moments requests leave.

    Not thread-safe by itself; the limiter calls it under a lock. Per process, also for the
    Redis backend (the shared plan already spaces the processes)."""

    def __init__(self) -> None:
        self._tat: dict[str, tuple[float, float]] = {}  # key -> (tat, rate it was built at)

    def rescale(self, key: str, now: float, rate: float) -> None:
        """The bucket's rate changed at ``now``: keep the tokens owed, drain at ``rate``."""
        entry = self._tat.get(key)
        if entry is not None and entry[1] != rate:
            tat, old = entry
            self._tat[key] = (now + (tat - now) * old / rate if tat > now else tat, rate)

    def delay(self, now: float, layers: list[tuple[str, float, int]], send_margin: float,
              *, commit: bool = True) -> float:
        """Seconds to hold a request that would otherwise leave at ``now``; records the send
        (at ``now`` plus the delay) unless ``commit`` is false.

        ``layers`` holds (key, rate, burst) of every bucket the request took a token from."""
        at = now
        tats: list[float | None] = []
        for key, rate, burst in layers:
            entry = self._tat.get(key)
            tat = None
            if entry is not None:
                tat, old_rate = entry
                if old_rate != rate and tat > now:
                    tat = now + (tat - now) * old_rate / rate  # same tokens owed, new rate
                tau = max(0.0, (burst - 1) / rate - send_margin)
                at = max(at, tat - tau)
            tats.append(tat)
        if at <= now + TIME_EPS:
            at = now
        if not commit:
            return at - now
        for (key, rate, _), tat in zip(layers, tats, strict=True):
            self._tat[key] = ((at if tat is None else max(tat, at)) + 1 / rate, rate)
        if len(self._tat) > 100_000:
            self._tat = {k: v for k, v in self._tat.items() if v[0] > now}
        return at - now
