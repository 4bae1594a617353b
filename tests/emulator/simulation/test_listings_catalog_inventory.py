"""Listings Items 2021-08-01, Catalog Items 2022-04-01 and FBA inventory in the simulation."""

from __future__ import annotations

from typing import Any

from .conftest import CA, US

LI = "listings_items_2021_08_01"


def offer(price: float) -> list[dict[str, Any]]:
    return [{"marketplace_id": US, "currency": "USD",
             "our_price": [{"schedule": [{"value_with_tax": price}]}]}]


def test_get_listing_blocks_and_errors(call: Any, sim: Any) -> None:
    seller = sim.seller_ids[0]
    sku = sorted(sim._state.d["listings"][seller])[0]
    r = call(f"{LI}.getListingsItem", sellerId=seller, sku=sku, marketplaceIds=[US])
    assert r.status == 200 and set(r.body) == {"sku", "summaries"}
    s = r.body["summaries"][0]
    assert s["marketplaceId"] == US and s["itemName"] and s["asin"]
    everything = call(f"{LI}.getListingsItem", sellerId=seller, sku=sku, marketplaceIds=[US, CA],
                      includedData=["summaries", "attributes", "issues", "offers",
                                    "fulfillmentAvailability", "productTypes"]).body
    assert {o["price"]["currencyCode"] for o in everything["offers"]} == {"USD", "CAD"}
    assert everything["attributes"]["item_name"][0]["value"] == s["itemName"]
    assert call(f"{LI}.getListingsItem", sellerId=seller, sku="NOPE",
                marketplaceIds=[US]).status == 404
    denied = call(f"{LI}.getListingsItem", sellerId=sim.seller_ids[1], sku=sku,
                  marketplaceIds=[US])
    assert denied.status == 403 and denied.body["errors"][0]["code"] == "Unauthorized"


def test_put_patch_delete(call: Any, sim: Any) -> None:
    seller = sim.seller_ids[0]
    attrs = {"item_name": [{"value": "Sim Test Kettle", "marketplace_id": US}],
             "brand": [{"value": "Simbrand", "marketplace_id": US}],
             "condition_type": [{"value": "new_new", "marketplace_id": US}],
             "purchasable_offer": offer(30.0),
             "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT",
                                           "quantity": 5}]}
    preview = call(f"{LI}.putListingsItem", sellerId=seller, sku="KETTLE-1",
                   marketplaceIds=[US], mode="VALIDATION_PREVIEW",
                   body={"productType": "KITCHEN", "attributes": attrs})
    assert preview.body["status"] == "VALID"
    assert "KETTLE-1" not in sim._state.d["listings"][seller]
    put = call(f"{LI}.putListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US],
               body={"productType": "KITCHEN", "attributes": attrs})
    assert put.body["status"] == "ACCEPTED" and put.body["submissionId"]
    asin = put.body["identifiers"][0]["asin"]
    # a product Amazon did not know gets a new catalog entry
    item = call("catalog_items_2022_04_01.getCatalogItem", asin=asin, marketplaceIds=[US]).body
    assert item["summaries"][0]["itemName"] == "Sim Test Kettle"
    got = call(f"{LI}.getListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US],
               includedData=["summaries", "offers"]).body
    assert got["summaries"][0]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert got["offers"][0]["price"]["amount"] == "30.00"

    patched = call(f"{LI}.patchListingsItem", sellerId=seller, sku="KETTLE-1",
                   marketplaceIds=[US], body={"productType": "KITCHEN", "patches": [
                       {"op": "replace", "path": "/attributes/purchasable_offer",
                        "value": offer(24.5)},
                       {"op": "replace", "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}]})
    assert patched.body["status"] == "ACCEPTED"
    got = call(f"{LI}.getListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US],
               includedData=["summaries", "offers"]).body
    assert got["offers"][0]["price"]["amount"] == "24.50"
    assert got["summaries"][0]["status"] == ["DISCOVERABLE"]  # no stock, not buyable

    bad = call(f"{LI}.patchListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US],
               body={"productType": "KITCHEN", "patches": [
                   {"op": "replace", "path": "/attributes/purchasable_offer",
                    "value": offer(-1)}]})
    assert bad.body["status"] == "INVALID" and bad.body["issues"][0]["code"] == "99022"
    bad = call(f"{LI}.patchListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US],
               body={"productType": "KITCHEN", "patches": [
                   {"op": "replace", "path": "/item_name", "value": []}]})
    assert bad.body["status"] == "INVALID"
    missing = call(f"{LI}.putListingsItem", sellerId=seller, sku="EMPTY", marketplaceIds=[US],
                   body={"productType": "KITCHEN", "attributes": {
                       "brand": [{"value": "x"}]}})
    assert missing.body["status"] == "INVALID"
    assert {i["attributeNames"][0] for i in missing.body["issues"]} == {"item_name",
                                                                        "condition_type"}

    deleted = call(f"{LI}.deleteListingsItem", sellerId=seller, sku="KETTLE-1",
                   marketplaceIds=[US])
    assert deleted.body["status"] == "ACCEPTED"
    assert call(f"{LI}.getListingsItem", sellerId=seller, sku="KETTLE-1",
                marketplaceIds=[US]).status == 404
    gone = call(f"{LI}.deleteListingsItem", sellerId=seller, sku="KETTLE-1", marketplaceIds=[US])
    assert gone.body["status"] == "INVALID"


def test_search_listings_pages_and_filters(call: Any, sim: Any) -> None:
    seller = sim.seller_ids[0]
    store = sim._state.d["listings"][seller]
    seen: list[str] = []
    r = call(f"{LI}.searchListingsItems", sellerId=seller, marketplaceIds=[US], pageSize=4,
             sortBy="sku", sortOrder="ASC")
    total = r.body["numberOfResults"]
    assert total == len(store)
    while True:
        seen += [i["sku"] for i in r.body["items"]]
        token = r.body.get("pagination", {}).get("nextToken")
        if not token:
            break
        r = call(f"{LI}.searchListingsItems", sellerId=seller, marketplaceIds=[US], pageSize=4,
                 sortBy="sku", sortOrder="ASC", pageToken=token)
    assert seen == sorted(store)
    bad = call(f"{LI}.searchListingsItems", sellerId=seller, marketplaceIds=[US], pageSize=4,
               sortBy="createdDate", pageToken=token or r.body.get("pagination", {}).get(
                   "previousToken"))
    assert bad.status == 400
    some = sorted(store)[:2]
    by_sku = call(f"{LI}.searchListingsItems", sellerId=seller, marketplaceIds=[US],
                  identifiers=some, identifiersType="SKU").body
    assert sorted(i["sku"] for i in by_sku["items"]) == some
    buyable = call(f"{LI}.searchListingsItems", sellerId=seller, marketplaceIds=[US],
                   withStatus=["BUYABLE"], pageSize=20).body
    assert all("BUYABLE" in i["summaries"][0]["status"] for i in buyable["items"])


def test_catalog_search_and_get(call: Any, sim: Any) -> None:
    catalog = sim._state.d["catalog"]
    asin, product = sorted(catalog.items())[0]
    got = call("catalog_items_2022_04_01.getCatalogItem", asin=asin, marketplaceIds=[US],
               includedData=["summaries", "attributes", "identifiers", "images", "salesRanks",
                             "productTypes", "dimensions", "classifications"]).body
    assert got["summaries"][0]["brand"] == product["brand"]
    assert got["identifiers"][0]["identifiers"][0]["identifier"] == product["upc"]
    missing = call("catalog_items_2022_04_01.getCatalogItem", asin="B000000000",
                   marketplaceIds=[US])
    assert missing.status == 404
    word = product["brand"]
    r = call("catalog_items_2022_04_01.searchCatalogItems", keywords=[word], marketplaceIds=[US],
             pageSize=2)
    n = r.body["numberOfResults"]
    assert n == sum(word.lower() in f"{p['title']} {p['brand']}".lower() for p in catalog.values())
    found = [i["asin"] for i in r.body["items"]]
    while r.body.get("pagination", {}).get("nextToken"):
        r = call("catalog_items_2022_04_01.searchCatalogItems", keywords=[word],
                 marketplaceIds=[US], pageSize=2, pageToken=r.body["pagination"]["nextToken"])
        found += [i["asin"] for i in r.body["items"]]
    assert len(found) == len(set(found)) == n
    assert r.body["refinements"]["brands"]
    by_upc = call("catalog_items_2022_04_01.searchCatalogItems", identifiers=[product["upc"]],
                  identifiersType="UPC", marketplaceIds=[US]).body
    assert [i["asin"] for i in by_upc["items"]] == [asin]
    seller = sim.seller_ids[0]
    sku, listing = sorted(sim._state.d["listings"][seller].items())[0]
    by_sku = call("catalog_items_2022_04_01.searchCatalogItems", identifiers=[sku],
                  identifiersType="SKU", sellerId=seller, marketplaceIds=[US]).body
    assert [i["asin"] for i in by_sku["items"]] == [listing["asin"]]
    assert call("catalog_items_2022_04_01.searchCatalogItems", identifiers=[sku],
                identifiersType="SKU", sellerId=sim.seller_ids[1],
                marketplaceIds=[US]).status == 400
    both = call("catalog_items_2022_04_01.searchCatalogItems", identifiers=[asin],
                identifiersType="ASIN", keywords=["x"], marketplaceIds=[US])
    assert both.status == 400
    neither = call("catalog_items_2022_04_01.searchCatalogItems", marketplaceIds=[US])
    assert neither.status == 400


def test_inventory_summaries(call: Any, sim: Any, sim_clock: Any) -> None:
    seller = sim.seller_ids[0]
    store = sim._state.d["listings"][seller]
    afn = sorted(s for s, lst in store.items() if lst.get("fnsku"))
    r = call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
             granularityId=US, marketplaceIds=[US])
    rows = r.body["payload"]["inventorySummaries"]
    assert [x["sellerSku"] for x in rows] == afn
    assert all("inventoryDetails" not in x for x in rows)
    detailed = call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
                    granularityId=US, marketplaceIds=[US], details=True,
                    sellerSkus=afn[:2]).body["payload"]["inventorySummaries"]
    assert [x["sellerSku"] for x in detailed] == afn[:2]
    d = detailed[0]["inventoryDetails"]
    assert d["fulfillableQuantity"] >= 0 and "reservedQuantity" in d
    bad = call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
               granularityId="A1PA6795UKMFR9", marketplaceIds=["A1PA6795UKMFR9"])
    assert bad.status == 400


def test_pending_afn_orders_reserve_inventory(call: Any, sim: Any, sim_clock: Any) -> None:
    seller = sim.seller_ids[0]
    state = sim._state
    open_afn = [o for o in state.d["orders"][seller] if o["channel"] == "AFN"
                and o["shipped"] is not None and o["unshipped"] is not None
                and o["created"] <= sim_clock.now < o["shipped"]]
    stocked = [o for o in open_afn
               if state.d["listings"][seller][o["items"][0]["sku"]]["inventory"]["fulfillable"]]
    assert stocked, "seed 7 has open FBA orders for stocked SKUs at the start"
    o = stocked[0]
    sku = o["items"][0]["sku"]

    def pending() -> int:
        rows = call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
                    granularityId=o["marketplaceId"], marketplaceIds=[o["marketplaceId"]],
                    details=True, sellerSkus=[sku]).body["payload"]["inventorySummaries"]
        return int(rows[0]["inventoryDetails"]["reservedQuantity"]["pendingCustomerOrderQuantity"])

    def open_units() -> int:
        # what the Orders API says is still waiting to ship for this SKU
        units = 0
        for x in state.d["orders"][seller]:
            if x["channel"] != "AFN" or x["created"] > sim_clock.now:
                continue
            st = call("orders_v0.getOrder", orderId=x["id"]).body["payload"]["OrderStatus"]
            if st in ("Pending", "Unshipped"):
                units += sum(i["qty"] for i in x["items"] if i["sku"] == sku)
        return min(units, state.d["listings"][seller][sku]["inventory"]["fulfillable"])

    before = pending()
    assert before > 0 and before == open_units()
    sim_clock.now = max(x["shipped"] for x in open_afn) + 1
    assert pending() == open_units()


def test_inventory_pages_of_fifty(call: Any, sim: Any) -> None:
    seller = sim.seller_ids[0]
    asin = sorted(sim._state.d["catalog"])[0]
    for n in range(60):
        r = call(f"{LI}.putListingsItem", sellerId=seller, sku=f"FBA-BULK-{n:02d}",
                 marketplaceIds=[US], body={"productType": "HOME", "attributes": {
                     "merchant_suggested_asin": [{"value": asin}],
                     "condition_type": [{"value": "new_new"}],
                     "purchasable_offer": offer(9.99),
                     "fulfillment_availability": [{"fulfillment_channel_code": "AMAZON_NA"}]}})
        assert r.body["status"] == "ACCEPTED", r.body
    params = {"granularityType": "Marketplace", "granularityId": US, "marketplaceIds": [US]}
    first = call("fba_inventory_v1.getInventorySummaries", **params).body
    assert len(first["payload"]["inventorySummaries"]) == 50
    token = first["pagination"]["nextToken"]
    second = call("fba_inventory_v1.getInventorySummaries", **params, nextToken=token).body
    skus = [x["sellerSku"] for x in first["payload"]["inventorySummaries"]
            + second["payload"]["inventorySummaries"]]
    assert len(skus) == len(set(skus)) and {f"FBA-BULK-{n:02d}" for n in range(60)} <= set(skus)
    assert "pagination" not in second
    bulk = [x for x in first["payload"]["inventorySummaries"]
            + second["payload"]["inventorySummaries"] if x["sellerSku"].startswith("FBA-BULK")]
    assert len(bulk) == 60 and all(x["fnSku"].startswith("X00") and x["totalQuantity"] == 0 for x in bulk)
    changed = call("fba_inventory_v1.getInventorySummaries", **params, details=True,
                   nextToken=token)
    assert changed.status == 400
