"""await sp.reports.fetch(...) against the emulator: the same lifecycles as the sync tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sellerkit.errors import ApiError
from sellerkit.workflows.reports import AsyncReport, ReportFailedError

from ._reports_emu import FAST, make_world

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
ACTIONABLE = "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"


async def test_done_rows_and_json() -> None:
    world = make_world()
    async with world.async_client() as sp:
        report = await sp.reports.fetch(LISTINGS, ["US"], **FAST)
        assert isinstance(report, AsyncReport) and report.status == "DONE"
        rows = [r async for r in report.rows()]
        assert rows and "seller-sku" in rows[0]
        st = await sp.reports.fetch("GET_SALES_AND_TRAFFIC_REPORT", ["US"], **FAST)
        assert (await st.json())["salesAndTrafficByAsin"]


async def test_cancelled_and_fatal() -> None:
    world = make_world()
    async with world.async_client() as sp:
        gone = await sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "CANCELLED"},
                                      **FAST)
        assert gone.cancelled and [r async for r in gone.rows()] == []
        assert await gone.json() is None
        with pytest.raises(ReportFailedError) as info:
            await sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "FATAL"},
                                   **FAST)
        assert info.value.content and "errorDetails" in info.value.content
    assert world.count("POST", "/reports/2021-06-30/reports") == 2


async def test_reuse_and_restricted_rdt() -> None:
    world = make_world()
    start = datetime.now(UTC) - timedelta(days=3)
    async with world.async_client() as sp:
        a = await sp.reports.fetch(ACTIONABLE, ["US"], start=start, **FAST)
        b = await sp.reports.fetch(ACTIONABLE, ["US"], start=start, **FAST)
        assert b.reused and b.report_id == a.report_id
        assert [r["buyer-email"] async for r in b.rows()]
    assert world.count("POST", "/reports/2021-06-30/reports") == 1
    paths = [r["path"] for body in world.bodies("POST", "/tokens/2021-03-01/restrictedDataToken")
             for r in body["restrictedResources"]]
    assert paths and set(paths) == {f"/reports/2021-06-30/documents/{a.document_id}"}


async def test_expired_url_once_then_twice() -> None:
    world = make_world()
    async with world.async_client() as sp:
        world.expire_downloads = 1
        report = await sp.reports.fetch(LISTINGS, ["US"], **FAST)
        assert [r async for r in report.rows()]
        world.expire_downloads = 2
        with pytest.raises(ApiError) as info:
            await sp.reports.fetch(LISTINGS, ["US"], reuse_within=0, **FAST)
        assert info.value.status == 403
    assert world.count("GET", "/reports/2021-06-30/documents/") == 4


async def test_schedules_and_fetch_existing() -> None:
    world = make_world()
    async with world.async_client() as sp:
        sid = await sp.reports.create_schedule(LISTINGS, "PT12H", ["US"])
        assert [s["reportScheduleId"] for s in await sp.reports.list_schedules(LISTINGS)] == [sid]
        await sp.reports.cancel_schedule(sid)
        assert await sp.reports.list_schedules(LISTINGS) == []
        done = await sp.reports.fetch(LISTINGS, ["US"], **FAST)
        again = await sp.reports.fetch_existing(document_id=done.document_id,
                                                report_type=LISTINGS)
        assert [r async for r in again.rows()] == [r async for r in done.rows()]
