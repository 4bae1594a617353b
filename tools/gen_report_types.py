"""Generate sellerkit/workflows/data/report_types.json: what sellerkit knows per report type.

    python3 tools/gen_report_types.py            # regenerate
    python3 tools/gen_report_types.py --check    # fail if the checked-in file is stale

Three sources, merged in this order (facts only, no prose is copied):

1. ``../shared/sp-api-models/schemas/reports/*.json`` (or ``--models``): the JSON report types.
   The type name comes from the schema's ``reportSpecification.reportType`` enum or examples;
   for the few schemas that name no type, ``SCHEMA_TYPES`` below says which type they describe.
2. ``tools/catalog_overlay.RESTRICTED_REPORT_TYPES`` (sp-api-facts.md §7): the types whose
   getReportDocument needs a Restricted Data Token.
3. ``FLAT_FILES`` below: the flat-file and XML types users ask for most, with their format.
   ``requestable`` / ``schedulable`` are recorded only where known; ``None`` means "not
   recorded", and callers must then simply try. Amazon's list changes: an unknown type still
   works (sellerkit reads it as raw rows), so this table only needs the common ones.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from catalog_overlay import RESTRICTED_REPORT_TYPES  # noqa: E402

OUTPUT = ROOT / "sellerkit" / "workflows" / "data" / "report_types.json"

CONTENT_TYPES = {
    "tsv": "text/tab-separated-values",
    "csv": "text/csv",
    "json": "application/json",
    "xml": "text/xml",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Schemas under schemas/reports that do not name their report type themselves.
SCHEMA_TYPES: dict[str, str] = {
    "accountHealthReport-2020-11-18": "GET_V2_SELLER_PERFORMANCE_REPORT",
    "b2bProductOpportunitiesNotYetOnAmazonReport-2020-11-19":
        "GET_B2B_PRODUCT_OPPORTUNITIES_NOT_YET_ON_AMAZON",
    "b2bProductOpportunitiesRecommendedForYouReport-2020-11-19":
        "GET_B2B_PRODUCT_OPPORTUNITIES_RECOMMENDED_FOR_YOU",
    "endUserDataReport": "END_USER_DATA_REPORT",
    "marketplaceAsinPageViewMetrics": "MARKETPLACE_ASIN_PAGE_VIEW_METRICS",
}

T, C, X, P = "tsv", "csv", "xml", "pdf"
# name: (format, requestable, schedulable, quoting)  quoting None = the format's default
FLAT_FILES: dict[str, tuple[str, bool | None, bool | None, str | None]] = {
    # listings / inventory
    "GET_FLAT_FILE_OPEN_LISTINGS_DATA": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_ALL_DATA": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_DATA": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_INACTIVE_DATA": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_DATA_BACK_COMPAT": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_DATA_LITE": (T, None, None, None),
    "GET_MERCHANT_LISTINGS_DATA_LITER": (T, None, None, None),
    "GET_MERCHANT_CANCELLED_LISTINGS_DATA": (T, None, None, None),
    "GET_MERCHANTS_LISTINGS_FYP_REPORT": (T, None, None, None),
    "GET_REFERRAL_FEE_PREVIEW_REPORT": (T, None, None, None),
    # orders
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING": (T, None, None, None),
    "GET_ORDER_REPORT_DATA_INVOICING": (X, None, None, None),
    "GET_ORDER_REPORT_DATA_TAX": (X, None, None, None),
    "GET_ORDER_REPORT_DATA_SHIPPING": (X, None, None, None),
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING": (T, None, None, None),
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX": (T, None, None, None),
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING": (T, None, None, None),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": (T, None, None, None),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": (T, None, None, None),
    "GET_FLAT_FILE_ARCHIVED_ORDERS_DATA_BY_ORDER_DATE": (T, None, None, None),
    "GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": (X, None, None, None),
    "GET_XML_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": (X, None, None, None),
    "GET_FLAT_FILE_PENDING_ORDERS_DATA": (T, None, None, None),
    "GET_PENDING_ORDERS_DATA": (X, None, None, None),
    "GET_CONVERGED_FLAT_FILE_PENDING_ORDERS_DATA": (T, None, None, None),
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX": (T, None, None, None),
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING": (T, None, None, None),
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING": (T, None, None, None),
    # returns
    "GET_XML_RETURNS_DATA_BY_RETURN_DATE": (X, None, None, None),
    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE": (T, None, None, None),
    "GET_XML_MFN_PRIME_RETURNS_REPORT": (X, None, None, None),
    "GET_CSV_MFN_PRIME_RETURNS_REPORT": (C, None, None, None),
    "GET_XML_MFN_SKU_RETURN_ATTRIBUTES_REPORT": (X, None, None, None),
    "GET_FLAT_FILE_MFN_SKU_RETURN_ATTRIBUTES_REPORT": (T, None, None, None),
    # performance
    "GET_SELLER_FEEDBACK_DATA": (T, None, None, None),
    "GET_V1_SELLER_PERFORMANCE_REPORT": (X, None, None, None),
    # settlement: generated by Amazon on its own schedule; find them with getReports
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE": (T, False, False, None),
    "GET_V2_SETTLEMENT_REPORT_DATA_XML": (X, False, False, None),
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2": (T, False, False, None),
    # fulfillment by Amazon
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL": (T, None, None, None),
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING": (T, None, None, None),
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX": (T, None, None, None),
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_SALES_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_PROMOTION_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_CUSTOMER_TAXES_DATA": (T, None, None, None),
    "GET_REMOTE_FULFILLMENT_ELIGIBILITY": (T, None, None, None),
    "GET_AFN_INVENTORY_DATA": (T, None, None, None),
    "GET_AFN_INVENTORY_DATA_BY_COUNTRY": (T, None, None, None),
    # the ledger reports enclose fields in quotes although they are tab-separated
    "GET_LEDGER_SUMMARY_VIEW_DATA": (T, None, None, "quoted"),
    "GET_LEDGER_DETAIL_VIEW_DATA": (T, None, None, "quoted"),
    "GET_RESERVED_INVENTORY_DATA": (T, None, None, None),
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA": (T, None, None, None),
    "GET_FBA_MYI_ALL_INVENTORY_DATA": (T, None, None, None),
    "GET_RESTOCK_INVENTORY_RECOMMENDATIONS_REPORT": (T, None, None, None),
    "GET_FBA_INVENTORY_PLANNING_DATA": (T, None, None, None),
    "GET_STRANDED_INVENTORY_UI_DATA": (T, None, None, None),
    "GET_FBA_STORAGE_FEE_CHARGES_DATA": (T, None, None, None),
    "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA": (T, None, None, None),
    "GET_FBA_REIMBURSEMENTS_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA": (T, None, None, None),
    "GET_FBA_RECOMMENDED_REMOVAL_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA": (T, None, None, None),
    "GET_FBA_UNO_INVENTORY_DATA": (T, None, None, None),
    "GET_FBA_SNS_FORECAST_DATA": (T, None, None, None),
    "GET_FBA_SNS_PERFORMANCE_DATA": (T, None, None, None),
    "GET_FBA_OVERAGE_FEE_CHARGES_DATA": (T, None, None, None),
    "GET_FBA_FULFILLMENT_LONGTERM_STORAGE_FEE_CHARGES_DATA": (T, None, None, None),
    "GET_EXCESS_INVENTORY_DATA": (T, None, None, None),
    # tax and invoicing
    "GET_VAT_TRANSACTION_DATA": (C, None, None, None),
    "SC_VAT_TAX_REPORT": (C, None, None, None),
    "GET_GST_MTR_B2B_CUSTOM": (C, None, None, None),
    "GET_GST_MTR_B2C_CUSTOM": (C, None, None, None),
    "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT": (T, None, None, None),
    "GET_XML_VAT_INVOICE_DATA_REPORT": (X, None, None, None),
    # browse tree, Easy Ship
    "GET_XML_BROWSE_TREE_DATA": (X, None, None, None),
    "GET_EASYSHIP_DOCUMENTS": (P, None, None, None),
    "GET_EASYSHIP_PICKEDUP": (T, None, None, None),
    "GET_EASYSHIP_WAITING_FOR_PICKUP": (T, None, None, None),
}


def _schema_type(path: Path, schema: dict[str, Any]) -> str | None:
    spec = schema.get("properties", {}).get("reportSpecification", {})
    prop = spec.get("properties", {}).get("reportType", {}) if isinstance(spec, dict) else {}
    for key in ("enum", "examples"):
        names = [n for n in prop.get(key, []) if isinstance(n, str)]
        if len(names) == 1:
            return names[0]
    if path.stem in SCHEMA_TYPES:
        return SCHEMA_TYPES[path.stem]
    # The schema must name its type one way or another; failing here keeps a new schema from
    # being dropped silently.
    raise SystemExit(f"{path.name}: names no report type; add it to SCHEMA_TYPES")


def build(models: Path) -> dict[str, Any]:
    types: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return types.setdefault(name, {
            "format": None, "content_type": None, "restricted": False, "requestable": None,
            "schedulable": None, "quoting": None, "charset": None, "schemas": [],
            "sources": []})

    schemas_dir = models / "schemas" / "reports"
    if not schemas_dir.is_dir():
        raise SystemExit(f"{schemas_dir} not found; pass --models")
    for path in sorted(schemas_dir.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        name = _schema_type(path, schema)
        assert name is not None
        e = entry(name)
        e.update(format="json", content_type=CONTENT_TYPES["json"], charset="utf-8")
        # a few types (coupons) have one schema for sellers and one for vendors
        e["schemas"].append(path.name)
        if "schemas/reports" not in e["sources"]:
            e["sources"].append("schemas/reports")

    for name, (fmt, requestable, schedulable, quoting) in FLAT_FILES.items():
        e = entry(name)
        if e["format"] not in (None, fmt):
            raise SystemExit(f"{name}: FLAT_FILES says {fmt}, the schemas say {e['format']}")
        e.update(format=fmt, content_type=CONTENT_TYPES[fmt], requestable=requestable,
                 schedulable=schedulable)
        e["quoting"] = quoting or {"tsv": "none", "csv": "minimal"}.get(fmt)
        e["sources"].append("overlay")

    for name in RESTRICTED_REPORT_TYPES:
        e = entry(name)
        e["restricted"] = True
        e["sources"].append("sp-api-facts §7")

    for name, e in types.items():
        if e["format"] is None:
            raise SystemExit(f"{name}: restricted but its format is not recorded in FLAT_FILES")
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
            raise SystemExit(f"{name}: not a report type name")
    return {
        "generated_by": "tools/gen_report_types.py",
        "report_types": {name: types[name] for name in sorted(types)},
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models_source  # tools/models_source.py: --models, SELLERKIT_MODELS_DIR, ../shared

    return models_source.data_file_main(
        "gen_report_types", OUTPUT, lambda root: render(build(root)), argv,
        description=__doc__.splitlines()[0] if __doc__ else None,
        summary=lambda text: f"{len(json.loads(text)['report_types'])} types")


if __name__ == "__main__":
    raise SystemExit(main())
