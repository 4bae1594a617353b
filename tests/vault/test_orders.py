"""OrderStore: Amazon's order responses stored with PII encrypted per order, idempotent bulk
upserts, role enforcement in the API (analyst never sees PII, fulfillment needs a purpose), every
PII read audited (denied ones too), lookup by buyer e-mail through the blind index."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from sellerkit.errors import AccessDeniedError, IntegrityError, VaultError
from sellerkit.vault import Principal, Role, Vault, schema
from sellerkit.vault.roles import SYSTEM
from tests.vault._gov import Clock
from tests.vault._orders_data import canary, emulator_orders, orders_2026, v0_payloads

ANALYST = Principal("ann", Role.ANALYST)
PICKER = Principal("fred", Role.FULFILLMENT)
AUDITOR = Principal("aud", Role.AUDITOR)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault(sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> Iterator[Vault]:
    v = Vault.open(sqlite_vault_url, key=f"file:{tmp_path / 'kek'}", clock=clock)
    yield v
    v.close()


@pytest.fixture
def any_vault(vault_url: str, tmp_path: Path, clock: Clock) -> Iterator[Vault]:
    """On SQLite and on PostgreSQL."""
    v = Vault.open(vault_url, key=f"file:{tmp_path / 'kek'}", clock=clock)
    yield v
    v.close()


def _seller(v: Vault, spid: str = "A2SELLER") -> int:
    with v.write() as conn:
        return v.connections.ensure_seller(conn, spid, "na")


def _counts(v: Vault) -> dict[str, int]:
    with v.read() as conn:
        return {t: conn.execute(select(func.count()).select_from(schema.metadata.tables[t]))
                .scalar_one() for t in ("orders", "order_items", "order_buyers",
                                        "order_addresses", "data_keys")}


def test_v0_upsert_is_idempotent_and_reads_back(any_vault: Vault, clock: Clock) -> None:
    vault = any_vault
    sid = _seller(vault)
    recs = emulator_orders(30)
    orders, items, buyers, addresses = v0_payloads(recs)
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                        addresses=addresses)
    assert (st.inserted, st.updated, st.unchanged) == (30, 0, 0)
    first = _counts(vault)
    n_items = sum(len(v) for v in items.values())
    assert first == {"orders": 30, "order_items": n_items, "order_buyers": 30,
                     "order_addresses": 30, "data_keys": 30}
    with vault.read() as conn:
        before = conn.execute(select(schema.order_buyers.c.email_ct)).scalars().all()
    clock.advance(hours=1)
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                        addresses=addresses)
    assert (st.inserted, st.updated, st.unchanged) == (0, 0, 30)
    assert _counts(vault) == first
    with vault.read() as conn:  # nothing rewritten
        assert conn.execute(select(schema.order_buyers.c.email_ct)).scalars().all() == before

    oid = orders[0]["AmazonOrderId"]
    got = vault.orders.get(ANALYST, oid)
    assert got["status"] == "Shipped" and got["marketplace_id"] == orders[0]["MarketplaceId"]
    assert got["total_amount"] == orders[0]["OrderTotal"]["Amount"]
    assert got["purchase_date"].isoformat().startswith(orders[0]["PurchaseDate"][:19])
    assert [i["order_item_id"] for i in got["items"]] == [i["OrderItemId"] for i in items[oid]]
    text = json.dumps(got, default=str)
    c = canary(0)
    assert c["name"] not in text and c["email"] not in text and c["line1"] not in text
    assert "Wexfordine" not in text  # the gift message
    assert got["has_pii"] is True

    pii = vault.orders.read_pii(PICKER, oid, purpose="print the shipping label")
    assert pii["buyer"]["email"] == c["email"] and pii["buyer"]["name"] == c["name"]
    ship = pii["addresses"]["shipping"]
    assert ship["lines"] == [c["line1"], c["line2"]] and ship["city"] == c["city"]
    assert ship["postal_code"] == c["postal"] and ship["phone"] == c["phone"]
    assert ship["region"] == {"state_or_region": "ZQ"} and ship["country_code"]
    assert {i["gift_message"] for i in pii["items"].values()} == {
        f"Gift note Wexfordine {oid} {n}" for n in range(len(items[oid]))}
    events = vault.audit.events(SYSTEM, action="pii.read")
    assert [(e.actor, e.target, e.purpose, e.outcome) for e in events] == [
        ("fred", f"order:{oid}", "print the shipping label", "ok")]


def test_an_item_listed_twice_is_stored_once_with_the_last_data(any_vault: Vault) -> None:
    vault = any_vault
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(2))
    oid = orders[0]["AmazonOrderId"]
    first = items[oid][0]
    again = {**first, "QuantityShipped": 0, "Title": "Changed title"}
    items[oid] = [first, *items[oid][1:], again]
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                        addresses=addresses)
    assert st.inserted == 2
    got = vault.orders.get(ANALYST, oid)
    assert [i["order_item_id"] for i in got["items"]] == [i["OrderItemId"]
                                                          for i in items[oid][:-1]]
    assert got["items"][0]["title"] == "Changed title"
    assert got["items"][0]["quantity_shipped"] == 0


def test_a_change_updates_and_a_partial_response_keeps_what_it_lacks(vault: Vault) -> None:
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(3))
    with vault.write() as conn:
        vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
    # the next getOrders page, without an RDT: no buyer info, a partial address, a new status
    later = copy.deepcopy(orders)
    for o in later:
        o.pop("BuyerInfo", None)
        o["ShippingAddress"] = {k: o["ShippingAddress"][k] for k in
                                ("City", "StateOrRegion", "PostalCode", "CountryCode")}
        o["LastUpdateDate"] = "2026-09-30T00:00:00Z"
    later[0]["OrderStatus"] = "Canceled"
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "v0", later)
    assert (st.inserted, st.updated, st.unchanged) == (0, 3, 0)
    oid = orders[0]["AmazonOrderId"]
    assert vault.orders.get(SYSTEM, oid)["status"] == "Canceled"
    assert len(vault.orders.get(SYSTEM, oid)["items"]) == len(items[oid])  # items kept
    pii = vault.orders.read_pii(SYSTEM, oid, purpose="check")
    assert pii["buyer"]["name"] == canary(0)["name"]  # kept
    assert pii["addresses"]["shipping"]["lines"][0] == canary(0)["line1"]  # kept
    assert vault.orders.list(SYSTEM, status="Canceled") and \
        len(vault.orders.list(SYSTEM, limit=2)) == 2


def test_2026_orders_round_trip(any_vault: Vault) -> None:
    vault = any_vault
    sid = _seller(vault)
    recs = emulator_orders(5, seed=11)
    orders = orders_2026(recs)
    orders[0]["buyer"]["buyerLoyaltyTier"] = "gold"  # a field Amazon might add
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "2026-01-01", orders)
        assert vault.orders.upsert_orders(conn, sid, "2026-01-01", orders).unchanged == 5
    assert st.inserted == 5
    oid = orders[0]["orderId"]
    got = vault.orders.get(SYSTEM, oid)
    assert got["api_version"] == "2026-01-01" and got["fulfillment_channel"] in ("AFN", "MFN")
    assert got["total_amount"] == orders[0]["proceeds"]["grandTotal"]["amount"]
    assert got["items_count"] == sum(i["quantityOrdered"] for i in orders[0]["orderItems"])
    assert got["public"]["buyer"] == {} and "orderItems" not in got["public"]
    assert got["items"][0]["asin"] == orders[0]["orderItems"][0]["product"]["asin"]
    pii = vault.orders.read_pii(SYSTEM, oid, purpose="support ticket 7")
    assert pii["buyer"]["email"] == canary(0)["email"]
    assert pii["buyer"]["extra"] == {"buyer.buyerLoyaltyTier": "gold"}
    assert pii["addresses"]["shipping"]["name"] == canary(0)["name"]
    assert next(iter(pii["items"].values()))["gift_message"].startswith("Gift note Wexfordine")


def test_roles_are_enforced_in_the_api_and_denials_audited(vault: Vault) -> None:
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(2))
    with vault.write() as conn:
        vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
    oid = orders[0]["AmazonOrderId"]
    with pytest.raises(AccessDeniedError, match="role analyst.*may not read buyers"):
        vault.orders.read_pii(ANALYST, oid, purpose="curious")
    with pytest.raises(AccessDeniedError, match="stated purpose"):
        vault.orders.read_pii(PICKER, oid, purpose="  ")
    with pytest.raises(AccessDeniedError):
        vault.orders.find_by_buyer_email(ANALYST, canary(0)["email"], purpose="x")
    with pytest.raises(AccessDeniedError, match="may not read orders"):
        vault.orders.get(AUDITOR, oid)
    with pytest.raises(AccessDeniedError):
        vault.orders.list(AUDITOR)
    denied = vault.audit.events(SYSTEM, action="pii.read", outcome="denied")
    assert [(e.actor, e.target) for e in denied] == [
        ("ann", f"order:{oid}"), ("fred", f"order:{oid}"), ("ann", "orders:by-email")]
    assert vault.orders.read_pii_many(PICKER, [o["AmazonOrderId"] for o in orders],
                                      purpose="batch labels").keys() == \
        {o["AmazonOrderId"] for o in orders}


def test_lookup_by_buyer_email_uses_the_blind_index(vault: Vault) -> None:
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(4))
    buyers[orders[2]["AmazonOrderId"]]["BuyerEmail"] = canary(0)["email"]  # a repeat buyer
    with vault.write() as conn:
        vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
    found = vault.orders.find_by_buyer_email(PICKER, "  " + canary(0)["email"].upper(),
                                             purpose="buyer asked for their orders")
    assert sorted(found) == sorted([orders[0]["AmazonOrderId"], orders[2]["AmazonOrderId"]])
    assert vault.orders.find_by_buyer_email(PICKER, "nobody@example.com", purpose="x") == []
    with vault.read() as conn:
        idx = conn.execute(select(schema.order_buyers.c.email_bidx)).scalars().all()
    assert all(len(i) == 64 for i in idx)


def test_a_ciphertext_copied_to_another_order_fails(any_vault: Vault) -> None:
    vault = any_vault
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(2))
    with vault.write() as conn:
        vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
    b = schema.order_buyers.c
    with vault.write() as conn:
        rows = conn.execute(select(b.order_id, b.name_ct).order_by(b.order_id)).all()
        conn.execute(update(schema.order_buyers).where(b.order_id == rows[1].order_id)
                     .values(name_ct=rows[0].name_ct))
    with pytest.raises(IntegrityError, match="order_buyers.name_ct .* failed verification"):
        vault.orders.read_pii(SYSTEM, orders[1]["AmazonOrderId"], purpose="x")
    # and the same key's ciphertext moved to another column of the same row fails too
    with vault.write() as conn:
        conn.execute(update(schema.order_buyers).where(b.order_id == rows[0].order_id)
                     .values(email_ct=rows[0].name_ct))
    with pytest.raises(IntegrityError):
        vault.orders.read_pii(SYSTEM, orders[0]["AmazonOrderId"], purpose="x")


def test_erased_orders_are_not_refilled_by_a_resync(vault: Vault) -> None:
    sid = _seller(vault)
    orders, items, buyers, addresses = v0_payloads(emulator_orders(2))
    with vault.write() as conn:
        vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
        key = conn.execute(select(schema.orders.c.key_id).limit(1)).scalar_one()
        vault.cipher.destroy_keys(conn, [key])  # what a purge does (it also clears the columns)
    with vault.write() as conn:
        st = vault.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                        addresses=addresses)
    assert st.updated == 1 and st.unchanged == 1
    assert _counts(vault)["data_keys"] == 2  # no new key for the erased order


def test_bad_input_is_a_clear_error(vault: Vault) -> None:
    sid = _seller(vault)
    with vault.write() as conn:
        with pytest.raises(VaultError, match="no seller 999 in the vault"):
            vault.orders.upsert_orders(conn, 999, "v0", [])
        with pytest.raises(VaultError, match="api_version 'v1'"):
            vault.orders.upsert_orders(conn, sid, "v1", [])
        with pytest.raises(VaultError, match="without a valid AmazonOrderId"):
            vault.orders.upsert_orders(conn, sid, "v0", [{"OrderStatus": "Shipped"}])
        bad: Any = ["not an order"]
        with pytest.raises(VaultError, match="must be a JSON object"):
            vault.orders.upsert_orders(conn, sid, "v0", bad)
    with pytest.raises(VaultError, match="not in the vault"):
        vault.orders.get(SYSTEM, "999-0000000-0000000")
