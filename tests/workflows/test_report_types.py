"""Report-type metadata: built from Amazon's schemas and the facts, and fresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sellerkit.workflows.report_types import is_restricted, report_type, report_types

from ..conftest import MODELS_ROOT, requires_models

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = (MODELS_ROOT / "schemas" / "reports") if MODELS_ROOT is not None else ROOT
sys.path.insert(0, str(ROOT / "tools"))

from catalog_overlay import RESTRICTED_REPORT_TYPES  # noqa: E402


def test_restricted_types_are_exactly_the_facts_list() -> None:
    """sp-api-facts.md §7: getReportDocument needs an RDT for these report types only."""
    assert {n for n, t in report_types().items() if t.restricted} == set(RESTRICTED_REPORT_TYPES)
    assert is_restricted("GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING")
    assert is_restricted("SC_VAT_TAX_REPORT")
    assert not is_restricted("GET_MERCHANT_LISTINGS_ALL_DATA")
    assert not is_restricted("GET_UNKNOWN_TYPE")


@requires_models
def test_every_report_schema_gives_a_json_report_type() -> None:
    described = {f for t in report_types().values() for f in t.schemas}
    assert described == {p.name for p in SCHEMAS.glob("*.json")}
    for t in report_types().values():
        if t.schemas:
            assert t.format == "json" and t.content_type == "application/json"
            assert t.charset == "utf-8"
    sat = report_type("GET_SALES_AND_TRAFFIC_REPORT")
    assert sat.schemas == ("sellerSalesAndTrafficReport.json",)
    schema = json.loads((SCHEMAS / sat.schemas[0]).read_text())
    enum = schema["properties"]["reportSpecification"]["properties"]["reportType"]["enum"]
    assert enum == ["GET_SALES_AND_TRAFFIC_REPORT"]


def test_formats_agree_with_the_type_names_and_quoting_with_the_formats() -> None:
    for name, t in report_types().items():
        assert t.known and t.format in ("tsv", "csv", "json", "xml", "pdf")
        if name.startswith("GET_XML_"):
            assert t.format == "xml", name
        if name.startswith("GET_FLAT_FILE_"):
            assert t.format == "tsv", name
        if name.startswith("GET_CSV_"):
            assert t.format == "csv", name
        assert t.quoting == {"tsv": t.quoting if t.quoting == "quoted" else "none",
                             "csv": "minimal"}.get(t.format), name
    assert report_type("GET_LEDGER_DETAIL_VIEW_DATA").quoting == "quoted"
    assert report_type("GET_EASYSHIP_DOCUMENTS").format == "pdf"


def test_settlement_reports_are_neither_requestable_nor_schedulable() -> None:
    t = report_type("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE")
    assert (t.requestable, t.schedulable) == (False, False)
    assert report_type("GET_MERCHANT_LISTINGS_ALL_DATA").requestable is None  # not recorded


def test_unknown_report_type_is_not_an_error() -> None:
    t = report_type("GET_BRAND_NEW_REPORT_2027")
    assert not t.known and t.format is None and not t.restricted and t.tabular


@requires_models
def test_checked_in_data_is_what_the_generator_makes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_report_types.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_importing_the_package_has_no_side_effects() -> None:
    code = ("import sys, logging; import sellerkit.workflows, sellerkit.workflows.documents, "
            "sellerkit.workflows.report_types as r; "
            "assert r._table.cache_info().currsize == 0; "
            "assert not logging.getLogger().handlers; "
            "assert 'pyarrow' not in sys.modules and 'pandas' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "ok"
