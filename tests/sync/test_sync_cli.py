"""``sellerkit sync orders`` through the real command line (Typer app, SellerkitGroup), against an
emulator on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from sellerkit.vault import Principal, Role, Vault
from tests.sync._emu import settle, stored, truth

ADMIN = Principal("admin", Role.ADMIN)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from sellerkit.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(port=0, seed=4, orders=40, rate_scale=1000)) as srv:
        settle(srv.emulator)
        yield srv


@pytest.fixture
def env(server: Any, sqlite_vault_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> dict[str, str]:
    cfg = server.emulator.config
    values = {"SELLERKIT_CLIENT_ID": cfg.client_id, "SELLERKIT_CLIENT_SECRET": cfg.client_secret,
              "SELLERKIT_ENDPOINT": server.base_url,
              "SELLERKIT_LWA_ENDPOINT": server.base_url + "/auth/o2/token",
              "SELLERKIT_REGION": "NA", "SELLERKIT_VAULT_URL": sqlite_vault_url,
              "SELLERKIT_VAULT_KEY": f"file:{tmp_path / 'vault.key'}", "SELLERKIT_USER": "bot"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    with Vault.open(sqlite_vault_url) as v:
        admin = v.users.bootstrap_admin("admin")
        v.users.add(admin, "bot", Role.ADMIN, kind="service")
        v.users.add(admin, "carol", Role.ANALYST)
    return values


def sync(*args: str) -> Any:
    return CliRunner().invoke(app, ["sync", "orders", "--since", "400d", *args])


def test_self_authorized_seller_then_an_incremental_run(env: dict[str, str], server: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERKIT_REFRESH_TOKEN", server.emulator.config.refresh_token)
    r = sync("--json", "--page-size", "15")
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    want = truth(server.emulator, first["high_water"])
    assert first["selling_partner_id"] == "profile:default" and first["api"] == "2026-01-01"
    assert first["orders_new"] == len(want) and first["pages"] == -(-len(want) // 15)
    assert first["completed"] and first["high_water"] == first["window_end"]
    with Vault.open(env["SELLERKIT_VAULT_URL"]) as v:
        assert stored(v) == want
        events = v.audit.events(ADMIN, action="sync")
        assert len(events) == 1 and events[0].details["orders_new"] == len(want)
    again = json.loads(sync("--json").stdout)
    assert again["orders_new"] == again["orders_updated"] == 0
    # without --json: the summary for a person
    r = sync()
    assert r.exit_code == 0, r.output
    assert "sync done: seller profile:default (NA), Orders 2026-01-01" in r.stdout
    assert "0 new, 0 updated" in r.stdout


def test_a_seller_connected_in_the_vault(env: dict[str, str], server: Any) -> None:
    seller = server.emulator.seller_ids[0]
    with Vault.open(env["SELLERKIT_VAULT_URL"]) as v:
        v.connections.upsert(ADMIN, selling_partner_id=seller, region="na",
                             client_id=server.emulator.config.client_id,
                             refresh_token=server.emulator.config.refresh_token)
    r = sync("--seller", seller, "--api", "v0", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["selling_partner_id"] == seller and out["api"] == "v0"
    assert out["orders_new"] == len(truth(server.emulator, out["high_water"]))
    assert out["buyers"] == out["orders_new"]
    with Vault.open(env["SELLERKIT_VAULT_URL"]) as v:
        info = v.connections.get(ADMIN, seller, "na")
        assert info.last_success_at is not None and info.last_error is None


def test_mistakes_are_one_line(env: dict[str, str], server: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    r = sync("--api", "v1")
    assert r.exit_code == 2 and "--api 'v1': use 2026-01-01 or v0" in r.output
    r = sync()  # no refresh token in the profile, no --seller
    assert r.exit_code == 2 and "pass --seller ID" in r.output
    r = sync("--seller", "ANOBODY")
    assert r.exit_code == 2 and "no connection" in r.output
    monkeypatch.setenv("SELLERKIT_REFRESH_TOKEN", server.emulator.config.refresh_token)
    r = sync("--user", "carol")
    assert r.exit_code == 2 and "analyst" in r.output
    r = sync("--overlap", "soon")
    assert r.exit_code == 2 and "--overlap 'soon'" in r.output
    assert "Traceback" not in r.output
