"""Every operation the simulation handles answers, on success and on a typical error, with a
body that validates against the model's response schema for that status (the ``Caller`` checks
each answer; this test makes sure each operation is exercised at least once)."""

from __future__ import annotations

from typing import Any

import pytest

from sellerkit.emulator.simulation import SimResponse, _handlers

from .conftest import PII, START, US, Caller, check_schema, iso

SQS = "arn:aws:sqs:us-east-1:123456789012:q"


def test_the_checker_catches_a_wrong_body() -> None:
    with pytest.raises(AssertionError):
        check_schema("orders_v0.getOrders", SimResponse(200, {"payload": {"Orders": [{}]}}))
    with pytest.raises(AssertionError):
        check_schema("reports_2021_06_30.getReport", SimResponse(200, {"reportId": "1"}))
    with pytest.raises(AssertionError):
        check_schema("listings_items_2021_08_01.getListingsItem",
                     SimResponse(404, {"errors": [{"code": "X"}]}))


def test_every_handled_operation_conforms(sim: Any, sim_clock: Any) -> None:
    seen: set[str] = set()
    inner = Caller(sim)

    def call(key: str, **kw: Any) -> SimResponse:
        seen.add(key)
        return inner(key, **kw)

    seller = sim.seller_ids[0]
    month = iso(START - 30 * 86400)
    call("sellers_v1.getMarketplaceParticipations")
    call("sellers_v1.getAccount")
    orders = call("orders_v0.getOrders", MarketplaceIds=[US], CreatedAfter=month, rdt=PII)
    oid = orders.body["payload"]["Orders"][-1]["AmazonOrderId"]
    for key in ("getOrder", "getOrderBuyerInfo", "getOrderAddress", "getOrderItems",
                "getOrderItemsBuyerInfo"):
        assert call(f"orders_v0.{key}", orderId=oid, rdt=PII).status == 200
        assert call(f"orders_v0.{key}", orderId="000-0000000-0000000").status == 404
    assert call("orders_v0.confirmShipment", orderId=oid, body={}).status == 400
    assert call("orders_v0.updateShipmentStatus", orderId=oid, body={
        "marketplaceId": US, "shipmentStatus": "ReadyForPickup"}).status == 400
    all_data = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
                "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"]
    call("orders_2026_01_01.searchOrders", lastUpdatedAfter=month, includedData=all_data)
    call("orders_2026_01_01.getOrder", orderId=oid, includedData=all_data)
    assert call("orders_2026_01_01.getOrder", orderId="x").status == 404

    rid = call("reports_2021_06_30.createReport", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body["reportId"]
    rid2 = call("reports_2021_06_30.createReport", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body["reportId"]
    call("reports_2021_06_30.cancelReport", reportId=rid2)
    call("reports_2021_06_30.getReport", reportId=rid)
    sim_clock.advance(5)
    doc = call("reports_2021_06_30.getReport", reportId=rid).body["reportDocumentId"]
    call("reports_2021_06_30.getReports", reportTypes=["GET_MERCHANT_LISTINGS_ALL_DATA"])
    call("reports_2021_06_30.getReportDocument", reportDocumentId=doc)
    assert call("reports_2021_06_30.getReportDocument", reportDocumentId="nope").status == 404
    sid = call("reports_2021_06_30.createReportSchedule", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US],
        "period": "PT1H"}).body["reportScheduleId"]
    call("reports_2021_06_30.getReportSchedule", reportScheduleId=sid)
    call("reports_2021_06_30.getReportSchedules", reportTypes=["GET_MERCHANT_LISTINGS_ALL_DATA"])
    call("reports_2021_06_30.cancelReportSchedule", reportScheduleId=sid)
    assert call("reports_2021_06_30.getReportSchedule", reportScheduleId=sid).status == 404

    d = call("feeds_2021_06_30.createFeedDocument", body={"contentType": "application/json"})
    sim.upload(d.body["url"].rsplit("/", 1)[1], "application/json",
               b'{"header": {"sellerId": "%s", "version": "2.0"}, "messages": '
               b'[{"messageId": 1, "sku": "Z", "operationType": "DELETE"}]}' % seller.encode())
    fid = call("feeds_2021_06_30.createFeed", body={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US],
        "inputFeedDocumentId": d.body["feedDocumentId"]}).body["feedId"]
    assert call("feeds_2021_06_30.cancelFeed", feedId="404").status == 404
    sim_clock.advance(5)
    result = call("feeds_2021_06_30.getFeed", feedId=fid).body["resultFeedDocumentId"]
    call("feeds_2021_06_30.getFeeds", feedTypes=["JSON_LISTINGS_FEED"])
    call("feeds_2021_06_30.getFeedDocument", feedDocumentId=result)

    li = "listings_items_2021_08_01"
    sku = sorted(sim._state.d["listings"][seller])[0]
    everything = ["summaries", "attributes", "issues", "offers", "fulfillmentAvailability",
                  "procurement", "relationships", "productTypes"]
    call(f"{li}.getListingsItem", sellerId=seller, sku=sku, marketplaceIds=[US],
         includedData=everything)
    call(f"{li}.searchListingsItems", sellerId=seller, marketplaceIds=[US],
         includedData=everything, pageSize=20)
    call(f"{li}.patchListingsItem", sellerId=seller, sku=sku, marketplaceIds=[US],
         body={"productType": "HOME", "patches": [
             {"op": "delete", "path": "/attributes/product_description"}]})
    call(f"{li}.putListingsItem", sellerId=seller, sku="NEW", marketplaceIds=[US],
         body={"productType": "HOME", "attributes": {"item_name": [{"value": "n"}]}})
    call(f"{li}.deleteListingsItem", sellerId=seller, sku=sku, marketplaceIds=[US])
    assert call(f"{li}.getListingsItem", sellerId="OTHER", sku=sku,
                marketplaceIds=[US]).status == 403

    asin = sorted(sim._state.d["catalog"])[0]
    all_catalog = ["attributes", "classifications", "dimensions", "identifiers", "images",
                   "productTypes", "relationships", "salesRanks", "summaries", "vendorDetails"]
    call("catalog_items_2022_04_01.getCatalogItem", asin=asin, marketplaceIds=[US],
         includedData=all_catalog)
    call("catalog_items_2022_04_01.searchCatalogItems", keywords=["a"], marketplaceIds=[US],
         includedData=all_catalog)
    call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
         granularityId=US, marketplaceIds=[US], details=True)

    n = "notifications_v1"
    did = call(f"{n}.createDestination", seller="", body={
        "name": "q", "resourceSpecification": {"sqs": {"arn": SQS}}}).body["payload"][
            "destinationId"]
    call(f"{n}.getDestinations", seller="")
    call(f"{n}.getDestination", seller="", destinationId=did)
    sub = call(f"{n}.createSubscription", notificationType="ORDER_CHANGE", body={
        "payloadVersion": "1.0", "destinationId": did, "processingDirective": {
            "eventFilter": {"eventFilterType": "ORDER_CHANGE",
                            "orderChangeTypes": ["OrderStatusChange"]}}}).body["payload"]
    call(f"{n}.getSubscription", notificationType="ORDER_CHANGE")
    call(f"{n}.getSubscriptions", notificationTypes=["ORDER_CHANGE"])
    call(f"{n}.getSubscriptionById", seller="", notificationType="ORDER_CHANGE",
         subscriptionId=sub["subscriptionId"])
    call(f"{n}.deleteSubscriptionById", seller="", notificationType="ORDER_CHANGE",
         subscriptionId=sub["subscriptionId"])
    call(f"{n}.deleteDestination", seller="", destinationId=did)
    dk = "data_kiosk_2023_11_15"
    qid = call(f"{dk}.createQuery", body={"query": "{ analytics_salesAndTraffic_2024_04_24 { "
               "salesAndTrafficByAsin { childAsin } } }"}).body["queryId"]
    call(f"{dk}.cancelQuery", queryId=call(f"{dk}.createQuery", body={"query": "{ x }"}).body[
        "queryId"])
    sim_clock.advance(5)
    call(f"{dk}.getDocument", documentId=call(f"{dk}.getQuery", queryId=qid).body[
        "dataDocumentId"])
    call(f"{dk}.getQueries")

    assert seen == set(_handlers())
