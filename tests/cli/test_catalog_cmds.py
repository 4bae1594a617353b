"""`sellerkit operations` and `sellerkit marketplaces`, through the real app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app

runner = CliRunner()

SUMMARY_FIELDS = {"key", "api", "version", "operation_id", "method", "path", "rate", "burst",
                  "grantless_scope", "restricted", "deprecated"}


def _json(args: list[str]) -> list[dict]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def test_operations_json_has_all_370() -> None:
    ops = _json(["operations", "--json"])
    assert len(ops) == 370
    assert len({o["key"] for o in ops}) == 370
    for op in ops:
        assert SUMMARY_FIELDS <= op.keys()
    by_key = {o["key"]: o for o in ops}
    get_orders = by_key["orders_v0.getOrders"]
    assert (get_orders["rate"], get_orders["burst"]) == (0.0167, 20)
    assert (get_orders["method"], get_orders["path"]) == ("GET", "/orders/v0/orders")
    assert get_orders["restricted"] is True
    assert by_key["tokens_2021_03_01.createRestrictedDataToken"]["rate"] == 1
    assert by_key["notifications_v1.createDestination"]["grantless_scope"] == (
        "sellingpartnerapi::notifications")


@pytest.mark.parametrize(("api", "versions"), [
    ("orders", {"v0", "2026_01_01"}),
    ("orders_v0", {"v0"}),
    ("ordersV0", {"v0"}),
    ("ORDERS-2026-01-01", {"2026_01_01"}),
    ("catalogItems", {"v0", "2020_12_01", "2022_04_01"}),
])
def test_operations_filter_by_api(api: str, versions: set[str]) -> None:
    ops = _json(["operations", "--api", api, "--json"])
    assert ops
    assert {o["version"] for o in ops} == versions
    assert len({o["api"] for o in ops}) == 1


def test_orders_v0_count_matches_catalog() -> None:
    from sellerkit.catalog import get_catalog

    ops = _json(["operations", "--api", "orders_v0", "--json"])
    assert len(ops) == len(get_catalog().api_operations("orders_v0"))


def test_unknown_api_lists_close_matches() -> None:
    result = runner.invoke(app, ["operations", "--api", "ordrs"])
    assert result.exit_code == 2
    assert "unknown API 'ordrs'" in result.stderr
    assert "orders" in result.stderr
    assert result.stdout == ""
    result = runner.invoke(app, ["operations", "--api", "inventory"])
    assert result.exit_code == 2
    assert "fba_inventory" in result.stderr


def test_operations_table() -> None:
    result = runner.invoke(app, ["operations", "--api", "orders_v0"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "orders_v0.getOrders" in result.stdout
    assert "0.0167" in result.stdout
    assert "restricted" in result.stdout
    assert "10 operations" in result.stdout


def test_placeholder_and_missing_plans_in_table() -> None:
    result = runner.invoke(app, ["operations", "--api", "fulfillment_inbound_2024_03_20"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0
    line = next(ln for ln in result.stdout.splitlines() if "listPrepDetails" in ln)
    assert "n/a" in line


def test_marketplaces_json() -> None:
    rows = _json(["marketplaces", "--json"])
    assert len(rows) == 23
    by_code = {r["country_code"]: r for r in rows}
    uk = by_code["UK"]
    assert uk["id"] == "A1F83G8C2ARO7P" and uk["aliases"] == ["GB"] and uk["region"] == "EU"
    assert uk["endpoint"] == "sellingpartnerapi-eu.amazon.com"
    assert by_code["IN"]["region"] == "EU"
    assert by_code["JP"]["aws_region"] == "us-west-2"
    assert by_code["US"]["sandbox_endpoint"] == "sandbox.sellingpartnerapi-na.amazon.com"


def test_marketplaces_table() -> None:
    result = runner.invoke(app, ["marketplaces"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "UK / GB" in result.stdout
    assert "A1F83G8C2ARO7P" in result.stdout
    assert "23 marketplaces" in result.stdout
