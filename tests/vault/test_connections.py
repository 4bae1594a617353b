"""Seller connections: the refresh token encrypted and bound to its row, re-authorization
renews, the token is read only by admins and services with a purpose, and every step is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sellerkit.errors import AccessDeniedError, IntegrityError, VaultError
from sellerkit.vault import Principal, Role, Vault, schema
from sellerkit.vault.roles import SYSTEM
from tests.vault._gov import Clock

TOKEN = "Atzr|IwEBIExampleRefreshToken-0123456789abcdef"
APP = "amzn1.application-oa2-client.example"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault(vault_url: str, tmp_path: Path, clock: Clock) -> Iterator[Vault]:
    v = Vault.open(vault_url, key=f"file:{tmp_path / 'kek'}", clock=clock)
    yield v
    v.close()


def test_upsert_encrypts_the_token_and_reauthorization_renews(vault: Vault, clock: Clock) -> None:
    info = vault.connections.upsert(SYSTEM, selling_partner_id="A2SELLER", region="NA",
                                    client_id=APP, refresh_token=TOKEN,
                                    marketplace_ids=["ATVPDKIKX0DER", "ATVPDKIKX0DER"])
    assert info.region == "na" and info.status == "active" and info.source == "oauth"
    assert info.marketplace_ids == ["ATVPDKIKX0DER"]
    assert info.renewal_due_at == info.authorized_at + timedelta(days=365)
    assert TOKEN not in repr(info) and TOKEN not in str(info.to_dict())
    with vault.read() as conn:
        ct = conn.execute(select(schema.connections.c.refresh_token_ct)).scalar_one()
    assert TOKEN.encode() not in ct and b"Atzr" not in ct

    clock.advance(days=200)
    again = vault.connections.upsert(SYSTEM, selling_partner_id="A2SELLER", region="na",
                                     client_id=APP, refresh_token=TOKEN + "-new", source="appstore")
    assert again.authorized_at == clock.now and again.source == "appstore"
    assert again.marketplace_ids == ["ATVPDKIKX0DER"]  # kept when not given
    assert len(vault.connections.list(SYSTEM)) == 1
    assert vault.connections.refresh_token(SYSTEM, "A2SELLER", "na", purpose="sync") == \
        TOKEN + "-new"
    actions = [e.action for e in vault.audit.events(SYSTEM, action="connection*")]
    assert actions == ["connection.add", "connection.update", "connection.token_read"]
    assert all(TOKEN not in str(e.details) for e in vault.audit.events(SYSTEM))


def test_token_reads_need_admin_or_service_and_a_purpose(vault: Vault) -> None:
    vault.connections.upsert(SYSTEM, selling_partner_id="A2S", region="eu", client_id=APP,
                             refresh_token=TOKEN)
    analyst = Principal("ann", Role.ANALYST)
    fulfil = Principal("fred", Role.FULFILLMENT)
    assert vault.connections.get(analyst, "A2S", "eu").client_id == APP  # info yes
    for who in (analyst, fulfil):
        with pytest.raises(AccessDeniedError, match="may not read refresh tokens"):
            vault.connections.refresh_token(who, "A2S", "eu", purpose="curious")
    with pytest.raises(AccessDeniedError, match="purpose"):
        vault.connections.refresh_token(Principal("root", Role.ADMIN), "A2S", "eu", purpose=" ")
    with pytest.raises(AccessDeniedError, match="may not add or change"):
        vault.connections.upsert(fulfil, selling_partner_id="A2S", region="eu", client_id=APP,
                                 refresh_token=TOKEN)
    with pytest.raises(AccessDeniedError):
        vault.connections.list(Principal("aud", Role.AUDITOR))
    denied = vault.audit.events(SYSTEM, action="connection.token_read", outcome="denied")
    assert [e.actor for e in denied] == ["ann", "fred", "root"]
    service = Principal("sync-bot", Role.ANALYST, kind="service")
    assert vault.connections.refresh_token(service, "A2S", "eu", purpose="sync") == TOKEN


def test_a_token_copied_to_another_connection_fails(vault: Vault) -> None:
    for spid in ("A2ONE", "A2TWO"):
        vault.connections.upsert(SYSTEM, selling_partner_id=spid, region="na", client_id=APP,
                                 refresh_token=f"{TOKEN}-{spid}")
    c = schema.connections.c
    with vault.write() as conn:
        rows = conn.execute(select(c.id, c.refresh_token_ct, c.key_id).order_by(c.id)).all()
        conn.execute(update(schema.connections).where(c.id == rows[1].id).values(
            refresh_token_ct=rows[0].refresh_token_ct, key_id=rows[0].key_id))
    with pytest.raises(IntegrityError, match="failed verification"):
        vault.connections.refresh_token(SYSTEM, "A2TWO", "na", purpose="sync")


def test_unknown_and_ambiguous_connections_say_what_to_do(vault: Vault) -> None:
    with pytest.raises(VaultError, match="no connection of A2NONE"):
        vault.connections.get(SYSTEM, "A2NONE", "na")
    for app in (APP, APP + "2"):
        vault.connections.upsert(SYSTEM, selling_partner_id="A2S", region="na", client_id=app,
                                 refresh_token=TOKEN)
    with pytest.raises(VaultError, match="several apps"):
        vault.connections.get(SYSTEM, "A2S", "na")
    assert vault.connections.get(SYSTEM, "A2S", "na", APP + "2").client_id == APP + "2"
    with pytest.raises(VaultError, match="region 'xx'"):
        vault.connections.get(SYSTEM, "A2S", "xx")
    with pytest.raises(VaultError, match="refresh token is empty"):
        vault.connections.upsert(SYSTEM, selling_partner_id="A2S", region="na", client_id=APP,
                                 refresh_token="  ")


def test_record_call_keeps_health(vault: Vault, clock: Clock) -> None:
    vault.connections.upsert(SYSTEM, selling_partner_id="A2S", region="fe", client_id=APP,
                             refresh_token=TOKEN)
    vault.connections.record_call("A2S", "fe", APP, ok=False, error="invalid_grant: revoked")
    info = vault.connections.get(SYSTEM, "A2S", "fe")
    assert info.last_error == "invalid_grant: revoked" and info.last_error_at == clock.now
    clock.advance(minutes=5)
    vault.connections.record_call("A2S", "fe", None, ok=True)
    info = vault.connections.get(SYSTEM, "A2S", "fe")
    assert info.last_success_at == clock.now and info.last_error == "invalid_grant: revoked"
    assert vault.connections.set_status(SYSTEM, "A2S", "fe", None, "revoked").status == "revoked"


def test_ensure_seller_is_idempotent(vault: Vault) -> None:
    with vault.write() as conn:
        a = vault.connections.ensure_seller(conn, "A2S", "na")
        assert vault.connections.ensure_seller(conn, "A2S", "NA") == a
        assert vault.connections.ensure_seller(conn, "A2S", "eu") != a
    assert vault.connections.seller_id("A2S", "na") == a
    assert vault.connections.seller_id("A2X", "na") is None
