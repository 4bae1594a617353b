"""``SellingPartner.for_seller`` / ``AsyncSellingPartner.for_seller``: a client from a connection
stored in the vault, against the in-process emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.errors import ConfigurationError
from sellerkit.vault import Principal, Role, Vault
from tests.sync._emu import Clock

ENDPOINT = "http://127.0.0.1:8787"
ADMIN = Principal("alice", Role.ADMIN)
OTHER_APP = "amzn1.application-oa2-client.someone-else"


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


def app_kwargs(emu: Any, **more: Any) -> dict[str, Any]:
    cfg = emu.config
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
            "endpoint": ENDPOINT, "lwa_endpoint": ENDPOINT + "/auth/o2/token", **more}


def connect(vault: Vault, emu: Any, client_id: str | None = None) -> str:
    seller = emu.seller_ids[0]
    vault.connections.upsert(ADMIN, selling_partner_id=seller, region="na",
                             client_id=client_id or emu.config.client_id,
                             refresh_token=emu.config.refresh_token, source="oauth")
    return str(seller)


def test_the_first_call_works_with_the_token_from_the_vault(vault: Vault, emu: Any) -> None:
    seller = connect(vault, emu)
    with SellingPartner.for_seller(seller, "NA", vault=vault,
                                   **app_kwargs(emu, transport=emu.sync_transport())) as sp:
        assert sp.selling_partner_id == seller
        assert sp.connection.client_id == emu.config.client_id
        r = sp.sellers_v1.get_marketplace_participations()
        assert r.payload and r.payload[0]["marketplace"]["id"]
        assert emu.config.refresh_token not in repr(sp)
    try:
        events = vault.audit.events(ADMIN, action="connection.token_read")
    except ModuleNotFoundError:  # a vault build without the audit log
        return
    assert events and events[-1].purpose == "api calls"


async def test_the_async_twin(svault: Vault, emu: Any) -> None:
    seller = connect(svault, emu)
    async with AsyncSellingPartner.for_seller(
            seller, "na", vault=svault, **app_kwargs(emu, transport=emu.async_transport())) as sp:
        r = await sp.sellers_v1.get_marketplace_participations()
        assert r.payload


def test_a_connection_of_another_app_is_refused_naming_both(svault: Vault, emu: Any) -> None:
    seller = connect(svault, emu, client_id=OTHER_APP)
    with pytest.raises(ConfigurationError) as err:
        SellingPartner.for_seller(seller, "NA", vault=svault, **app_kwargs(emu))
    text = str(err.value)
    assert OTHER_APP in text and emu.config.client_id in text
    assert "issued to" in text
    assert emu.config.refresh_token not in text


def test_unknown_seller_and_bad_arguments(svault: Vault, emu: Any) -> None:
    with pytest.raises(ConfigurationError, match="no connection for seller AXXXXXXXX"):
        SellingPartner.for_seller("AXXXXXXXX", "NA", vault=svault, **app_kwargs(emu))
    seller = connect(svault, emu)
    with pytest.raises(ConfigurationError, match="no connection .* region EU"):
        SellingPartner.for_seller(seller, "EU", vault=svault, **app_kwargs(emu))
    with pytest.raises(ConfigurationError, match="region 'XX'"):
        SellingPartner.for_seller(seller, "XX", vault=svault, **app_kwargs(emu))
    with pytest.raises(ConfigurationError, match="leave refresh_token= out"):
        SellingPartner.for_seller(seller, "NA", vault=svault, refresh_token="Atzr|x",
                                  **app_kwargs(emu))
    with pytest.raises(ConfigurationError, match="LWA credentials"):
        SellingPartner.for_seller(seller, "NA", vault=svault)
