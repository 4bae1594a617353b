"""Restricted Data Tokens on the emulator, judged by Amazon's documented rules only.

Every request here is built by hand with plain httpx, as a client that is not sellerkit's would
send it: an LWA token from ``POST /auth/o2/token``, then ``createRestrictedDataToken`` with some
``restrictedResources``, then the call with the RDT in ``x-amz-access-token``. The rules come
from ../shared/sp-api-facts.md section 7 (Tokens API model, tokens use-case guide):

- ``dataElements`` (buyerInfo, shippingAddress, buyerTaxInformation) apply only to Orders v0
  getOrders, getOrder and getOrderItems;
- for the other restricted operations the RDT for the path unlocks the data, whether the path is
  specific or generic (``{orderId}``); getReportDocument needs a specific path;
- an RDT lives 3600 s and covers only the resources it names; at most 50 resources per request;
- the restricted operations are the list below (written from section 7, not from the catalog).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit.catalog import get_catalog
from sellerkit.emulator import Emulator, EmulatorConfig

from .conftest import FakeClock
from .requests_util import NOTHING, build_request

US = "ATVPDKIKX0DER"
RDT = "/tokens/2021-03-01/restrictedDataToken"
ORDERS = "/orders/v0/orders"
ALL_STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled")

# Section 7's list of restricted operations, as (API model file stem, version, operationId), for
# the operations Amazon's current models hold (v1 createShippingLabels and cancelShipmentOld are
# in the list but not in the models).
SECTION_7 = [
    ("vendor_direct_fulfillment_orders_v1", "getOrders"),
    ("vendor_direct_fulfillment_orders_v1", "getOrder"),
    ("vendor_direct_fulfillment_orders_2021_12_28", "getOrders"),
    ("vendor_direct_fulfillment_orders_2021_12_28", "getOrder"),
    ("vendor_direct_fulfillment_shipping_v1", "getShippingLabel"),
    ("vendor_direct_fulfillment_shipping_v1", "getShippingLabels"),
    ("vendor_direct_fulfillment_shipping_v1", "getPackingSlip"),
    ("vendor_direct_fulfillment_shipping_v1", "getPackingSlips"),
    ("vendor_direct_fulfillment_shipping_v1", "getCustomerInvoice"),
    ("vendor_direct_fulfillment_shipping_v1", "getCustomerInvoices"),
    ("vendor_direct_fulfillment_shipping_2021_12_28", "getShippingLabel"),
    ("vendor_direct_fulfillment_shipping_2021_12_28", "getCustomerInvoices"),
    ("vendor_direct_fulfillment_shipping_2021_12_28", "getCustomerInvoice"),
    ("vendor_direct_fulfillment_shipping_2021_12_28", "getPackingSlips"),
    ("vendor_direct_fulfillment_shipping_2021_12_28", "getPackingSlip"),
    ("easy_ship_2022_03_23", "createScheduledPackageBulk"),
    ("merchant_fulfillment_v0", "getShipment"),
    ("merchant_fulfillment_v0", "cancelShipment"),
    ("merchant_fulfillment_v0", "createShipment"),
    ("orders_v0", "getOrders"),
    ("orders_v0", "getOrder"),
    ("orders_v0", "getOrderItems"),
    ("orders_v0", "getOrderRegulatedInfo"),
    ("orders_v0", "getOrderAddress"),
    ("orders_v0", "getOrderBuyerInfo"),
    ("orders_v0", "getOrderItemsBuyerInfo"),
    ("reports_2021_06_30", "getReportDocument"),
    ("shipment_invoicing_v0", "getShipmentDetails"),
]
SECTION_7_KEYS = [f"{api}.{oid}" for api, oid in SECTION_7]
# Restricted operations the simulation answers: a plain token gets their answer without PII.
# The rest (generated answers) cannot be redacted, so a plain token is refused.
SIMULATED = {"orders_v0.getOrders", "orders_v0.getOrder", "orders_v0.getOrderItems",
             "orders_v0.getOrderAddress", "orders_v0.getOrderBuyerInfo",
             "orders_v0.getOrderItemsBuyerInfo", "reports_2021_06_30.getReportDocument"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=60, seed=4, clock=clock))


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield c


def lwa(http: httpx.Client, emu: Emulator) -> str:
    cfg = emu.config
    r = http.post("/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": cfg.refresh_token,
        "client_id": cfg.client_id, "client_secret": cfg.client_secret})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


def create_rdt(http: httpx.Client, token: str, *resources: dict[str, Any]) -> httpx.Response:
    return http.post(RDT, json={"restrictedResources": list(resources)},
                     headers={"x-amz-access-token": token})


def rdt(http: httpx.Client, token: str, method: str, path: str,
        elements: list[str] | None = None) -> str:
    res: dict[str, Any] = {"method": method, "path": path}
    if elements is not None:
        res["dataElements"] = elements
    r = create_rdt(http, token, res)
    assert r.status_code == 200, r.text
    value = r.json()["restrictedDataToken"]
    assert isinstance(value, str) and value.startswith("Atz.sprdt|")
    return value


def get(http: httpx.Client, token: str, path: str, **params: Any) -> httpx.Response:
    return http.get(path, params=params, headers={"x-amz-access-token": token})


def shipped_orders(http: httpx.Client, token: str, statuses: str = "Shipped,Unshipped"
                   ) -> list[dict[str, Any]]:
    r = get(http, token, ORDERS, MarketplaceIds=US, CreatedAfter="2000-01-01T00:00:00Z",
            OrderStatuses=statuses, MaxResultsPerPage="100")
    assert r.status_code == 200, r.text
    orders: list[dict[str, Any]] = r.json()["payload"]["Orders"]
    assert len(orders) >= 2
    return orders


def full_address(addr: dict[str, Any]) -> bool:
    return bool(addr.get("Name")) and bool(addr.get("AddressLine1"))


def redacted_address(addr: dict[str, Any]) -> bool:
    return (not {"Name", "AddressLine1", "AddressLine2", "Phone"} & set(addr)
            and bool(addr.get("City")) and bool(addr.get("PostalCode")))


# --------------------------------------------------------------------------- dataElements


def test_get_orders_returns_exactly_the_pii_its_data_elements_name(
        http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    plain = shipped_orders(http, token)
    assert all("BuyerInfo" not in o and redacted_address(o["ShippingAddress"]) for o in plain)

    buyer = shipped_orders(http, rdt(http, token, "GET", ORDERS, ["buyerInfo"]))
    assert all(o["BuyerInfo"]["BuyerEmail"] and redacted_address(o["ShippingAddress"])
               for o in buyer)
    ship = shipped_orders(http, rdt(http, token, "GET", ORDERS, ["shippingAddress"]))
    assert all("BuyerInfo" not in o and full_address(o["ShippingAddress"]) for o in ship)
    both = shipped_orders(http, rdt(http, token, "GET", ORDERS,
                                    ["buyerInfo", "shippingAddress", "buyerTaxInformation"]))
    assert all(o["BuyerInfo"]["BuyerEmail"] and full_address(o["ShippingAddress"])
               for o in both)
    # an RDT without data elements covers getOrders' path but selects no PII
    none = shipped_orders(http, rdt(http, token, "GET", ORDERS))
    assert all("BuyerInfo" not in o and redacted_address(o["ShippingAddress"]) for o in none)


@pytest.mark.parametrize("generic", [False, True])
def test_get_order_with_data_elements_on_a_specific_or_generic_path(
        http: httpx.Client, emu: Emulator, generic: bool) -> None:
    token = lwa(http, emu)
    oid = shipped_orders(http, token)[0]["AmazonOrderId"]
    path = f"{ORDERS}/{{orderId}}" if generic else f"{ORDERS}/{oid}"
    plain = get(http, token, f"{ORDERS}/{oid}").json()["payload"]
    assert "BuyerInfo" not in plain and redacted_address(plain["ShippingAddress"])
    r = get(http, rdt(http, token, "GET", path, ["buyerInfo", "shippingAddress"]),
            f"{ORDERS}/{oid}")
    assert r.status_code == 200, r.text
    order = r.json()["payload"]
    assert order["BuyerInfo"]["BuyerEmail"] and full_address(order["ShippingAddress"])


def test_get_order_items_buyer_info_element_gives_item_buyer_info(
        http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    with_rdt = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/orderItems", ["buyerInfo"])
    without = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/orderItems")
    seen_gift = False
    for o in shipped_orders(http, token, ",".join(ALL_STATUSES)):
        path = f"{ORDERS}/{o['AmazonOrderId']}/orderItems"
        items = get(http, with_rdt, path).json()["payload"]["OrderItems"]
        bare = get(http, without, path).json()["payload"]["OrderItems"]
        plain = get(http, token, path).json()["payload"]["OrderItems"]
        assert all("BuyerInfo" not in i for i in bare + plain)
        for item in items:
            if item["IsGift"] == "true":
                seen_gift = True
                assert item["BuyerInfo"]["GiftMessageText"]
            else:
                assert "BuyerInfo" not in item
    assert seen_gift, "the seeded orders hold no gift item: pick another seed"


def test_unknown_data_element_for_an_orders_operation_is_refused(
        http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    for elements in (["ssn"], ["buyerinfo"]):
        r = create_rdt(http, token, {"method": "GET", "path": ORDERS, "dataElements": elements})
        assert r.status_code == 400
        assert elements[0] in r.json()["errors"][0]["message"]
        assert "buyerInfo" in r.json()["errors"][0]["message"]  # names the valid values
    r = create_rdt(http, token, {"method": "GET", "path": ORDERS, "dataElements": "buyerInfo"})
    assert r.status_code == 400


# ------------------------------------------------------- operations that take no dataElements


@pytest.mark.parametrize("generic", [False, True])
@pytest.mark.parametrize("elements", [None, [], ["shippingAddress"], ["buyerInfo"]])
def test_order_address_is_unlocked_by_the_rdt_for_its_path(
        http: httpx.Client, emu: Emulator, generic: bool, elements: list[str] | None) -> None:
    token = lwa(http, emu)
    oid = shipped_orders(http, token)[0]["AmazonOrderId"]
    concrete = f"{ORDERS}/{oid}/address"
    plain = get(http, token, concrete)
    assert plain.status_code == 200
    assert redacted_address(plain.json()["payload"]["ShippingAddress"])

    path = f"{ORDERS}/{{orderId}}/address" if generic else concrete
    r = get(http, rdt(http, token, "GET", path, elements), concrete)
    assert r.status_code == 200, r.text
    addr = r.json()["payload"]["ShippingAddress"]
    assert full_address(addr) and addr["City"] and addr["PostalCode"]


@pytest.mark.parametrize("generic", [False, True])
@pytest.mark.parametrize("elements", [None, ["buyerInfo"], ["shippingAddress"]])
def test_order_buyer_info_is_unlocked_by_the_rdt_for_its_path(
        http: httpx.Client, emu: Emulator, generic: bool, elements: list[str] | None) -> None:
    token = lwa(http, emu)
    oid = shipped_orders(http, token)[0]["AmazonOrderId"]
    concrete = f"{ORDERS}/{oid}/buyerInfo"
    plain = get(http, token, concrete).json()["payload"]
    assert plain["AmazonOrderId"] == oid and "BuyerEmail" not in plain
    path = f"{ORDERS}/{{orderId}}/buyerInfo" if generic else concrete
    info = get(http, rdt(http, token, "GET", path, elements), concrete).json()["payload"]
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", info["BuyerEmail"])
    assert info["BuyerName"]


def test_order_items_buyer_info_is_unlocked_by_the_rdt_for_its_path(
        http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    unlocked = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/orderItems/buyerInfo")
    seen_gift = False
    for o in shipped_orders(http, token, ",".join(ALL_STATUSES)):
        path = f"{ORDERS}/{o['AmazonOrderId']}/orderItems/buyerInfo"
        items = get(http, unlocked, path).json()["payload"]["OrderItems"]
        plain = get(http, token, path).json()["payload"]["OrderItems"]
        assert all(set(i) == {"OrderItemId"} for i in plain)
        seen_gift = seen_gift or any(i.get("GiftMessageText") for i in items)
    assert seen_gift


# ----------------------------------------------------------------------------- coverage


def test_an_rdt_for_one_path_does_not_unlock_another(http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    a, b = (o["AmazonOrderId"] for o in shipped_orders(http, token)[:2])
    one = rdt(http, token, "GET", f"{ORDERS}/{a}/address")
    assert get(http, one, f"{ORDERS}/{a}/address").status_code == 200
    for other in (f"{ORDERS}/{b}/address", f"{ORDERS}/{a}/buyerInfo", f"{ORDERS}/{a}", ORDERS):
        r = get(http, one, other, MarketplaceIds=US, CreatedAfter="2000-01-01T00:00:00Z")
        assert r.status_code == 403, other
        assert r.json()["errors"][0]["code"] == "Unauthorized"
    # a generic RDT covers its operation for every order, and nothing else
    address_of_any = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/address")
    assert get(http, address_of_any, f"{ORDERS}/{b}/address").status_code == 200
    assert get(http, address_of_any, f"{ORDERS}/{b}/buyerInfo").status_code == 403
    order_of_any = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}", ["shippingAddress"])
    assert get(http, order_of_any, f"{ORDERS}/{b}/address").status_code == 403
    # the method is part of the resource
    assert get(http, rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/address"),
               "/sellers/v1/marketplaceParticipations").status_code == 403


def test_one_rdt_for_several_resources(http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    oid = shipped_orders(http, token)[0]["AmazonOrderId"]
    r = create_rdt(http, token,
                   {"method": "GET", "path": f"{ORDERS}/{{orderId}}/address"},
                   {"method": "GET", "path": f"{ORDERS}/{oid}/buyerInfo"},
                   {"method": "GET", "path": ORDERS, "dataElements": ["buyerInfo"]})
    assert r.status_code == 200, r.text
    multi = r.json()["restrictedDataToken"]
    assert full_address(get(http, multi, f"{ORDERS}/{oid}/address").json()["payload"]
                        ["ShippingAddress"])
    assert get(http, multi, f"{ORDERS}/{oid}/buyerInfo").json()["payload"]["BuyerEmail"]
    assert all(o["BuyerInfo"]["BuyerEmail"] for o in shipped_orders(http, multi))


def test_rdt_lives_3600_seconds(http: httpx.Client, emu: Emulator, clock: FakeClock) -> None:
    token = lwa(http, emu)
    oid = shipped_orders(http, token)[0]["AmazonOrderId"]
    r = create_rdt(http, token, {"method": "GET", "path": f"{ORDERS}/{{orderId}}/address"})
    assert r.json()["expiresIn"] == 3600
    value = r.json()["restrictedDataToken"]
    clock.advance(3599)
    assert get(http, value, f"{ORDERS}/{oid}/address").status_code == 200
    clock.advance(2)
    late = get(http, value, f"{ORDERS}/{oid}/address")
    assert late.status_code == 403 and "expired" in late.json()["errors"][0]["details"]


def test_at_most_50_resources(http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)

    def resources(n: int) -> list[dict[str, Any]]:
        return [{"method": "GET", "path": f"{ORDERS}/111-0000000-{i:07d}/address"}
                for i in range(n)]

    assert create_rdt(http, token, *resources(50)).status_code == 200
    too_many = create_rdt(http, token, *resources(51))
    assert too_many.status_code == 400 and "50" in too_many.json()["errors"][0]["message"]
    assert create_rdt(http, token).status_code == 400  # none at all


def test_only_restricted_operations_get_an_rdt(http: httpx.Client, emu: Emulator) -> None:
    token = lwa(http, emu)
    r = create_rdt(http, token, {"method": "GET", "path": "/sellers/v1/marketplaceParticipations"})
    assert r.status_code == 400
    r = create_rdt(http, token, {"method": "GET", "path": "/orders/2026-01-01/orders"})
    assert r.status_code == 400  # Orders v2026-01-01 gates PII by role, not by RDT
    r = create_rdt(http, token, {"method": "PATCH", "path": f"{ORDERS}/{{orderId}}/address"})
    assert r.status_code == 400
    # an RDT cannot mint another RDT
    rdt_token = rdt(http, token, "GET", f"{ORDERS}/{{orderId}}/address")
    again = create_rdt(http, rdt_token, {"method": "GET", "path": ORDERS})
    assert again.status_code == 403


# ------------------------------------------------------------------ getReportDocument


def test_report_document_needs_a_specific_path(http: httpx.Client, emu: Emulator,
                                               clock: FakeClock) -> None:
    token = lwa(http, emu)
    generic = create_rdt(http, token, {"method": "GET",
                                       "path": "/reports/2021-06-30/documents/{reportDocumentId}"})
    assert generic.status_code == 400
    r = http.post("/reports/2021-06-30/reports", headers={"x-amz-access-token": token}, json={
        "reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING", "marketplaceIds": [US]})
    assert r.status_code == 202, r.text
    clock.advance(10)
    report = get(http, token, f"/reports/2021-06-30/reports/{r.json()['reportId']}").json()
    assert report["processingStatus"] == "DONE"
    path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    denied = get(http, token, path)
    assert denied.status_code == 403  # a restricted report type: the LWA token is not enough
    doc = get(http, rdt(http, token, "GET", path), path)
    assert doc.status_code == 200, doc.text
    assert doc.json()["reportDocumentId"] == report["reportDocumentId"]
    other = get(http, rdt(http, token, "GET", path + "0"), path)
    assert other.status_code == 403


# ------------------------------------------------------- every operation of section 7


def test_the_emulator_restricts_exactly_section_7() -> None:
    restricted = {op.key for op in get_catalog() if op.restricted}
    assert restricted == set(SECTION_7_KEYS)


def _request(key: str) -> tuple[str, str, list[tuple[str, str]], Any]:
    op = get_catalog().operation(key)
    path, query, _, body = build_request(op, {})
    return op.method, path, query, body


def _send(http: httpx.Client, token: str, key: str) -> httpx.Response:
    method, path, query, body = _request(key)
    kw: dict[str, Any] = {"params": query, "headers": {"x-amz-access-token": token}}
    if body is not NOTHING:
        kw["json"] = body
    return http.request(method, path, **kw)


@pytest.mark.parametrize("key", SECTION_7_KEYS)
def test_each_restricted_operation_takes_an_rdt_for_its_path(
        http: httpx.Client, emu: Emulator, key: str) -> None:
    op = get_catalog().operation(key)
    token = lwa(http, emu)
    method, concrete, _, _ = _request(key)
    # the RDT for the path (generic where allowed, specific for getReportDocument) is accepted
    path = concrete if key == "reports_2021_06_30.getReportDocument" else op.path
    unlocked = rdt(http, token, method, path)
    r = _send(http, unlocked, key)
    assert r.status_code != 403, r.text
    assert r.status_code < 500
    # an RDT for another restricted operation does not cover this one
    other_key = ("orders_v0.getOrderAddress" if key != "orders_v0.getOrderAddress"
                 else "orders_v0.getOrderBuyerInfo")
    other = get_catalog().operation(other_key)
    wrong = rdt(http, token, other.method, other.path)
    denied = _send(http, wrong, key)
    assert denied.status_code == 403
    assert "does not cover" in denied.json()["errors"][0]["details"]
    # with the plain LWA token, the restricted data is withheld
    plain = _send(http, token, key)
    if key in SIMULATED:
        assert plain.status_code in (200, 400, 404), plain.text
    else:
        assert plain.status_code == 403, plain.text
        assert "Restricted Data Token" in plain.json()["errors"][0]["details"]
