"""Test helpers shared by the rate-limiter tests."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sellerkit.catalog import Operation, get_catalog
from sellerkit.ratelimit import LimitContext

if TYPE_CHECKING:
    from sellerkit.emulator import Emulator


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Rnd:
    """Deterministic 'randomness' for back-off jitter."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def op(key: str) -> Operation:
    return get_catalog().operation(key)


def ctx(key: str, seller: str = "seller-a", app: str = "app-1", region: str = "NA",
        body: Any = None) -> LimitContext:
    return LimitContext(operation=op(key), seller=seller, application=app, region=region,
                        body=body)


def counting(emu: Emulator) -> Counter[tuple[str, bool]]:
    """The emulator's throttling decisions per (operation, allowed): 429s where Amazon counts."""
    seen: Counter[tuple[str, bool]] = Counter()
    inner = emu.limiter.acquire

    def acquire(op: Any, application_id: str, seller_id: str) -> bool:
        ok = inner(op, application_id, seller_id)
        seen[(op.key, ok)] += 1
        return ok

    emu.limiter.acquire = acquire  # type: ignore[method-assign]
    return seen
