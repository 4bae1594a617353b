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


class _Dropped:
    """A download whose connection died before its first byte (a report left unread)."""

    def iter_bytes(self) -> Iterator[bytes]:
        from sellerkit.errors import ConnectionFailedError

        raise ConnectionFailedError("GET <document url>: ReadError: reset", method="GET",
                                    url="<document url>")
        yield b""  # pragma: no cover

    def close(self) -> None:
        pass


class _Fresh:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.closed = False

    def __enter__(self) -> _Fresh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def iter_bytes(self) -> Iterator[bytes]:
        yield self.data


def test_a_download_dropped_before_its_first_byte_is_made_again_once() -> None:
    from sellerkit.workflows._report_result import DownloadSource, Report

    fresh: list[_Fresh] = []

    def reopen() -> _Fresh:
        fresh.append(_Fresh(b"sku\tqty\nA-1\t3\n"))
        return fresh[-1]

    report = Report(DownloadSource(_Dropped(), reopen), report={"reportId": "7"}, status="DONE")
    assert list(report.rows()) == [{"sku": "A-1", "qty": "3"}]
    assert len(fresh) == 1 and fresh[0].closed


def test_a_download_that_breaks_midway_raises_rather_than_starting_over() -> None:
    from sellerkit.errors import ConnectionFailedError
    from sellerkit.workflows._report_result import DownloadSource, Report

    class Partial(_Dropped):
        def iter_bytes(self) -> Iterator[bytes]:
            yield b"sku\tqty\nA-1\t3\n"
            yield from super().iter_bytes()

    reopened: list[int] = []
    report = Report(DownloadSource(Partial(), lambda: reopened.append(1)),
                    report={"reportId": "7"}, status="DONE")
    with pytest.raises(ConnectionFailedError):
        list(report.rows())
    assert reopened == []


def test_async_download_dropped_before_its_first_byte_is_made_again_once() -> None:
    from collections.abc import AsyncIterator

    from sellerkit.errors import ConnectionFailedError
    from sellerkit.workflows._report_result import AsyncDownloadSource, AsyncReport

    class Dropped:
        async def iter_bytes(self) -> AsyncIterator[bytes]:
            raise ConnectionFailedError("GET <document url>: reset", method="GET",
                                        url="<document url>")
            yield b""  # pragma: no cover

    class Fresh:
        closed = False

        async def __aenter__(self) -> Fresh:
            return self

        async def __aexit__(self, *exc: object) -> None:
            Fresh.closed = True

        async def iter_bytes(self) -> AsyncIterator[bytes]:
            yield b"sku\tqty\nA-1\t3\n"

    opened: list[int] = []

    async def reopen() -> Fresh:
        opened.append(1)
        return Fresh()

    async def main() -> list[dict[str, str]]:
        report = AsyncReport(AsyncDownloadSource(Dropped(), reopen), report={"reportId": "7"},
                             status="DONE")
        return [row async for row in report.rows()]

    assert asyncio.run(main()) == [{"sku": "A-1", "qty": "3"}]
    assert opened == [1] and Fresh.closed
