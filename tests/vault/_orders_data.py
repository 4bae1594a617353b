"""Orders shaped like Amazon's responses, for the vault tests and the benchmark: rendered by the
emulator (``sellerkit.emulator.simulation``) from seeded buyers, with canary PII that a scan of
the raw database can look for."""

from __future__ import annotations

import random
from typing import Any

from sellerkit.emulator.simulation import data
from sellerkit.emulator.simulation import orders as sim

ANCHOR = 1_790_000_000.0  # 2026-09-21: every generated order has shipped by then
_DONE = frozenset({"buyerInfo", "shippingAddress"})


def canary(n: int) -> dict[str, str]:
    """Unmistakable PII for buyer ``n``: found in the raw database only if stored in clear."""
    return {"name": f"Quillon Vexmarrow{n:05d}", "email": f"qv{n:05d}.canary@buyer.example",
            "line1": f"{n:05d} Zanzibarque Lane", "line2": f"Suite Yolvex{n:05d}",
            "city": f"Orvalette{n:05d}", "state": "ZQ", "postal": f"Z{n:05d}",
            "phone": f"+1 555 01{n:05d}"}


def emulator_orders(count: int, *, seed: int = 7, canaries: bool = True) -> list[dict[str, Any]]:
    """The emulator's internal order records (with buyer, items, status times)."""
    rng = random.Random(seed)
    seller = data.seller(rng, 0)
    catalog = data.products(rng, 40)
    listings = data.listings(rng, seller, catalog, ANCHOR)
    recs = data.orders(rng, seller, listings, catalog, count, ANCHOR)
    for n, rec in enumerate(recs):
        rec["canceled"] = None  # every order ships: each has a full address
        rec["unshipped"] = rec["created"] + 60
        rec["shipped"] = rec["created"] + 3600
        rec["tracking"] = rec["tracking"] or "1ZCANARY"
        if canaries:
            rec["buyer"].update(canary(n))
        for item in rec["items"]:
            item["gift"] = True
    return recs


def v0_payloads(recs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                     dict[str, list[dict[str, Any]]],
                                                     dict[str, dict[str, Any]],
                                                     dict[str, dict[str, Any]]]:
    """What a v0 sync with an RDT stores: orders, items, buyer info and addresses by order id."""
    orders = [sim.order_v0(r, ANCHOR, _DONE) for r in recs]
    items = {r["id"]: [sim._item_v0(r, i, ANCHOR, _DONE) for i in r["items"]] for r in recs}
    buyers = {r["id"]: {"AmazonOrderId": r["id"], **sim._buyer_v0(r)} for r in recs}
    addresses = {r["id"]: {"AmazonOrderId": r["id"],
                           "ShippingAddress": sim._address_v0(r, True)} for r in recs}
    for r in recs:  # gift messages that can be found
        for n, it in enumerate(items[r["id"]]):
            if "BuyerInfo" in it:
                it["BuyerInfo"]["GiftMessageText"] = f"Gift note Wexfordine {r['id']} {n}"
    return orders, items, buyers, addresses


def orders_2026(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    included = {"BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT", "PACKAGES", "TAX"}
    out = [sim.order_2026(r, ANCHOR, included) for r in recs]
    for r, o in zip(recs, out, strict=True):
        for n, it in enumerate(o["orderItems"]):
            it.setdefault("fulfillment", {})["packing"] = {"giftOption": {
                "giftMessage": f"Gift note Wexfordine {r['id']} {n}", "giftWrapLevel": "Classic"}}
    return out
