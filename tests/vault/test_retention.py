"""Retention: PII crypto-shredded on time (delivery / ship / purchase fallback), legal holds,
non-PII deleted at 18 months, purge reports with counts only; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from sellerkit.errors import AccessDeniedError, SellerkitError, VaultError
from sellerkit.vault import Principal, Role
from sellerkit.vault import schema as s
from sellerkit.vault.retention import delivery_anchor, load_policy
from sellerkit.vault.roles import SYSTEM
from sellerkit.vault.settings import set_setting
from tests.vault.ret_helpers import (
    PII_VALUES,
    T0,
    Clock,
    ciphertexts_left,
    ensure_seller,
    open_vault,
    order_row,
    seed_order,
)

DAY = timedelta(days=1)


def _days_ago(clock: Clock, n: float) -> object:
    return clock.now - timedelta(days=n)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_pii_is_unreadable_after_a_purge_even_with_the_key_file(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    o = seed_order(v, "111-0000001-0000001", purchase=clock.now - 45 * DAY,
                   delivered=clock.now - 31 * DAY)
    fresh = seed_order(v, "111-0000002-0000002", purchase=clock.now - 10 * DAY,
                       delivered=clock.now - 5 * DAY)
    assert o.key_id is not None
    # readable before: the test would notice a purge that erased nothing
    assert v.cipher.decrypt(o.key_id, "order_buyers", "name_ct", f"order_buyers:{o.row_id}",
                            o.ciphertexts[1]) == PII_VALUES[0]
    report = v.retention.purge(SYSTEM, trigger="cli")
    assert report.counts["orders_pii_erased"] == 1
    assert report.counts["data_keys_destroyed"] == 1
    assert report.counts["buyers_cleared"] == 1 and report.counts["addresses_cleared"] == 1
    assert report.counts["item_pii_cleared"] == 1
    row = order_row(v, o.row_id)
    assert row.pii_erased_at == clock.now
    assert ciphertexts_left(v, o.row_id) == 0
    assert ciphertexts_left(v, fresh.row_id) > 0  # not due yet: untouched
    with v.read() as conn:
        dk = conn.execute(select(s.data_keys).where(s.data_keys.c.id == o.key_id)).one()
    assert dk.wrapped is None and dk.destroyed_at == clock.now
    v.close()
    # a new process with the same key file cannot bring it back
    again = open_vault(vault_url, tmp_path, clock)
    for blob in o.ciphertexts:
        with pytest.raises(SellerkitError):
            again.cipher.decrypt(o.key_id, "order_buyers", "name_ct",
                                 f"order_buyers:{o.row_id}", blob)
    # the order's non-PII facts stay
    assert order_row(again, o.row_id).total_amount == "19.99"
    again.close()


def test_the_sqlite_file_keeps_no_trace_of_the_erased_ciphertext(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    o = seed_order(v, "111-0000003-0000003", purchase=clock.now - 60 * DAY,
                   delivered=clock.now - 40 * DAY)
    with v.read() as conn:
        wrapped = conn.execute(select(s.data_keys.c.wrapped)
                               .where(s.data_keys.c.id == o.key_id)).scalar_one()
    db = Path(v.engine.url.database or "")

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())

    before = raw()
    assert all(blob in before for blob in o.ciphertexts) and bytes(wrapped) in before
    assert not any(p.encode() in before for p in PII_VALUES)  # encrypted at rest all along
    v.retention.purge(SYSTEM)
    after = raw()  # the vault still open: its WAL has not been folded in by a last close
    leftover = [i for i, blob in enumerate(o.ciphertexts) if blob in after]
    assert leftover == [], f"erased ciphertexts still in the SQLite file: {leftover}"
    assert bytes(wrapped) not in after, "the destroyed data key is still in the SQLite file"
    assert not any(p.encode() in after for p in PII_VALUES)
    v.close()


def test_the_date_used_is_delivery_then_ship_then_purchase_plus_the_bound(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    n = clock.now
    cases = {
        # actual delivery wins over the promise
        "delivered-31": (seed_order(v, "A-1", purchase=n - 50 * DAY, delivered=n - 31 * DAY,
                                    delivery=n - 29 * DAY), True),
        "delivered-29": (seed_order(v, "A-2", purchase=n - 50 * DAY, delivered=n - 29 * DAY,
                                    delivery=n - 40 * DAY), False),
        "promise-31": (seed_order(v, "A-3", purchase=n - 50 * DAY, delivery=n - 31 * DAY,
                                  ship=n - 45 * DAY), True),
        "promise-29": (seed_order(v, "A-4", purchase=n - 50 * DAY, delivery=n - 29 * DAY,
                                  ship=n - 45 * DAY), False),
        "ship-31": (seed_order(v, "A-5", purchase=n - 50 * DAY, ship=n - 31 * DAY), True),
        "ship-29": (seed_order(v, "A-6", purchase=n - 50 * DAY, ship=n - 29 * DAY), False),
        # purchase + the 30-day bound + 30 days
        "purchase-61": (seed_order(v, "A-7", purchase=n - 61 * DAY), True),
        "purchase-59": (seed_order(v, "A-8", purchase=n - 59 * DAY), False),
    }
    dry = v.retention.purge(SYSTEM, dry_run=True)
    assert dry.counts["orders_pii_erased"] == 4
    assert all(order_row(v, o.row_id).pii_erased_at is None for o, _ in cases.values())
    v.retention.purge(SYSTEM)
    erased = {name: order_row(v, o.row_id).pii_erased_at is not None
              for name, (o, _) in cases.items()}
    assert erased == {name: due for name, (_, due) in cases.items()}
    # two days later the ones that were 29 days past their date are due too
    clock.advance(days=2)
    assert v.retention.purge(SYSTEM).counts["orders_pii_erased"] == 4
    v.close()


def test_delivery_anchor_names_the_date_it_used() -> None:
    class Row:
        delivered_at = latest_delivery_date = latest_ship_date = None
        purchase_date = T0
        first_seen_at = T0

    anchor, kind = delivery_anchor(Row(), 30)
    assert (anchor, kind) == (T0 + 30 * DAY, "purchase+bound")
    Row.latest_ship_date = T0 + DAY
    assert delivery_anchor(Row(), 30) == (T0 + DAY, "latest_ship")


def test_a_hold_longer_than_30_days_needs_a_reason(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    with pytest.raises(VaultError, match="reason"):
        v.retention.hold(SYSTEM, "order", "B-1", None, retain_days=60)
    with pytest.raises(VaultError, match="reason"):
        v.retention.hold(SYSTEM, "order", "B-1", "  ")  # until released
    with pytest.raises(VaultError, match="scope"):
        v.retention.hold(SYSTEM, "planet", "B-1", "x")
    with pytest.raises(VaultError, match="target"):
        v.retention.hold(SYSTEM, "order", None, "tax audit")
    short = v.retention.hold(SYSTEM, "order", "B-9", None, retain_days=20)
    assert short.reason == ""
    analyst = Principal("ann", Role.ANALYST)
    with pytest.raises(AccessDeniedError):
        v.retention.hold(analyst, "order", "B-1", "tax audit", retain_days=60)
    with v.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.legal_holds)).scalar_one() == 1
    v.close()


def test_legal_holds_keep_pii_until_their_days_or_release(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    n = clock.now
    held = seed_order(v, "C-1", purchase=n - 50 * DAY, delivered=n - 40 * DAY)
    by_seller = seed_order(v, "C-2", purchase=n - 50 * DAY, delivered=n - 40 * DAY,
                           partner="A2OTHERSELLER")
    free = seed_order(v, "C-3", purchase=n - 50 * DAY, delivered=n - 40 * DAY)
    h1 = v.retention.hold(SYSTEM, "order", "C-1", "tax audit 2026, case 17", retain_days=60)
    h2 = v.retention.hold(SYSTEM, "seller", "A2OTHERSELLER", "litigation hold")
    report = v.retention.purge(SYSTEM)
    assert report.counts["orders_pii_erased"] == 1
    assert report.counts["orders_pii_held"] == 2
    assert order_row(v, free.row_id).pii_erased_at is not None
    assert order_row(v, held.row_id).pii_erased_at is None
    assert v.retention.status(SYSTEM).held_orders == 2
    clock.advance(days=21)  # 61 days after delivery: past the hold's 60 days
    assert v.retention.purge(SYSTEM).counts["orders_pii_erased"] == 1
    assert order_row(v, held.row_id).pii_erased_at is not None
    assert order_row(v, by_seller.row_id).pii_erased_at is None  # until released
    v.retention.release(SYSTEM, h2.id)
    with pytest.raises(VaultError, match="already released"):
        v.retention.release(SYSTEM, h2.id)
    assert v.retention.purge(SYSTEM).counts["orders_pii_erased"] == 1
    assert ciphertexts_left(v, by_seller.row_id) == 0
    assert [h.id for h in v.retention.holds(SYSTEM)] == [h1.id]
    assert len(v.retention.holds(SYSTEM, include_released=True)) == 2
    v.close()


def test_non_pii_amazon_data_goes_after_18_months_unless_held(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    n = clock.now  # 2026-06-01: 18 months before is 2024-12-01
    old = seed_order(v, "D-1", purchase=n - 560 * DAY, delivered=n - 555 * DAY, pii=False)
    old_pii = seed_order(v, "D-2", purchase=n - 600 * DAY)  # PII never purged: goes too
    recent = seed_order(v, "D-3", purchase=n - 500 * DAY, delivered=n - 495 * DAY, pii=False)
    kept = seed_order(v, "D-4", purchase=n - 560 * DAY, pii=False)
    v.retention.hold(SYSTEM, "order", "D-4", "customs dispute")
    report_file = tmp_path / "old-report.tsv"
    report_file.write_text("order-id\tsku\nD-1\tSKU-1\n")
    with v.write() as conn:
        sid = ensure_seller(v, conn)
        conn.execute(insert(s.report_records).values(
            seller_id=sid, report_id="R-old", report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
            local_path=str(report_file), created_at=n - 550 * DAY))
        conn.execute(insert(s.report_records).values(
            seller_id=sid, report_id="R-new", report_type="GET_MERCHANT_LISTINGS_ALL_DATA",
            created_at=n - 30 * DAY))
        conn.execute(insert(s.feed_records).values(
            seller_id=sid, feed_id="F-old", feed_type="POST_PRODUCT_DATA",
            created_at=n - 600 * DAY))
    v.inventory.record("report_file", report_file, encrypted=False, contains_pii=False)
    report = v.retention.purge(SYSTEM)
    c = report.counts
    assert c["orders_deleted"] == 2 and c["order_items_deleted"] == 2
    assert c["report_records_deleted"] == 1 and c["feed_records_deleted"] == 1
    assert c["report_files_deleted"] == 1 and c["orders_data_held"] == 1
    assert c["data_keys_destroyed"] == 1  # the old order's PII key goes with it
    assert order_row(v, old.row_id) is None and order_row(v, old_pii.row_id) is None
    assert order_row(v, recent.row_id) is not None and order_row(v, kept.row_id) is not None
    assert not report_file.exists()
    with v.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.order_items).where(
            s.order_items.c.order_id.in_([old.row_id, old_pii.row_id]))).scalar_one() == 0
        assert [r.report_id for r in conn.execute(select(s.report_records.c.report_id))] == ["R-new"]
        assert conn.execute(select(func.count()).select_from(s.feed_records)).scalar_one() == 0
    assert not any(i.location == str(report_file) for i in v.inventory.list(SYSTEM))
    v.close()


def test_the_purge_report_holds_counts_only_and_is_recorded(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    seed_order(v, "902-7777777-1234567", purchase=clock.now - 50 * DAY,
               delivered=clock.now - 40 * DAY)
    assert v.retention.status(SYSTEM).overdue == 1
    dry = v.retention.purge(SYSTEM, dry_run=True)
    assert dry.run_id is None and dry.counts["orders_pii_erased"] == 1
    assert v.retention.runs(SYSTEM) == []  # a dry run changes and records nothing
    report = v.retention.purge(SYSTEM, trigger="sync")
    text = json.dumps(report.as_dict())
    assert "902-7777777" not in text and not any(p in text for p in PII_VALUES)
    assert all(isinstance(n, int) for n in report.counts.values())
    runs = v.retention.runs(SYSTEM)
    assert [(r["id"], r["trigger"], r["counts"]) for r in runs] == [
        (report.run_id, "sync", report.counts)]
    assert runs[0]["policy_version"] == "dpp-2025-11-11"
    events = v.audit.events(SYSTEM, action="purge")
    assert len(events) == 1 and events[0].target == f"purge_run:{report.run_id}"
    assert (events[0].details or {})["counts"] == report.counts
    status = v.retention.status(SYSTEM)
    assert status.overdue == 0 and status.orders_erased == 1 and status.runs == 1
    assert status.last_run is not None and status.last_run["trigger"] == "sync"
    with pytest.raises(AccessDeniedError):
        v.retention.purge(Principal("ann", Role.ANALYST))
    v.close()


def test_the_operator_may_shorten_the_pii_days_but_not_lengthen_them(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    o = seed_order(v, "E-1", purchase=clock.now - 30 * DAY, delivered=clock.now - 15 * DAY)
    assert v.retention.purge(SYSTEM).counts["orders_pii_erased"] == 0
    with pytest.raises(VaultError, match="legal hold"):
        set_setting(v, SYSTEM, "retention.pii_days", "45")
    set_setting(v, SYSTEM, "retention.pii_days", "14")
    assert v.retention.status(SYSTEM).pii_days == 14
    assert v.retention.purge(SYSTEM).counts["orders_pii_erased"] == 1
    assert order_row(v, o.row_id).pii_erased_at is not None
    v.close()


def test_the_policy_is_versioned_data_with_its_sources() -> None:
    policy = load_policy()
    before = policy.at(date(2025, 11, 10))
    after = policy.at(date(2025, 11, 11))
    assert (before.security_log_days, before.non_pii_months) == (90, None)
    assert (after.security_log_days, after.non_pii_months) == (365, 18)
    assert after.pii_days_after_delivery == before.pii_days_after_delivery == 30
    assert policy.delivery_bound_days == 30
    for version in policy.versions:
        assert version.sources and all("sp-api-facts.md §11" in src["ref"] or
                                       "next-waves.md §5" in src["ref"]
                                       for src in version.sources)
    with pytest.raises(VaultError):
        policy.at(date(2020, 1, 1))


def test_orders_stored_by_the_order_store_lose_their_pii(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    from tests.vault.ret_helpers import store_orders

    v = open_vault(vault_url, tmp_path, clock)
    store_orders(v, ["119-0000001-0000001"], purchase=clock.now - 45 * DAY,
                 delivery=clock.now - 35 * DAY)
    store_orders(v, ["119-0000002-0000002"], purchase=clock.now - 5 * DAY)
    before = json.dumps(v.orders.read_pii(SYSTEM, "119-0000001-0000001", purpose="test"))
    assert all(p in before for p in PII_VALUES), before  # stored, and readable
    report = v.retention.purge(SYSTEM)
    assert report.counts["orders_pii_erased"] == 1 and report.counts["data_keys_destroyed"] == 1
    row = v.orders.get(SYSTEM, "119-0000001-0000001")
    assert row["has_pii"] is False and row["pii_erased_at"] == clock.now
    try:
        after = json.dumps(v.orders.read_pii(SYSTEM, "119-0000001-0000001", purpose="test"))
    except SellerkitError:
        after = ""
    assert not any(p in after for p in PII_VALUES)
    assert PII_VALUES[0] in json.dumps(
        v.orders.read_pii(SYSTEM, "119-0000002-0000002", purpose="test"))
    v.close()
