"""Orders v0 and Orders 2026-01-01 over the same simulated orders.

An order's status is a function of time: Pending for 5-20 minutes after purchase, then
Unshipped, then Shipped hours later (a few MFN orders wait for ``confirmShipment``; a few are
canceled while pending). ``LastUpdateDate`` is the latest of those transitions that has happened.

Lists (``getOrders``, ``searchOrders``) are a snapshot taken two minutes before the request (the
default ``CreatedBefore``/``LastUpdatedBefore``, as at Amazon); the snapshot time travels in the
pagination token, so later pages are consistent with the first one even while orders move.

``includedData`` blocks of 2026-01-01 the simulation fills: BUYER, RECIPIENT, PROCEEDS,
FULFILLMENT, PACKAGES (shipped MFN orders), TAX (US marketplace-facilitator collection) and
CANCELLATION (canceled orders); EXPENSE, PROMOTION, PAYMENT and FULFILLMENT_ORDERS are accepted
and left out, as for an order without such data.

PII (Amazon's rule, ../shared/sp-api-facts.md section 7): ``getOrders``, ``getOrder`` and
``getOrderItems`` return buyer fields only when the call carries an RDT whose data elements
include ``buyerInfo``, and the restricted parts of the shipping address (name, lines, phone,
address type) only with ``shippingAddress``. ``getOrderAddress``, ``getOrderBuyerInfo`` and
``getOrderItemsBuyerInfo`` take no data elements: any RDT that covers their path (specific or
``{orderId}``) unlocks their data. A plain access token gets the answer without PII.
Orders 2026-01-01 gates PII by role rather than RDT; the emulated application holds the role, so
``BUYER``/``RECIPIENT`` blocks appear whenever ``includedData`` asks for them.
"""

from __future__ import annotations

from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse
from sellerkit.emulator.simulation.data import MARKETPLACES, iso, money
from sellerkit.emulator.simulation.state import (
    State,
    as_list,
    invalid,
    last_update,
    not_found,
    status_of,
    time_param,
)

LAG = 120.0  # the "Before" bounds must be at least two minutes in the past
V0_STATUSES = ("PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped",
               "InvoiceUnconfirmed", "Canceled", "Unfulfillable")
TO_2026 = {"Pending": "PENDING", "Unshipped": "UNSHIPPED", "Shipped": "SHIPPED",
           "Canceled": "CANCELLED", "PartiallyShipped": "PARTIALLY_SHIPPED"}
FULFILLED_BY = {"MERCHANT": "MFN", "AMAZON": "AFN"}


# shared ---------------------------------------------------------------------------------


def _own_order(state: State, req: SimRequest) -> dict[str, Any]:
    state.seller(req)
    oid = str(req.params.get("orderId", ""))
    hit = state.order_index.get(oid)
    if hit is None or hit[0] != req.seller_id or hit[1]["created"] > state.now():
        raise not_found(f"Order {oid!r} was not found.")
    return hit[1]


def _totals(o: dict[str, Any]) -> tuple[float, float, float, float]:
    items = sum(i["unit"] * i["qty"] for i in o["items"])
    ship = sum(i["shipping"] for i in o["items"])
    tax = sum(i["tax"] for i in o["items"])
    return items, ship, tax, items + ship + tax


def _ship_window(o: dict[str, Any]) -> tuple[float, float, float, float]:
    """(earliest ship, latest ship, earliest delivery, latest delivery)."""
    base = o["created"]
    latest_ship = base + o["latestShipDays"] * 86400
    expedited = o["serviceLevel"] == "Expedited"
    return (base, latest_ship, latest_ship + (1 if expedited else 2) * 86400,
            latest_ship + (2 if expedited else 5) * 86400)


def _money_v0(amount: float, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": money(amount, currency)}


def _money_2026(amount: float, currency: str) -> dict[str, str]:
    return {"amount": money(amount, currency), "currencyCode": currency}


def _list_window(state: State, req: SimRequest, names: tuple[str, str, str, str],
                 *, optional_start: bool = False) -> tuple[str, float, float | None]:
    """Validate the created/updated window rules shared by v0 and 2026-01-01.

    Returns (``"created"`` | ``"updated"``, after, explicit before or None)."""
    ca_n, cb_n, ua_n, ub_n = names
    p = req.params
    ca, cb = time_param(p, ca_n), time_param(p, cb_n)
    ua, ub = time_param(p, ua_n), time_param(p, ub_n)
    now = state.now()
    if ca is not None and ua is not None:
        raise invalid(f"{ca_n} and {ua_n} cannot both be set; provide exactly one of them.")
    if ca is None and ua is None:
        if optional_start:
            return "created", float("-inf"), None
        raise invalid(f"Either {ca_n} or {ua_n} is required; both cannot be empty.")
    if ca is not None:
        if ua is not None or ub is not None:
            bad = ua_n if ua is not None else ub_n
            raise invalid(f"{bad} cannot be set when {ca_n} is set.")
        kind, after, before = "created", ca, cb
        a_n, b_n = ca_n, cb_n
    else:
        if cb is not None:
            raise invalid(f"{cb_n} cannot be set when {ua_n} is set.")
        assert ua is not None
        kind, after, before = "updated", ua, ub
        a_n, b_n = ua_n, ub_n
    if after > now:
        raise invalid(f"{a_n} cannot be in the future.")
    if before is not None:
        if before < after:
            raise invalid(f"{b_n} must be equal to or after {a_n}.")
        if before > now - LAG:
            raise invalid(f"{b_n} must be at least two minutes before the current time.")
    return kind, after, before


def _page(state: State, req: SimRequest, *, param_name: str, size: int | None,
          filters: dict[str, Any], compute: Any) -> tuple[list[Any], str | None, dict[str, Any]]:
    """Shared token logic: a token carries the filters, the snapshot time and the offset.

    With a token, the caller either repeats the original filters (as Amazon asks) or sends
    none of them; different filters are an error rather than a silent mix."""
    token = req.params.get(param_name)
    snap: dict[str, Any]
    if token:
        t = state.unsign(str(token), param_name)
        if t.get("op") != req.operation.key or t.get("s") != req.seller_id:
            raise invalid(f"Invalid {param_name}.", "The token belongs to another request.")
        given = {k: v for k, v in filters.items() if v not in (None, [], "")}
        only_mps = set(given) <= {"mps"} and given.get("mps") == t["f"].get("mps")
        if given and given != t["f"] and not only_mps:
            raise invalid(f"Invalid {param_name}: the request parameters differ from the "
                          "request that returned this token.")
        snap, offset = t["f"], int(t["o"])
        snapshot_at = float(t["t"])
        if size is None:  # a page size sent with the first request carries over
            size = int(t.get("n", 100))
    else:
        snap = {k: v for k, v in filters.items() if v not in (None, [], "")}
        offset = 0
        snapshot_at = state.now() - LAG
    size = size or 100
    rows = compute(snap, snapshot_at)
    page = rows[offset:offset + size]
    next_token = None
    if offset + size < len(rows):
        next_token = state.sign({"op": req.operation.key, "s": req.seller_id, "f": snap,
                                 "o": offset + size, "t": snapshot_at, "n": size})
    return page, next_token, {"snapshot": snapshot_at, "filters": snap}


def _select(state: State, seller_id: str, f: dict[str, Any], at: float, *,
            kind: str, after: float, before: float | None) -> list[dict[str, Any]]:
    upper = before if before is not None else at
    rows: list[tuple[float, str, dict[str, Any]]] = []
    if f.get("none"):
        return []
    delivery = f.get("delivery") or {}
    for o in state.d["orders"].get(seller_id, []):
        if o["created"] > at:
            continue
        key = o["created"] if kind == "created" else last_update(o, at)
        if not after <= key <= upper:
            continue
        if f.get("mps") and o["marketplaceId"] not in f["mps"]:
            continue
        if f.get("statuses") and status_of(o, at) not in f["statuses"]:
            continue
        if f.get("channels") and o["channel"] not in f["channels"]:
            continue
        if f.get("ids") and o["id"] not in f["ids"]:
            continue
        if f.get("sellerOrderId") and o["sellerOrderId"] != f["sellerOrderId"]:
            continue
        if f.get("payment") and "Other" not in f["payment"]:
            continue
        if delivery:
            _, _, ed, ld = _ship_window(o)
            if not _within(ed, delivery.get("EarliestDeliveryDateAfter"),
                           delivery.get("EarliestDeliveryDateBefore")):
                continue
            if not _within(ld, delivery.get("LatestDeliveryDateAfter"),
                           delivery.get("LatestDeliveryDateBefore")):
                continue
        rows.append((key, o["id"], o))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _within(t: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or t >= lo) and (hi is None or t <= hi)


def _page_size(value: Any, name: str) -> int | None:
    if value is None:
        return None
    n = int(value)
    if not 1 <= n <= 100:
        raise invalid(f"Invalid {name}: must be between 1 and 100.")
    return n


# v0 rendering ---------------------------------------------------------------------------


def _address_v0(o: dict[str, Any], full: bool) -> dict[str, Any]:
    b = o["buyer"]
    addr: dict[str, Any] = {"City": b["city"], "StateOrRegion": b["state"],
                            "PostalCode": b["postal"], "CountryCode": b["country"]}
    if full:
        addr = {"Name": b["name"], "AddressLine1": b["line1"],
                **({"AddressLine2": b["line2"]} if b["line2"] else {}),
                **addr, "Phone": b["phone"], "AddressType": b["addressType"]}
    return addr


def _buyer_v0(o: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"BuyerEmail": o["buyer"]["email"], "BuyerName": o["buyer"]["name"]}
    if o["business"]:
        info["PurchaseOrderNumber"] = f"PO-{o['id'][-7:]}"
    return info


def _elements(req: SimRequest) -> frozenset[str]:
    """The data elements of the call's RDT (getOrders, getOrder, getOrderItems only)."""
    return req.rdt.data_elements if req.rdt is not None else frozenset()


def _unlocked(req: SimRequest) -> bool:
    """Whether the call carries an RDT for its path: what getOrderAddress, getOrderBuyerInfo
    and getOrderItemsBuyerInfo need (they take no data elements)."""
    return req.rdt is not None


def order_v0(o: dict[str, Any], at: float, elements: frozenset[str]) -> dict[str, Any]:
    st = status_of(o, at)
    info = MARKETPLACES[o["marketplaceId"]]
    _, _, _, total = _totals(o)
    qty = sum(i["qty"] for i in o["items"])
    es, ls, ed, ld = _ship_window(o)
    out: dict[str, Any] = {
        "AmazonOrderId": o["id"],
        "SellerOrderId": o["sellerOrderId"],
        "PurchaseDate": iso(o["created"]),
        "LastUpdateDate": iso(last_update(o, at)),
        "OrderStatus": st,
        "FulfillmentChannel": o["channel"],
        "SalesChannel": info["name"],
        "ShipServiceLevel": f"{'Std' if o['serviceLevel'] == 'Standard' else 'Exp'} "
                            f"{info['countryCode']} D2D Dom",
        "NumberOfItemsShipped": qty if st == "Shipped" else 0,
        "NumberOfItemsUnshipped": qty if st in ("Pending", "Unshipped") else 0,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": o["marketplaceId"],
        "ShipmentServiceLevelCategory": o["serviceLevel"],
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(es),
        "LatestShipDate": iso(ls),
        "EarliestDeliveryDate": iso(ed),
        "LatestDeliveryDate": iso(ld),
        "IsBusinessOrder": o["business"],
        "IsPrime": o["prime"],
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "HasRegulatedItems": False,
        "AutomatedShippingSettings": {"HasAutomatedShippingSettings": False},
    }
    if st != "Canceled":
        out["OrderTotal"] = _money_v0(total, o["currency"])
    if st in ("Unshipped", "Shipped"):
        # Amazon omits the address of Pending orders; its restricted parts need an RDT.
        out["ShippingAddress"] = _address_v0(o, "shippingAddress" in elements)
    if "buyerInfo" in elements:
        out["BuyerInfo"] = _buyer_v0(o)
    return out


def _gift_v0(i: dict[str, Any]) -> dict[str, Any]:
    """An item's buyer information (restricted): the gift message and wrap of a gift item."""
    if not i["gift"]:
        return {}
    return {"GiftMessageText": "Happy birthday! Enjoy.", "GiftWrapLevel": "Classic"}


def _item_v0(o: dict[str, Any], i: dict[str, Any], at: float,
             elements: frozenset[str] = frozenset()) -> dict[str, Any]:
    st = status_of(o, at)
    cur = o["currency"]
    out: dict[str, Any] = {
        "ASIN": i["asin"],
        "SellerSKU": i["sku"],
        "OrderItemId": i["id"],
        "Title": i["title"],
        "QuantityOrdered": i["qty"],
        "QuantityShipped": i["qty"] if st == "Shipped" else 0,
        "ProductInfo": {"NumberOfItems": "1"},
        "ItemPrice": _money_v0(i["unit"] * i["qty"], cur),
        "ItemTax": _money_v0(i["tax"], cur),
        "ShippingPrice": _money_v0(i["shipping"], cur),
        "ShippingTax": _money_v0(0.0, cur),
        "ShippingDiscount": _money_v0(0.0, cur),
        "PromotionDiscount": _money_v0(0.0, cur),
        "PromotionDiscountTax": _money_v0(0.0, cur),
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsGift": "true" if i["gift"] else "false",
        "IsTransparency": False,
        "SerialNumberRequired": False,
    }
    if MARKETPLACES[o["marketplaceId"]]["countryCode"] == "US":
        out["TaxCollection"] = {"Model": "MarketplaceFacilitator",
                                "ResponsibleParty": "Amazon Services, Inc."}
    if "buyerInfo" in elements and i["gift"]:
        out["BuyerInfo"] = _gift_v0(i)
    return out


# v0 handlers ----------------------------------------------------------------------------


def get_orders(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    p = req.params
    mps = as_list(p.get("MarketplaceIds"))
    state.check_marketplaces(seller, mps, "MarketplaceIds")
    size = _page_size(p.get("MaxResultsPerPage"), "MaxResultsPerPage")
    ids = as_list(p.get("AmazonOrderIds"))
    has_token = bool(p.get("NextToken"))
    window_given = any(p.get(n) for n in ("CreatedAfter", "LastUpdatedAfter", "CreatedBefore",
                                          "LastUpdatedBefore"))
    kind, after, before = _list_window(
        state, req, ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"),
        optional_start=bool(ids) or (has_token and not window_given))
    if p.get("SellerOrderId"):
        for other in ("FulfillmentChannels", "OrderStatuses", "PaymentMethods",
                      "LastUpdatedAfter", "LastUpdatedBefore", "BuyerEmail"):
            if p.get(other):
                raise invalid(f"{other} cannot be specified together with SellerOrderId.")
    statuses = as_list(p.get("OrderStatuses"))
    for s in statuses:
        if s not in V0_STATUSES:
            raise invalid(f"Invalid OrderStatuses value {s!r}.")
    channels = as_list(p.get("FulfillmentChannels"))
    for c in channels:
        if c not in ("AFN", "MFN"):
            raise invalid(f"Invalid FulfillmentChannels value {c!r}.")
    filters = {
        "kind": kind if window_given or ids else None,
        "after": after if window_given else None,
        "before": before,
        "mps": sorted(mps) or None,
        "statuses": sorted(statuses) or None,
        "channels": sorted(channels) or None,
        "ids": sorted(ids) or None,
        "sellerOrderId": p.get("SellerOrderId"),
        "payment": sorted(as_list(p.get("PaymentMethods"))) or None,
        "email": p.get("BuyerEmail"),
        # Simulated orders are never Easy Ship, in-store pickup, store-chain or e-invoiced
        # orders, so asking for those finds nothing (as it would for such a seller).
        "none": bool(as_list(p.get("EasyShipShipmentStatuses"))
                     or as_list(p.get("ElectronicInvoiceStatuses")) or p.get("IsISPU") is True
                     or p.get("StoreChainStoreId") or p.get("ActualFulfillmentSupplySourceId"))
        or None,
        "delivery": {n: time_param(p, n) for n in (
            "EarliestDeliveryDateBefore", "EarliestDeliveryDateAfter",
            "LatestDeliveryDateBefore", "LatestDeliveryDateAfter") if p.get(n)} or None,
    }

    def compute(f: dict[str, Any], at: float) -> list[dict[str, Any]]:
        rows = _select(state, req.seller_id, f, at, kind=f.get("kind") or "created",
                       after=f.get("after", float("-inf")) if f.get("after") is not None
                       else float("-inf"), before=f.get("before"))
        if f.get("email"):
            rows = [o for o in rows if o["buyer"]["email"] == f["email"]]
        return rows

    page, token, meta = _page(state, req, param_name="NextToken", size=size, filters=filters,
                              compute=compute)
    at = meta["snapshot"]
    elements = _elements(req)
    payload: dict[str, Any] = {"Orders": [order_v0(o, at, elements) for o in page]}
    if token:
        payload["NextToken"] = token
    f = meta["filters"]
    upper = f.get("before") if f.get("before") is not None else at
    if (f.get("kind") or "created") == "created":
        payload["CreatedBefore"] = iso(upper)
    else:
        payload["LastUpdatedBefore"] = iso(upper)
    return SimResponse(200, {"payload": payload})


def get_order(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    return SimResponse(200, {"payload": order_v0(o, state.now(), _elements(req))})


def get_order_buyer_info(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    payload: dict[str, Any] = {"AmazonOrderId": o["id"]}
    if _unlocked(req):
        payload.update(_buyer_v0(o))
    return SimResponse(200, {"payload": payload})


def get_order_address(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    payload: dict[str, Any] = {"AmazonOrderId": o["id"]}
    if status_of(o, state.now()) in ("Unshipped", "Shipped"):
        payload["ShippingAddress"] = _address_v0(o, _unlocked(req))
    return SimResponse(200, {"payload": payload})


def _no_item_token(req: SimRequest) -> None:
    # Simulated orders have at most three items, so a page never overflows and no token of
    # ours can exist for these operations.
    if req.params.get("NextToken"):
        raise invalid("Invalid NextToken.", "No further pages exist for this order.")


def get_order_items(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    _no_item_token(req)
    at = state.now()
    return SimResponse(200, {"payload": {
        "AmazonOrderId": o["id"],
        "OrderItems": [_item_v0(o, i, at, _elements(req)) for i in o["items"]]}})


def get_order_items_buyer_info(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    _no_item_token(req)
    pii = _unlocked(req)
    items = []
    for i in o["items"]:
        row: dict[str, Any] = {"OrderItemId": i["id"]}
        if pii:
            row.update(_gift_v0(i))
        items.append(row)
    return SimResponse(200, {"payload": {"AmazonOrderId": o["id"], "OrderItems": items}})


def confirm_shipment(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    body = req.body if isinstance(req.body, dict) else {}
    detail = body.get("packageDetail")
    if body.get("marketplaceId") != o["marketplaceId"]:
        raise invalid("Invalid marketplaceId: it does not match the order's marketplace.")
    if not isinstance(detail, dict):
        raise invalid("packageDetail is required.")
    for field in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate",
                  "orderItems"):
        if not detail.get(field):
            raise invalid(f"packageDetail.{field} is required.")
    if o["channel"] != "MFN":
        raise invalid("Shipment confirmation is only possible for seller-fulfilled orders.")
    now = state.now()
    st = status_of(o, now)
    if st != "Unshipped":
        raise invalid(f"The order cannot be confirmed in status {st}.")
    known = {i["id"] for i in o["items"]}
    for it in detail["orderItems"]:
        if not isinstance(it, dict) or it.get("orderItemId") not in known:
            raise invalid("packageDetail.orderItems names an item that is not in the order.")
    o["shipped"] = now
    o["carrier"] = str(detail.get("carrierName") or detail["carrierCode"])
    o["tracking"] = str(detail["trackingNumber"])
    return SimResponse(204, None)


def update_shipment_status(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    body = req.body if isinstance(req.body, dict) else {}
    if body.get("marketplaceId") != o["marketplaceId"]:
        raise invalid("Invalid marketplaceId: it does not match the order's marketplace.")
    # The statuses (ReadyForPickup, PickedUp, RefusedPickup) only apply to in-store pickup
    # orders, and no simulated order is one.
    raise invalid("The shipment status can only be updated for in-store pickup (ISPU) orders.")


# 2026-01-01 -----------------------------------------------------------------------------


def order_2026(o: dict[str, Any], at: float, included: set[str]) -> dict[str, Any]:
    st = status_of(o, at)
    info = MARKETPLACES[o["marketplaceId"]]
    cur = o["currency"]
    items_total, ship, tax, total = _totals(o)
    es, ls, ed, ld = _ship_window(o)
    programs = (["PRIME"] if o["prime"] else []) + (["AMAZON_BUSINESS"] if o["business"] else [])
    out: dict[str, Any] = {
        "orderId": o["id"],
        "createdTime": iso(o["created"]),
        "lastUpdatedTime": iso(last_update(o, at)),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": o["marketplaceId"],
                         "marketplaceName": info["name"]},
    }
    if o["sellerOrderId"] != o["id"]:
        out["orderAliases"] = [{"aliasId": o["sellerOrderId"], "aliasType": "SELLER_ORDER_ID"}]
    if programs:
        out["programs"] = programs
    if "BUYER" in included:
        buyer: dict[str, Any] = {"buyerName": o["buyer"]["name"],
                                 "buyerEmail": o["buyer"]["email"]}
        if o["business"]:
            buyer["buyerPurchaseOrderNumber"] = f"PO-{o['id'][-7:]}"
        out["buyer"] = buyer
    if "RECIPIENT" in included and st in ("Unshipped", "Shipped"):
        b = o["buyer"]
        addr: dict[str, Any] = {"name": b["name"], "addressLine1": b["line1"]}
        if b["line2"]:
            addr["addressLine2"] = b["line2"]
        addr.update({"city": b["city"], "stateOrRegion": b["state"], "postalCode": b["postal"],
                     "countryCode": b["country"], "phone": b["phone"],
                     "addressType": b["addressType"].upper()})
        out["recipient"] = {"deliveryAddress": addr}
    if "PROCEEDS" in included and st != "Canceled":
        out["proceeds"] = {"grandTotal": _money_2026(total, cur), "breakdowns": [
            {"type": "ITEM", "subtotal": _money_2026(items_total, cur)},
            {"type": "SHIPPING", "subtotal": _money_2026(ship, cur)},
            {"type": "TAX", "subtotal": _money_2026(tax, cur)}]}
    if "FULFILLMENT" in included:
        out["fulfillment"] = {
            "fulfillmentStatus": TO_2026[st],
            "fulfilledBy": "AMAZON" if o["channel"] == "AFN" else "MERCHANT",
            "fulfillmentServiceLevel": o["serviceLevel"].upper(),
            "shipByWindow": {"earliestDateTime": iso(es), "latestDateTime": iso(ls)},
            "deliverByWindow": {"earliestDateTime": iso(ed), "latestDateTime": iso(ld)},
        }
    if "PACKAGES" in included and o["channel"] == "MFN" and st == "Shipped" and o["tracking"]:
        out["packages"] = [{
            "packageReferenceId": "1", "carrier": o["carrier"],
            "trackingNumber": o["tracking"], "shipTime": iso(o["shipped"]),
            "packageStatus": {"status": "SHIPPED"},
            "packageItems": [{"orderItemId": i["id"], "quantity": i["qty"]} for i in o["items"]],
        }]
    items = []
    for i in o["items"]:
        item: dict[str, Any] = {
            "orderItemId": i["id"],
            "quantityOrdered": i["qty"],
            "product": {"asin": i["asin"], "title": i["title"], "sellerSku": i["sku"],
                        "condition": {"conditionType": "New", "conditionSubtype": "New"},
                        "price": {"unitPrice": _money_2026(i["unit"], cur)}},
        }
        if "PROCEEDS" in included and st != "Canceled":
            item["proceeds"] = {
                "proceedsTotal": _money_2026(i["unit"] * i["qty"] + i["shipping"] + i["tax"],
                                             cur),
                "breakdowns": [{"type": "ITEM", "subtotal": _money_2026(i["unit"] * i["qty"],
                                                                          cur)}]}
        if "TAX" in included and info["countryCode"] == "US":
            item["tax"] = {"taxCollections": [{"model": "MarketplaceFacilitator",
                                               "responsibleParty": "Amazon Services, Inc."}]}
        if "CANCELLATION" in included and st == "Canceled":
            # illustrative values: the model leaves the vocabulary open
            item["cancellation"] = {"cancellationExecution": {"cancelledBy": "BUYER",
                                                              "cancelReason": "BUYER_CANCELED"}}
        if "FULFILLMENT" in included:
            done = i["qty"] if st == "Shipped" else 0
            item["fulfillment"] = {"quantityFulfilled": done,
                                   "quantityUnfulfilled": i["qty"] - done}
        items.append(item)
    out["orderItems"] = items
    return out


def search_orders(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    p = req.params
    mps = as_list(p.get("marketplaceIds"))
    state.check_marketplaces(seller, mps, "marketplaceIds")
    size = _page_size(p.get("maxResultsPerPage"), "maxResultsPerPage")
    has_token = bool(p.get("paginationToken"))
    window_given = any(p.get(n) for n in ("createdAfter", "createdBefore", "lastUpdatedAfter",
                                          "lastUpdatedBefore"))
    kind, after, before = _list_window(
        state, req, ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"),
        optional_start=has_token and not window_given)
    back = {v: k for k, v in TO_2026.items()}
    statuses = []
    for s in as_list(p.get("fulfillmentStatuses")):
        if s in back:
            statuses.append(back[s])
        elif s not in ("PENDING_AVAILABILITY", "UNFULFILLABLE"):
            raise invalid(f"Invalid fulfillmentStatuses value {s!r}.")
        else:
            statuses.append(s)  # valid, but no simulated order is ever in these states
    channels = []
    for c in as_list(p.get("fulfilledBy")):
        if c not in FULFILLED_BY:
            raise invalid(f"Invalid fulfilledBy value {c!r}.")
        channels.append(FULFILLED_BY[c])
    filters = {"kind": kind if window_given else None, "after": after if window_given else None,
               "before": before, "mps": sorted(mps) or None, "statuses": sorted(statuses) or None,
               "channels": sorted(channels) or None}

    def compute(f: dict[str, Any], at: float) -> list[dict[str, Any]]:
        return _select(state, req.seller_id, f, at, kind=f.get("kind") or "created",
                       after=f["after"] if f.get("after") is not None else float("-inf"),
                       before=f.get("before"))

    page, token, meta = _page(state, req, param_name="paginationToken", size=size,
                              filters=filters, compute=compute)
    at = meta["snapshot"]
    included = set(as_list(p.get("includedData")))
    body: dict[str, Any] = {"orders": [order_2026(o, at, included) for o in page]}
    if token:
        body["pagination"] = {"nextToken": token}
    f = meta["filters"]
    upper = f.get("before") if f.get("before") is not None else at
    body["createdBefore" if (f.get("kind") or "created") == "created"
         else "lastUpdatedBefore"] = iso(upper)
    return SimResponse(200, body)


def get_order_2026(state: State, req: SimRequest) -> SimResponse:
    o = _own_order(state, req)
    included = set(as_list(req.params.get("includedData")))
    return SimResponse(200, {"order": order_2026(o, state.now(), included)})


HANDLERS = {
    "orders_v0.getOrders": get_orders,
    "orders_v0.getOrder": get_order,
    "orders_v0.getOrderBuyerInfo": get_order_buyer_info,
    "orders_v0.getOrderAddress": get_order_address,
    "orders_v0.getOrderItems": get_order_items,
    "orders_v0.getOrderItemsBuyerInfo": get_order_items_buyer_info,
    "orders_v0.confirmShipment": confirm_shipment,
    "orders_v0.updateShipmentStatus": update_shipment_status,
    "orders_2026_01_01.searchOrders": search_orders,
    "orders_2026_01_01.getOrder": get_order_2026,
}
