"""Processing reports in both formats, from the emulator app through plain httpx (no sellerkit
client): the Feeds 2021-06-30 flow of Amazon's "submit a feed" guide (sp-api-facts.md §8).

- JSON_LISTINGS_FEED answers the JSON report of listings-feed-processing-report-schema-v2;
- the legacy XML/flat-file listings feeds end FATAL (Amazon stopped them on 2025-07-31);
- the XML order feeds answer the legacy XML report (AmazonEnvelope/Message/ProcessingReport
  with ProcessingSummary and Result elements);
- the upload is decoded with the charset its Content-Type declared.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

from ...conftest import models_file
from .conftest import Clock

US = "ATVPDKIKX0DER"
FEEDS = "/feeds/2021-06-30"


@pytest.fixture
def sim_clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sim_clock: Clock) -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=30, seed=3, clock=sim_clock))


@pytest.fixture
def http(app: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=app.sync_transport(), base_url="http://emulator",
                      headers={"x-amz-access-token": app.access_token()}) as c:
        yield c


def run_feed(http: httpx.Client, clock: Clock, feed_type: str, content_type: str,
             data: bytes) -> tuple[dict[str, Any], httpx.Response]:
    doc = http.post(f"{FEEDS}/documents", json={"contentType": content_type})
    assert doc.status_code == 201, doc.text
    up = httpx.Client(transport=http._transport).put(  # the presigned URL: no token
        doc.json()["url"], content=data, headers={"content-type": content_type})
    assert up.status_code == 200, up.text
    created = http.post(f"{FEEDS}/feeds", json={
        "feedType": feed_type, "marketplaceIds": [US],
        "inputFeedDocumentId": doc.json()["feedDocumentId"]})
    assert created.status_code == 202, created.text
    clock.advance(10)
    feed = http.get(f"{FEEDS}/feeds/{created.json()['feedId']}").json()
    d = http.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
    assert "compressionAlgorithm" not in d
    report = httpx.Client(transport=http._transport).get(d["url"])
    assert report.status_code == 200
    return feed, report


def envelope(seller: str, message_type: str, messages: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<AmazonEnvelope>'
            f"<Header><DocumentVersion>1.01</DocumentVersion>"
            f"<MerchantIdentifier>{seller}</MerchantIdentifier></Header>"
            f"<MessageType>{message_type}</MessageType>{messages}</AmazonEnvelope>").encode()


def results(report: httpx.Response) -> tuple[ET.Element, list[dict[str, str]]]:
    assert report.headers["content-type"] == "text/xml; charset=UTF-8"
    root = ET.fromstring(report.content)  # noqa: S314 - the emulator's own output
    assert root.tag == "AmazonEnvelope" and root.findtext("MessageType") == "ProcessingReport"
    rep = root.find("Message/ProcessingReport")
    assert rep is not None
    return rep, [{c.tag: (c.text or "") for c in r.iter() if c is not r}
                 for r in rep.findall("Result")]


def test_xml_order_feed_reports_each_message(app: Emulator, http: httpx.Client,
                                             sim_clock: Clock) -> None:
    seller = app.seller_ids[0]
    orders = http.get("/orders/v0/orders", params={
        "MarketplaceIds": US, "CreatedAfter": "2000-01-01T00:00:00Z"}).json()
    oid = orders["payload"]["Orders"][0]["AmazonOrderId"]
    msgs = (f"<Message><MessageID>1</MessageID><OrderAcknowledgement><AmazonOrderID>{oid}"
            "</AmazonOrderID><StatusCode>Success</StatusCode></OrderAcknowledgement></Message>"
            "<Message><MessageID>2</MessageID><OrderAcknowledgement><AmazonOrderID>"
            "111-0000000-0000000</AmazonOrderID><StatusCode>Success</StatusCode>"
            "</OrderAcknowledgement></Message>"
            "<Message><MessageID>3</MessageID><OrderAcknowledgement><StatusCode>Success"
            "</StatusCode></OrderAcknowledgement></Message>")
    feed, report = run_feed(http, sim_clock, "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                            "text/xml; charset=UTF-8",
                            envelope(seller, "OrderAcknowledgement", msgs))
    assert feed["processingStatus"] == "DONE"
    rep, res = results(report)
    assert rep.findtext("DocumentTransactionID") == feed["feedId"]
    assert rep.findtext("ProcessingSummary/MessagesProcessed") == "3"
    assert rep.findtext("ProcessingSummary/MessagesSuccessful") == "1"
    assert rep.findtext("ProcessingSummary/MessagesWithError") == "2"
    assert [(r["MessageID"], r["ResultCode"]) for r in res] == [("2", "Error"), ("3", "Error")]
    assert res[0]["AmazonOrderID"] == "111-0000000-0000000"
    assert "AmazonOrderID" in res[1]["ResultDescription"]


@pytest.mark.parametrize("feed_type,content_type", [
    ("POST_PRODUCT_DATA", "text/xml; charset=UTF-8"),
    ("POST_INVENTORY_AVAILABILITY_DATA", "text/xml; charset=UTF-8"),
    ("POST_FLAT_FILE_LISTINGS_DATA", "text/tab-separated-values; charset=UTF-8"),
])
def test_legacy_listings_feeds_end_fatal(app: Emulator, http: httpx.Client, sim_clock: Clock,
                                         feed_type: str, content_type: str) -> None:
    feed, report = run_feed(http, sim_clock, feed_type, content_type,
                            envelope(app.seller_ids[0], "Product", ""))
    assert feed["processingStatus"] == "FATAL"
    _, res = results(report)
    assert res[0]["ResultCode"] == "Error" and "2025-07-31" in res[0]["ResultDescription"]


def test_broken_xml_and_another_merchant_end_fatal(app: Emulator, http: httpx.Client,
                                                   sim_clock: Clock) -> None:
    broken, report = run_feed(http, sim_clock, "POST_ORDER_FULFILLMENT_DATA",
                              "text/xml; charset=UTF-8", b"<AmazonEnvelope><Message>")
    assert broken["processingStatus"] == "FATAL"
    assert "XML" in results(report)[1][0]["ResultDescription"]
    other, report = run_feed(http, sim_clock, "POST_ORDER_FULFILLMENT_DATA",
                             "text/xml; charset=UTF-8", envelope("A0THER", "OrderFulfillment", ""))
    assert other["processingStatus"] == "FATAL"
    assert "MerchantIdentifier" in results(report)[1][0]["ResultDescription"]


def test_json_listings_report_and_declared_charset(app: Emulator, http: httpx.Client,
                                                   sim_clock: Clock) -> None:
    import jsonschema

    seller = app.seller_ids[0]
    sku = sorted(app.simulation._state.d["listings"][seller])[0]
    feed_doc = {"header": {"sellerId": seller, "version": "2.0"}, "messages": [
        {"messageId": 1, "sku": sku, "operationType": "PARTIAL_UPDATE", "productType": "PRODUCT",
         "attributes": {"item_name": [{"value": "Café crème – 5 €", "marketplace_id": US}]}},
        {"messageId": 2, "sku": "MISSING", "operationType": "UPDATE", "productType": "PRODUCT"},
    ]}
    ct = "application/json; charset=windows-1252"
    feed, report = run_feed(http, sim_clock, "JSON_LISTINGS_FEED", ct,
                            json.dumps(feed_doc, ensure_ascii=False).encode("cp1252"))
    assert feed["processingStatus"] == "DONE"
    body = report.json()
    schema = json.loads(models_file(
        "schemas/feeds/listings-feed-processing-report-schema-v2.json").read_text())
    jsonschema.Draft7Validator(schema).validate(body)
    assert body["summary"]["messagesAccepted"] == 1 and body["summary"]["messagesInvalid"] == 1
    assert [i["messageId"] for i in body["issues"]] == [2]  # attributes is required
    item = http.get(f"/listings/2021-08-01/items/{seller}/{sku}",
                    params={"marketplaceIds": US}).json()
    assert item["summaries"][0]["itemName"] == "Café crème – 5 €"  # decoded as declared
