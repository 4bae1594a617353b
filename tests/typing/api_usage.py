"""API usage that mypy checks (CI runs mypy over this file): the typed surface must hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, assert_type

from sellerkit import ApiResponse, AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.client._generated.models.orders_2026_01_01 import (
    GetOrderResponse as GetOrderResponse2026,
)
from sellerkit.client._generated.models.orders_v0 import (
    GetOrderResponse,
    GetOrdersResponse,
    Order,
    OrdersList,
)


def sync_usage(sp: SellingPartner) -> list[str]:
    r: ApiResponse = sp.orders_v0.get_orders(
        marketplace_ids=["ATVPDKIKX0DER"],
        created_after=datetime(2026, 1, 1, tzinfo=UTC),
        options=CallOptions(timeout=5.0),
    )
    sp.orders.search_orders(fulfillment_statuses=["SHIPPED"], created_after="2026-01-01")
    sp.reports_2021_06_30.create_report(body={"reportType": "GET_X", "marketplaceIds": ["A"]})
    ids: list[str] = [o["orderId"] for o in sp.paginate(sp.orders.search_orders, items=True,
                                                         created_after="2026-01-01")]
    assert r.request_id is None or isinstance(r.request_id, str)
    return ids


async def async_usage(sp: AsyncSellingPartner) -> None:
    r = await sp.orders_2026_01_01.get_order(order_id="1", included_data=["BUYER"])
    async for page in sp.paginate("reports_2021_06_30.getReports", reportTypes=["GET_X"]):
        print(page.status, r.status)


def typed_payload(sp: SellingPartner) -> str | None:
    r = sp.orders_v0.get_order(order_id="1")
    order = r.payload  # Orders v0 wraps its result: payload is body["payload"]
    assert_type(order, Order)
    assert_type(r.body, GetOrderResponse)
    inner = r.body.get("payload") or {}
    assert_type(inner, Order)
    return order.get("OrderStatus") or inner.get("OrderStatus")


def typed_orders(sp: SellingPartner) -> list[str]:
    r = sp.orders_v0.get_orders(marketplace_ids=["ATVPDKIKX0DER"], created_after="2026-01-01")
    assert_type(r, ApiResponse[GetOrdersResponse, OrdersList])
    assert_type(r.payload["Orders"], list[Order])
    assert_type(r.body["payload"], OrdersList)
    assert_type(r.body["payload"]["Orders"], list[Order])
    assert_type(r.errors, list[dict[str, Any]])
    return [o["AmazonOrderId"] for o in r.payload["Orders"]]


async def typed_unwrapped(sp: AsyncSellingPartner) -> str:
    # Orders 2026-01-01 does not wrap: payload and body are the same document
    r = await sp.orders_2026_01_01.get_order(order_id="1")
    assert_type(r.payload, GetOrderResponse2026)
    assert_type(r.body, GetOrderResponse2026)
    return r.payload["order"]["orderId"]
