"""sp.data_kiosk.query against the emulator: several documents, DONE without a document,
FATAL with its error document, CANCELLED, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sellerkit.errors import ConfigurationError
from sellerkit.workflows.datakiosk import QueryFailedError, QueryProgress

from ._reports_emu import FAST, make_world

QUERY = """
query Daily {
  analytics_salesAndTraffic_2024_04_24 {
    salesAndTrafficByDate(startDate: "2026-01-01", endDate: "2026-01-25", aggregateBy: DAY,
                          marketplaceIds: ["ATVPDKIKX0DER"]) {
      startDate
      sales { orderedProductSales { amount currencyCode } unitsOrdered }
    }
  }
}
"""
PAGED = "# emulatorPageSize: 10\n" + QUERY


def test_query_over_several_documents() -> None:
    world = make_world()
    seen: list[QueryProgress] = []
    with world.client() as sp:
        result = sp.datakiosk.query(PAGED, progress=seen.append, **FAST)
        assert result.status == "DONE" and not result.empty
        records = list(result)
    assert [r["startDate"] for r in records] == [f"2026-01-{d:02d}" for d in range(1, 26)]
    assert all(r["sales"]["orderedProductSales"]["currencyCode"] == "USD" for r in records)
    assert result.documents == 3 and len(set(result.query_ids)) == 3
    bodies = world.bodies("POST", "/dataKiosk/2023-11-15/queries")
    assert [("paginationToken" in b) for b in bodies] == [False, True, True]
    assert all(b["query"] == PAGED for b in bodies)
    assert {p.page for p in seen} == {1, 2, 3}
    assert [p.stage for p in seen if p.page == 1][0] == "created"
    assert "DONE" in {p.stage for p in seen} and "downloading" in {p.stage for p in seen}


def test_the_alias_is_the_same_resource() -> None:
    world = make_world()
    with world.client() as sp:
        assert type(sp.datakiosk) is type(sp.data_kiosk)
        assert sp.data_kiosk.query(QUERY, **FAST).list()[0]["startDate"] == "2026-01-01"


def test_done_without_a_document_is_empty() -> None:
    world = make_world()
    with world.client() as sp:
        result = sp.data_kiosk.query("# emulatorOutcome: NO_DATA\n" + QUERY, **FAST)
        assert result.status == "DONE" and result.empty and not result.cancelled
        assert list(result) == []
    assert world.count("GET", "/dataKiosk/2023-11-15/documents/") == 0


def test_cancelled_is_empty() -> None:
    world = make_world()
    with world.client() as sp:
        result = sp.data_kiosk.query("# emulatorOutcome: CANCELLED\n" + QUERY, **FAST)
        assert result.cancelled and list(result) == []


def test_fatal_raises_with_the_error_document() -> None:
    world = make_world()
    bad = QUERY.replace("unitsOrdered", "unitsOrdred")
    with world.client() as sp, pytest.raises(QueryFailedError) as caught:
        sp.data_kiosk.query(bad, **FAST)
    err = caught.value
    assert err.document_id and err.query_id
    assert "unitsOrdred" in str(err) and "ByDateSales" in (err.content or "")
    assert "FATAL" in str(err) and "/_emulator/documents/" not in str(err)


def test_fatal_without_an_error_document() -> None:
    world = make_world()
    with world.client() as sp, pytest.raises(QueryFailedError) as caught:
        sp.data_kiosk.query("# emulatorOutcome: FATAL_NO_DOCUMENT\n" + QUERY, **FAST)
    assert caught.value.document_id is None and "no error document" in str(caught.value)


def test_mistakes_are_caught_before_anything_is_sent() -> None:
    world = make_world()
    with world.client() as sp:
        for bad, kw in (("", {}), ("{ x }" + " y" * 5000, {}), (QUERY, {"poll_interval": 0})):
            with pytest.raises(ConfigurationError):
                sp.data_kiosk.query(bad, **kw)
    assert world.count("POST", "/dataKiosk") == 0


def test_records_read_once() -> None:
    world = make_world()
    with world.client() as sp:
        result = sp.data_kiosk.query(QUERY, **FAST)
        assert len(list(result)) == 25
        with pytest.raises(Exception, match="read already"):
            list(result)


def test_async_query_over_several_documents_and_fatal() -> None:
    world = make_world()

    async def main() -> tuple[list[Any], str]:
        async with world.async_client() as sp:
            result = await sp.datakiosk.query(PAGED, **FAST)
            records = [r async for r in result]
            empty = await sp.data_kiosk.query("# emulatorOutcome: NO_DATA\n" + QUERY, **FAST)
            assert empty.empty and await empty.list() == []
            try:
                await sp.data_kiosk.query("{ analytics_salesAndTraffic_2024_04_24 { x } }",
                                          **FAST)
            except QueryFailedError as exc:
                return records, str(exc)
            raise AssertionError("FATAL did not raise")

    records, message = asyncio.run(main())
    assert len(records) == 25 and records[-1]["startDate"] == "2026-01-25"
    assert "Field 'x'" in message


def test_an_expired_document_url_is_fetched_again_once() -> None:
    world = make_world()
    world.expire_downloads = 1  # the first download finds its URL expired (403)
    seen: list[QueryProgress] = []
    with world.client() as sp:
        records = sp.data_kiosk.query(QUERY, progress=seen.append, **FAST).list()
    assert len(records) == 25
    assert [p.stage for p in seen].count("refetching") == 1
    assert world.count("GET", "/dataKiosk/2023-11-15/documents/") == 2
