"""``sellerkit demo``'s vault step: the emulator's orders synced into a vault, one buyer name read
through the vault with a purpose, and not found in the database's raw bytes."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from sellerkit.demo import DEMO_FULFILLMENT, DEMO_PURPOSE, render, run_demo
from sellerkit.vault import Principal, Role, Vault


def test_the_demo_syncs_into_a_temporary_vault_and_shows_the_pii_is_encrypted() -> None:
    summary = run_demo(orders=40, seed=3, page_size=20)
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


def test_demo_vault_option_keeps_the_vault(tmp_path: Path) -> None:
    from sellerkit.cli.main import app

    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    r = CliRunner().invoke(app, ["demo", "--orders", "15", "--json", "--vault", url])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["vault"]["orders"] == 15 and data["vault"]["name_in_raw_bytes"] is False
    with Vault.open(url) as v:
        reader = Principal(DEMO_FULFILLMENT, Role.FULFILLMENT)
        assert len(v.orders.list(reader, limit=100)) == 15
        reads = v.audit.events(Principal("demo-admin", Role.ADMIN), action="pii.read")
        assert reads and reads[-1].purpose == DEMO_PURPOSE
        assert reads[-1].actor == DEMO_FULFILLMENT
