"""The simulation's mutable state (provisional: sellers only; domains are added next)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sellerkit.emulator.simulation import SimResponse, error


class State:
    def __init__(self, *, seed: int = 0, orders: int = 100, sellers: int = 1,
                 clock: Callable[[], float] = time.time, report_seconds: float = 3.0,
                 feed_seconds: float = 3.0) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.clock = clock
        self.seller_ids = [f"A2SIMSELLER{i + 1:04d}" for i in range(max(1, sellers))]

    def advance(self) -> None:
        pass

    def document(self, document_id: str) -> SimResponse:
        return error(404, "NotFound", "No such document.")

    def upload(self, document_id: str, content_type: str | None, data: bytes) -> SimResponse:
        return error(404, "NotFound", "No such upload.")

    def dump(self) -> dict[str, Any]:
        return {"seed": self.seed, "sellers": len(self.seller_ids)}

    @classmethod
    def from_dump(cls, data: dict[str, Any], **kw: Any) -> State:
        return cls(seed=data["seed"], sellers=data["sellers"], **kw)
