"""``sp.reports.fetch`` streams the document from the network through the client's own pool:
against the emulator on a loopback port, with no httpx client built. A report can be read again
(a fresh download) and closed unread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    emu = Emulator(EmulatorConfig(seed=0, report_seconds=0.2, rate_limits=False))
    with EmulatorServer(emulator=emu) as srv:
        yield srv


def _kwargs(server: EmulatorServer) -> dict[str, object]:
    emu = server.emulator
    return dict(client_id=emu.config.client_id, client_secret=emu.config.client_secret,
                refresh_token=emu.refresh_token(0), endpoint=server.base_url,
                lwa_endpoint=server.base_url + "/auth/o2/token", rate_limiter=False,
                marketplace="US")



def test_fetch_streams_rows_through_the_pool(server: EmulatorServer) -> None:
    with SellingPartner(**_kwargs(server)) as sp:
        report = sp.reports.fetch(LISTINGS, reuse_within=0, poll_interval=0.1)
        rows = list(report.rows())
        again = list(report.rows())  # a second read downloads afresh (a new URL)
        assert sp._httpx is None  # the download went through the keep-alive pool
    assert rows and rows[0]["seller-sku"]
    assert again == rows
    assert report.stats.compressed is not None and report.content_type


def test_a_report_closed_unread_can_still_be_read(server: EmulatorServer) -> None:
    with SellingPartner(**_kwargs(server)) as sp:
        with sp.reports.fetch(LISTINGS, poll_interval=0.1) as report:
            pass  # closed unread: the open download is dropped
        assert list(report.rows())  # a fresh download


def test_async_fetch_streams_rows_through_the_pool(server: EmulatorServer) -> None:
    async def main() -> tuple[int, int]:
        async with AsyncSellingPartner(**_kwargs(server)) as sp:
            async with await sp.reports.fetch(LISTINGS, reuse_within=0,
                                              poll_interval=0.1) as report:
                n = 0
                async for _ in report.rows():
                    n += 1
            m = 0
            async for _ in report.rows():
                m += 1
            assert sp._httpx is None
            return n, m

    n, m = asyncio.run(main())
    assert n > 0 and m == n
