"""sp.feeds.submit against the in-process emulator, sync and async: the whole lifecycle,
listings feeds validated before anything is sent, the upload's charset, typed outcomes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.errors import ConfigurationError, ValidationError
from sellerkit.workflows.feeds import (
    MAX_LISTINGS_MESSAGES,
    FeedFailedError,
    FeedProblem,
    FeedTimeoutError,
    ListingsFeed,
)

ENDPOINT = "http://127.0.0.1:8787"
US = "ATVPDKIKX0DER"
FAST: dict[str, Any] = {"poll_interval": 0.01, "max_interval": 0.05}


class Recorder(httpx.BaseTransport):
    """The emulator's transport, keeping (method, path, content-type, body) of each request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.seen.append((request.method, request.url.path,
                          request.headers.get("content-type", ""), body))
        return self.inner.handle_request(request)

    def paths(self) -> list[str]:
        return [p for _, p, _, _ in self.seen]


class AsyncRecorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url.path)
        return await self.inner.handle_async_request(request)


def _kw(emu: Emulator) -> dict[str, Any]:
    cfg = emu.config
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
            "refresh_token": cfg.refresh_token, "endpoint": ENDPOINT,
            "lwa_endpoint": ENDPOINT + "/auth/o2/token", "region": "NA"}


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorConfig(orders=20, rate_scale=1000, feed_seconds=0.05, seed=11))


@pytest.fixture
def rec(emu: Emulator) -> Recorder:
    return Recorder(emu.sync_transport())


@pytest.fixture
def sp(emu: Emulator, rec: Recorder) -> Iterator[SellingPartner]:
    with SellingPartner(transport=rec, **_kw(emu)) as client:
        yield client


def listings(emu: Emulator) -> dict[str, Any]:
    return emu.simulation._state.d["listings"][emu.seller_ids[0]]


def test_listings_feed_lifecycle(emu: Emulator, rec: Recorder, sp: SellingPartner,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    skus = sorted(listings(emu))
    feed = sp.feeds.listings_feed()
    deleted = feed.delete(skus[0])
    renamed = feed.partial_update(skus[1], "PRODUCT", {"item_name": [
        {"value": "Renamed", "marketplace_id": US}]})
    missing = feed.delete("NO-SUCH-SKU")
    events: list[tuple[str, dict[str, Any]]] = []
    result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], seller_id=emu.seller_ids[0],
                             progress=lambda e, i: events.append((e, i)), **FAST)

    assert result.status == "DONE" and result.accepted and not result.ok
    assert result.applied == [deleted, renamed]
    assert list(result.failed) == [missing]
    assert result.failed[missing][0].sku == "NO-SUCH-SKU"
    assert result.report is not None and result.report.format == "json"
    assert result.report.messages_accepted == 2 and result.report.messages_invalid == 1
    assert skus[0] not in listings(emu)  # applied in the emulator
    assert listings(emu)[skus[1]]["attributes"]["item_name"][0]["value"] == "Renamed"
    assert [e for e, _ in events][:2] == ["uploaded", "created"] and events[-1][0] == "done"
    assert "DONE" in [i.get("status") for _, i in events]

    # the flow, in order; the upload carried exactly the createFeedDocument content type
    paths = rec.paths()
    assert paths[paths.index("/feeds/2021-06-30/documents") + 1].startswith("/_emulator/uploads/")
    create_doc = next(b for m, p, _, b in rec.seen if p == "/feeds/2021-06-30/documents")
    declared = json.loads(create_doc)["contentType"]
    assert declared == "application/json; charset=UTF-8"
    upload = next(s for s in rec.seen if s[1].startswith("/_emulator/uploads/"))
    assert upload[0] == "PUT" and upload[2] == declared
    sent = json.loads(upload[3])
    assert sent["header"] == {"sellerId": emu.seller_ids[0], "version": "2.0"}
    assert [m["messageId"] for m in sent["messages"]] == [1, 2, 3]
    # getFeedDocument, then the report download; sellerkit logs no presigned URL
    assert any(p.startswith("/_emulator/documents/") for p in paths)
    assert not [r for r in caplog.records if r.name.startswith("sellerkit")
                and "/_emulator/" in r.getMessage()]


def test_invalid_listings_message_is_rejected_before_anything_is_sent(
        emu: Emulator, rec: Recorder, sp: SellingPartner) -> None:
    feed = ListingsFeed(seller_id=emu.seller_ids[0])
    feed.delete("OK-1")
    feed.add({"sku": "BAD", "operationType": "PATCH", "productType": "PRODUCT",
              "attributes": {"item_name": [{"value": "x"}]}})
    feed.add({"sku": "BAD-2", "operationType": "UPDATE", "productType": "PRODUCT",
              "attributes": {"item_name": [{"value": "x"}]},
              "patches": [{"op": "bogus", "path": "/attributes/x"}]})
    before = len(rec.seen)
    with pytest.raises(ValidationError) as info:
        sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], **FAST)
    assert rec.paths()[before:] == []  # no createFeedDocument, no upload: nothing at all
    problems = info.value.problems
    assert all(isinstance(p, FeedProblem) for p in problems)
    got = {(p.index, p.message_id, p.pointer) for p in problems}
    assert (1, 2, "/messages/1/attributes") in got  # forbidden for PATCH
    assert (1, 2, "/messages/1") in got  # patches is required
    assert (2, 3, "/messages/2/patches") in got  # forbidden for UPDATE
    assert (2, 3, "/messages/2/patches/0/op") in got  # not one of the ops
    assert "message 1 (messageId 2, sku 'BAD'): /messages/1/attributes" in str(info.value)
    assert not any(p.index == 0 for p in problems)


def test_missing_seller_id_says_where_to_find_it(sp: SellingPartner, rec: Recorder) -> None:
    feed = ListingsFeed()
    feed.delete("A")
    with pytest.raises(ValidationError) as info:
        sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], **FAST)
    assert info.value.problems[0].pointer == "/header/sellerId"
    assert "Merchant Token" in str(info.value)
    assert not any(p.startswith("/feeds/") for p in rec.paths())


def test_the_25000_message_limit(emu: Emulator, rec: Recorder, sp: SellingPartner) -> None:
    feed = ListingsFeed(seller_id="A1SELLER")
    for n in range(MAX_LISTINGS_MESSAGES):
        feed.delete(f"SKU-{n}")
    assert len(feed) == 25_000 and feed.message_ids[-1] == 25_000
    feed.validate()  # exactly the limit is fine
    with pytest.raises(ConfigurationError, match="at most 25,000"):
        feed.delete("ONE-TOO-MANY")
    doc = feed.document()
    doc["messages"].append({"messageId": 25_001, "sku": "X", "operationType": "DELETE"})
    with pytest.raises(ValidationError, match="25,001 messages; at most 25,000"):
        sp.feeds.submit("JSON_LISTINGS_FEED", doc, [US], **FAST)
    assert not any(p.startswith("/feeds/") for p in rec.paths())


def test_duplicate_message_ids_are_rejected() -> None:
    feed = ListingsFeed(seller_id="A1")
    feed.add({"messageId": 7, "sku": "A", "operationType": "DELETE"})
    feed.add({"messageId": 7, "sku": "B", "operationType": "DELETE"})
    assert [str(p) for p in feed.problems()] == [
        "message 1 (messageId 7, sku 'B'): /messages/1/messageId: messageId 7 is also used "
        "by message 0; it must be unique in the feed"]
    assert feed.delete("C") == 8


def test_upload_is_encoded_in_the_declared_charset(emu: Emulator, rec: Recorder,
                                                   sp: SellingPartner) -> None:
    seller = emu.seller_ids[0]
    sku = sorted(listings(emu))[2]
    feed = ListingsFeed(seller_id=seller)
    feed.partial_update(sku, "PRODUCT", {"item_name": [{"value": "Crème brûlée – 5 €"}]})
    result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], charset="windows-1252", **FAST)
    assert result.applied == [1]
    upload = next(s for s in rec.seen if s[1].startswith("/_emulator/uploads/"))
    assert upload[2] == "application/json; charset=windows-1252"
    assert "Crème brûlée – 5 €".encode("cp1252") in upload[3]
    assert listings(emu)[sku]["attributes"]["item_name"][0]["value"] == "Crème brûlée – 5 €"
    with pytest.raises(ConfigurationError, match="cannot be encoded in latin-1"):
        sp.feeds.submit("POST_ORDER_FULFILLMENT_DATA", "€ <AmazonEnvelope/>", [US],
                        charset="latin-1", **FAST)
    with pytest.raises(ConfigurationError, match="charset=UTF-8 but charset= is latin-1"):
        sp.feeds.submit("POST_ORDER_FULFILLMENT_DATA", b"<x/>", [US], charset="latin-1",
                        content_type="text/xml; charset=UTF-8", **FAST)


def test_xml_feed_gives_the_xml_report(emu: Emulator, rec: Recorder,
                                       sp: SellingPartner) -> None:
    seller = emu.seller_ids[0]
    orders = sp.orders_v0.get_orders(marketplace_ids=[US],
                                     created_after="2000-01-01T00:00:00Z").payload["Orders"]
    oid = orders[0]["AmazonOrderId"]
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header>'
           f"<DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{seller}"
           "</MerchantIdentifier></Header><MessageType>OrderAcknowledgement</MessageType>"
           f"<Message><MessageID>1</MessageID><OrderAcknowledgement><AmazonOrderID>{oid}"
           "</AmazonOrderID><StatusCode>Success</StatusCode></OrderAcknowledgement></Message>"
           "<Message><MessageID>2</MessageID><OrderAcknowledgement><AmazonOrderID>"
           "999-9999999-9999999</AmazonOrderID><StatusCode>Success</StatusCode>"
           "</OrderAcknowledgement></Message></AmazonEnvelope>")
    result = sp.feeds.submit("POST_ORDER_ACKNOWLEDGEMENT_DATA", xml, [US], **FAST)
    upload = next(s for s in rec.seen if s[1].startswith("/_emulator/uploads/"))
    assert upload[2] == "text/xml; charset=UTF-8"
    assert result.accepted and result.report is not None and result.report.format == "xml"
    assert result.report.feed_id == result.feed_id
    assert result.report.messages_processed == 2 and result.report.messages_accepted == 1
    assert result.message_ids == [1, 2] and result.applied == [1]
    assert result.failed[2][0].severity == "ERROR"


def test_legacy_listings_feed_raises_fatal_with_the_report(sp: SellingPartner) -> None:
    with pytest.raises(FeedFailedError) as info:
        sp.feeds.submit("POST_PRODUCT_DATA", "<AmazonEnvelope/>", [US], **FAST)
    err = info.value
    assert err.report is not None and err.report.format == "xml"
    assert "2025-07-31" in str(err) and err.feed_id in str(err)
    assert err.feed["processingStatus"] == "FATAL"


def test_cancelled_feed_is_an_empty_outcome(emu: Emulator, sp: SellingPartner) -> None:
    feed = ListingsFeed(seller_id=emu.seller_ids[0])
    feed.delete(sorted(listings(emu))[0])

    def cancel(event: str, info: dict[str, Any]) -> None:
        if event == "created":
            sp.feeds.cancel_feed(feed_id=info["feedId"])
    result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], progress=cancel, **FAST)
    assert result.status == "CANCELLED" and result.cancelled and not result.accepted
    assert result.report is None and result.applied == [] and result.failed == {}


def test_poll_timeout_names_the_feed(emu: Emulator, sp: SellingPartner) -> None:
    emu.simulation._state.feed_seconds = 3600
    feed = ListingsFeed(seller_id=emu.seller_ids[0])
    feed.delete("X")
    with pytest.raises(FeedTimeoutError) as info:
        sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], poll_interval=0.01,
                        max_interval=0.01, poll_timeout=0.05)
    assert info.value.status in ("IN_QUEUE", "IN_PROGRESS")
    assert info.value.feed_id in str(info.value)


def test_arguments_are_checked_before_any_call(sp: SellingPartner, rec: Recorder) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"feed_type": "", "content": b"x", "marketplace_ids": [US]}, "feed_type"),
        ({"feed_type": "X", "content": b"x", "marketplace_ids": US}, "marketplace_ids"),
        ({"feed_type": "X", "content": b"", "marketplace_ids": [US]}, "empty"),
        ({"feed_type": "X", "content": 5, "marketplace_ids": [US]}, "content must be"),
        ({"feed_type": "X", "content": b"x", "marketplace_ids": [US], "charset": "nope"},
         "not a known encoding"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ConfigurationError, match=match):
            sp.feeds.submit(**kwargs)
    assert not any(p.startswith("/feeds/") for p in rec.paths())


async def test_async_lifecycle(emu: Emulator) -> None:
    rec = AsyncRecorder(emu.async_transport())
    skus = sorted(listings(emu))
    async with AsyncSellingPartner(transport=rec, **_kw(emu)) as sp:
        feed = sp.feeds.listings_feed(emu.seller_ids[0])
        feed.delete(skus[0])
        feed.delete("NOT-THERE")
        result = await sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], **FAST)
        assert result.accepted and result.applied == [1] and list(result.failed) == [2]
        assert skus[0] not in listings(emu)
        with pytest.raises(FeedFailedError):
            await sp.feeds.submit("POST_INVENTORY_AVAILABILITY_DATA", "<AmazonEnvelope/>",
                                  [US], **FAST)
        bad = sp.feeds.listings_feed(emu.seller_ids[0])
        bad.add({"sku": "A", "operationType": "UPDATE"})
        n = len(rec.seen)
        with pytest.raises(ValidationError, match="/messages/0"):
            await sp.feeds.submit("JSON_LISTINGS_FEED", bad, [US], **FAST)
        assert rec.seen[n:] == []
        again = await sp.feeds.result(result.feed_id)
        assert again.status == "DONE" and again.report is not None


class Expiring(Recorder):
    """Answers the first ``n`` report downloads as S3 does for an expired presigned URL."""

    def __init__(self, inner: httpx.BaseTransport, n: int) -> None:
        super().__init__(inner)
        self.n = n

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/_emulator/documents/") and self.n > 0:
            self.n -= 1
            self.seen.append(("GET", request.url.path, "", b""))
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code><Message>"
                                  b"Request has expired</Message></Error>",
                                  headers={"content-type": "application/xml"})
        return super().handle_request(request)


@pytest.mark.parametrize("expired", [1, 2])
def test_an_expired_report_url_is_fetched_again_once(emu: Emulator, expired: int) -> None:
    rec = Expiring(emu.sync_transport(), expired)
    feed = ListingsFeed(seller_id=emu.seller_ids[0])
    feed.delete("NONE")
    with SellingPartner(transport=rec, **_kw(emu)) as sp:
        if expired == 1:
            result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], **FAST)
            assert list(result.failed) == [1]
        else:
            from sellerkit.errors import ApiError

            with pytest.raises(ApiError) as info:
                sp.feeds.submit("JSON_LISTINGS_FEED", feed, [US], **FAST)
            assert info.value.status == 403 and "processing report of feed" in str(info.value)
            assert "/_emulator/" not in str(info.value)
    gets = [p for p in rec.paths() if p.startswith("/feeds/2021-06-30/documents/")]
    assert len(gets) == 2  # getFeedDocument once more, and no more than that
