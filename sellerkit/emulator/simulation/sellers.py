"""Sellers API v1: the marketplaces each simulated seller participates in, and its account."""

from __future__ import annotations

from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse
from sellerkit.emulator.simulation.data import MARKETPLACES
from sellerkit.emulator.simulation.state import State


def participations(seller: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for mp in seller["marketplaces"]:
        m = MARKETPLACES[mp]
        out.append({
            "marketplace": {"id": mp, "name": m["name"], "countryCode": m["countryCode"],
                            "defaultCurrencyCode": m["currency"],
                            "defaultLanguageCode": m["language"], "domainName": m["domain"]},
            "participation": {"isParticipating": True,
                              "hasSuspendedListings": mp in seller.get("suspended", [])},
            "storeName": seller["storeName"],
        })
    return out


def get_marketplace_participations(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, {"payload": participations(state.seller(req))})


def get_account(state: State, req: SimRequest) -> SimResponse:
    s = state.seller(req)
    return SimResponse(200, {"payload": {
        "marketplaceParticipationList": participations(s),
        "businessType": s["businessType"],
        "sellingPlan": "PROFESSIONAL",
        "business": {"name": s["storeName"], "registeredBusinessAddress": s["address"]},
        "primaryContact": {"name": s["contact"], "address": s["address"]},
    }})


HANDLERS = {
    "sellers_v1.getMarketplaceParticipations": get_marketplace_participations,
    "sellers_v1.getAccount": get_account,
}
