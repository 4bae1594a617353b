"""Reports 2021-06-30 in the simulation: lifecycle on a fake clock, documents, list rules."""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any

from .conftest import BASE, CA, START, US, iso

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
MYI = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"


def create(call: Any, rtype: str, **body: Any) -> str:
    r = call("reports_2021_06_30.createReport",
             body={"reportType": rtype, "marketplaceIds": [US], **body})
    assert r.status == 202, r.body
    return str(r.body["reportId"])


def download(call: Any, sim: Any, doc_id: str) -> list[dict[str, str]]:
    r = call("reports_2021_06_30.getReportDocument", reportDocumentId=doc_id)
    assert r.status == 200 and r.body["compressionAlgorithm"] == "GZIP"
    url = r.body["url"]
    assert url.startswith(f"{BASE}/_emulator/documents/")
    resp = sim.document(url.rsplit("/", 1)[1])
    assert resp.status == 200
    assert resp.content_type == "text/tab-separated-values; charset=UTF-8"
    text = gzip.decompress(resp.body).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_lifecycle_follows_the_clock(call: Any, sim: Any, sim_clock: Any) -> None:
    rid = create(call, ORDERS)
    seen = [call("reports_2021_06_30.getReport", reportId=rid).body]
    sim_clock.advance(1.5)
    seen.append(call("reports_2021_06_30.getReport", reportId=rid).body)
    sim_clock.advance(2.0)
    seen.append(call("reports_2021_06_30.getReport", reportId=rid).body)
    assert [s["processingStatus"] for s in seen] == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert "processingStartTime" not in seen[0] and "processingStartTime" in seen[1]
    assert "reportDocumentId" not in seen[1]
    done = seen[2]
    assert done["reportType"] == ORDERS and done["marketplaceIds"] == [US]
    assert done["processingEndTime"] >= done["processingStartTime"]
    rows = download(call, sim, done["reportDocumentId"])
    assert rows
    assert list(rows[0])[:8] == ["amazon-order-id", "merchant-order-id", "purchase-date",
                                 "last-updated-date", "order-status", "fulfillment-channel",
                                 "sales-channel", "order-channel"]
    # consistent with the orders API
    seller = sim.seller_ids[0]
    orders = {o["id"]: o for o in sim._state.d["orders"][seller]}
    for row in rows:
        o = orders[row["amazon-order-id"]]
        assert o["marketplaceId"] == US and row["currency"] == "USD"
        assert row["sku"] in {i["sku"] for i in o["items"]}
    expected = {o["id"] for o in orders.values() if o["marketplaceId"] == US
                and START - 30 * 86400 <= o["created"] <= START}
    assert {r["amazon-order-id"] for r in rows} == expected
    got = call("orders_v0.getOrder", orderId=rows[0]["amazon-order-id"]).body["payload"]
    assert got["PurchaseDate"].replace("Z", "+00:00") == rows[0]["purchase-date"]


def test_empty_range_is_cancelled_without_document(call: Any, sim_clock: Any) -> None:
    rid = create(call, ORDERS, dataStartTime=iso(START - 400 * 86400),
                 dataEndTime=iso(START - 399 * 86400))
    sim_clock.advance(10)
    r = call("reports_2021_06_30.getReport", reportId=rid).body
    assert r["processingStatus"] == "CANCELLED" and "reportDocumentId" not in r


def test_a_type_no_one_knows_ends_cancelled(call: Any, sim_clock: Any) -> None:
    rid = create(call, "GET_REPORT_TYPE_AMAZON_NEVER_MADE")
    sim_clock.advance(10)
    assert call("reports_2021_06_30.getReport",
                reportId=rid).body["processingStatus"] == "CANCELLED"


def test_listings_and_inventory_reports_match_the_listings(call: Any, sim: Any,
                                                           sim_clock: Any) -> None:
    lid, iid = create(call, LISTINGS), create(call, MYI)
    sim_clock.advance(5)
    listing_rows = download(call, sim, call("reports_2021_06_30.getReport",
                                            reportId=lid).body["reportDocumentId"])
    inv_rows = download(call, sim, call("reports_2021_06_30.getReport",
                                        reportId=iid).body["reportDocumentId"])
    store = sim._state.d["listings"][sim.seller_ids[0]]
    assert {r["seller-sku"] for r in listing_rows} == set(store)
    for col in ("item-name", "item-description", "listing-id", "seller-sku", "price",
                "quantity", "open-date", "asin1", "status", "fulfillment-channel"):
        assert col in listing_rows[0]
    row = listing_rows[0]
    assert row["asin1"] == store[row["seller-sku"]]["asin"]
    afn = {s for s, lst in store.items() if lst.get("fnsku")}
    assert afn and {r["sku"] for r in inv_rows} == afn
    assert list(inv_rows[0])[:11] == [
        "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
        "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity",
        "afn-fulfillable-quantity"]
    r = inv_rows[0]
    summary = call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
                   granularityId=US, marketplaceIds=[US], details=True,
                   sellerSkus=[r["sku"]]).body["payload"]["inventorySummaries"][0]
    assert summary["fnSku"] == r["fnsku"]
    assert summary["inventoryDetails"]["fulfillableQuantity"] == int(r["afn-fulfillable-quantity"])


def test_cancel_only_in_queue(call: Any, sim_clock: Any) -> None:
    rid = create(call, ORDERS)
    assert call("reports_2021_06_30.cancelReport", reportId=rid).status == 200
    sim_clock.advance(10)
    r = call("reports_2021_06_30.getReport", reportId=rid).body
    assert r["processingStatus"] == "CANCELLED" and "reportDocumentId" not in r
    rid2 = create(call, ORDERS)
    sim_clock.advance(2)
    assert call("reports_2021_06_30.cancelReport", reportId=rid2).status == 400
    assert call("reports_2021_06_30.cancelReport", reportId="123").status == 404


def test_get_reports_rules_and_pagination(call: Any, sim_clock: Any) -> None:
    ids = [create(call, ORDERS) for _ in range(5)] + [create(call, LISTINGS)]
    sim_clock.advance(10)
    r = call("reports_2021_06_30.getReports")
    assert r.status == 400 and "reportTypes" in r.body["errors"][0]["message"]
    first = call("reports_2021_06_30.getReports", reportTypes=[ORDERS], pageSize=2)
    assert first.status == 200 and len(first.body["reports"]) == 2
    token = first.body["nextToken"]
    combined = call("reports_2021_06_30.getReports", reportTypes=[ORDERS], nextToken=token)
    assert combined.status == 400 and "nextToken" in combined.body["errors"][0]["message"]
    seen = [x["reportId"] for x in first.body["reports"]]
    again = call("reports_2021_06_30.getReports", nextToken=token).body
    assert again == call("reports_2021_06_30.getReports", nextToken=token).body
    while token:
        page = call("reports_2021_06_30.getReports", nextToken=token).body
        seen += [x["reportId"] for x in page["reports"]]
        token = page.get("nextToken")
    assert sorted(seen) == sorted(ids[:5])
    created = [x["createdTime"] for x in first.body["reports"]]
    assert created == sorted(created, reverse=True)
    done = call("reports_2021_06_30.getReports", reportTypes=[ORDERS, LISTINGS],
                processingStatuses=["DONE"], marketplaceIds=[US]).body["reports"]
    assert len(done) == 6 and all(x["processingStatus"] == "DONE" for x in done)
    assert call("reports_2021_06_30.getReports", reportTypes=[ORDERS],
                marketplaceIds=[CA]).body["reports"] == []
    assert call("reports_2021_06_30.getReports", reportTypes=[ORDERS],
                createdSince=iso(START + 1)).body["reports"] == []


def test_reports_are_private_to_their_seller(call: Any, sim: Any, sim_clock: Any) -> None:
    rid = create(call, ORDERS)
    sim_clock.advance(10)
    doc = call("reports_2021_06_30.getReport", reportId=rid).body["reportDocumentId"]
    other = sim.seller_ids[1]
    assert call("reports_2021_06_30.getReport", reportId=rid, seller=other).status == 404
    assert call("reports_2021_06_30.getReportDocument", reportDocumentId=doc,
                seller=other).status == 404


def test_document_urls_are_unguessable_and_expire(call: Any, sim: Any, sim_clock: Any) -> None:
    rid = create(call, ORDERS)
    sim_clock.advance(10)
    doc = call("reports_2021_06_30.getReport", reportId=rid).body["reportDocumentId"]
    u1 = call("reports_2021_06_30.getReportDocument", reportDocumentId=doc).body["url"]
    u2 = call("reports_2021_06_30.getReportDocument", reportDocumentId=doc).body["url"]
    assert u1 != u2 and doc not in u1
    assert sim.document("not-a-token").status == 404
    sim_clock.advance(301)
    expired = sim.document(u1.rsplit("/", 1)[1])
    assert expired.status == 403 and b"expired" in expired.body


def test_create_report_validation(call: Any) -> None:
    r = call("reports_2021_06_30.createReport", body={"reportType": ORDERS,
                                                      "marketplaceIds": ["A1PA6795UKMFR9"]})
    assert r.status == 400
    r = call("reports_2021_06_30.createReport", body={
        "reportType": ORDERS, "marketplaceIds": [US], "dataStartTime": iso(START - 10),
        "dataEndTime": iso(START - 100)})
    assert r.status == 400 and "dataEndTime" in r.body["errors"][0]["message"]


def test_schedules_create_reports_each_period(call: Any, sim_clock: Any) -> None:
    body = {"reportType": LISTINGS, "marketplaceIds": [US], "period": "PT1H"}
    sid = call("reports_2021_06_30.createReportSchedule", body=body).body["reportScheduleId"]
    sched = call("reports_2021_06_30.getReportSchedule", reportScheduleId=sid).body
    assert sched["period"] == "PT1H" and sched["nextReportCreationTime"] == iso(
        START + 3600).replace("Z", "+00:00")
    sim_clock.advance(3 * 3600 + 10)
    made = call("reports_2021_06_30.getReports", reportTypes=[LISTINGS]).body["reports"]
    assert len(made) == 3 and {r["reportScheduleId"] for r in made} == {sid}
    assert all(r["processingStatus"] == "DONE" for r in made)
    # a new schedule for the same type and marketplaces replaces the old one
    sid2 = call("reports_2021_06_30.createReportSchedule",
                body={**body, "period": "P1D"}).body["reportScheduleId"]
    listed = call("reports_2021_06_30.getReportSchedules", reportTypes=[LISTINGS]).body
    assert [s["reportScheduleId"] for s in listed["reportSchedules"]] == [sid2]
    assert call("reports_2021_06_30.cancelReportSchedule", reportScheduleId=sid2).status == 200
    sim_clock.advance(3 * 86400)
    assert len(call("reports_2021_06_30.getReports",
                    reportTypes=[LISTINGS]).body["reports"]) == 3
    bad = call("reports_2021_06_30.createReportSchedule", body={**body, "period": "PT7M"})
    assert bad.status == 400


def test_actionable_orders_report_needs_an_rdt(call: Any, sim: Any, sim_clock: Any) -> None:
    from .conftest import PII

    rid = create(call, "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING")
    sim_clock.advance(5)
    doc = call("reports_2021_06_30.getReport", reportId=rid).body["reportDocumentId"]
    denied = call("reports_2021_06_30.getReportDocument", reportDocumentId=doc)
    assert denied.status == 403 and denied.body["errors"][0]["code"] == "Unauthorized"
    r = call("reports_2021_06_30.getReportDocument", reportDocumentId=doc, rdt=PII)
    resp = sim.document(r.body["url"].rsplit("/", 1)[1])
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(resp.body).decode()), delimiter="\t"))
    assert rows
    for row in rows:
        order = call("orders_v0.getOrder", orderId=row["order-id"], rdt=PII).body["payload"]
        assert order["FulfillmentChannel"] == "MFN" and order["OrderStatus"] == "Unshipped"
        assert row["buyer-email"] == order["BuyerInfo"]["BuyerEmail"]
        assert row["ship-postal-code"] == order["ShippingAddress"]["PostalCode"]
