"""Listings Items API 2021-08-01 over each seller's simulated listings, and the listing changes
``JSON_LISTINGS_FEED`` messages make.

A listing is its SKU, ASIN, product type and Amazon-style attributes (``item_name``,
``purchasable_offer``, ``fulfillment_availability``, ...). Everything the other APIs show about a
listing (report rows, summaries, offers, FBA inventory) is read from those attributes, so a PUT,
a PATCH or a feed message is visible everywhere at once.

Rules the simulation enforces (a small, documented subset of Amazon's product-type rules):

* attribute values are lists of objects (code ``4000001`` otherwise);
* a new SKU needs an ASIN it can match (``merchant_suggested_asin`` naming a catalog ASIN, or an
  ``externally_assigned_product_identifier`` UPC/EAN of one) or, for ``LISTING`` and
  ``LISTING_PRODUCT_ONLY``, an ``item_name`` (a new catalog ASIN is then created);
  ``LISTING`` and ``LISTING_OFFER_ONLY`` need ``condition_type`` (code ``90220``); a
  ``merchant_suggested_asin`` that names no catalog ASIN is refused as such (code ``8105``);
* prices in ``purchasable_offer`` must be positive numbers and MFN quantities non-negative
  integers (code ``99022``);
* patches address ``/attributes/<name>`` with ``add``, ``replace``, ``merge`` or ``delete``
  (``delete`` removes the whole attribute);
* a ``sellerId`` in the path that is not the token's seller is refused with 403 Unauthorized, and
  a SKU that does not exist gives 404 on GET and an ``INVALID`` submission on DELETE/PATCH.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse, error
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import Reject, State, as_list, invalid, time_param

INCLUDED = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability",
            "procurement", "relationships", "productTypes")


# reading a listing ----------------------------------------------------------------------


def attr_value(lst: dict[str, Any], name: str) -> str:
    for v in lst["attributes"].get(name) or []:
        if isinstance(v, dict) and v.get("value") not in (None, ""):
            return str(v["value"])
    return ""


def offers_in(lst: dict[str, Any], mp: str) -> bool:
    return any(isinstance(o, dict) and o.get("marketplace_id") in (mp, None)
               for o in lst["attributes"].get("purchasable_offer") or [])


def price_of(lst: dict[str, Any], mp: str) -> float | None:
    return gen.offer_price(lst, mp)


def channel_code(lst: dict[str, Any]) -> str:
    for v in lst["attributes"].get("fulfillment_availability") or []:
        if isinstance(v, dict) and v.get("fulfillment_channel_code"):
            return str(v["fulfillment_channel_code"])
    return "DEFAULT"


def is_afn(lst: dict[str, Any]) -> bool:
    return channel_code(lst).startswith("AMAZON")


def mfn_quantity(lst: dict[str, Any]) -> int:
    for v in lst["attributes"].get("fulfillment_availability") or []:
        if isinstance(v, dict) and v.get("fulfillment_channel_code") == "DEFAULT":
            try:
                return max(0, int(v.get("quantity") or 0))
            except (TypeError, ValueError):
                return 0
    return 0


def completeness_issues(lst: dict[str, Any]) -> list[dict[str, Any]]:
    issues = []
    if not attr_value(lst, "item_name"):
        issues.append(_issue("90220", "'[item_name]' is required but not supplied.", "item_name"))
    if lst["attributes"].get("purchasable_offer") and not attr_value(lst, "condition_type"):
        issues.append(_issue("90220", "'[condition_type]' is required but not supplied.",
                             "condition_type"))
    return issues


def listing_status(state: State, seller_id: str, lst: dict[str, Any], mp: str) -> list[str]:
    if completeness_issues(lst):
        return []
    status = ["DISCOVERABLE"]
    price = price_of(lst, mp)
    if is_afn(lst):
        from sellerkit.emulator.simulation import inventory

        available = inventory.quantities(state, seller_id, lst, state.now())["fulfillable"]
    else:
        available = mfn_quantity(lst)
    if price is not None and price > 0 and available > 0:
        status.insert(0, "BUYABLE")
    return status


def _issue(code: str, message: str, attribute: str | None = None,
           severity: str = "ERROR") -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message, "severity": severity,
                           "categories": ["INVALID_ATTRIBUTE"] if attribute else []}
    if attribute:
        out["attributeNames"] = [attribute]
    return out


def item_view(state: State, seller_id: str, lst: dict[str, Any], mps: list[str],
              included: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"sku": lst["sku"]}
    inc = set(included or ["summaries"])
    product = state.d["catalog"].get(lst["asin"], {})
    if "summaries" in inc:
        summaries = []
        for mp in mps:
            s: dict[str, Any] = {
                "marketplaceId": mp, "asin": lst["asin"], "productType": lst["productType"],
                "conditionType": attr_value(lst, "condition_type") or "new_new",
                "status": listing_status(state, seller_id, lst, mp),
                "itemName": attr_value(lst, "item_name"),
                "createdDate": gen.iso(lst["created"]),
                "lastUpdatedDate": gen.iso(lst["updated"]),
            }
            if s["conditionType"] not in _CONDITIONS:
                s["conditionType"] = "new_new"
            if lst.get("fnsku"):
                s["fnSku"] = lst["fnsku"]
            if product.get("image"):
                s["mainImage"] = {"link": product["image"], "height": 500, "width": 500}
            summaries.append(s)
        out["summaries"] = summaries
    if "attributes" in inc:
        out["attributes"] = copy.deepcopy(lst["attributes"])
    if "issues" in inc:
        out["issues"] = completeness_issues(lst)
    if "offers" in inc:
        offers = []
        for mp in mps:
            price = price_of(lst, mp)
            if price is not None:
                cur = gen.MARKETPLACES[mp]["currency"]
                offers.append({"marketplaceId": mp, "offerType": "B2C",
                               "price": {"currencyCode": cur, "amount": gen.money(price, cur)}})
        out["offers"] = offers
    if "fulfillmentAvailability" in inc:
        if is_afn(lst):
            from sellerkit.emulator.simulation import inventory

            q = inventory.quantities(state, seller_id, lst, state.now())["fulfillable"]
        else:
            q = mfn_quantity(lst)
        out["fulfillmentAvailability"] = [{"fulfillmentChannelCode": channel_code(lst),
                                           "quantity": q}]
    if "productTypes" in inc:
        out["productTypes"] = [{"marketplaceId": mp, "productType": lst["productType"]}
                               for mp in mps]
    if "relationships" in inc:
        out["relationships"] = [{"marketplaceId": mp, "relationships": []} for mp in mps]
    if "procurement" in inc:
        out["procurement"] = []
    return out


_CONDITIONS = ("new_new", "new_open_box", "new_oem", "refurbished_refurbished",
               "used_like_new", "used_very_good", "used_good", "used_acceptable",
               "collectible_like_new", "collectible_very_good", "collectible_good",
               "collectible_acceptable", "club_club")


# changing a listing ---------------------------------------------------------------------


def _check_attributes(attrs: Any) -> list[dict[str, Any]]:
    if not isinstance(attrs, dict):
        return [_issue("4000001", "attributes must be an object.")]
    issues = []
    for name, values in attrs.items():
        if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
            issues.append(_issue("4000001", f"The value of '{name}' must be a list of objects.",
                                 name))
    for offer in attrs.get("purchasable_offer") or []:
        if not isinstance(offer, dict):
            continue
        try:
            price = float(offer["our_price"][0]["schedule"][0]["value_with_tax"])
            ok = price > 0
        except (KeyError, IndexError, TypeError, ValueError):
            ok = False
        if not ok:
            issues.append(_issue(
                "99022", "The field 'value_with_tax' for the attribute "
                "'purchasable_offer.our_price' must be a positive number.",
                "purchasable_offer"))
    for fa in attrs.get("fulfillment_availability") or []:
        if not isinstance(fa, dict):
            continue
        if not fa.get("fulfillment_channel_code"):
            issues.append(_issue("99022", "'fulfillment_channel_code' is required in "
                                 "'fulfillment_availability'.", "fulfillment_availability"))
        elif fa["fulfillment_channel_code"] == "DEFAULT":
            q = fa.get("quantity")
            if not isinstance(q, int) or isinstance(q, bool) or q < 0:
                issues.append(_issue("99022", "'quantity' in 'fulfillment_availability' must "
                                     "be a non-negative integer.", "fulfillment_availability"))
    return issues


def _resolve_asin(state: State, attrs: dict[str, Any]) -> str | None:
    catalog = state.d["catalog"]
    for v in attrs.get("merchant_suggested_asin") or []:
        if isinstance(v, dict) and v.get("value") in catalog:
            return str(v["value"])
    for v in attrs.get("externally_assigned_product_identifier") or []:
        if isinstance(v, dict):
            code = str(v.get("value", "")).lstrip("0")
            for asin, p in catalog.items():
                if p["upc"].lstrip("0") == code and code:
                    return asin
    return None


def _merge(old: list[Any], new: list[Any]) -> list[Any]:
    out = list(old)
    for v in new:
        key = (v.get("marketplace_id"), v.get("language_tag")) if isinstance(v, dict) else None
        for i, o in enumerate(out):
            if isinstance(o, dict) and (o.get("marketplace_id"), o.get("language_tag")) == key:
                out[i] = {**o, **v}
                break
        else:
            out.append(v)
    return out


def apply_patches(attrs: dict[str, Any], patches: Any) -> list[dict[str, Any]]:
    """Apply JSON-Patch-like operations to ``attrs`` in place; returns issues (nothing is
    applied by the caller if there are any)."""
    if not isinstance(patches, list) or not patches:
        return [_issue("4000001", "patches must be a non-empty list.")]
    issues: list[dict[str, Any]] = []
    for patch in patches:
        if not isinstance(patch, dict):
            issues.append(_issue("4000001", "Each patch must be an object."))
            continue
        op, path = patch.get("op"), str(patch.get("path", ""))
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "" or parts[1] != "attributes" or not parts[2]:
            issues.append(_issue("4000001", f"Unsupported patch path {path!r}; use "
                                 "/attributes/<attribute name>."))
            continue
        name = parts[2]
        if op == "delete":
            attrs.pop(name, None)
            continue
        if op not in ("add", "replace", "merge"):
            issues.append(_issue("4000001", f"Unsupported patch op {op!r}.", name))
            continue
        value = patch.get("value")
        bad = _check_attributes({name: value})
        if bad or not isinstance(value, list):
            issues.extend(bad)
            continue
        attrs[name] = _merge(attrs.get(name) or [], value) if op == "merge" else value
    return issues


def submit(state: State, seller_id: str, sku: str, *, operation: str, product_type: Any,
           attributes: Any = None, patches: Any = None, requirements: str | None = None,
           apply: bool = True) -> tuple[str, list[dict[str, Any]], str | None]:
    """One listing change: ``operation`` is UPDATE (full replace), PARTIAL_UPDATE, PATCH or
    DELETE. Returns (status ACCEPTED | VALID | INVALID, issues, asin)."""
    store = state.d["listings"].setdefault(seller_id, {})
    existing = store.get(sku)
    now = state.now()
    if operation == "DELETE":
        if existing is None:
            return "INVALID", [_issue("4000002", f"SKU '{sku}' does not exist.")], None
        if apply:
            del store[sku]
        return ("ACCEPTED" if apply else "VALID"), [], existing["asin"]
    if not isinstance(product_type, str) or not product_type:
        return "INVALID", [_issue("4000001", "productType is required.")], None
    if operation in ("PARTIAL_UPDATE", "PATCH") and existing is None:
        return "INVALID", [_issue("4000002", f"SKU '{sku}' does not exist; "
                                  f"{operation} needs an existing listing.")], None
    if operation == "PATCH":
        attrs = copy.deepcopy(existing["attributes"]) if existing else {}
        issues = apply_patches(attrs, patches)
    else:
        issues = _check_attributes(attributes)
        if issues:
            return "INVALID", issues, None
        if operation == "PARTIAL_UPDATE":
            attrs = {**copy.deepcopy(existing["attributes"]), **copy.deepcopy(attributes)}
        else:
            attrs = copy.deepcopy(attributes)
    if issues:
        return "INVALID", issues, None
    requirements = requirements or "LISTING"
    suggested = [v.get("value") for v in attrs.get("merchant_suggested_asin") or []
                 if isinstance(v, dict) and v.get("value") not in (None, "")]
    unknown = [str(v) for v in suggested if v not in state.d["catalog"]]
    if suggested and len(unknown) == len(suggested):
        # the ASIN names a product Amazon does not have: say so, rather than that some other
        # attribute is missing
        return "INVALID", [_issue(
            "8105", f"The ASIN {unknown[0][:40]!r} in 'merchant_suggested_asin' is not in the "
            "Amazon catalog. Supply the ASIN of an existing product (searchCatalogItems finds "
            "one), or leave merchant_suggested_asin out and supply item_name to create a new "
            "product.", "merchant_suggested_asin")], None
    asin = existing["asin"] if existing else None
    asin = _resolve_asin(state, attrs) or asin
    missing = []
    if asin is None:
        if requirements == "LISTING_OFFER_ONLY":
            missing.append("merchant_suggested_asin")
        elif not _first_value(attrs, "item_name"):
            missing.append("item_name")
    if requirements in ("LISTING", "LISTING_OFFER_ONLY") and not _first_value(
            attrs, "condition_type"):
        missing.append("condition_type")
    if missing:
        return "INVALID", [_issue("90220", f"'[{m}]' is required but not supplied.", m)
                           for m in missing], None
    if not apply:
        return "VALID", [], asin
    if asin is None:
        product = gen.new_product(state.rng("newAsin"), _first_value(attrs, "item_name"),
                                  _first_value(attrs, "brand"), product_type,
                                  datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d"))
        while product["asin"] in state.d["catalog"]:
            product = gen.new_product(state.rng("newAsin"), product["title"], product["brand"],
                                      product_type, product["releaseDate"])
        state.d["catalog"][product["asin"]] = product
        asin = product["asin"]
    rec = existing or {
        "sku": sku, "listingId": f"{state.rng('listingId').randrange(1000, 1299)}"
                                 f"{state.rng('listingId').randrange(10**6, 10**7)}X",
        "created": now, "fnsku": None,
    }
    rec.update({"asin": asin, "productType": product_type, "attributes": attrs, "updated": now})
    if is_afn(rec) and not rec.get("fnsku"):
        rec["fnsku"] = "X00" + f"{state.rng('fnsku').getrandbits(32):08X}"[:7]
    if is_afn(rec) and "inventory" not in rec:
        rec["inventory"] = {"fulfillable": 0, "inboundWorking": 0, "inboundShipped": 0,
                            "inboundReceiving": 0, "fcProcessing": 0, "transshipment": 0,
                            "researching": 0, "customerDamaged": 0, "warehouseDamaged": 0,
                            "defective": 0, "updated": now}
    store[sku] = rec
    return "ACCEPTED", [], asin


def _first_value(attrs: dict[str, Any], name: str) -> str:
    return attr_value({"attributes": attrs}, name)


# API ------------------------------------------------------------------------------------


def _path_seller(state: State, req: SimRequest) -> dict[str, Any]:
    seller = state.seller(req)
    if req.params.get("sellerId") != req.seller_id:
        raise Reject(error(403, "Unauthorized", "Access to requested resource is denied.",
                           "The sellerId in the path is not the selling partner of this token."))
    return seller


def _mps(state: State, seller: dict[str, Any], req: SimRequest) -> list[str]:
    mps = as_list(req.params.get("marketplaceIds"))
    if not mps:
        raise invalid("marketplaceIds is required.")
    state.check_marketplaces(seller, mps, "marketplaceIds")
    return mps


def get_listings_item(state: State, req: SimRequest) -> SimResponse:
    seller = _path_seller(state, req)
    mps = _mps(state, seller, req)
    sku = str(req.params.get("sku", ""))
    lst = state.d["listings"].get(req.seller_id, {}).get(sku)
    if lst is None:
        return error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {mps[0]}.")
    return SimResponse(200, item_view(state, req.seller_id, lst, mps,
                                      as_list(req.params.get("includedData"))))


def _submission(state: State, req: SimRequest, operation: str) -> SimResponse:
    seller = _path_seller(state, req)
    mps = _mps(state, seller, req)
    sku = str(req.params.get("sku", ""))
    body = req.body if isinstance(req.body, dict) else {}
    preview = req.params.get("mode") == "VALIDATION_PREVIEW"
    status, issues, asin = submit(
        state, req.seller_id, sku, operation=operation, product_type=body.get("productType"),
        attributes=body.get("attributes"), patches=body.get("patches"),
        requirements=body.get("requirements"), apply=not preview)
    rng = state.rng("submission")
    out: dict[str, Any] = {"sku": sku, "status": status,
                           "submissionId": f"{rng.getrandbits(128):032x}", "issues": issues}
    if asin:
        out["identifiers"] = [{"marketplaceId": mp, "asin": asin} for mp in mps]
    return SimResponse(200, out)


def put_listings_item(state: State, req: SimRequest) -> SimResponse:
    return _submission(state, req, "UPDATE")


def patch_listings_item(state: State, req: SimRequest) -> SimResponse:
    return _submission(state, req, "PATCH")


def delete_listings_item(state: State, req: SimRequest) -> SimResponse:
    return _submission(state, req, "DELETE")


def search_listings_items(state: State, req: SimRequest) -> SimResponse:
    seller = _path_seller(state, req)
    mps = _mps(state, seller, req)
    p = req.params
    size = int(p.get("pageSize") or 10)
    if not 1 <= size <= 20:
        raise invalid("pageSize must be between 1 and 20.")
    ids = as_list(p.get("identifiers"))
    id_type = p.get("identifiersType")
    if ids and not id_type:
        raise invalid("identifiersType is required when identifiers are provided.")
    filters = {k: p.get(k) for k in ("identifiers", "identifiersType", "createdAfter",
                                     "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore",
                                     "withStatus", "withoutStatus", "withIssueSeverity",
                                     "sortBy", "sortOrder", "marketplaceIds")}
    bounds = {k: time_param(p, k) for k in ("createdAfter", "createdBefore", "lastUpdatedAfter",
                                            "lastUpdatedBefore")}
    with_status = set(as_list(p.get("withStatus")))
    without_status = set(as_list(p.get("withoutStatus")))
    severities = set(as_list(p.get("withIssueSeverity")))
    rows = []
    for lst in state.d["listings"].get(req.seller_id, {}).values():
        if ids:
            value = {"SKU": lst["sku"], "ASIN": lst["asin"], "FNSKU": lst.get("fnsku"),
                     "UPC": state.d["catalog"].get(lst["asin"], {}).get("upc"),
                     "GTIN": state.d["catalog"].get(lst["asin"], {}).get("upc")}.get(
                         str(id_type))
            if value not in ids:
                continue
        if bounds["createdAfter"] is not None and lst["created"] < bounds["createdAfter"]:
            continue
        if bounds["createdBefore"] is not None and lst["created"] > bounds["createdBefore"]:
            continue
        if bounds["lastUpdatedAfter"] is not None and lst["updated"] < bounds["lastUpdatedAfter"]:
            continue
        if (bounds["lastUpdatedBefore"] is not None
                and lst["updated"] > bounds["lastUpdatedBefore"]):
            continue
        status = set(listing_status(state, req.seller_id, lst, mps[0]))
        if with_status and not with_status & status:
            continue
        if without_status & status:
            continue
        if severities and not {i["severity"] for i in completeness_issues(lst)} & severities:
            continue
        rows.append(lst)
    sort_by = p.get("sortBy") or "lastUpdatedDate"
    key = {"sku": lambda x: (x["sku"],), "createdDate": lambda x: (x["created"], x["sku"]),
           "lastUpdatedDate": lambda x: (x["updated"], x["sku"])}.get(str(sort_by))
    if key is None:
        raise invalid(f"Invalid sortBy {sort_by!r}.")
    rows.sort(key=key, reverse=(p.get("sortOrder") or "DESC") == "DESC")
    h = state.filter_hash(filters)
    offset = 0
    if p.get("pageToken"):
        t = state.unsign(str(p["pageToken"]), "pageToken")
        if t.get("op") != req.operation.key or t.get("s") != req.seller_id or t.get("h") != h:
            raise invalid("Invalid pageToken: the request parameters differ from the request "
                          "that returned this token.")
        offset = int(t["o"])
    page = rows[offset:offset + size]
    body: dict[str, Any] = {"numberOfResults": len(rows), "items": [
        item_view(state, req.seller_id, lst, mps, as_list(p.get("includedData")))
        for lst in page]}
    pagination: dict[str, str] = {}
    if offset + size < len(rows):
        pagination["nextToken"] = state.sign({"op": req.operation.key, "s": req.seller_id,
                                              "h": h, "o": offset + size})
    if offset > 0:
        pagination["previousToken"] = state.sign({"op": req.operation.key, "s": req.seller_id,
                                                  "h": h, "o": max(0, offset - size)})
    if pagination:
        body["pagination"] = pagination
    return SimResponse(200, body)


HANDLERS = {
    "listings_items_2021_08_01.getListingsItem": get_listings_item,
    "listings_items_2021_08_01.putListingsItem": put_listings_item,
    "listings_items_2021_08_01.patchListingsItem": patch_listings_item,
    "listings_items_2021_08_01.deleteListingsItem": delete_listings_item,
    "listings_items_2021_08_01.searchListingsItems": search_listings_items,
}
