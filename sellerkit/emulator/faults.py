"""Faults on demand: seeded, reproducible error responses, dropped connections and latency.

A spec is a comma-separated list of ``kind:value`` items::

    500:0.05,503:0.02,429:0.05,reset:0.01,latency:20ms

* an HTTP status (400-599) with a probability: answer that status with an SP-API error body;
* ``reset`` with a probability: drop the connection without a response;
* ``latency`` with a duration (``20ms``, ``0.5s``) or a range (``10ms-50ms``): delay every
  request by that much (a range draws uniformly).

Probabilities are per request and add up (at most 1). One draw from ``random.Random`` seeded
with the emulator seed decides each request, so the same seed gives the same sequence.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

from sellerkit.errors import ConfigurationError

__all__ = ["FaultPlan", "FaultSpecError", "parse_faults"]


class FaultSpecError(ConfigurationError, ValueError):
    """A ``--faults`` spec that does not parse."""


@dataclass(frozen=True)
class Fault:
    """What to do to one request: ``status`` (an error to answer), ``reset`` or neither, plus
    a delay in seconds."""

    status: int | None = None
    reset: bool = False
    delay: float = 0.0


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def _duration(text: str, item: str) -> float:
    m = _DURATION.match(text)
    if not m:
        raise FaultSpecError(f"fault {item!r}: {text!r} is not a duration (use e.g. 20ms or 0.5s)")
    value = float(m.group(1))
    return value / 1000.0 if m.group(2) in (None, "ms") else value


def _probability(text: str, item: str) -> float:
    t = text.strip()
    try:
        p = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise FaultSpecError(f"fault {item!r}: {text!r} is not a probability "
                             "(use a number between 0 and 1, or a percentage like 5%)") from None
    if not 0.0 <= p <= 1.0:
        raise FaultSpecError(f"fault {item!r}: probability {p} is outside 0..1")
    return p


class FaultPlan:
    """A parsed spec and its seeded random sequence."""

    def __init__(self, outcomes: list[tuple[str, float]], latency: tuple[float, float],
                 seed: int, spec: str) -> None:
        self.outcomes = outcomes  # [("500", p), ("reset", p), ...] in spec order
        self.latency = latency
        self.spec = spec
        self._seed = seed
        self._rng = random.Random(f"sellerkit-faults:{seed}")
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self.outcomes) or self.latency[1] > 0

    def draw(self) -> Fault:
        """The fault (possibly none) for the next request."""
        with self._lock:
            r = self._rng.random()
            lo, hi = self.latency
            delay = lo if hi <= lo else self._rng.uniform(lo, hi)
        acc = 0.0
        for kind, p in self.outcomes:
            acc += p
            if r < acc:
                if kind == "reset":
                    return Fault(reset=True, delay=delay)
                return Fault(status=int(kind), delay=delay)
        return Fault(delay=delay)

    def __repr__(self) -> str:
        return f"FaultPlan({self.spec!r})"


def parse_faults(spec: str | None, *, seed: int = 0) -> FaultPlan:
    """Parse a spec (``None`` or ``""`` means no faults); raises :class:`FaultSpecError`."""
    outcomes: list[tuple[str, float]] = []
    latency = (0.0, 0.0)
    seen: set[str] = set()
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        kind, sep, value = item.partition(":")
        kind = kind.strip().lower()
        if not sep or not value.strip():
            raise FaultSpecError(f"fault {item!r}: expected kind:value, e.g. 500:0.05 or "
                                 "latency:20ms")
        if kind in seen:
            raise FaultSpecError(f"fault {kind!r} appears twice in {spec!r}")
        seen.add(kind)
        if kind == "latency":
            lo_text, dash, hi_text = value.partition("-")
            lo = _duration(lo_text, item)
            hi = _duration(hi_text, item) if dash else lo
            if hi < lo:
                raise FaultSpecError(f"fault {item!r}: the range goes backwards")
            latency = (lo, hi)
        elif kind == "reset":
            outcomes.append(("reset", _probability(value, item)))
        elif kind.isascii() and kind.isdigit() and 400 <= int(kind) <= 599:
            outcomes.append((kind, _probability(value, item)))
        else:
            raise FaultSpecError(f"fault {item!r}: unknown kind {kind!r}; use an HTTP status "
                                 "400-599, reset or latency")
    total = sum(p for _, p in outcomes)
    if total > 1.0 + 1e-9:
        raise FaultSpecError(f"fault probabilities add up to {total:g}, more than 1")
    return FaultPlan(outcomes, latency, seed, spec or "")
