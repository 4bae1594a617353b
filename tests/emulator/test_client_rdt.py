"""Buyer data through sellerkit's own client, end to end against the emulator (which judges it by
Amazon's rules, see test_rdt_rules.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.emulator import Emulator, EmulatorConfig

US = "ATVPDKIKX0DER"
ENDPOINT = "http://127.0.0.1:8787"
RDT = "/tokens/2021-03-01/restrictedDataToken"


class Recording(httpx.BaseTransport):
    """The emulator's in-process transport, remembering every Tokens API request body."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.rdt_bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == RDT:
            self.rdt_bodies.append(json.loads(request.read()))
        return self.inner.handle_request(request)


def _kw(emu: Emulator) -> dict[str, Any]:
    cfg = emu.config
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
            "refresh_token": cfg.refresh_token, "endpoint": ENDPOINT,
            "lwa_endpoint": ENDPOINT + "/auth/o2/token", "region": "NA", "rate_limiter": False}


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorConfig(orders=40, rate_limits=False, seed=2))


@pytest.fixture
def recording(emu: Emulator) -> Recording:
    return Recording(emu.sync_transport())


@pytest.fixture
def sp(emu: Emulator, recording: Recording) -> Iterator[SellingPartner]:
    with SellingPartner(transport=recording, **_kw(emu)) as client:
        yield client


def _shipped(sp: SellingPartner) -> list[str]:
    r = sp.orders_v0.get_orders(marketplace_ids=[US], created_after="2000-01-01T00:00:00Z",
                                order_statuses=["Shipped"], options=CallOptions(rdt=False))
    ids = [o["AmazonOrderId"] for o in r.payload["Orders"]]
    assert len(ids) >= 3
    return ids


def test_get_order_address_returns_name_and_street(sp: SellingPartner,
                                                   recording: Recording) -> None:
    ids = _shipped(sp)
    for oid in ids[:3]:
        addr = sp.orders_v0.get_order_address(order_id=oid).payload["ShippingAddress"]
        assert addr["Name"] and addr["AddressLine1"] and addr["City"]
        assert addr["AddressLine1"].split()[0].isdigit()  # a street, not a placeholder
    # one RDT for the generic path serves every order; no data elements are sent for it
    assert recording.rdt_bodies == [{"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}]


def test_get_order_buyer_info_returns_the_email(sp: SellingPartner) -> None:
    oid = _shipped(sp)[0]
    info = sp.orders_v0.get_order_buyer_info(order_id=oid).payload
    assert info["AmazonOrderId"] == oid
    assert "@" in info["BuyerEmail"]
    # without an RDT, the same call has no buyer data
    plain = sp.orders_v0.get_order_buyer_info(order_id=oid, options=CallOptions(rdt=False))
    assert "BuyerEmail" not in plain.payload


def test_get_orders_and_get_order_with_data_elements(sp: SellingPartner,
                                                     recording: Recording) -> None:
    r = sp.orders_v0.get_orders(marketplace_ids=[US], created_after="2000-01-01T00:00:00Z",
                                order_statuses=["Shipped"],
                                options=CallOptions(rdt_data_elements=["shippingAddress"]))
    orders = r.payload["Orders"]
    assert orders and all(o["ShippingAddress"]["AddressLine1"] for o in orders)
    assert all("BuyerInfo" not in o for o in orders)  # only what was asked for
    assert r.body["payload"]["Orders"] == orders

    oid = orders[0]["AmazonOrderId"]
    one = sp.orders_v0.get_order(order_id=oid,
                                 options=CallOptions(rdt_data_elements=["buyerInfo"])).payload
    assert "@" in one["BuyerInfo"]["BuyerEmail"]
    assert "Name" not in one["ShippingAddress"]
    both = sp.orders_v0.get_order(order_id=oid, options=CallOptions(
        rdt_data_elements=["buyerInfo", "shippingAddress"])).payload
    assert both["BuyerInfo"]["BuyerEmail"] and both["ShippingAddress"]["Name"]
    before = len(recording.rdt_bodies)
    plain = sp.orders_v0.get_order(order_id=oid).payload  # default: data elements are opt-in
    assert "BuyerEmail" not in plain.get("BuyerInfo", {}) and "Name" not in plain["ShippingAddress"]
    assert len(recording.rdt_bodies) == before  # no RDT asked for: no Tokens API call
    paths = [b["restrictedResources"][0] for b in recording.rdt_bodies]
    assert {"method": "GET", "path": "/orders/v0/orders",
            "dataElements": ["shippingAddress"]} in paths
    assert {"method": "GET", "path": "/orders/v0/orders/{orderId}",
            "dataElements": ["buyerInfo"]} in paths


def test_paginate_with_buyer_data(sp: SellingPartner) -> None:
    orders = list(sp.paginate(sp.orders_v0.get_orders, items=True, marketplace_ids=[US],
                              created_after="2000-01-01T00:00:00Z", max_results_per_page=5,
                              options=CallOptions(rdt_data_elements=["buyerInfo"])))
    assert len(orders) > 5 and all(o["BuyerInfo"]["BuyerEmail"] for o in orders)


def test_order_items_buyer_info_has_the_gift_messages(sp: SellingPartner) -> None:
    orders = sp.paginate(sp.orders_v0.get_orders, items=True, marketplace_ids=[US],
                         created_after="2000-01-01T00:00:00Z", options=CallOptions(rdt=False))
    messages = []
    for o in orders:
        oid = o["AmazonOrderId"]
        items = sp.orders_v0.get_order_items_buyer_info(order_id=oid).payload["OrderItems"]
        messages += [i["GiftMessageText"] for i in items if "GiftMessageText" in i]
        bare = sp.orders_v0.get_order_items_buyer_info(order_id=oid,
                                                       options=CallOptions(rdt=False))
        assert all("GiftMessageText" not in i for i in bare.payload["OrderItems"])
    assert messages, "no gift item among the seeded orders: pick another seed"


async def test_async_client_gets_the_address(emu: Emulator) -> None:
    async with AsyncSellingPartner(transport=emu.async_transport(), **_kw(emu)) as sp:
        r = await sp.orders_v0.get_orders(marketplace_ids=[US], order_statuses=["Shipped"],
                                          created_after="2000-01-01T00:00:00Z")
        oid = r.payload["Orders"][0]["AmazonOrderId"]
        addr = (await sp.orders_v0.get_order_address(order_id=oid)).payload["ShippingAddress"]
        assert addr["Name"] and addr["AddressLine1"]


def test_data_elements_given_to_get_order_address_are_not_sent(sp: SellingPartner,
                                                                 recording: Recording) -> None:
    # migrants often pass them; by Amazon's rule they do not apply there (and would only make
    # the Tokens API check the app's roles for them)
    oid = _shipped(sp)[0]
    with_elements = sp.orders_v0.get_order_address(
        order_id=oid, options=CallOptions(rdt_data_elements=["shippingAddress"])).payload
    assert with_elements["ShippingAddress"]["Name"]
    assert recording.rdt_bodies == [{"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}]
    # the same options on getOrder do select the PII
    order = sp.orders_v0.get_order(
        order_id=oid, options=CallOptions(rdt_data_elements=["shippingAddress"])).payload
    assert order["ShippingAddress"]["Name"] and "BuyerInfo" not in order


def test_restricted_report_document_through_its_specific_rdt() -> None:
    emu = Emulator(EmulatorConfig(orders=40, rate_limits=False, seed=2, report_seconds=0.0))
    recording = Recording(emu.sync_transport())
    with SellingPartner(transport=recording, **_kw(emu)) as sp:
        report_id = sp.reports_2021_06_30.create_report(body={
            "reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
            "marketplaceIds": [US]}).payload["reportId"]
        report = sp.reports_2021_06_30.get_report(report_id=report_id).payload
        assert report["processingStatus"] == "DONE"
        doc_id = report["reportDocumentId"]
        doc = sp.reports_2021_06_30.get_report_document(report_document_id=doc_id).payload
        assert doc["reportDocumentId"] == doc_id and doc["url"]
    assert recording.rdt_bodies[-1] == {"restrictedResources": [
        {"method": "GET", "path": f"/reports/2021-06-30/documents/{doc_id}"}]}
