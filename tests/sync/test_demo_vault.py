"""``sellerkit demo``'s vault step: the emulator's orders synced into a vault, one buyer name read
through the vault with a purpose, and not found in the database's raw bytes."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from sellerkit.demo import DEMO_FULFILLMENT, DEMO_PURPOSE, render, run_demo
from sellerkit.vault import Principal, Role, Vault


def test_the_demo_syncs_into_a_temporary_vault_and_shows_the_pii_is_encrypted() -> None:
    summary = run_demo(orders=40, seed=3, page_size=20)  # the whole demo, as the README runs it
    v = summary.vault
    assert v is not None and v.location == "a temporary SQLite vault"
    assert v.orders == summary.orders == 40
    assert v.buyers == 40 and v.items >= 40
    assert v.buyer_name and v.order_id
    assert v.name_in_raw_bytes is False and v.raw_bytes > 10_000
    assert v.read_as == f"{DEMO_FULFILLMENT} (fulfillment)"
    console = Console(record=True, width=200)
    console.print(render(summary))
    flat = " ".join(console.export_text().split())
    assert "sellerkit.sync stored 40 orders" in flat
    assert f"buyer {v.buyer_name} (synthetic)" in flat
    assert "do not contain it: the PII is encrypted at rest" in flat
    assert "@" not in flat  # buyer e-mails are never shown


def test_a_vault_given_is_kept_with_the_demo_users_and_the_audited_read(tmp_path: Path) -> None:
    from sellerkit import SellingPartner
    from sellerkit.demo import _vault_step
    from sellerkit.emulator import Emulator, EmulatorConfig

    emu = Emulator(EmulatorConfig(orders=15, rate_scale=1000))
    cfg = emu.config
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with SellingPartner(client_id=cfg.client_id, client_secret=cfg.client_secret,
                        refresh_token=cfg.refresh_token, endpoint="http://127.0.0.1:8787",
                        lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", region="NA",
                        transport=emu.sync_transport()) as sp:
        out = _vault_step(sp, emu.seller_ids[0], url, None)
    assert out.location == url and out.orders == 15 and out.name_in_raw_bytes is False
    with Vault.open(url) as v:
        reader = Principal(DEMO_FULFILLMENT, Role.FULFILLMENT)
        assert len(v.orders.list(reader, limit=100)) == 15
        reads = v.audit.events(Principal("demo-admin", Role.ADMIN), action="pii.read")
        assert reads and reads[-1].purpose == DEMO_PURPOSE
        assert reads[-1].actor == DEMO_FULFILLMENT


def test_demo_command_takes_vault_and_key() -> None:
    from sellerkit.cli.main import app

    r = CliRunner().invoke(app, ["demo", "--help"])
    assert r.exit_code == 0 and "--vault" in r.output and "--key" in r.output
