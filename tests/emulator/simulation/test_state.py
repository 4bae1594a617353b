"""Determinism, dump/load, thread safety and the operation table of the simulation."""

from __future__ import annotations

import json
import threading
from typing import Any

from sellerkit.catalog import get_catalog
from sellerkit.emulator.simulation import SimRequest, Simulation

from .conftest import START, US, Caller, Clock, iso


def fingerprint(sim: Simulation) -> dict[str, Any]:
    call = Caller(sim)
    orders = call("orders_v0.getOrders", MarketplaceIds=[US], CreatedAfter=iso(START - 40 * 86400))
    skus = call("listings_items_2021_08_01.searchListingsItems", sellerId=sim.seller_ids[0],
                marketplaceIds=[US], sortBy="sku", pageSize=20)
    return {"sellers": sim.seller_ids,
            "participations": call("sellers_v1.getMarketplaceParticipations").body,
            "orders": orders.body["payload"]["Orders"], "listings": skus.body["items"]}


def test_same_seed_same_data_different_seed_different_data() -> None:
    a = fingerprint(Simulation(seed=3, orders=20, sellers=2, clock=Clock()))
    b = fingerprint(Simulation(seed=3, orders=20, sellers=2, clock=Clock()))
    c = fingerprint(Simulation(seed=4, orders=20, sellers=2, clock=Clock()))
    assert a == b
    assert a["orders"] != c["orders"] and a["listings"] != c["listings"]
    assert a["sellers"] == c["sellers"] == ["A2SIMSELLER0001", "A2SIMSELLER0002"]


def test_ids_after_generation_follow_the_seed_too() -> None:
    def report_ids(seed: int) -> list[str]:
        call = Caller(Simulation(seed=seed, orders=5, clock=Clock()))
        return [call("reports_2021_06_30.createReport", body={
            "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body[
                "reportId"] for _ in range(3)]
    assert report_ids(1) == report_ids(1) != report_ids(2)


def test_other_sellers_vary_by_seed() -> None:
    seen = set()
    for seed in range(8):
        sim = Simulation(seed=seed, orders=1, sellers=3, clock=Clock())
        for sid in sim.seller_ids[1:]:
            seen.add(tuple(sim._state.d["sellers"][sid]["marketplaces"]))
    assert len(seen) > 2


def test_dump_load_round_trip_keeps_changes(sim: Simulation, sim_clock: Clock) -> None:
    call = Caller(sim)
    seller = sim.seller_ids[0]
    sku = sorted(sim._state.d["listings"][seller])[0]
    call("listings_items_2021_08_01.deleteListingsItem", sellerId=seller, sku=sku,
         marketplaceIds=[US])
    rid = call("reports_2021_06_30.createReport", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body["reportId"]
    dumped = json.loads(json.dumps(sim.dump()))  # JSON-able
    loaded = Simulation.load(dumped, clock=sim_clock)
    assert loaded.seller_ids == sim.seller_ids
    assert fingerprint(loaded) == fingerprint(sim)
    again = Caller(loaded)
    assert again("listings_items_2021_08_01.getListingsItem", sellerId=seller, sku=sku,
                 marketplaceIds=[US]).status == 404
    sim_clock.advance(10)
    report = again("reports_2021_06_30.getReport", reportId=rid).body
    assert report["processingStatus"] == "DONE"
    # the next id continues the sequence instead of repeating one
    nxt = again("reports_2021_06_30.createReport", body={
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]}).body["reportId"]
    assert nxt != rid


def test_load_rejects_unknown_versions_and_keywords() -> None:
    import pytest

    sim = Simulation(seed=1, orders=1, clock=Clock())
    data = sim.dump()
    with pytest.raises(ValueError):
        Simulation.load({**data, "version": 99})
    with pytest.raises(TypeError):
        Simulation.load(data, colour="blue")
    # the seed and sizes come from the dump; passing them along is harmless
    assert Simulation.load(data, seed=4, orders=9).dump()["seed"] == 1


def test_handles_only_known_operations() -> None:
    sim = Simulation(seed=0, orders=1, clock=Clock())
    catalog = get_catalog()
    from sellerkit.emulator.simulation import _handlers

    for key in _handlers():
        assert key in catalog.operations, key
        assert sim.handles(key)
    assert not sim.handles("tokens_2021_03_01.createRestrictedDataToken")
    assert not sim.handles("finances_v0.listFinancialEvents")


def test_concurrent_calls_are_safe(sim: Simulation) -> None:
    op = get_catalog().operation("reports_2021_06_30.createReport")
    ids: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                r = sim.handle(SimRequest(op, {}, {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                                   "marketplaceIds": [US]}, b"", None,
                                          sim.seller_ids[0], "app", None, "http://x"))
                ids.append(r.body["reportId"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(ids) == len(set(ids)) == 200


def test_unknown_seller_gets_403(sim: Simulation) -> None:
    r = Caller(sim)("orders_v0.getOrders", seller="A9NOTHERE", MarketplaceIds=[US],
                    CreatedAfter=iso(START - 86400))
    assert r.status == 403 and r.body["errors"][0]["code"] == "Unauthorized"


def test_catalog_asins_are_the_ones_get_catalog_item_knows(sim: Simulation) -> None:
    asins = sim.catalog_asins()
    assert asins == sorted(asins) and len(asins) >= 40
    call = Caller(sim)
    assert call("catalog_items_2022_04_01.getCatalogItem", asin=asins[0],
                marketplaceIds=[US]).status == 200
