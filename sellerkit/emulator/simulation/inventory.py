"""FBA Inventory API v1 ``getInventorySummaries`` over the seller's Amazon-fulfilled listings.

Quantities are seeded per SKU (one pool per seller, as North American FBA inventory is pooled);
``pendingCustomerOrderQuantity`` is live: the units of the seller's AFN orders that are Pending or
Unshipped at the time asked, taken out of the fulfillable count, so inventory moves with the
orders. The same numbers feed the ``GET_FBA_MYI_*`` reports.
"""

from __future__ import annotations

from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import State, as_list, invalid, status_of, time_param

PAGE_SIZE = 50


def quantities(state: State, seller_id: str, lst: dict[str, Any], at: float) -> dict[str, int]:
    inv = lst.get("inventory") or {}
    pending = 0
    for o in state.d["orders"].get(seller_id, []):
        if o["channel"] != "AFN" or o["created"] > at:
            continue
        if status_of(o, at) in ("Pending", "Unshipped"):
            pending += sum(i["qty"] for i in o["items"] if i["sku"] == lst["sku"])
    base = int(inv.get("fulfillable", 0))
    pending = min(pending, base)
    unsellable = sum(int(inv.get(k, 0)) for k in ("customerDamaged", "warehouseDamaged",
                                                  "defective"))
    reserved = pending + int(inv.get("fcProcessing", 0)) + int(inv.get("transshipment", 0))
    fulfillable = base - pending
    inbound = sum(int(inv.get(k, 0)) for k in ("inboundWorking", "inboundShipped",
                                               "inboundReceiving"))
    warehouse = fulfillable + unsellable + reserved
    return {
        "fulfillable": fulfillable, "pendingCustomerOrder": pending,
        "fcProcessing": int(inv.get("fcProcessing", 0)),
        "transshipment": int(inv.get("transshipment", 0)), "reserved": reserved,
        "unsellable": unsellable, "researching": int(inv.get("researching", 0)),
        "inboundWorking": int(inv.get("inboundWorking", 0)),
        "inboundShipped": int(inv.get("inboundShipped", 0)),
        "inboundReceiving": int(inv.get("inboundReceiving", 0)),
        "customerDamaged": int(inv.get("customerDamaged", 0)),
        "warehouseDamaged": int(inv.get("warehouseDamaged", 0)),
        "defective": int(inv.get("defective", 0)),
        "warehouse": warehouse, "total": warehouse + inbound + int(inv.get("researching", 0)),
    }


def _summary(state: State, seller_id: str, lst: dict[str, Any], details: bool, at: float
             ) -> dict[str, Any]:
    from sellerkit.emulator.simulation import listings as li

    q = quantities(state, seller_id, lst, at)
    inv = lst.get("inventory") or {}
    out: dict[str, Any] = {
        "asin": lst["asin"], "fnSku": lst["fnsku"], "sellerSku": lst["sku"],
        "condition": "NewItem", "lastUpdatedTime": gen.iso(max(float(inv.get("updated", 0)),
                                                               lst["updated"])),
        "productName": li.attr_value(lst, "item_name"), "totalQuantity": q["total"],
    }
    if details:
        out["inventoryDetails"] = {
            "fulfillableQuantity": q["fulfillable"],
            "inboundWorkingQuantity": q["inboundWorking"],
            "inboundShippedQuantity": q["inboundShipped"],
            "inboundReceivingQuantity": q["inboundReceiving"],
            "reservedQuantity": {"totalReservedQuantity": q["reserved"],
                                 "pendingCustomerOrderQuantity": q["pendingCustomerOrder"],
                                 "pendingTransshipmentQuantity": q["transshipment"],
                                 "fcProcessingQuantity": q["fcProcessing"]},
            "researchingQuantity": {"totalResearchingQuantity": q["researching"],
                                    "researchingQuantityBreakdown": []},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": q["unsellable"],
                                      "customerDamagedQuantity": q["customerDamaged"],
                                      "warehouseDamagedQuantity": q["warehouseDamaged"],
                                      "distributorDamagedQuantity": 0,
                                      "carrierDamagedQuantity": 0,
                                      "defectiveQuantity": q["defective"],
                                      "expiredQuantity": 0},
        }
    return out


def get_inventory_summaries(state: State, req: SimRequest) -> SimResponse:
    from sellerkit.emulator.simulation import listings as li

    seller = state.seller(req)
    p = req.params
    if p.get("granularityType") != "Marketplace":
        raise invalid("granularityType must be Marketplace.")
    gid = str(p.get("granularityId") or "")
    mps = as_list(p.get("marketplaceIds"))
    state.check_marketplaces(seller, [gid], "granularityId")
    state.check_marketplaces(seller, mps, "marketplaceIds")
    if mps and gid not in mps:
        raise invalid("granularityId must be one of marketplaceIds.")
    skus = as_list(p.get("sellerSkus"))
    if p.get("sellerSku"):
        skus.append(str(p["sellerSku"]))
    start = time_param(p, "startDateTime")
    if start is not None and skus:
        raise invalid("sellerSkus cannot be combined with startDateTime.")
    details = bool(p.get("details"))
    rows = []
    for sku in sorted(state.d["listings"].get(req.seller_id, {})):
        lst = state.d["listings"][req.seller_id][sku]
        if not li.is_afn(lst) or not li.offers_in(lst, gid):
            continue
        if skus and sku not in skus:
            continue
        if start is not None and max(float((lst.get("inventory") or {}).get("updated", 0)),
                                     lst["updated"]) < start:
            continue
        rows.append(lst)
    filters = {"g": gid, "skus": sorted(skus), "start": start, "details": details}
    offset = 0
    if p.get("nextToken"):
        t = state.unsign(str(p["nextToken"]), "nextToken")
        if t.get("op") != req.operation.key or t.get("s") != req.seller_id or (
                t.get("h") != state.filter_hash(filters)):
            raise invalid("Invalid nextToken: the request parameters differ from the request "
                          "that returned this token.")
        offset = int(t["o"])
    at = state.now()
    page = rows[offset:offset + PAGE_SIZE]
    body: dict[str, Any] = {"payload": {
        "granularity": {"granularityType": "Marketplace", "granularityId": gid},
        "inventorySummaries": [_summary(state, req.seller_id, lst, details, at)
                               for lst in page]}}
    if offset + PAGE_SIZE < len(rows):
        body["pagination"] = {"nextToken": state.sign({
            "op": req.operation.key, "s": req.seller_id, "h": state.filter_hash(filters),
            "o": offset + PAGE_SIZE})}
    return SimResponse(200, body)


HANDLERS = {"fba_inventory_v1.getInventorySummaries": get_inventory_summaries}
