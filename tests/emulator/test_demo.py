"""``sellerkit demo``: the real client against the emulator over loopback."""

from __future__ import annotations

import json

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

pytest.importorskip("sellerkit.client")

from sellerkit.cli.demo_cmd import register  # noqa: E402
from sellerkit.demo import render, run_demo  # noqa: E402


def test_demo_pulls_every_order_with_buyer_data() -> None:
    summary = run_demo(orders=60, seed=3, page_size=10)
    assert summary.orders == 60
    assert len(summary.marketplaces) >= 1
    for m in summary.marketplaces:
        assert m.with_buyer_info == m.orders  # the RDT reached the simulation
        shipped = sum(m.statuses.get(s, 0) for s in ("Shipped", "Unshipped"))
        assert m.with_address == shipped  # full addresses: name and street
        assert m.pages == max(1, -(-m.orders // 10))
        assert sum(m.statuses.values()) == m.orders
    assert summary.requests >= 2 + sum(m.pages for m in summary.marketplaces)
    assert summary.seconds < 30
    console = Console(record=True, width=120)
    console.print(render(summary))
    text = console.export_text()
    assert "60 orders" in text
    assert "@" not in text  # buyer e-mails are counted, never shown
    # one shipping name and street, through getOrderAddress and its RDT, labelled as synthetic
    a = summary.address
    assert a is not None and a.name and a.street and a.street[0].isdigit()
    flat = " ".join(text.split())
    assert f"ship to {a.name}, {a.street}" in flat
    assert "synthetic emulator data" in flat
    # the orders report: every order of its marketplace, one row per item at least
    r = summary.report
    assert r is not None and r.status == "DONE"
    first = summary.marketplaces[0]
    assert r.marketplace_id == first.marketplace_id
    assert r.orders == first.orders and r.rows >= r.orders
    assert f"{r.rows} rows for {r.orders} orders" in flat
    # the listings feed: accepted, the two real SKUs applied, the made-up one failed
    f = summary.feed
    assert f is not None and f.accepted and f.status == "DONE"
    assert (f.messages, f.applied, f.failed) == (3, 2, 1) and len(f.skus) == 2
    assert "2 applied, 1 failed" in flat
    # one notification for each, naming that very report and feed
    n = summary.notifications
    assert n is not None and n.count == 2
    assert n.types == {"FEED_PROCESSING_FINISHED": 1, "REPORT_PROCESSING_FINISHED": 1}
    assert n.report_ids == [r.report_id] and n.feed_ids == [f.feed_id]
    assert "notifications received from the emulator's queue: 2" in flat


def test_demo_command_json() -> None:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:
        """keeps Typer in multi-command mode"""

    result = CliRunner().invoke(app, ["demo", "--orders", "20", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["orders"] == 20
    assert data["requests_per_second"] > 0
    assert data["address"]["name"] and data["address"]["street"]
    assert data["report"]["rows"] >= data["report"]["orders"] > 0
    assert data["feed"]["accepted"] is True and data["feed"]["applied"] == 2
    assert data["notifications"]["count"] == 2
    assert sorted(data["notifications"]["types"]) == ["FEED_PROCESSING_FINISHED",
                                                      "REPORT_PROCESSING_FINISHED"]
