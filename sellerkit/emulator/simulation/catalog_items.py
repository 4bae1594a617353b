"""Catalog Items API 2022-04-01 over the simulated catalog (shared by all sellers, offered in
every marketplace).

``searchCatalogItems`` takes either ``keywords`` (every word must appear in the title, brand or
product type; optional ``brandNames`` and ``classificationIds`` narrow it; paged with
``pageToken``) or ``identifiers`` with ``identifiersType`` (ASIN, UPC/EAN/GTIN, or SKU together
with ``sellerId``), never both, as at Amazon. ``getCatalogItem`` answers 404 for an unknown ASIN.
"""

from __future__ import annotations

from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse, error
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import State, as_list, invalid

DEFAULT_INCLUDED = ["summaries"]


def _check_mps(req: SimRequest) -> list[str]:
    mps = as_list(req.params.get("marketplaceIds"))
    if not mps:
        raise invalid("marketplaceIds is required.")
    for mp in mps:
        if mp not in gen.MARKETPLACES:
            raise invalid(f"Invalid marketplaceIds: {mp!r} is not a valid marketplace id.")
    return mps


def _classification(p: dict[str, Any]) -> dict[str, Any]:
    name = p["productType"].replace("_", " ").title()
    return {"displayName": name, "classificationId": p["browseNode"]}


def item_view(p: dict[str, Any], mps: list[str], included: list[str]) -> dict[str, Any]:
    inc = set(included or DEFAULT_INCLUDED)
    out: dict[str, Any] = {"asin": p["asin"]}
    if "summaries" in inc:
        out["summaries"] = [{
            "marketplaceId": mp, "brand": p["brand"], "itemName": p["title"],
            "itemClassification": "BASE_PRODUCT", "manufacturer": p["brand"],
            **({"color": p["color"]} if p["color"] else {}),
            **({"modelNumber": p["model"], "partNumber": p["model"]} if p["model"] else {}),
            "packageQuantity": 1, "releaseDate": p["releaseDate"],
            "websiteDisplayGroup": p["displayGroup"],
            "browseClassification": _classification(p),
            "adultProduct": False, "autographed": False, "memorabilia": False,
            "tradeInEligible": False,
        } for mp in mps]
    if "attributes" in inc:
        mp = mps[0]
        lang = gen.MARKETPLACES[mp]["language"]
        out["attributes"] = {
            "item_name": [{"value": p["title"], "language_tag": lang, "marketplace_id": mp}],
            "brand": [{"value": p["brand"], "language_tag": lang, "marketplace_id": mp}],
            "item_weight": [{"value": p["weight"], "unit": "pounds", "marketplace_id": mp}],
        }
        if p["listPrice"]:
            cur = gen.MARKETPLACES[mp]["currency"]
            out["attributes"]["list_price"] = [{
                "value": round(p["listPrice"] * gen.MARKETPLACES[mp]["fx"], 2),
                "currency": cur, "marketplace_id": mp}]
    if "identifiers" in inc:
        out["identifiers"] = [{"marketplaceId": mp, "identifiers": [
            {"identifierType": "UPC", "identifier": p["upc"]},
            {"identifierType": "EAN", "identifier": "0" + p["upc"]}]} for mp in mps]
    if "images" in inc:
        out["images"] = [{"marketplaceId": mp, "images": [
            {"variant": "MAIN", "link": p["image"], "height": 500, "width": 500}]}
            for mp in mps]
    if "productTypes" in inc:
        out["productTypes"] = [{"marketplaceId": mp, "productType": p["productType"]}
                               for mp in mps]
    if "salesRanks" in inc:
        out["salesRanks"] = [{"marketplaceId": mp, "displayGroupRanks": [
            {"websiteDisplayGroup": p["displayGroup"], "title": p["productType"].title(),
             "rank": p["rank"]}]} for mp in mps]
    if "dimensions" in inc:
        out["dimensions"] = [{"marketplaceId": mp, "package": {
            "weight": {"unit": "pounds", "value": p["weight"]}}} for mp in mps]
    if "classifications" in inc:
        out["classifications"] = [{"marketplaceId": mp, "classifications": [_classification(p)]}
                                  for mp in mps]
    if "relationships" in inc:
        out["relationships"] = [{"marketplaceId": mp, "relationships": []} for mp in mps]
    if "vendorDetails" in inc:
        out["vendorDetails"] = [{"marketplaceId": mp} for mp in mps]
    return out


def get_catalog_item(state: State, req: SimRequest) -> SimResponse:
    mps = _check_mps(req)
    asin = str(req.params.get("asin", ""))
    p = state.d["catalog"].get(asin)
    if p is None:
        return error(404, "NOT_FOUND", f"Requested item '{asin}' not found.")
    return SimResponse(200, item_view(p, mps, as_list(req.params.get("includedData"))))


def search_catalog_items(state: State, req: SimRequest) -> SimResponse:
    mps = _check_mps(req)
    p = req.params
    keywords = [k.lower() for k in as_list(p.get("keywords"))]
    ids = as_list(p.get("identifiers"))
    if keywords and ids:
        raise invalid("Cannot use 'keywords' and 'identifiers' in the same request.")
    if not keywords and not ids:
        raise invalid("Either 'keywords' or 'identifiers' is required.")
    size = int(p.get("pageSize") or 10)
    if not 1 <= size <= 20:
        raise invalid("pageSize must be between 1 and 20.")
    catalog = state.d["catalog"]
    if ids:
        id_type = p.get("identifiersType")
        if not id_type:
            raise invalid("identifiersType is required when identifiers are provided.")
        if p.get("pageToken"):
            raise invalid("pageToken is only supported for keyword searches.")
        if id_type == "SKU":
            seller_id = p.get("sellerId")
            if not seller_id:
                raise invalid("sellerId is required when identifiersType is SKU.")
            if seller_id != req.seller_id:
                raise invalid("sellerId must be the selling partner of the access token.")
            listings = state.d["listings"].get(str(seller_id), {})
            asins = [listings[s]["asin"] for s in ids if s in listings]
        elif id_type == "ASIN":
            asins = [a for a in ids if a in catalog]
        elif id_type in ("UPC", "EAN", "GTIN"):
            wanted = {str(i).lstrip("0") for i in ids}
            asins = [a for a, prod in catalog.items() if prod["upc"].lstrip("0") in wanted]
        else:
            asins = []
        rows = [catalog[a] for a in dict.fromkeys(asins) if a in catalog]
        return SimResponse(200, {"numberOfResults": len(rows), "items": [
            item_view(r, mps, as_list(p.get("includedData"))) for r in rows[:size]]})
    brands = set(as_list(p.get("brandNames")))
    classes = set(as_list(p.get("classificationIds")))
    matches = []
    for asin in sorted(catalog):
        prod = catalog[asin]
        hay = f"{prod['title']} {prod['brand']} {prod['productType']}".lower()
        if not all(k in hay for k in keywords):
            continue
        if brands and prod["brand"] not in brands:
            continue
        if classes and prod["browseNode"] not in classes:
            continue
        matches.append(prod)
    matches.sort(key=lambda x: (x["rank"], x["asin"]))
    filters = {"k": keywords, "b": sorted(brands), "c": sorted(classes), "m": mps}
    h = state.filter_hash(filters)
    offset = 0
    if p.get("pageToken"):
        t = state.unsign(str(p["pageToken"]), "pageToken")
        if t.get("op") != req.operation.key or t.get("h") != h:
            raise invalid("Invalid pageToken: the request parameters differ from the request "
                          "that returned this token.")
        offset = int(t["o"])
    body: dict[str, Any] = {"numberOfResults": len(matches), "items": [
        item_view(r, mps, as_list(p.get("includedData")))
        for r in matches[offset:offset + size]]}
    pagination: dict[str, str] = {}
    if offset + size < len(matches):
        pagination["nextToken"] = state.sign({"op": req.operation.key, "h": h,
                                              "o": offset + size})
    if offset > 0:
        pagination["previousToken"] = state.sign({"op": req.operation.key, "h": h,
                                                  "o": max(0, offset - size)})
    if pagination:
        body["pagination"] = pagination
    brand_counts: dict[str, int] = {}
    class_counts: dict[str, tuple[str, int]] = {}
    for prod in matches:
        brand_counts[prod["brand"]] = brand_counts.get(prod["brand"], 0) + 1
        c = _classification(prod)
        n = class_counts.get(c["classificationId"], (c["displayName"], 0))[1]
        class_counts[c["classificationId"]] = (c["displayName"], n + 1)
    body["refinements"] = {
        "brands": [{"brandName": b, "numberOfResults": n} for b, n in sorted(brand_counts.items())],
        "classifications": [{"classificationId": cid, "displayName": name, "numberOfResults": n}
                            for cid, (name, n) in sorted(class_counts.items())],
    }
    return SimResponse(200, body)


HANDLERS = {
    "catalog_items_2022_04_01.getCatalogItem": get_catalog_item,
    "catalog_items_2022_04_01.searchCatalogItems": search_catalog_items,
}
