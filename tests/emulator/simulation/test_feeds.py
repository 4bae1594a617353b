"""Feeds 2021-06-30 in the simulation: upload rules, lifecycle, JSON_LISTINGS_FEED applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...conftest import models_file
from .conftest import BASE, US

ROOT = Path(__file__).resolve().parents[3]
JSON_CT = "application/json; charset=UTF-8"


def new_document(call: Any, content_type: str = JSON_CT) -> tuple[str, str]:
    r = call("feeds_2021_06_30.createFeedDocument", body={"contentType": content_type})
    assert r.status == 201, r.body
    url = r.body["url"]
    assert url.startswith(f"{BASE}/_emulator/uploads/")
    return r.body["feedDocumentId"], url.rsplit("/", 1)[1]


def submit(call: Any, sim: Any, feed: Any, *, feed_type: str = "JSON_LISTINGS_FEED") -> str:
    doc_id, token = new_document(call)
    data = feed if isinstance(feed, bytes) else json.dumps(feed).encode()
    assert sim.upload(token, JSON_CT, data).status == 200
    r = call("feeds_2021_06_30.createFeed", body={
        "feedType": feed_type, "marketplaceIds": [US], "inputFeedDocumentId": doc_id})
    assert r.status == 202, r.body
    # once a feed uses the document, it cannot be swapped underneath it
    assert sim.upload(token, JSON_CT, b"{}").status == 403
    return str(r.body["feedId"])


def result(call: Any, sim: Any, feed_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    f = call("feeds_2021_06_30.getFeed", feedId=feed_id).body
    d = call("feeds_2021_06_30.getFeedDocument", feedDocumentId=f["resultFeedDocumentId"]).body
    resp = sim.document(d["url"].rsplit("/", 1)[1])
    assert resp.status == 200 and resp.content_type == JSON_CT
    return f, json.loads(resp.body)


def check_processing_report(report: dict[str, Any]) -> None:
    path = models_file("schemas/feeds/listings-feed-processing-report-schema-v2.json")
    import jsonschema

    jsonschema.Draft7Validator(json.loads(path.read_text())).validate(report)


def test_upload_content_type_must_match(call: Any, sim: Any) -> None:
    doc_id, token = new_document(call)
    bad = sim.upload(token, "text/plain", b"{}")
    assert bad.status == 403 and b"SignatureDoesNotMatch" in bad.body
    r = call("feeds_2021_06_30.createFeed", body={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": doc_id})
    assert r.status == 400 and "upload" in r.body["errors"][0]["message"]
    assert sim.upload(token, JSON_CT, b"{}").status == 200
    assert sim.upload("unknown-token", JSON_CT, b"{}").status == 403


def test_upload_url_expires(call: Any, sim: Any, sim_clock: Any) -> None:
    _, token = new_document(call)
    sim_clock.advance(301)
    assert sim.upload(token, JSON_CT, b"{}").status == 403


def test_listings_feed_is_applied(call: Any, sim: Any, sim_clock: Any) -> None:
    seller = sim.seller_ids[0]
    store = sim._state.d["listings"][seller]
    mfn = sorted(s for s, lst in store.items() if not lst.get("fnsku"))
    sku_patch, sku_delete, sku_partial = mfn[0], mfn[1], mfn[2]
    asin = store[mfn[3]]["asin"]
    feed = {"header": {"sellerId": seller, "version": "2.0",
                       "report": {"includedData": ["summaries", "offers"],
                                  "apiVersion": "2021-08-01"}},
            "messages": [
                {"messageId": 1, "sku": sku_patch, "operationType": "PATCH",
                 "productType": "PRODUCT", "patches": [
                     {"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 77}]}]},
                {"messageId": 2, "sku": sku_delete, "operationType": "DELETE"},
                {"messageId": 3, "sku": sku_partial, "operationType": "PARTIAL_UPDATE",
                 "productType": "PRODUCT", "attributes": {"item_name": [
                     {"value": "Renamed by feed", "marketplace_id": US}]}},
                {"messageId": 4, "sku": "NEW-SKU-1", "operationType": "UPDATE",
                 "productType": "HOME", "requirements": "LISTING_OFFER_ONLY", "attributes": {
                     "merchant_suggested_asin": [{"value": asin, "marketplace_id": US}],
                     "condition_type": [{"value": "new_new", "marketplace_id": US}],
                     "purchasable_offer": [{"marketplace_id": US, "currency": "USD",
                                            "our_price": [{"schedule": [
                                                {"value_with_tax": 12.5}]}]}],
                     "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT",
                                                   "quantity": 3}]}},
                {"messageId": 5, "sku": "BAD-1", "operationType": "UPDATE",
                 "productType": "HOME", "attributes": {"item_name": "not a list"}},
                {"messageId": 6, "sku": "BAD-2", "operationType": "PATCH",
                 "productType": "HOME", "patches": [
                     {"op": "replace", "path": "/attributes/item_name",
                      "value": [{"value": "x"}]}]},
                {"messageId": 7, "sku": "BAD-3", "operationType": "DELETE",
                 "attributes": {"x": [{}]}},
            ]}
    before_price = store[sku_patch]["attributes"]["purchasable_offer"]
    fid = submit(call, sim, feed)
    states = [call("feeds_2021_06_30.getFeed", feedId=fid).body["processingStatus"]]
    sim_clock.advance(1.5)
    states.append(call("feeds_2021_06_30.getFeed", feedId=fid).body["processingStatus"])
    assert sku_delete in store  # nothing applied before processing ends
    sim_clock.advance(2)
    f, report = result(call, sim, fid)
    states.append(f["processingStatus"])
    assert states == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    check_processing_report(report)
    assert report["header"]["feedId"] == fid
    assert report["summary"]["messagesProcessed"] == 7
    assert report["summary"]["messagesAccepted"] == 4
    assert report["summary"]["messagesInvalid"] == 3
    assert {i["messageId"] for i in report["issues"]} == {5, 6, 7}
    assert {i["sku"] for i in report["items"]} == {sku_patch, sku_partial, "NEW-SKU-1"}

    store = sim._state.d["listings"][seller]
    assert sku_delete not in store and "BAD-1" not in store and "BAD-2" not in store
    assert store[sku_patch]["attributes"]["purchasable_offer"] == before_price
    got = call("listings_items_2021_08_01.getListingsItem", sellerId=seller, sku=sku_patch,
               marketplaceIds=[US], includedData=["fulfillmentAvailability"]).body
    assert got["fulfillmentAvailability"][0]["quantity"] == 77
    renamed = call("listings_items_2021_08_01.getListingsItem", sellerId=seller,
                   sku=sku_partial, marketplaceIds=[US]).body
    assert renamed["summaries"][0]["itemName"] == "Renamed by feed"
    new = call("listings_items_2021_08_01.getListingsItem", sellerId=seller, sku="NEW-SKU-1",
               marketplaceIds=[US], includedData=["summaries", "offers"]).body
    assert new["summaries"][0]["asin"] == asin
    assert new["offers"][0]["price"] == {"currencyCode": "USD", "amount": "12.50"}


def test_bad_documents_end_fatal(call: Any, sim: Any, sim_clock: Any) -> None:
    not_json = submit(call, sim, b"<xml/>")
    other_seller = submit(call, sim, {"header": {"sellerId": sim.seller_ids[1], "version": "2.0"},
                                      "messages": [{"messageId": 1, "sku": "A",
                                                    "operationType": "DELETE"}]})
    sim_clock.advance(5)
    for fid in (not_json, other_seller):
        f, report = result(call, sim, fid)
        assert f["processingStatus"] == "FATAL"
        check_processing_report(report)
        assert report["issues"][0]["severity"] == "ERROR"


def test_cancel_feed_and_get_feeds(call: Any, sim: Any, sim_clock: Any) -> None:
    seller = sim.seller_ids[0]
    sku = sorted(sim._state.d["listings"][seller])[0]
    feed = {"header": {"sellerId": seller, "version": "2.0"},
            "messages": [{"messageId": 1, "sku": sku, "operationType": "DELETE"}]}
    cancelled = submit(call, sim, feed)
    assert call("feeds_2021_06_30.cancelFeed", feedId=cancelled).status == 200
    others = [submit(call, sim, {**feed, "messages": [
        {"messageId": 1, "sku": "NOPE", "operationType": "DELETE"}]}) for _ in range(3)]
    sim_clock.advance(5)
    assert sku in sim._state.d["listings"][seller]  # the cancelled feed changed nothing
    f = call("feeds_2021_06_30.getFeed", feedId=cancelled).body
    assert f["processingStatus"] == "CANCELLED" and "resultFeedDocumentId" not in f
    assert call("feeds_2021_06_30.cancelFeed", feedId=others[0]).status == 400
    assert call("feeds_2021_06_30.getFeeds").status == 400
    page = call("feeds_2021_06_30.getFeeds", feedTypes=["JSON_LISTINGS_FEED"], pageSize=3).body
    assert len(page["feeds"]) == 3
    bad = call("feeds_2021_06_30.getFeeds", nextToken=page["nextToken"], pageSize=3)
    assert bad.status == 400
    rest = call("feeds_2021_06_30.getFeeds", nextToken=page["nextToken"]).body
    assert {x["feedId"] for x in page["feeds"] + rest["feeds"]} == {cancelled, *others}
    assert "nextToken" not in rest
    statuses = call("feeds_2021_06_30.getFeeds", feedTypes=["JSON_LISTINGS_FEED"],
                    processingStatuses=["CANCELLED"]).body["feeds"]
    assert [x["feedId"] for x in statuses] == [cancelled]


def test_input_document_can_be_read_back(call: Any, sim: Any) -> None:
    doc_id, token = new_document(call)
    sim.upload(token, JSON_CT, b'{"hello": 1}')
    d = call("feeds_2021_06_30.getFeedDocument", feedDocumentId=doc_id).body
    resp = sim.document(d["url"].rsplit("/", 1)[1])
    assert resp.body == b'{"hello": 1}' and resp.content_type == JSON_CT
    assert call("feeds_2021_06_30.getFeedDocument", feedDocumentId=doc_id,
                seller=sim.seller_ids[1]).status == 404
