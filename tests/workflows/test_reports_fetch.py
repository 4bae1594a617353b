"""sp.reports.fetch against the emulator (sync): every lifecycle a user meets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerkit.errors import ApiError, ConfigurationError
from sellerkit.workflows.documents import DocumentError
from sellerkit.workflows.reports import PERIODS, Report, ReportFailedError

from ._reports_emu import DE, EU_SELLER, FAST, JP, JP_SELLER, US, World, make_world

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
ACTIONABLE = "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def sp(world: World) -> Iterator[Any]:
    client = world.client()
    yield client
    client.close()


def test_done_gives_rows_and_reports_progress(world: World, sp: Any) -> None:
    stages: list[str] = []
    report = sp.reports.fetch(LISTINGS, ["US"], progress=lambda p: stages.append(p.stage),
                              **FAST)
    assert isinstance(report, Report) and report.status == "DONE" and not report.reused
    rows = list(report.rows())
    assert rows and {"seller-sku", "asin1", "price"} <= set(rows[0])
    assert stages[0] == "created" and stages[-2:] == ["DONE", "downloading"]
    assert world.count("POST", "/reports/2021-06-30/reports") == 1
    assert report.report_id and report.document_id and report.report["reportType"] == LISTINGS


def test_json_report_parses(sp: Any) -> None:
    report = sp.reports.fetch("GET_SALES_AND_TRAFFIC_REPORT", ["US"],
                              start=datetime.now(UTC) - timedelta(days=2),
                              end=datetime.now(UTC) - timedelta(days=1), **FAST)
    doc = report.json()
    assert doc["reportSpecification"]["reportType"] == "GET_SALES_AND_TRAFFIC_REPORT"
    assert doc["salesAndTrafficByAsin"]


def test_cancelled_is_an_empty_result_and_not_retried(world: World, sp: Any) -> None:
    report = sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "CANCELLED"},
                              **FAST)
    assert report.cancelled and report.status == "CANCELLED"
    assert list(report.rows()) == [] and report.json() is None
    assert list(report.xml_elements()) == []
    assert world.count("POST", "/reports/2021-06-30/reports") == 1  # never re-created
    assert world.count("GET", "/reports/2021-06-30/documents/") == 0


def test_cancelled_json_report_reads_as_empty_too(sp: Any) -> None:
    report = sp.reports.fetch("GET_SALES_AND_TRAFFIC_REPORT", ["US"],
                              options={"emulatorOutcome": "CANCELLED"}, **FAST)
    assert report.cancelled and list(report.rows()) == [] and report.json() is None


def test_fatal_raises_with_the_error_document(sp: Any) -> None:
    with pytest.raises(ReportFailedError) as info:
        sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "FATAL"}, **FAST)
    err = info.value
    assert err.report_id and err.report_id in str(err) and "FATAL" in str(err)
    assert err.content and "errorDetails" in err.content and err.report_id in err.content
    assert err.document_id


def test_fatal_without_document_raises_saying_so(sp: Any) -> None:
    with pytest.raises(ReportFailedError) as info:
        sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "FATAL_NO_DOCUMENT"},
                         **FAST)
    assert info.value.content is None and "no error document" in str(info.value)


def test_an_identical_recent_report_is_reused(world: World, sp: Any) -> None:
    start = (datetime.now(UTC) - timedelta(days=7)).replace(microsecond=0)
    first = sp.reports.fetch(ORDERS, ["US"], start=start, **FAST)
    second = sp.reports.fetch(ORDERS, ["US"], start=start, **FAST)
    assert second.reused and second.report_id == first.report_id
    assert world.count("POST", "/reports/2021-06-30/reports") == 1
    assert list(second.rows()) == list(
        sp.reports.fetch_existing(report_id=first.report_id, **FAST).rows())
    query = [q for m, p, q in world.queries if m == "GET" and p == "/reports/2021-06-30/reports"]
    assert query and query[-1]["reportTypes"] == ORDERS  # found with getReports
    assert query[-1]["processingStatuses"] == "IN_QUEUE,IN_PROGRESS,DONE"
    since = datetime.fromisoformat(query[-1]["createdSince"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < datetime.now(UTC) - since < timedelta(minutes=16)


def test_a_different_window_options_or_no_reuse_create_anew(world: World, sp: Any) -> None:
    start = datetime.now(UTC) - timedelta(days=7)
    a = sp.reports.fetch(ORDERS, ["US"], start=start, **FAST)
    b = sp.reports.fetch(ORDERS, ["US"], start=start - timedelta(days=1), **FAST)
    c = sp.reports.fetch(ORDERS, ["US"], start=start, reuse_within=0, **FAST)
    d = sp.reports.fetch(ORDERS, ["CA"], start=start, **FAST)
    assert len({a.report_id, b.report_id, c.report_id, d.report_id}) == 4
    assert not (b.reused or c.reused or d.reused)
    assert world.count("POST", "/reports/2021-06-30/reports") == 4


def test_a_restricted_type_gets_an_rdt_for_its_document_path(world: World, sp: Any) -> None:
    report = sp.reports.fetch(ACTIONABLE, ["US"], **FAST)
    rows = list(report.rows())
    assert rows and rows[0]["buyer-email"]
    rdts = world.bodies("POST", "/tokens/2021-03-01/restrictedDataToken")
    assert [(r["method"], r["path"]) for b in rdts for r in b["restrictedResources"]] == [
        ("GET", f"/reports/2021-06-30/documents/{report.document_id}")]


def test_a_plain_type_asks_for_no_rdt(world: World, sp: Any) -> None:
    sp.reports.fetch(LISTINGS, ["US"], **FAST)
    assert world.count("POST", "/tokens/2021-03-01/restrictedDataToken") == 0


def test_an_expired_document_url_is_fetched_again_once(world: World, sp: Any) -> None:
    world.expire_downloads = 1
    stages: list[str] = []
    report = sp.reports.fetch(LISTINGS, ["US"], progress=lambda p: stages.append(p.stage),
                              **FAST)
    assert list(report.rows())
    assert world.count("GET", "/reports/2021-06-30/documents/") == 2
    assert "refetching" in stages


def test_a_url_refused_twice_raises_without_the_url(world: World, sp: Any) -> None:
    world.expire_downloads = 2
    with pytest.raises(ApiError) as info:
        sp.reports.fetch(LISTINGS, ["US"], **FAST)
    assert info.value.status == 403 and "again with a fresh URL" in str(info.value)
    assert "_emulator/documents" not in str(info.value) + repr(info.value.body)
    assert world.count("GET", "/reports/2021-06-30/documents/") == 2


def test_eu_cp1252_rows_and_a_wrong_charset_names_report_and_offset() -> None:
    world = make_world(sellers=12)
    with world.client(EU_SELLER, marketplace="DE") as sp:
        report = sp.reports.fetch(LISTINGS, [DE], **FAST)
        assert report.stats.charset.startswith("cp1252")
        assert any("5 € Rabatt" in r["item-name"] for r in report.rows())
        wrong = sp.reports.fetch_existing(report_id=report.report_id, charset="utf-8", **FAST)
        with pytest.raises(DocumentError) as info:
            list(wrong.rows())
        assert info.value.reason == "charset" and info.value.offset is not None
        assert report.report_id in str(info.value) and "byte offset" in str(info.value)


def test_fetch_existing_by_document_id(world: World, sp: Any) -> None:
    done = sp.reports.fetch(ACTIONABLE, ["US"], **FAST)
    again = sp.reports.fetch_existing(document_id=done.document_id)  # type unknown: RDT on 403
    assert [r["order-id"] for r in again.rows()] == [r["order-id"] for r in done.rows()]
    typed = sp.reports.fetch_existing(document_id=done.document_id, report_type=ACTIONABLE)
    assert list(typed.rows())


def test_save_writes_the_report(tmp_path: Any, sp: Any) -> None:
    path = sp.reports.fetch(LISTINGS, ["US"], **FAST).save(tmp_path / "listings.tsv")
    assert path.read_text(encoding="utf-8").startswith("item-name\t")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_schedules_create_list_cancel(sp: Any, world: World) -> None:
    with pytest.raises(ConfigurationError, match="PT15M"):
        sp.reports.create_schedule(LISTINGS, "P1W", ["US"])
    assert world.count("POST", "/reports/2021-06-30/schedules") == 0
    assert "P1D" in PERIODS and len(PERIODS) == 18
    sid = sp.reports.create_schedule(LISTINGS, "P1D", ["US"])
    listed = sp.reports.list_schedules(LISTINGS)
    assert [s["reportScheduleId"] for s in listed] == [sid] and listed[0]["period"] == "P1D"
    sp.reports.cancel_schedule(sid)
    assert sp.reports.list_schedules([LISTINGS]) == []


def test_user_mistakes_fail_before_any_call(sp: Any, world: World) -> None:
    before = len(world.sent)
    with pytest.raises(ConfigurationError, match="marketplace code"):
        sp.reports.fetch(LISTINGS, ["XX"])
    with pytest.raises(ConfigurationError, match="before start"):
        sp.reports.fetch(LISTINGS, ["US"], start="2026-11-02", end="2026-11-01")
    with pytest.raises(ConfigurationError, match="ISO 8601"):
        sp.reports.fetch(LISTINGS, ["US"], start="last tuesday")
    with pytest.raises(ConfigurationError, match="exactly one"):
        sp.reports.fetch_existing()
    with pytest.raises(ConfigurationError, match="poll_interval"):
        sp.reports.fetch(LISTINGS, ["US"], poll_interval=0)  # not after createReport
    assert len(world.sent) == before


def test_reports_2021_06_30_has_the_same_workflow(sp: Any) -> None:
    assert sp.reports_2021_06_30.fetch(LISTINGS, [US], **FAST).status == "DONE"


def test_a_cancelled_report_saves_as_an_empty_file(tmp_path: Any, sp: Any) -> None:
    gone = sp.reports.fetch(LISTINGS, ["US"], options={"emulatorOutcome": "CANCELLED"}, **FAST)
    assert gone.save(tmp_path / "empty.tsv").read_bytes() == b""


def test_a_report_that_takes_too_long_raises_naming_it() -> None:
    from sellerkit.emulator import Emulator, EmulatorConfig
    from sellerkit.workflows.reports import ReportTimeoutError

    world = make_world()
    world.emu = Emulator(EmulatorConfig(rate_limits=False, seed=0, report_seconds=600,
                                        clock=world.clock))
    with world.client() as sp, pytest.raises(ReportTimeoutError) as info:
        sp.reports.fetch(LISTINGS, ["US"], timeout=0.3, **FAST)
    assert info.value.report_id in str(info.value) and "fetch_existing" in str(info.value)
    assert info.value.status in ("IN_QUEUE", "IN_PROGRESS")


def test_xml_csv_and_quoted_tsv_reports_read_through_the_document(sp: Any) -> None:
    xml = sp.reports.fetch("GET_XML_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", ["US"], **FAST)
    orders = [m.findtext("Order/AmazonOrderID") for m in xml.xml_elements("Message")]
    assert orders and all(orders)
    returns = sp.reports.fetch("GET_CSV_MFN_PRIME_RETURNS_REPORT", ["US"], **FAST)
    assert report_rows_have(returns, "order-id")
    ledger = sp.reports.fetch("GET_LEDGER_DETAIL_VIEW_DATA", ["US"], **FAST)
    rows = list(ledger.rows())
    assert rows and rows[0]["MSKU"] and not rows[0]["MSKU"].startswith('"')


def report_rows_have(report: Any, column: str) -> bool:
    rows = list(report.rows())
    return bool(rows) and all(r[column] for r in rows)


def test_jp_rows_are_read_as_cp932() -> None:
    world = make_world(sellers=12)
    with world.client(JP_SELLER, marketplace="JP") as sp:
        report = sp.reports.fetch(ORDERS, [JP], **FAST)
        assert report.stats.charset == "cp932"
        assert any("限定版 ①" in r["product-name"] for r in report.rows())


def test_a_report_still_in_progress_is_reused_and_awaited() -> None:
    from sellerkit.emulator import Emulator, EmulatorConfig
    from sellerkit.workflows.reports import ReportTimeoutError

    world = make_world()
    world.emu = Emulator(EmulatorConfig(rate_limits=False, seed=0, report_seconds=2.0,
                                        clock=world.clock))
    with world.client() as sp:
        with pytest.raises(ReportTimeoutError) as info:
            sp.reports.fetch(LISTINGS, ["US"], timeout=0.05, **FAST)
        later = sp.reports.fetch(LISTINGS, ["US"], **FAST)
    assert later.reused and later.report_id == info.value.report_id and later.status == "DONE"
    assert world.count("POST", "/reports/2021-06-30/reports") == 1
