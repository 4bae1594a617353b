"""``sync_orders`` against the in-process emulator (Amazon's rate plans x1000, limits on), into a
vault on SQLite and on PostgreSQL: the first run stores the emulator's orders exactly, a second
run reads only what changed, both Orders APIs, crashes mid-run resume with no gap and no
duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sellerkit import SellingPartner
from sellerkit.errors import AccessDeniedError, ConfigurationError
from sellerkit.sync import SyncProgress, sync_orders
from sellerkit.vault import Principal, Role, Vault
from tests.sync._emu import Clock, item_counts, orders_of, status, stored, truth

ENDPOINT = "http://127.0.0.1:8787"
ADMIN = Principal("alice", Role.ADMIN)
SINCE = timedelta(days=400)  # every simulated order


@pytest.fixture
def vault(vault_url: str, vault_key: str, clock: Clock) -> Iterator[Vault]:
    """On SQLite and on PostgreSQL."""
    v = Vault.open(vault_url, key=vault_key, clock=clock.dt)
    yield v
    v.close()


@pytest.fixture
def svault(sqlite_vault_url: str, vault_key: str, clock: Clock) -> Iterator[Vault]:
    """On SQLite only (the suite's time budget)."""
    v = Vault.open(sqlite_vault_url, key=vault_key, clock=clock.dt)
    yield v
    v.close()


def client(emu: Any) -> SellingPartner:
    cfg = emu.config
    return SellingPartner(client_id=cfg.client_id, client_secret=cfg.client_secret,
                          refresh_token=cfg.refresh_token, endpoint=ENDPOINT,
                          lwa_endpoint=ENDPOINT + "/auth/o2/token", region="NA",
                          transport=emu.sync_transport())


@pytest.fixture
def sp(emu: Any) -> Iterator[SellingPartner]:
    with client(emu) as c:
        yield c


def run(vault: Vault, sp: SellingPartner, emu: Any, **kw: Any) -> Any:
    kw.setdefault("since", SINCE)
    return sync_orders(vault, sp, actor=ADMIN, selling_partner_id=emu.seller_ids[0],
                       region="na", **kw)


def test_first_run_stores_every_order_then_a_second_reads_only_changes(
        vault: Vault, sp: SellingPartner, emu: Any, clock: Clock) -> None:
    first = run(vault, sp, emu, page_size=20)
    want = truth(emu, first.high_water)
    assert first.completed and not first.resumed
    assert stored(vault) == want
    assert first.orders_new == len(want) and first.orders_updated == 0
    assert first.pages == -(-len(want) // 20)
    assert item_counts(vault) == {o["id"]: len(o["items"]) for o in orders_of(emu)}
    assert first.items == sum(len(o["items"]) for o in orders_of(emu))
    assert first.buyers == len(want)  # the BUYER block of every order
    shipped = sum(1 for oid in want if status(emu, oid) in ("Unshipped", "Shipped"))
    assert first.addresses == shipped  # RECIPIENT: only once an order is unshipped
    assert first.high_water == first.window_end

    # an MFN order ships: its last update moves, and only it comes back as updated
    target = next(o for o in orders_of(emu)
                  if o["channel"] == "MFN" and status(emu, o["id"]) == "Unshipped")
    sp.orders_v0.confirm_shipment(order_id=target["id"], body={
        "marketplaceId": target["marketplaceId"], "packageDetail": {
            "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z999",
            "shipDate": clock.dt().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "orderItems": [{"orderItemId": i["id"], "quantity": i["qty"]}
                           for i in target["items"]]}})
    clock.advance(600)  # ten minutes on: the change is older than Amazon's two-minute lag
    second = run(vault, sp, emu)
    assert second.completed
    now = truth(emu, second.high_water)
    assert (second.orders_new, second.orders_updated) == (len(now) - len(want), 1)
    # the rest are the overlap's re-reads, unchanged
    assert second.orders_seen == second.orders_new + 1 + second.orders_unchanged
    assert second.window_start == _minus(first.high_water, minutes=10)
    assert stored(vault) == now
    assert vault.orders.get(ADMIN, target["id"])["status"] in ("SHIPPED", "Shipped")

    # nothing changed: a third run stores nothing new
    clock.advance(60)
    third = run(vault, sp, emu)
    assert (third.orders_new, third.orders_updated) == (0, 0)
    assert stored(vault) == truth(emu, third.high_water)


def _minus(text: str | None, **delta: int) -> str:
    from datetime import datetime

    assert text is not None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00")) - timedelta(**delta)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_v0_pulls_items_buyers_and_addresses_through_rdts(
        svault: Vault, sp: SellingPartner, emu: Any, clock: Clock) -> None:
    first = run(svault, sp, emu, api="v0", page_size=50)
    want = truth(emu, first.high_water)
    assert first.completed and stored(svault) == want
    assert first.orders_new == len(want)
    assert item_counts(svault) == {o["id"]: len(o["items"]) for o in orders_of(emu)}
    assert first.buyers == len(want)
    assert first.addresses == sum(1 for oid in want
                                  if status(emu, oid) in ("Unshipped", "Shipped"))
    # one getMarketplaceParticipations, the pages, and three calls per order at most
    assert first.requests <= 1 + first.pages + 3 * len(want)
    o = next(o for o in orders_of(emu) if status(emu, o["id"]) == "Shipped")
    pii = svault.orders.read_pii(ADMIN, o["id"], purpose="test: the buyer data arrived")
    assert o["buyer"]["name"] in str(pii) and o["buyer"]["email"] in str(pii)

    clock.advance(300)
    second = run(svault, sp, emu, api="v0")
    # the re-read orders are unchanged and cost no per-order calls
    assert (second.orders_new, second.orders_updated) == (0, 0)
    assert second.requests == 1 + second.pages
    assert stored(svault) == truth(emu, second.high_water) == want


class Crash(Exception):
    pass


@pytest.mark.parametrize(("backend", "api"), [("sqlite", "2026-01-01"), ("sqlite", "v0"),
                                              ("postgres", "2026-01-01")])
def test_a_run_that_dies_mid_window_resumes_without_gaps_or_duplicates(
        request: pytest.FixtureRequest, vault_key: str, clock: Clock, sp: SellingPartner,
        emu: Any, backend: str, api: str) -> None:
    url = request.getfixturevalue(f"{backend}_vault_url")
    with Vault.open(url, key=vault_key, clock=clock.dt) as vault:
        _die_and_resume(vault, sp, emu, api)


def _die_and_resume(vault: Vault, sp: SellingPartner, emu: Any, api: str) -> None:
    def die_after_three(p: SyncProgress) -> None:
        if p.pages == 3:
            raise Crash

    with pytest.raises(Crash):
        run(vault, sp, emu, api=api, page_size=7, progress=die_after_three)
    assert len(stored(vault)) == 21  # three pages, committed with their checkpoint
    resumed = run(vault, sp, emu, api=api, page_size=7)
    assert resumed.resumed and resumed.completed
    want = truth(emu, resumed.high_water)
    assert resumed.orders_new == len(want) - 21  # from page four on, nothing read twice
    assert stored(vault) == want


def test_a_page_token_amazon_no_longer_takes_restarts_the_window(
        svault: Vault, sp: SellingPartner, emu: Any) -> None:
    from sqlalchemy import update

    from sellerkit.vault.schema import sync_checkpoints

    with pytest.raises(Crash):
        run(svault, sp, emu, page_size=10, progress=lambda p: _raise(Crash()))
    with svault.write() as conn:
        row = conn.execute(sync_checkpoints.select()).mappings().one()
        cursor = dict(row["cursor"], token="+/+/expired==")
        conn.execute(update(sync_checkpoints).values(cursor=cursor))
    again = run(svault, sp, emu, page_size=10)
    assert again.completed and again.window_restarts == 1
    assert stored(svault) == truth(emu, again.high_water)


def _raise(exc: Exception) -> None:
    raise exc


def test_only_a_user_who_may_write_data_syncs(svault: Vault, sp: SellingPartner, emu: Any) -> None:
    with pytest.raises(AccessDeniedError, match="analyst"):
        sync_orders(svault, sp, actor=Principal("bob", Role.ANALYST),
                    selling_partner_id=emu.seller_ids[0], region="na")
    with pytest.raises(ConfigurationError, match="selling_partner_id"):
        sync_orders(svault, sp, actor=ADMIN)
    with pytest.raises(ConfigurationError, match="api"):
        run(svault, sp, emu, api="v1")
    assert stored(svault) == {}
