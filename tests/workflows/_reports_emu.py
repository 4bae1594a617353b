"""An emulator for the reports workflow tests: a clock that tests can move, and transports
that record what the client sent (so a test can count createReport calls and see RDTs)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig

BASE = "http://127.0.0.1:8787"
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
EU_SELLER = 11  # seed 0, 12 sellers: GB/DE/IT/ES
JP_SELLER, JP = 2, "A1VC38T7YXB528"  # seed 0: JP and AU


class Clock:
    """Real time plus an offset a test may push forward (to expire a document URL)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class World:
    emu: Emulator
    clock: Clock
    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    queries: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    # number of document downloads before which the clock jumps past the URL lifetime
    expire_downloads: int = 0

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for m, p, _ in self.sent if m == method and path_part in p)

    def bodies(self, method: str, path_part: str) -> list[Any]:
        return [b for m, p, b in self.sent if m == method and path_part in p]

    def _note(self, request: httpx.Request) -> None:
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = None
        self.sent.append((request.method, request.url.path, body))
        self.queries.append((request.method, request.url.path, dict(request.url.params)))
        if request.url.path.startswith("/_emulator/documents/") and self.expire_downloads:
            self.expire_downloads -= 1
            self.clock.offset += 301  # presigned URLs last 5 minutes

    def client(self, seller: int = 0, marketplace: str = "US") -> SellingPartner:
        inner = self.emu.sync_transport()
        world = self

        class Recording(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                world._note(request)
                return inner.handle_request(request)

        return SellingPartner(client_id=self.emu.config.client_id,
                              client_secret=self.emu.config.client_secret,
                              refresh_token=self.emu.refresh_token(seller),
                              marketplace=marketplace, endpoint=BASE,
                              lwa_endpoint=f"{BASE}/auth/o2/token", transport=Recording())

    def async_client(self, seller: int = 0, marketplace: str = "US") -> AsyncSellingPartner:
        inner = self.emu.async_transport()
        world = self

        class Recording(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                world._note(request)
                return await inner.handle_async_request(request)

        return AsyncSellingPartner(client_id=self.emu.config.client_id,
                                   client_secret=self.emu.config.client_secret,
                                   refresh_token=self.emu.refresh_token(seller),
                                   marketplace=marketplace, endpoint=BASE,
                                   lwa_endpoint=f"{BASE}/auth/o2/token", transport=Recording())


def make_world(sellers: int = 1) -> World:
    clock = Clock()
    emu = Emulator(EmulatorConfig(rate_limits=False, seed=0, sellers=sellers,
                                  report_seconds=0.3, clock=clock))
    return World(emu, clock)


FAST = {"poll_interval": 0.05, "max_poll_interval": 0.2}
