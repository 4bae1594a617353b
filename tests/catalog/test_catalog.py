"""The compiled catalog against Amazon's models."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sellerkit.catalog import UnknownOperationError, get_catalog

from ..conftest import MODELS_ROOT, requires_models

ROOT = Path(__file__).resolve().parents[2]


def test_all_operations_with_unique_keys() -> None:
    cat = get_catalog()
    assert len(cat) == 370
    assert len(cat.apis) == 66
    ids = collections.Counter(op.operation_id for op in cat)
    assert sum(1 for n in ids.values() if n > 1) >= 30  # ids repeat across models
    a, b = cat.operation("shipping_v2.linkCarrierAccount"), cat.operation("shipping_v2.linkCarrierAccount_2")
    assert {a.method, b.method} == {"PUT", "POST"} and a.py_name != b.py_name


def test_usage_plans_parsed_never_invented() -> None:
    cat = get_catalog()
    plans = collections.Counter(op.plan for op in cat)
    assert plans == {"default": 300, "placeholder": 5, "unknown": 65}
    for op in cat:
        assert (op.rate is None) == (op.plan != "default")
    examples = {
        "orders_v0.getOrders": (0.0167, 20),
        "orders_2026_01_01.searchOrders": (0.0056, 20),
        "reports_2021_06_30.createReport": (0.0167, 15),
        "feeds_2021_06_30.createFeed": (0.0083, 15),
        "tokens_2021_03_01.createRestrictedDataToken": (1.0, 10),
        "orders_v0.getOrder": (0.5, 30),
        "application_management_2023_11_30.rotateApplicationClientSecret": (0.0167, 1),
    }
    for key, plan in examples.items():
        assert cat.operation(key).rate_limit == plan, key
    assert cat.operation("fulfillment_inbound_2024_03_20.listPrepDetails").plan == "placeholder"


def test_overlay_facts() -> None:
    cat = get_catalog()
    assert cat.operation("notifications_v1.getDestinations").grantless_scope == \
        "sellingpartnerapi::notifications"
    assert cat.operation("notifications_v1.createSubscription").grantless_scope is None
    op = cat.operation("orders_v0.getOrder")
    assert op.restricted and op.restricted_data_elements == (
        "buyerInfo", "shippingAddress", "buyerTaxInformation")
    assert not cat.operation("orders_2026_01_01.getOrder").restricted
    assert cat.operation("orders_v0.getOrders").deprecated


def test_pagination_tokens() -> None:
    cat = get_catalog()
    p = cat.operation("orders_v0.getOrders").pagination
    assert p is not None and (p.request, p.response, p.mode) == ("NextToken", "payload.NextToken", "repeat")
    p = cat.operation("orders_2026_01_01.searchOrders").pagination
    assert p is not None and (p.request, p.response) == ("paginationToken", "pagination.nextToken")
    p = cat.operation("reports_2021_06_30.getReports").pagination
    assert p is not None and p.mode == "token_only"
    p = cat.operation("aplus_content_2020_11_01.searchContentDocuments").pagination
    assert p is not None and (p.request, p.response) == ("pageToken", "nextPageToken")
    assert cat.operation("sellers_v1.getMarketplaceParticipations").pagination is None


def test_parameters_carry_types_enums_and_formats() -> None:
    op = get_catalog().operation("orders_2026_01_01.searchOrders")
    fs = op.params_by_name["fulfillmentStatuses"]
    assert fs.type == "array" and fs.collection_format == "csv" and "SHIPPED" in fs.items["enum"]
    assert op.params_by_name["marketplaceIds"].constraints["maxItems"] == 50
    body = get_catalog().operation("reports_2021_06_30.createReport").body_param
    assert body is not None and body.required and body.schema == {"$ref": "#/definitions/CreateReportSpecification"}


def test_unknown_keys_suggest_close_matches() -> None:
    with pytest.raises(UnknownOperationError, match="did you mean orders_v0.getOrders"):
        get_catalog().operation("orders_v0.getOrdrs")
    assert get_catalog().operation("orders.getOrder").key == "orders_2026_01_01.getOrder"


def test_every_operation_routes_to_itself() -> None:
    import re

    cat = get_catalog()
    for op in cat:
        concrete = re.sub(r"\{[^}]+\}", "X-1", op.path)
        found = cat.match(op.method, concrete)
        assert found is not None and found[0].path == op.path, op.key


def test_no_model_prose_in_the_checked_in_data() -> None:
    data = ROOT / "sellerkit" / "catalog" / "data"
    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "properties" and isinstance(v, dict):  # names of fields, not keywords
                    for name, sub in v.items():
                        walk(sub, f"{where}.{name}")
                    continue
                assert k not in ("description", "example", "examples", "x-example",
                                 "x-amzn-api-sandbox", "x-docgen-enum-table-extension"), where
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for x in node:
                walk(x, where)

    for f in data.glob("*.json"):
        walk(json.loads(f.read_text()), f.name)
    ops = json.loads((data / "operations.json").read_text())
    assert len(ops["operations"]) == 370


@requires_models
def test_generator_check_mode_passes_on_the_checked_in_output() -> None:
    rc = subprocess.run([sys.executable, "tools/gen_catalog.py", "--check", "--models", str(MODELS_ROOT)], cwd=ROOT,
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr


@requires_models
def test_generator_check_mode_detects_stale_output(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "tools", copy / "tools")
    shutil.copytree(ROOT / "sellerkit" / "catalog", copy / "sellerkit" / "catalog")
    shutil.copytree(ROOT / "sellerkit" / "client" / "_generated",
                    copy / "sellerkit" / "client" / "_generated")
    ops = copy / "sellerkit" / "catalog" / "data" / "operations.json"
    ops.write_text(ops.read_text().replace('"burst": 20', '"burst": 21', 1))
    rc = subprocess.run([sys.executable, str(copy / "tools" / "gen_catalog.py"), "--check",
                         "--models", str(MODELS_ROOT)], capture_output=True, text=True)
    assert rc.returncode == 1 and "operations.json" in rc.stderr
