"""No plaintext PII at rest: seed the vault with the emulator's orders carrying known canary
names, e-mails, streets, phones and gift messages, then grep the raw SQLite file and its WAL,
and a pg_dump of the PostgreSQL schema, for every one of them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from sellerkit.vault import Principal, Role, Vault, schema
from sellerkit.vault.roles import SYSTEM
from tests.vault._orders_data import canary, emulator_orders, orders_2026, v0_payloads

N = 40  # orders per API version
TOKEN = "Atzr|IwEBICanaryRefreshTokenQuillon0123456789"


def _needles() -> list[bytes]:
    out: list[str] = []
    for n in range(2 * N):
        c = canary(n)
        out += [c["name"], c["email"], c["line1"], c["line2"], c["city"], c["phone"],
                c["email"].upper()]
    out += ["Wexfordine", "Vexmarrow", "Zanzibarque", "canary@buyer", TOKEN, "CanaryRefresh"]
    needles = [s.encode() for s in out]
    # the same strings as UTF-16 (a dump tool might use it) and the e-mail's plain SHA-256
    needles += [s.encode("utf-16-le") for s in ("Vexmarrow", "Zanzibarque")]
    needles += [hashlib.sha256(canary(n)["email"].encode()).hexdigest().encode()
                for n in range(2 * N)]
    return needles


def _seed(v: Vault) -> None:
    v.connections.upsert(SYSTEM, selling_partner_id="A2CANARY", region="na",
                         client_id="amzn1.application-oa2-client.canary", refresh_token=TOKEN)
    with v.write() as conn:
        sid = v.connections.ensure_seller(conn, "A2CANARY", "na")
        recs = emulator_orders(N)
        orders, items, buyers, addresses = v0_payloads(recs)
        v.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                               addresses=addresses)
        recs26 = emulator_orders(N, seed=99)
        for n, r in enumerate(recs26):  # canaries N.. for the 2026 orders
            r["buyer"].update(canary(N + n))
        v.orders.upsert_orders(conn, sid, "2026-01-01", orders_2026(recs26))
    picker = Principal("fred", Role.FULFILLMENT)
    first = orders[0]["AmazonOrderId"]
    assert v.orders.read_pii(picker, first, purpose="label")["buyer"]["name"] == canary(0)["name"]
    assert v.orders.find_by_buyer_email(picker, canary(1)["email"], purpose="support") == \
        [orders[1]["AmazonOrderId"]]
    with v.read() as conn:  # the blind index is not a plain hash of the address
        bidx = set(conn.execute(select(schema.order_buyers.c.email_bidx)).scalars())
    assert len(bidx) == 2 * N
    for n in range(2 * N):
        e = canary(n)["email"]
        assert not bidx & {hashlib.sha256(e.encode()).hexdigest(),
                           hashlib.sha256(e.lower().encode()).hexdigest()}


def _scan(blob: bytes, where: str) -> None:
    found = [n for n in _needles() if n in blob]
    assert not found, f"plaintext PII in {where}: {found[:5]}"


def test_sqlite_file_and_wal_hold_no_plaintext_pii(tmp_path: Path) -> None:
    db = tmp_path / "vault.sqlite3"
    v = Vault.open(f"sqlite:///{db}")
    try:
        _seed(v)
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the pages are in the WAL right now
        _scan(wal.read_bytes(), "the WAL")
        _scan(db.read_bytes(), "the database file")
        # the scan can find plaintext: an un-encrypted canary in the public JSON would show
        assert b"ATVPDKIKX0DER" in wal.read_bytes() + db.read_bytes()
    finally:
        v.close()
    _scan(db.read_bytes(), "the database file after checkpoint")
    for extra in tmp_path.iterdir():
        if extra.name != "vault.key":
            _scan(extra.read_bytes(), str(extra))


def test_postgres_dump_holds_no_plaintext_pii(postgres_vault_url: str, tmp_path: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    with Vault.open(postgres_vault_url, key=f"file:{tmp_path / 'kek'}") as v:
        _seed(v)
    base, _, query = postgres_vault_url.partition("?")
    schema_name = unquote(query).split("search_path=")[1].split("&")[0]
    dump = subprocess.run([pg_dump, "--no-owner", "-n", schema_name, base],
                          capture_output=True, check=True, timeout=120,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"}).stdout
    assert b"CREATE TABLE" in dump and b"order_buyers" in dump and b"ATVPDKIKX0DER" in dump
    _scan(dump, "the pg_dump")
