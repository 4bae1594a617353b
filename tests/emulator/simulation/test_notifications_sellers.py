"""Notifications v1 and Sellers v1 in the simulation."""

from __future__ import annotations

from typing import Any

from .conftest import APP, CA, MX, US

N = "notifications_v1"
SQS = "arn:aws:sqs:us-east-1:123456789012:sp-notifications"


def test_destinations_crud_and_conflicts(call: Any) -> None:
    r = call(f"{N}.createDestination", seller="", body={
        "name": "queue", "resourceSpecification": {"sqs": {"arn": SQS}}})
    assert r.status == 200
    did = r.body["payload"]["destinationId"]
    assert r.body["payload"]["resource"] == {"sqs": {"arn": SQS}}
    dup = call(f"{N}.createDestination", seller="", body={
        "name": "again", "resourceSpecification": {"sqs": {"arn": SQS}}})
    assert dup.status == 409 and dup.body["errors"][0]["code"] == "Conflict"
    eb = call(f"{N}.createDestination", seller="", body={
        "name": "bus", "resourceSpecification": {"eventBridge": {
            "accountId": "123456789012", "region": "us-east-1"}}})
    assert eb.status == 200
    assert eb.body["payload"]["resource"]["eventBridge"]["name"] == (
        f"aws.partner/sellingpartnerapi.amazon.com/123456789012/{APP}")
    bad = call(f"{N}.createDestination", seller="", body={
        "name": "x", "resourceSpecification": {"sqs": {"arn": "not-an-arn"}}})
    assert bad.status == 400
    listed = call(f"{N}.getDestinations", seller="").body["payload"]
    assert {d["destinationId"] for d in listed} == {did, eb.body["payload"]["destinationId"]}
    assert call(f"{N}.getDestinations", seller="", app="amzn1.sp.solution.other").body == {
        "payload": []}
    assert call(f"{N}.getDestination", seller="", destinationId=did).body["payload"]["name"] == (
        "queue")
    assert call(f"{N}.deleteDestination", seller="", destinationId=did).status == 200
    assert call(f"{N}.getDestination", seller="", destinationId=did).status == 404


def test_subscriptions(call: Any, sim: Any) -> None:
    did = call(f"{N}.createDestination", seller="", body={
        "name": "queue", "resourceSpecification": {"sqs": {"arn": SQS}}}).body["payload"][
            "destinationId"]
    body = {"payloadVersion": "1.0", "destinationId": did}
    r = call(f"{N}.createSubscription", notificationType="ORDER_CHANGE", body=body)
    assert r.status == 200
    sub = r.body["payload"]
    assert sub["destinationId"] == did and sub["payloadVersion"] == "1.0"
    dup = call(f"{N}.createSubscription", notificationType="ORDER_CHANGE", body=body)
    assert dup.status == 409
    # another seller of the same app may subscribe to the same type
    other = call(f"{N}.createSubscription", notificationType="ORDER_CHANGE", body=body,
                 seller=sim.seller_ids[1])
    assert other.status == 200
    assert call(f"{N}.createSubscription", notificationType="NOT_A_TYPE",
                body=body).status == 400
    assert call(f"{N}.createSubscription", notificationType="ANY_OFFER_CHANGED",
                body={"payloadVersion": "1.0", "destinationId": "nope"}).status == 400
    got = call(f"{N}.getSubscription", notificationType="ORDER_CHANGE").body["payload"]
    assert got == sub
    assert call(f"{N}.getSubscription",
                notificationType="REPORT_PROCESSING_FINISHED").status == 404
    listed = call(f"{N}.getSubscriptions", notificationTypes=["ORDER_CHANGE"]).body["payload"]
    assert listed["subscriptions"] == [sub]
    by_id = call(f"{N}.getSubscriptionById", seller="", notificationType="ORDER_CHANGE",
                 subscriptionId=sub["subscriptionId"])
    assert by_id.body["payload"] == sub
    wrong_type = call(f"{N}.getSubscriptionById", seller="", notificationType="ANY_OFFER_CHANGED",
                      subscriptionId=sub["subscriptionId"])
    assert wrong_type.status == 404
    in_use = call(f"{N}.deleteDestination", seller="", destinationId=did)
    assert in_use.status == 409
    assert call(f"{N}.deleteSubscriptionById", seller="", notificationType="ORDER_CHANGE",
                subscriptionId=sub["subscriptionId"]).status == 200
    assert call(f"{N}.getSubscription", notificationType="ORDER_CHANGE").status == 404


def test_sellers(call: Any, sim: Any) -> None:
    first = call("sellers_v1.getMarketplaceParticipations").body["payload"]
    assert [p["marketplace"]["id"] for p in first] == [US, CA, MX]
    assert {p["marketplace"]["defaultCurrencyCode"] for p in first} == {"USD", "CAD", "MXN"}
    assert all(p["participation"]["isParticipating"] for p in first)
    second = call("sellers_v1.getMarketplaceParticipations", seller=sim.seller_ids[1])
    assert second.status == 200 and second.body["payload"]
    account = call("sellers_v1.getAccount").body["payload"]
    assert account["sellingPlan"] == "PROFESSIONAL"
    assert account["marketplaceParticipationList"] == first
    unknown = call("sellers_v1.getMarketplaceParticipations", seller="A3UNKNOWN")
    assert unknown.status == 403


def _validate(name: str, message: dict[str, Any]) -> None:
    import json

    import jsonschema

    from tests.conftest import models_file

    path = models_file(f"schemas/notifications/{name}")
    jsonschema.Draft7Validator(json.loads(path.read_text())).validate(message)


def _destination(call: Any) -> str:
    return str(call(f"{N}.createDestination", seller="", body={
        "name": "q", "resourceSpecification": {"sqs": {"arn": SQS}}}).body["payload"][
            "destinationId"])


def test_processing_finished_notifications(call: Any, sim: Any, sim_clock: Any) -> None:
    did = _destination(call)
    for ntype in ("REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED"):
        call(f"{N}.createSubscription", notificationType=ntype,
             body={"payloadVersion": "2020-09-04", "destinationId": did})
    rid = call("reports_2021_06_30.createReport", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body["reportId"]
    assert sim.notifications(did) == []
    sim_clock.advance(5)
    got = sim.notifications(did)
    assert [n["notificationType"] for n in got] == ["REPORT_PROCESSING_FINISHED"]
    msg = got[0]["message"]
    _validate("ReportProcessingFinishedNotification.json", msg)
    body = msg["payload"]["reportProcessingFinishedNotification"]
    report = call("reports_2021_06_30.getReport", reportId=rid).body
    assert body["reportId"] == rid and body["processingStatus"] == "DONE"
    assert body["reportDocumentId"] == report["reportDocumentId"]
    assert sim.notifications(did, after=got[-1]["seq"]) == []
    # another seller's report does not reach this seller's subscription
    call("reports_2021_06_30.createReport", seller=sim.seller_ids[1], body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": sim._state.d["sellers"][sim.seller_ids[1]]["marketplaces"][:1]})
    sim_clock.advance(5)
    assert sim.notifications(did, after=got[-1]["seq"]) == []


def test_order_change_notifications_follow_the_orders(call: Any, sim: Any,
                                                      sim_clock: Any) -> None:
    did = _destination(call)
    call(f"{N}.createSubscription", notificationType="ORDER_CHANGE", body={
        "payloadVersion": "1.0", "destinationId": did, "processingDirective": {"eventFilter": {
            "eventFilterType": "ORDER_CHANGE", "marketplaceIds": [US]}}})
    sim_clock.advance(86400)
    got = sim.notifications(did)
    assert got
    last: dict[str, str] = {}
    for n in got:
        _validate("OrderChangeNotification.json", n["message"])
        change = n["message"]["Payload"]["OrderChangeNotification"]
        assert change["Summary"]["MarketplaceId"] == US
        last[change["AmazonOrderId"]] = change["Summary"]["OrderStatus"]
    times = [n["message"]["EventTime"] for n in got]
    assert times == sorted(times)
    for oid, status in last.items():
        assert call("orders_v0.getOrder", orderId=oid).body["payload"]["OrderStatus"] == status
