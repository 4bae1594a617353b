"""The simulation behind the in-process emulator app, through plain httpx."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

from .conftest import START, Clock, iso

US = "ATVPDKIKX0DER"


@pytest.fixture
def sim_clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sim_clock: Clock) -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=30, seed=5, clock=sim_clock))


@pytest.fixture
def http(app: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=app.sync_transport(), base_url="http://emulator") as c:
        yield c


def test_orders_pii_only_with_an_rdt(app: Emulator, http: httpx.Client) -> None:
    h = {"x-amz-access-token": app.access_token()}
    r = http.get("/orders/v0/orders", headers=h, params={
        "MarketplaceIds": US, "CreatedAfter": iso(START - 30 * 86400),
        "OrderStatuses": "Shipped", "MaxResultsPerPage": "5"})
    assert r.status_code == 200, r.text
    orders = r.json()["payload"]["Orders"]
    assert len(orders) == 5 and all("BuyerInfo" not in o for o in orders)
    oid = orders[0]["AmazonOrderId"]
    nxt = http.get("/orders/v0/orders", headers=h, params={
        "MarketplaceIds": US, "CreatedAfter": iso(START - 30 * 86400),
        "OrderStatuses": "Shipped", "MaxResultsPerPage": "5",
        "NextToken": r.json()["payload"]["NextToken"]})
    assert nxt.status_code == 200
    assert oid not in {o["AmazonOrderId"] for o in nxt.json()["payload"]["Orders"]}

    rdt = http.post("/tokens/2021-03-01/restrictedDataToken", headers=h, json={
        "restrictedResources": [{"method": "GET", "path": f"/orders/v0/orders/{oid}",
                                 "dataElements": ["buyerInfo", "shippingAddress"]}]})
    assert rdt.status_code == 200, rdt.text
    pii = http.get(f"/orders/v0/orders/{oid}",
                   headers={"x-amz-access-token": rdt.json()["restrictedDataToken"]})
    assert pii.status_code == 200, pii.text
    payload = pii.json()["payload"]
    assert payload["BuyerInfo"]["BuyerEmail"] and payload["ShippingAddress"]["AddressLine1"]


def test_report_document_download(app: Emulator, http: httpx.Client, sim_clock: Clock) -> None:
    h = {"x-amz-access-token": app.access_token()}
    r = http.post("/reports/2021-06-30/reports", headers=h, json={
        "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
        "marketplaceIds": [US]})
    assert r.status_code == 202, r.text
    rid = r.json()["reportId"]
    sim_clock.advance(5)
    report = http.get(f"/reports/2021-06-30/reports/{rid}", headers=h).json()
    assert report["processingStatus"] == "DONE"
    doc = http.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}",
                   headers=h).json()
    assert doc["url"].startswith("http://emulator/_emulator/documents/")
    got = http.get(doc["url"])
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/tab-separated-values")
    text = gzip.decompress(got.content).decode()
    assert text.startswith("amazon-order-id\tmerchant-order-id\tpurchase-date")


def test_feed_upload_through_http(app: Emulator, http: httpx.Client, sim_clock: Clock) -> None:
    h = {"x-amz-access-token": app.access_token()}
    ct = "application/json; charset=UTF-8"
    doc = http.post("/feeds/2021-06-30/documents", headers=h, json={"contentType": ct}).json()
    feed = {"header": {"sellerId": app.seller_ids[0], "version": "2.0"},
            "messages": [{"messageId": 1, "sku": "HTTP-1", "operationType": "UPDATE",
                          "productType": "HOME", "attributes": {
                              "item_name": [{"value": "Posted over HTTP"}],
                              "condition_type": [{"value": "new_new"}]}}]}
    wrong = http.put(doc["url"], content=json.dumps(feed), headers={"content-type": "text/plain"})
    assert wrong.status_code == 403 and b"SignatureDoesNotMatch" in wrong.content
    ok = http.put(doc["url"], content=json.dumps(feed), headers={"content-type": ct})
    assert ok.status_code == 200
    r = http.post("/feeds/2021-06-30/feeds", headers=h, json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US],
        "inputFeedDocumentId": doc["feedDocumentId"]})
    assert r.status_code == 202, r.text
    sim_clock.advance(5)
    listing = http.get(f"/listings/2021-08-01/items/{app.seller_ids[0]}/HTTP-1", headers=h,
                       params={"marketplaceIds": US})
    assert listing.status_code == 200, listing.text
    assert listing.json()["summaries"][0]["itemName"] == "Posted over HTTP"


async def test_content_encoding_url_header(app: Emulator, sim_clock: Clock) -> None:
    # async transport: the sync one re-decodes an already decoded body (reported to the core)
    h = {"x-amz-access-token": app.access_token()}
    async with httpx.AsyncClient(transport=app.async_transport(),
                                 base_url="http://emulator") as http:
        rid = (await http.post("/reports/2021-06-30/reports", headers=h, json={
            "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "marketplaceIds": [US]})).json()["reportId"]
        sim_clock.advance(5)
        report = (await http.get(f"/reports/2021-06-30/reports/{rid}", headers=h)).json()
        doc = (await http.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}",
                              headers=h, params={"enableContentEncodingUrlHeader": "true"})).json()
        got = await http.get(doc["url"])
    assert got.headers["content-encoding"] == "gzip"
    assert got.text.startswith("item-name\titem-description\tlisting-id\tseller-sku")
