"""Orders v0 and 2026-01-01 in the simulation: filters, pagination, PII gating, status over
time, consistency between the two views."""

from __future__ import annotations

from typing import Any

import pytest

from sellerkit.emulator.simulation import RdtGrant

from .conftest import CA, PII, START, US, Caller, Clock, iso

MONTH_AGO = iso(START - 31 * 86400)


def all_v0(call: Any, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = call("orders_v0.getOrders", **params)
    assert r.status == 200, r.body
    out += r.body["payload"]["Orders"]
    while r.body["payload"].get("NextToken"):
        r = call("orders_v0.getOrders", **{**params, "NextToken": r.body["payload"]["NextToken"]})
        assert r.status == 200, r.body
        out += r.body["payload"]["Orders"]
    return out


def test_get_orders_needs_created_or_updated_after(call: Any) -> None:
    r = call("orders_v0.getOrders", MarketplaceIds=[US])
    assert r.status == 400
    err = r.body["errors"][0]
    assert err["code"] == "InvalidInput"
    assert "CreatedAfter" in err["message"] and "LastUpdatedAfter" in err["message"]


@pytest.mark.parametrize(("params", "named"), [
    ({"CreatedAfter": MONTH_AGO, "LastUpdatedAfter": MONTH_AGO}, "LastUpdatedAfter"),
    ({"CreatedAfter": MONTH_AGO, "LastUpdatedBefore": iso(START - 3600)}, "LastUpdatedBefore"),
    ({"LastUpdatedAfter": MONTH_AGO, "CreatedBefore": iso(START - 3600)}, "CreatedBefore"),
    ({"CreatedAfter": MONTH_AGO, "CreatedBefore": iso(START - 60)}, "CreatedBefore"),
    ({"CreatedAfter": iso(START - 3600), "CreatedBefore": iso(START - 7200)}, "CreatedBefore"),
    ({"CreatedAfter": iso(START + 3600)}, "CreatedAfter"),
    ({"CreatedAfter": MONTH_AGO, "MaxResultsPerPage": 101}, "MaxResultsPerPage"),
    ({"CreatedAfter": MONTH_AGO, "MaxResultsPerPage": 0}, "MaxResultsPerPage"),
    ({"CreatedAfter": MONTH_AGO, "OrderStatuses": ["Sent"]}, "OrderStatuses"),
    ({"CreatedAfter": MONTH_AGO, "SellerOrderId": "x", "OrderStatuses": ["Shipped"]},
     "OrderStatuses"),
    ({"CreatedAfter": "yesterday"}, "CreatedAfter"),
])
def test_get_orders_rule_violations_name_the_parameter(call: Any, params: dict[str, Any],
                                                       named: str) -> None:
    r = call("orders_v0.getOrders", MarketplaceIds=[US], **params)
    assert r.status == 400, r.body
    assert r.body["errors"][0]["code"] == "InvalidInput"
    assert named in r.body["errors"][0]["message"]


def test_marketplace_the_seller_does_not_sell_in_is_rejected(call: Any) -> None:
    r = call("orders_v0.getOrders", MarketplaceIds=["A1PA6795UKMFR9"], CreatedAfter=MONTH_AGO)
    assert r.status == 400
    assert "MarketplaceIds" in r.body["errors"][0]["message"]


def test_pagination_walks_every_order_once_in_purchase_order(call: Any, sim: Any) -> None:
    orders = all_v0(call, MarketplaceIds=[US, CA, "A1AM78C64UM0Y8"], CreatedAfter=MONTH_AGO,
                    MaxResultsPerPage=7)
    ids = [o["AmazonOrderId"] for o in orders]
    # the last two minutes are not visible yet (the default CreatedBefore)
    visible = [o for o in sim._state.d["orders"][sim.seller_ids[0]] if o["created"] <= START - 120]
    assert 50 < len(visible) <= 60
    assert len(ids) == len(set(ids)) == len(visible)
    dates = [o["PurchaseDate"] for o in orders]
    assert dates == sorted(dates)


def test_default_page_is_100_and_created_before_is_two_minutes_ago(call: Any) -> None:
    r = call("orders_v0.getOrders", MarketplaceIds=[US], CreatedAfter=MONTH_AGO)
    payload = r.body["payload"]
    assert "NextToken" not in payload
    assert payload["CreatedBefore"] == iso(START - 120)


def test_repeated_token_gives_the_same_page(call: Any, sim_clock: Any) -> None:
    params = {"MarketplaceIds": [US], "CreatedAfter": MONTH_AGO, "MaxResultsPerPage": 5}
    first = call("orders_v0.getOrders", **params)
    token = first.body["payload"]["NextToken"]
    a = call("orders_v0.getOrders", **params, NextToken=token)
    sim_clock.advance(3600)  # statuses move, the page does not
    b = call("orders_v0.getOrders", **params, NextToken=token)
    assert a.body == b.body
    assert {o["AmazonOrderId"] for o in a.body["payload"]["Orders"]}.isdisjoint(
        o["AmazonOrderId"] for o in first.body["payload"]["Orders"])


def test_token_with_only_marketplaces_is_accepted(call: Any) -> None:
    params = {"MarketplaceIds": [US], "CreatedAfter": MONTH_AGO, "MaxResultsPerPage": 5}
    token = call("orders_v0.getOrders", **params).body["payload"]["NextToken"]
    full = call("orders_v0.getOrders", **params, NextToken=token)
    bare = call("orders_v0.getOrders", MarketplaceIds=[US], NextToken=token)
    assert bare.status == 200 and bare.body == full.body


def test_token_with_different_filters_or_tampered_is_rejected(call: Any) -> None:
    params = {"MarketplaceIds": [US], "CreatedAfter": MONTH_AGO, "MaxResultsPerPage": 5}
    token = call("orders_v0.getOrders", **params).body["payload"]["NextToken"]
    r = call("orders_v0.getOrders", **{**params, "OrderStatuses": ["Shipped"]}, NextToken=token)
    assert r.status == 400 and "NextToken" in r.body["errors"][0]["message"]
    r = call("orders_v0.getOrders", **params, NextToken=token[:-2] + "xx")
    assert r.status == 400 and "NextToken" in r.body["errors"][0]["message"]
    r = call("orders_v0.getOrders", **params, NextToken=token, seller=call.sim.seller_ids[1])
    assert r.status == 400


def test_filters(call: Any) -> None:
    base = {"MarketplaceIds": [US, CA, "A1AM78C64UM0Y8"], "CreatedAfter": MONTH_AGO}
    everything = all_v0(call, **base)
    shipped = all_v0(call, **base, OrderStatuses=["Shipped"])
    assert shipped and all(o["OrderStatus"] == "Shipped" for o in shipped)
    assert len(shipped) == sum(o["OrderStatus"] == "Shipped" for o in everything)
    afn = all_v0(call, **base, FulfillmentChannels=["AFN"])
    assert afn and all(o["FulfillmentChannel"] == "AFN" for o in afn)
    us = all_v0(call, **{**base, "MarketplaceIds": [US]})
    assert us and all(o["MarketplaceId"] == US for o in us)
    assert all(o["OrderTotal"]["CurrencyCode"] == "USD" for o in us if "OrderTotal" in o)
    ca = [o for o in everything if o["MarketplaceId"] == CA and "OrderTotal" in o]
    assert all(o["OrderTotal"]["CurrencyCode"] == "CAD" for o in ca)
    some = [o["AmazonOrderId"] for o in everything[:3]]
    by_id = all_v0(call, MarketplaceIds=base["MarketplaceIds"], AmazonOrderIds=some)
    assert sorted(o["AmazonOrderId"] for o in by_id) == sorted(some)


def test_last_updated_after_window(call: Any) -> None:
    since = START - 2 * 86400
    orders = all_v0(call, MarketplaceIds=[US, CA, "A1AM78C64UM0Y8"], LastUpdatedAfter=iso(since))
    assert orders
    assert all(o["LastUpdateDate"] >= iso(since) for o in orders)
    assert [o["LastUpdateDate"] for o in orders] == sorted(o["LastUpdateDate"] for o in orders)
    r = call("orders_v0.getOrders", MarketplaceIds=[US], LastUpdatedAfter=iso(since))
    assert "LastUpdatedBefore" in r.body["payload"]


def test_status_moves_pending_unshipped_shipped_with_the_clock(call: Any, sim: Any,
                                                              sim_clock: Any) -> None:
    state = sim._state
    seller = sim.seller_ids[0]
    pending = [o for o in state.d["orders"][seller]
               if o["unshipped"] is not None and o["shipped"] is not None
               and o["created"] <= START < o["unshipped"]]
    assert pending, "seed 7 should have an order still pending at the start"
    o = pending[0]
    seen = [call("orders_v0.getOrder", orderId=o["id"]).body["payload"]["OrderStatus"]]
    sim_clock.now = o["unshipped"] + 1
    seen.append(call("orders_v0.getOrder", orderId=o["id"]).body["payload"]["OrderStatus"])
    sim_clock.now = o["shipped"] + 1
    after = call("orders_v0.getOrder", orderId=o["id"]).body["payload"]
    seen.append(after["OrderStatus"])
    assert seen == ["Pending", "Unshipped", "Shipped"]
    assert after["LastUpdateDate"] == iso(o["shipped"])


def test_pii_needs_an_rdt_with_the_right_elements(call: Any) -> None:
    orders = all_v0(call, MarketplaceIds=[US], CreatedAfter=MONTH_AGO,
                    OrderStatuses=["Shipped"])
    oid = orders[0]["AmazonOrderId"]
    plain = call("orders_v0.getOrder", orderId=oid).body["payload"]
    assert "BuyerInfo" not in plain
    assert set(plain["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode",
                                             "CountryCode"}
    full = call("orders_v0.getOrder", orderId=oid, rdt=PII).body["payload"]
    assert "@" in full["BuyerInfo"]["BuyerEmail"] and full["BuyerInfo"]["BuyerName"]
    assert full["ShippingAddress"]["Name"] and full["ShippingAddress"]["AddressLine1"]
    only_address = RdtGrant(frozenset({"shippingAddress"}))
    part = call("orders_v0.getOrder", orderId=oid, rdt=only_address).body["payload"]
    assert "BuyerInfo" not in part and "Name" in part["ShippingAddress"]
    assert all("BuyerInfo" not in o for o in orders)
    with_rdt = call("orders_v0.getOrders", MarketplaceIds=[US], CreatedAfter=MONTH_AGO,
                    OrderStatuses=["Shipped"], rdt=PII).body["payload"]["Orders"]
    assert all("BuyerEmail" in o["BuyerInfo"] for o in with_rdt)

    bi = call("orders_v0.getOrderBuyerInfo", orderId=oid).body["payload"]
    assert bi == {"AmazonOrderId": oid}
    bi = call("orders_v0.getOrderBuyerInfo", orderId=oid, rdt=PII).body["payload"]
    assert bi["BuyerEmail"] == full["BuyerInfo"]["BuyerEmail"]
    addr = call("orders_v0.getOrderAddress", orderId=oid).body["payload"]
    assert addr["AmazonOrderId"] == oid and "Name" not in addr["ShippingAddress"]
    addr = call("orders_v0.getOrderAddress", orderId=oid, rdt=PII).body["payload"]
    assert addr["ShippingAddress"] == full["ShippingAddress"]


def test_order_items_and_other_sellers_orders(call: Any, sim: Any) -> None:
    orders = all_v0(call, MarketplaceIds=[US], CreatedAfter=MONTH_AGO)
    o = orders[0]
    items = call("orders_v0.getOrderItems", orderId=o["AmazonOrderId"]).body["payload"]
    assert items["AmazonOrderId"] == o["AmazonOrderId"] and items["OrderItems"]
    skus = set(sim._state.d["listings"][sim.seller_ids[0]])
    assert all(i["SellerSKU"] in skus for i in items["OrderItems"])
    bi = call("orders_v0.getOrderItemsBuyerInfo", orderId=o["AmazonOrderId"]).body["payload"]
    assert [i["OrderItemId"] for i in bi["OrderItems"]] == [
        i["OrderItemId"] for i in items["OrderItems"]]
    other = call("orders_v0.getOrder", orderId=o["AmazonOrderId"], seller=sim.seller_ids[1])
    assert other.status == 404 and other.body["errors"][0]["code"] == "NotFound"
    assert call("orders_v0.getOrder", orderId="111-0000000-0000000").status == 404


def test_v0_and_2026_agree(call: Any) -> None:
    v0 = {o["AmazonOrderId"]: o for o in all_v0(
        call, MarketplaceIds=[US, CA, "A1AM78C64UM0Y8"], CreatedAfter=MONTH_AGO)}
    got: list[dict[str, Any]] = []
    r = call("orders_2026_01_01.searchOrders", createdAfter=MONTH_AGO, maxResultsPerPage=25,
             includedData=["FULFILLMENT", "PROCEEDS"])
    got += r.body["orders"]
    while r.body.get("pagination"):
        r = call("orders_2026_01_01.searchOrders", createdAfter=MONTH_AGO, maxResultsPerPage=25,
                 includedData=["FULFILLMENT", "PROCEEDS"],
                 paginationToken=r.body["pagination"]["nextToken"])
        got += r.body["orders"]
    assert {o["orderId"] for o in got} == set(v0)
    names = {"Pending": "PENDING", "Unshipped": "UNSHIPPED", "Shipped": "SHIPPED",
             "Canceled": "CANCELLED"}
    for o in got:
        old = v0[o["orderId"]]
        assert o["createdTime"] == old["PurchaseDate"]
        assert o["lastUpdatedTime"] == old["LastUpdateDate"]
        assert o["fulfillment"]["fulfillmentStatus"] == names[old["OrderStatus"]]
        if "OrderTotal" in old:
            assert o["proceeds"]["grandTotal"]["amount"] == old["OrderTotal"]["Amount"]


def test_2026_included_data_blocks_only_when_asked(call: Any) -> None:
    r = call("orders_2026_01_01.searchOrders", createdAfter=MONTH_AGO,
             fulfillmentStatuses=["SHIPPED"], marketplaceIds=[US])
    orders = r.body["orders"]
    assert orders
    for o in orders:
        assert not {"buyer", "recipient", "proceeds", "fulfillment", "packages"} & set(o)
        assert o["orderItems"] and o["salesChannel"]["marketplaceId"] == US
    oid = orders[0]["orderId"]
    full = call("orders_2026_01_01.getOrder", orderId=oid,
                includedData=["BUYER", "RECIPIENT"]).body["order"]
    assert full["buyer"]["buyerEmail"] and full["recipient"]["deliveryAddress"]["addressLine1"]
    v0 = call("orders_v0.getOrder", orderId=oid, rdt=PII).body["payload"]
    assert full["buyer"]["buyerEmail"] == v0["BuyerInfo"]["BuyerEmail"]
    assert full["recipient"]["deliveryAddress"]["postalCode"] == v0["ShippingAddress"][
        "PostalCode"]


@pytest.mark.parametrize(("params", "named"), [
    ({}, "createdAfter"),
    ({"createdAfter": MONTH_AGO, "lastUpdatedAfter": MONTH_AGO}, "lastUpdatedAfter"),
    ({"lastUpdatedAfter": MONTH_AGO, "createdBefore": iso(START - 3600)}, "createdBefore"),
    ({"createdAfter": MONTH_AGO, "createdBefore": iso(START)}, "createdBefore"),
    ({"createdAfter": MONTH_AGO, "maxResultsPerPage": 500}, "maxResultsPerPage"),
    ({"createdAfter": MONTH_AGO, "fulfilledBy": ["NOBODY"]}, "fulfilledBy"),
])
def test_search_orders_rules(call: Any, params: dict[str, Any], named: str) -> None:
    r = call("orders_2026_01_01.searchOrders", **params)
    assert r.status == 400 and named in r.body["errors"][0]["message"]


def test_search_orders_filters_and_token_rules(call: Any) -> None:
    merchant = call("orders_2026_01_01.searchOrders", lastUpdatedAfter=MONTH_AGO,
                    fulfilledBy=["MERCHANT"], includedData=["FULFILLMENT"]).body
    assert merchant["orders"] and "lastUpdatedBefore" in merchant
    assert all(o["fulfillment"]["fulfilledBy"] == "MERCHANT" for o in merchant["orders"])
    first = call("orders_2026_01_01.searchOrders", createdAfter=MONTH_AGO, maxResultsPerPage=3)
    token = first.body["pagination"]["nextToken"]
    # maxResultsPerPage and includedData may change between pages; filters may not
    ok = call("orders_2026_01_01.searchOrders", createdAfter=MONTH_AGO, maxResultsPerPage=3,
              includedData=["BUYER"], paginationToken=token)
    assert ok.status == 200 and all("buyer" in o for o in ok.body["orders"])
    bad = call("orders_2026_01_01.searchOrders", createdAfter=iso(START - 86400),
               paginationToken=token)
    assert bad.status == 400 and "paginationToken" in bad.body["errors"][0]["message"]


def test_confirm_shipment(call: Any, sim: Any) -> None:
    seller = sim.seller_ids[0]
    state = sim._state
    stuck = [o for o in state.d["orders"][seller] if o["channel"] == "MFN"
             and o["shipped"] is None and o["canceled"] is None and o["unshipped"] < START]
    assert stuck
    o = stuck[0]
    body = {"marketplaceId": o["marketplaceId"], "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1ZTEST",
        "shipDate": iso(START), "orderItems": [{"orderItemId": i["id"], "quantity": i["qty"]}
                                               for i in o["items"]]}}
    r = call("orders_v0.confirmShipment", orderId=o["id"], body=body)
    assert r.status == 204
    assert call("orders_v0.getOrder", orderId=o["id"]).body["payload"]["OrderStatus"] == "Shipped"
    again = call("orders_v0.confirmShipment", orderId=o["id"], body=body)
    assert again.status == 400
    pkg = call("orders_2026_01_01.getOrder", orderId=o["id"], includedData=["PACKAGES"])
    assert pkg.body["order"]["packages"][0]["trackingNumber"] == "1ZTEST"


def test_new_orders_keep_arriving_and_are_hidden_until_placed(call: Any, sim: Any,
                                                              sim_clock: Any) -> None:
    seller = sim.seller_ids[0]
    future = [o for o in sim._state.d["orders"][seller] if o["created"] > START]
    assert future, "the first day's arrivals are generated up front"
    assert call("orders_v0.getOrder", orderId=future[0]["id"]).status == 404
    sim_clock.advance(3 * 86400)
    new = all_v0(call, MarketplaceIds=[US, CA, "A1AM78C64UM0Y8"], CreatedAfter=iso(START))
    assert len(new) >= 3  # about orders/30 a day
    assert call("orders_v0.getOrder", orderId=future[0]["id"]).status == 200
    ids = {o["AmazonOrderId"] for o in new}
    clock = Clock()
    again = Caller(type(sim)(seed=7, orders=60, sellers=2, clock=clock))
    clock.advance(3 * 86400)
    same = all_v0(again, MarketplaceIds=[US, CA, "A1AM78C64UM0Y8"], CreatedAfter=iso(START))
    assert {o["AmazonOrderId"] for o in same} == ids  # the same seed gives the same arrivals


def test_filters_for_order_kinds_the_simulation_lacks_find_nothing(call: Any) -> None:
    base = {"MarketplaceIds": [US], "CreatedAfter": MONTH_AGO}
    assert all_v0(call, **base)
    assert all_v0(call, **base, EasyShipShipmentStatuses=["PendingPickUp"]) == []
    assert all_v0(call, **base, IsISPU=True) == []
    assert all_v0(call, **base, IsISPU=False) == all_v0(call, **base)


def test_delivery_date_filters(call: Any) -> None:
    base = {"MarketplaceIds": [US], "CreatedAfter": MONTH_AGO}
    cut = iso(START - 10 * 86400)
    early = all_v0(call, **base, LatestDeliveryDateBefore=cut)
    late = all_v0(call, **base, LatestDeliveryDateAfter=cut)
    assert early and late
    assert all(o["LatestDeliveryDate"] <= cut for o in early)
    assert all(o["LatestDeliveryDate"] >= cut for o in late)
    assert len(early) + len(late) >= len(all_v0(call, **base))


def test_reprs_do_not_show_buyer_data(call: Any) -> None:
    orders = all_v0(call, MarketplaceIds=[US], CreatedAfter=MONTH_AGO, OrderStatuses=["Shipped"])
    r = call("orders_v0.getOrderBuyerInfo", orderId=orders[0]["AmazonOrderId"], rdt=PII)
    email = r.body["payload"]["BuyerEmail"]
    assert email not in repr(r) and "200" in repr(r)
