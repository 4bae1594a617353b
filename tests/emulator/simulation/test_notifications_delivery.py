"""Notifications the emulator delivers, through plain httpx (not sellerkit's client): a
destination and subscriptions made over HTTP, a report and a feed run to the end, and the
envelopes read back in-process (``emulator.notifications``) and over
``GET /_emulator/notifications``; each is checked against Amazon's schema for its type."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.workflows.notification_types import parse_notification

from .conftest import Clock
from .test_notifications_sellers import _validate

SCOPE = "sellingpartnerapi::notifications"
SQS = "arn:aws:sqs:us-east-1:123456789012:sp-notifications"
US = "ATVPDKIKX0DER"


@pytest.fixture
def sim_clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(sim_clock: Clock) -> Iterator[Emulator]:
    e = Emulator(EmulatorConfig(rate_limits=False, orders=20, seed=4, clock=sim_clock))
    yield e
    e.close()


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield c


def subscribe(http: httpx.Client, emu: Emulator, *types: tuple[str, str],
              arn: str = SQS) -> str:
    r = http.post("/notifications/v1/destinations",
                  headers={"x-amz-access-token": emu.grantless_token(SCOPE)},
                  json={"name": "q", "resourceSpecification": {"sqs": {"arn": arn}}})
    assert r.status_code == 200, r.text
    did = str(r.json()["payload"]["destinationId"])
    for ntype, version in types:
        s = http.post(f"/notifications/v1/subscriptions/{ntype}",
                      headers={"x-amz-access-token": emu.access_token()},
                      json={"payloadVersion": version, "destinationId": did})
        assert s.status_code == 200, s.text
    return did


def run_report(http: httpx.Client, emu: Emulator) -> str:
    r = http.post("/reports/2021-06-30/reports", headers={"x-amz-access-token":
                                                           emu.access_token()},
                  json={"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
                        "marketplaceIds": [US]})
    assert r.status_code == 202, r.text
    return str(r.json()["reportId"])


def run_feed(http: httpx.Client, emu: Emulator) -> str:
    h = {"x-amz-access-token": emu.access_token()}
    ct = "application/json; charset=UTF-8"
    doc = http.post("/feeds/2021-06-30/documents", headers=h, json={"contentType": ct}).json()
    feed = {"header": {"sellerId": emu.seller_ids[0], "version": "2.0"},
            "messages": [{"messageId": 1, "sku": "NOTE-1", "operationType": "UPDATE",
                          "productType": "HOME", "attributes": {
                              "item_name": [{"value": "Notified"}],
                              "condition_type": [{"value": "new_new"}]}}]}
    assert http.put(doc["url"], content=json.dumps(feed),
                    headers={"content-type": ct}).status_code == 200
    r = http.post("/feeds/2021-06-30/feeds", headers=h, json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US],
        "inputFeedDocumentId": doc["feedDocumentId"]})
    assert r.status_code == 202, r.text
    return str(r.json()["feedId"])


def test_a_report_and_a_feed_deliver_their_notifications(emu: Emulator, http: httpx.Client,
                                                         sim_clock: Clock) -> None:
    did = subscribe(http, emu, ("REPORT_PROCESSING_FINISHED", "2020-09-04"),
                    ("FEED_PROCESSING_FINISHED", "2020-09-04"))
    rid = run_report(http, emu)
    fid = run_feed(http, emu)
    assert emu.notifications.delivered() == []  # neither has finished yet
    sim_clock.advance(10)
    got = emu.notifications.delivered(did)
    assert sorted(n["notificationType"] for n in got) == [
        "FEED_PROCESSING_FINISHED", "REPORT_PROCESSING_FINISHED"]
    assert all(n["resource"] == {"sqs": {"arn": SQS}} for n in got)
    by_type = {n["notificationType"]: n["message"] for n in got}
    report = by_type["REPORT_PROCESSING_FINISHED"]
    _validate("ReportProcessingFinishedNotification.json", report)
    assert set(report) == {"notificationVersion", "notificationType", "payloadVersion",
                           "eventTime", "payload", "notificationMetadata"}  # camelCase
    body = report["payload"]["reportProcessingFinishedNotification"]
    got_report = http.get(f"/reports/2021-06-30/reports/{rid}",
                          headers={"x-amz-access-token": emu.access_token()}).json()
    assert body["reportId"] == rid and body["processingStatus"] == "DONE"
    assert body["reportDocumentId"] == got_report["reportDocumentId"]
    assert body["accountId"] == f"amzn1.merchant.o.{emu.seller_ids[0]}"
    feed = by_type["FEED_PROCESSING_FINISHED"]
    _validate("FeedProcessingFinishedNotification.json", feed)
    fbody = feed["payload"]["feedProcessingFinishedNotification"]
    got_feed = http.get(f"/feeds/2021-06-30/feeds/{fid}",
                        headers={"x-amz-access-token": emu.access_token()}).json()
    assert fbody["feedId"] == fid and fbody["feedType"] == "JSON_LISTINGS_FEED"
    assert fbody["resultFeedDocumentId"] == got_feed["resultFeedDocumentId"]
    # the metadata names the subscription that caused each one, and every id is new
    subs = {t: http.get(f"/notifications/v1/subscriptions/{t}", headers={
        "x-amz-access-token": emu.access_token()}).json()["payload"]["subscriptionId"]
        for t in by_type}
    for t, m in by_type.items():
        assert m["notificationMetadata"]["subscriptionId"] == subs[t]
        assert m["notificationMetadata"]["applicationId"] == emu.config.application_id
    assert len({m["notificationMetadata"]["notificationId"] for m in by_type.values()}) == 2
    # sellerkit's own parser reads them (and the filters and the cursor work)
    parsed = [parse_notification(m) for m in emu.notifications.messages(
        notification_types="REPORT_PROCESSING_FINISHED")]
    assert [p.body["reportId"] for p in parsed] == [rid]
    assert emu.notifications.delivered(after=max(n["seq"] for n in got)) == []


def test_the_http_endpoint_serves_them_with_a_cursor(emu: Emulator, http: httpx.Client,
                                                     sim_clock: Clock) -> None:
    did = subscribe(http, emu, ("REPORT_PROCESSING_FINISHED", "2020-09-04"))
    other = subscribe(http, emu, arn="arn:aws:sqs:us-east-1:123456789012:other")
    empty = http.get("/_emulator/notifications")
    assert empty.status_code == 200 and empty.json() == {"notifications": [], "last": 0}
    run_report(http, emu)
    sim_clock.advance(10)
    first = http.get("/_emulator/notifications", params={"destinationId": did}).json()
    assert [n["notificationType"] for n in first["notifications"]] == [
        "REPORT_PROCESSING_FINISHED"]
    assert first["notifications"] == emu.notifications.delivered(did)
    assert first["last"] == first["notifications"][0]["seq"]
    assert http.get("/_emulator/notifications", params={"destinationId": other}).json()[
        "notifications"] == []
    run_report(http, emu)
    sim_clock.advance(10)
    nxt = http.get("/_emulator/notifications", params={"after": first["last"]}).json()
    assert len(nxt["notifications"]) == 1 and nxt["last"] > first["last"]
    assert http.get("/_emulator/notifications", params={
        "notificationType": "ORDER_CHANGE"}).json()["notifications"] == []
    bad = http.get("/_emulator/notifications", params={"after": "x"})
    assert bad.status_code == 400 and "after" in bad.json()["errors"][0]["message"]
    assert http.get("/_emulator/notifications", params={"wait": "60"}).status_code == 400


def test_order_changes_are_delivered_in_pascal_case(emu: Emulator, http: httpx.Client,
                                                    sim_clock: Clock) -> None:
    subscribe(http, emu, ("ORDER_CHANGE", "1.0"))
    sim_clock.advance(86400)  # new orders arrive and existing ones move on
    got = emu.notifications.delivered(notification_types=["ORDER_CHANGE"])
    assert got
    for n in got:
        _validate("OrderChangeNotification.json", n["message"])
        assert "NotificationMetadata" in n["message"] and "payload" not in n["message"]
    change = parse_notification(got[-1]["message"])
    oid = change.body["AmazonOrderId"]
    order = http.get(f"/orders/v0/orders/{oid}", headers={
        "x-amz-access-token": emu.access_token()}).json()["payload"]
    last = [n for n in got if n["message"]["Payload"]["OrderChangeNotification"][
        "AmazonOrderId"] == oid][-1]
    assert last["message"]["Payload"]["OrderChangeNotification"]["Summary"][
        "OrderStatus"] == order["OrderStatus"]


def test_the_generic_hook_uses_each_types_casing(emu: Emulator, http: httpx.Client) -> None:
    """``notify(type, payload)``: what another simulation (Data Kiosk) calls."""
    did = subscribe(http, emu, ("DATA_KIOSK_QUERY_PROCESSING_FINISHED", "2023-11-15"))
    payload = {"accountId": f"amzn1.merchant.o.{emu.seller_ids[0]}", "queryId": "123",
               "query": "query{x}", "processingStatus": "DONE", "dataDocumentId": "doc-1"}
    assert emu.simulation.notify(emu.seller_ids[0], "DATA_KIOSK_QUERY_PROCESSING_FINISHED",
                                 payload) == 1
    assert emu.simulation.notify(emu.seller_ids[0], "ANY_OFFER_CHANGED", {}) == 0  # no sub
    (n,) = emu.notifications.delivered(did)
    _validate("DataKioskQueryProcessingFinishedNotification.json", n["message"])
    assert n["message"]["notificationVersion"] == "2023-11-15"
    assert n["message"]["payload"] == payload
    assert parse_notification(n["message"]).body["queryId"] == "123"


def test_wait_returns_what_arrived_by_the_deadline(emu: Emulator) -> None:
    assert emu.notifications.wait(1, timeout=0.1) == []


def test_an_unreachable_sqs_endpoint_is_logged_and_the_api_still_answers(
        sim_clock: Clock, caplog: Any) -> None:
    import socket

    pytest.importorskip("boto3")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=4, clock=sim_clock,
                                sqs_endpoint=f"http://127.0.0.1:{port}"))
    try:
        with httpx.Client(transport=e.sync_transport(), base_url="http://emulator") as http:
            subscribe(http, e, ("REPORT_PROCESSING_FINISHED", "2020-09-04"))
            run_report(http, e)
            sim_clock.advance(10)
            with caplog.at_level(logging.WARNING, logger="sellerkit.emulator"):
                assert e.notifications.pump() == 0
                r = http.get("/reports/2021-06-30/reports", headers={
                    "x-amz-access-token": e.access_token()},
                    params={"reportTypes": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"})
            assert r.status_code == 200
        assert e.notifications.failures >= 1
        assert "could not deliver the REPORT_PROCESSING_FINISHED notification" in caplog.text
        # still readable in-process
        assert len(e.notifications.delivered()) == 1
    finally:
        e.close()


def test_a_bad_sqs_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="sqs_endpoint"):
        EmulatorConfig(sqs_endpoint="localhost:4566")


def test_a_finished_data_kiosk_query_delivers_its_notification(emu: Emulator, http: httpx.Client,
                                                                sim_clock: Clock) -> None:
    did = subscribe(http, emu, ("DATA_KIOSK_QUERY_PROCESSING_FINISHED", "2023-11-15"))
    h = {"x-amz-access-token": emu.access_token()}
    query = ('query q{analytics_salesAndTraffic_2024_04_24{salesAndTrafficByDate('
             'startDate:"2026-11-01" endDate:"2026-11-03" aggregateBy:DAY marketplaceIds:'
             '["ATVPDKIKX0DER"]){startDate endDate}}}')
    r = http.post("/dataKiosk/2023-11-15/queries", headers=h, json={"query": query})
    assert r.status_code == 202, r.text
    qid = r.json()["queryId"]
    assert emu.notifications.delivered(did) == []
    sim_clock.advance(10)
    got = http.get(f"/dataKiosk/2023-11-15/queries/{qid}", headers=h).json()
    (n,) = emu.notifications.delivered(did)
    _validate("DataKioskQueryProcessingFinishedNotification.json", n["message"])
    body = n["message"]["payload"]
    assert body["queryId"] == qid and body["query"] == query
    assert body["processingStatus"] == got["processingStatus"] == "DONE", got
    assert body.get("dataDocumentId") == got.get("dataDocumentId")
    assert parse_notification(n["message"]).body["queryId"] == qid
