"""The inventory: database, key files, recorded files, each with its encryption status and a
live check of existence and mode; encrypted exports recorded and read back through the vault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from sellerkit.errors import AccessDeniedError, IntegrityError, SellerkitError, VaultError
from sellerkit.vault import Principal, Role, Vault
from sellerkit.vault.roles import SYSTEM
from tests.vault.ret_helpers import Clock, open_vault


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _by_kind(items: list, kind: str) -> list:
    return [i for i in items if i.kind == kind]


def test_the_database_and_key_file_are_listed_with_their_modes(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    items = v.inventory.list(SYSTEM)
    (db, *_) = _by_kind(items, "database")
    assert db.status == "pii-field-encrypted" and db.contains_pii
    assert db.mode == "0600" and db.problems == []
    (key,) = _by_kind(items, "key_file")
    assert key.location == str(tmp_path / "vault.key")
    assert key.mode == "0600" and key.problems == []
    (tmp_path / "vault.key").chmod(0o644)
    Path(v.engine.url.database or "").chmod(0o640)
    items = v.inventory.list(SYSTEM)
    assert "should be 0600" in _by_kind(items, "key_file")[0].problems[0]
    assert "should be 0600" in _by_kind(items, "database")[0].problems[0]
    with pytest.raises(AccessDeniedError):
        v.inventory.list(Principal("ann", Role.ANALYST))
    assert _by_kind(v.inventory.list(Principal("aud", Role.AUDITOR)), "key_file")
    v.close()


def test_the_database_location_masks_its_password() -> None:
    engine = create_engine("postgresql+psycopg://sk:hunter2secret@db.internal:5432/vault")
    vault = Vault(engine, keys=None)  # type: ignore[arg-type]  # the listing needs no key here
    (db,) = vault.inventory._database_items()
    assert "hunter2secret" not in db.location and "db.internal" in db.location
    assert "***" in db.location


def test_recorded_files_are_checked_at_listing(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    report = tmp_path / "reports" / "orders.tsv"
    report.parent.mkdir()
    report.write_text("amazon-order-id\tsku\n")
    report.chmod(0o600)
    first = v.inventory.record("report_file", report, encrypted=False, contains_pii=True,
                               description="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")
    again = v.inventory.record("report_file", report, encrypted=False, contains_pii=True)
    assert again == first  # recorded once, however often it is rewritten
    (item,) = _by_kind(v.inventory.list(SYSTEM), "report_file")
    assert item.exists and item.mode == "0600" and item.status == "clear"
    assert item.problems == ["PII in a clear file: encrypt it or delete it"]
    report.unlink()
    (item,) = _by_kind(v.inventory.list(SYSTEM), "report_file")
    assert item.exists is False and item.problems[0].startswith("missing")
    v.inventory.remove(SYSTEM, first)
    assert _by_kind(v.inventory.list(SYSTEM), "report_file") == []
    with pytest.raises(VaultError, match="kind"):
        v.inventory.record("photo", report, encrypted=False)
    v.close()


def test_an_export_is_encrypted_recorded_audited_and_read_back(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    _seed_orders(v)
    out = tmp_path / "exports" / "orders.skx"
    res = v.inventory.export(SYSTEM, "orders", out=out)
    assert res.records == 2 and not res.pii
    raw = out.read_bytes()
    assert b"114-0000001-0000001" not in raw and b"Blue mug" not in raw
    assert out.stat().st_mode & 0o777 == 0o600
    (item,) = _by_kind(v.inventory.list(SYSTEM), "export")
    assert item.encrypted and item.status == "encrypted" and not item.contains_pii
    assert item.location == str(out.absolute()) and item.problems == []
    (event,) = v.audit.events(SYSTEM, action="export")
    assert (event.details or {})["records"] == 2 and event.target == f"inventory:{item.id}"
    header, payload = v.inventory.decrypt_export(SYSTEM, out)
    assert header["records"] == 2
    assert sorted(r["amazon_order_id"] for r in payload["records"]) == [
        "114-0000001-0000001", "114-0000002-0000002"]
    assert v.audit.events(SYSTEM, action="export.read")
    # editing the header (its record count here; its PII flag likewise) breaks the ciphertext
    magic, head, body = raw.split(b"\n", 2)
    doc = json.loads(head)
    doc["records"] = 3
    out.write_bytes(magic + b"\n" + json.dumps(doc).encode() + b"\n" + body)
    with pytest.raises(IntegrityError, match="altered"):
        v.inventory.decrypt_export(SYSTEM, out)
    (tmp_path / "not-an-export").write_text("hello")
    with pytest.raises(VaultError, match="not a sellerkit export"):
        v.inventory.decrypt_export(SYSTEM, tmp_path / "not-an-export")
    v.close()


def test_pii_exports_need_the_permission_and_a_purpose(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    _seed_orders(v)
    out = tmp_path / "pii.skx"
    with pytest.raises(AccessDeniedError, match="purpose"):
        v.inventory.export(SYSTEM, out=out, pii=True)
    with pytest.raises(AccessDeniedError):
        v.inventory.export(Principal("ann", Role.ANALYST), out=out)
    with pytest.raises(VaultError, match="cannot export"):
        v.inventory.export(SYSTEM, "everything", out=out)
    assert not out.exists()
    fulfil = Principal("fay", Role.FULFILLMENT)
    res = v.inventory.export(fulfil, out=out, pii=True, purpose="carrier claim 2026-06")
    assert res.pii and res.records == 2
    (item,) = _by_kind(v.inventory.list(SYSTEM), "export")
    assert item.contains_pii and item.encrypted and item.problems == []
    with pytest.raises(AccessDeniedError, match="purpose"):
        v.inventory.decrypt_export(fulfil, out)
    _, payload = v.inventory.decrypt_export(fulfil, out, purpose="carrier claim 2026-06")
    assert all("pii" in r for r in payload["records"])
    assert "Quentin" in json.dumps(payload)
    reads = v.audit.events(SYSTEM, action="pii.read")
    assert [(e.actor, e.outcome, e.purpose, e.target.split(":")[0]) for e in reads] == [
        ("fay", "ok", "carrier claim 2026-06", "orders"),     # the export
        ("fay", "denied", None, "export"),                    # reading it without a purpose
        ("fay", "ok", "carrier claim 2026-06", "export")]     # and with one
    denied = [e for e in v.audit.events(SYSTEM, action="export") if e.outcome == "denied"]
    assert [(e.actor, e.details) for e in denied] == [("system", {"what": "orders", "pii": True})]
    v.close()


def _seed_orders(v: Vault) -> None:
    """Two orders with buyer PII, stored by the order store (vault-core's orders.py)."""
    from tests.vault.ret_helpers import store_orders

    try:
        store_orders(v, ["114-0000001-0000001", "114-0000002-0000002"])
    except (ImportError, AttributeError, SellerkitError) as exc:  # pragma: no cover
        pytest.fail(f"the order store is needed for exports: {exc}")
