"""Reports API 2021-06-30: report requests that progress with the clock, and their documents.

A report is ``IN_QUEUE`` for the first third of ``report_seconds``, ``IN_PROGRESS`` until
``report_seconds`` have passed, then ``DONE`` with a document, or ``CANCELLED`` when it has no
data (as Amazon does for an empty date range). Documents are built from the simulated orders,
listings and inventory as they stood when processing finished.

Every report type of ``sellerkit.workflows.report_types`` has content. Seven are built
column by column from the simulation: ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``,
``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL``,
``GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING`` (unshipped MFN orders with buyer and address),
``GET_MERCHANT_LISTINGS_ALL_DATA``, ``GET_MERCHANT_LISTINGS_DATA`` (active listings only),
``GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA`` and ``GET_FBA_MYI_ALL_INVENTORY_DATA``. The others
get plausible documents by family and format (TSV, quoted TSV, CSV, JSON with their schema's
top-level arrays, XML envelopes, PDF) from the same orders and listings. A type the metadata does
not know ends ``CANCELLED``. ``reportOptions.emulatorOutcome`` forces FATAL (with or without an
error document) or CANCELLED. Flat files are Cp1252 for EU marketplaces, Windows-31J (cp932)
for JP, UTF-8 elsewhere, declared in Content-Type. The 16 restricted types' documents need a
Restricted Data Token (sp-api-facts.md §7).

Schedules (``createReportSchedule``...) create a report every period from
``nextReportCreationTime`` on, covering the period just ended; a new schedule for the same type and
marketplaces replaces the old one, as at Amazon.

Download URLs stand in for presigned S3 URLs: unguessable, valid five minutes, gzip-compressed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse, error
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import (
    Reject,
    State,
    as_list,
    invalid,
    last_update,
    not_found,
    status_of,
    time_param,
)

TSV = "text/tab-separated-values; charset=UTF-8"
RETENTION = 90 * gen.DAY
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")

ORDER_COLUMNS = [
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price",
    "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order",
    "purchase-order-number", "price-designation", "signature-confirmation-recommended",
]
LISTING_COLUMNS = [
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity",
    "open-date", "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee",
    "item-note", "item-condition", "zshop-category1", "zshop-browse-path",
    "zshop-storefront-feature", "asin1", "asin2", "asin3", "will-ship-internationally",
    "expedited-shipping", "zshop-boldface", "product-id", "bid-for-featured-placement",
    "add-delete", "pending-quantity", "fulfillment-channel", "merchant-shipping-group",
    "status",
]
INVENTORY_COLUMNS = [
    "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
    "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity",
    "afn-fulfillable-quantity", "afn-unsellable-quantity", "afn-reserved-quantity",
    "afn-total-quantity", "per-unit-volume", "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity",
    "afn-researching-quantity", "afn-reserved-future-supply", "afn-future-supply-buyable",
]
ACTIONABLE_COLUMNS = [
    "order-id", "order-item-id", "purchase-date", "payments-date", "reporting-date",
    "promise-date", "days-past-promise", "buyer-email", "buyer-name", "buyer-phone-number", "sku",
    "product-name", "quantity-purchased", "quantity-shipped", "quantity-to-ship",
    "ship-service-level", "recipient-name", "ship-address-1", "ship-address-2",
    "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
    "is-business-order", "purchase-order-number", "price-designation",
]
# Report types whose documents hold buyer PII: getReportDocument needs a Restricted Data Token
# (the Tokens API use-case guide's list, sp-api-facts.md §7).
RESTRICTED_TYPES = frozenset({
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING", "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING", "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING", "GET_ORDER_REPORT_DATA_INVOICING",
    "GET_ORDER_REPORT_DATA_TAX", "GET_ORDER_REPORT_DATA_SHIPPING", "GET_EASYSHIP_DOCUMENTS",
    "GET_GST_MTR_B2B_CUSTOM", "GET_VAT_TRANSACTION_DATA", "SC_VAT_TAX_REPORT",
})
# Flat-file order reports use their own status words (seen in downloaded reports).
_REPORT_ORDER_STATUS = {"Pending": "Pending", "Unshipped": "Shipping", "Shipped": "Shipped",
                        "Canceled": "Cancelled"}
_REPORT_ITEM_STATUS = {"Pending": "Unshipped", "Unshipped": "Unshipped", "Shipped": "Shipped",
                       "Canceled": "Cancelled"}


# document content -----------------------------------------------------------------------


def _tsv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    def clean(v: Any) -> str:
        return "" if v is None else str(v).replace("\t", " ").replace("\n", " ")
    lines = ["\t".join(columns)]
    lines += ["\t".join(clean(r.get(c)) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


def _orders_rows(state: State, r: dict[str, Any], at: float) -> list[dict[str, Any]]:
    by_update = r["type"] == "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
    end = r["end"] if r["end"] is not None else r["created"]
    start = r["start"] if r["start"] is not None else end - 30 * gen.DAY
    rows = []
    for o in state.d["orders"].get(r["seller"], []):
        if o["created"] > at or o["marketplaceId"] not in r["mps"]:
            continue
        key = last_update(o, at) if by_update else o["created"]
        if not start <= key <= end:
            continue
        st = status_of(o, at)
        info = gen.MARKETPLACES[o["marketplaceId"]]
        cur = o["currency"]
        for i in o["items"]:
            rows.append({
                "amazon-order-id": o["id"], "merchant-order-id": o["sellerOrderId"],
                "purchase-date": gen.iso_offset(o["created"]),
                "last-updated-date": gen.iso_offset(last_update(o, at)),
                "order-status": _REPORT_ORDER_STATUS[st],
                "fulfillment-channel": "Amazon" if o["channel"] == "AFN" else "Merchant",
                "sales-channel": info["name"], "order-channel": "",
                "ship-service-level": o["serviceLevel"], "product-name": i["title"],
                "sku": i["sku"], "asin": i["asin"], "item-status": _REPORT_ITEM_STATUS[st],
                "quantity": i["qty"], "currency": cur,
                "item-price": gen.money(i["unit"] * i["qty"], cur),
                "item-tax": gen.money(i["tax"], cur),
                "shipping-price": gen.money(i["shipping"], cur),
                "shipping-tax": gen.money(0, cur), "gift-wrap-price": "", "gift-wrap-tax": "",
                "item-promotion-discount": "", "ship-promotion-discount": "",
                "ship-city": o["buyer"]["city"], "ship-state": o["buyer"]["state"],
                "ship-postal-code": o["buyer"]["postal"], "ship-country": o["buyer"]["country"],
                "promotion-ids": "", "is-business-order": str(o["business"]).lower(),
                "purchase-order-number": f"PO-{o['id'][-7:]}" if o["business"] else "",
                "price-designation": "", "signature-confirmation-recommended": "false",
            })
    rows.sort(key=lambda x: (x["purchase-date"], x["amazon-order-id"]))
    return rows


def _actionable_rows(state: State, r: dict[str, Any], at: float) -> list[dict[str, Any]]:
    """Seller-fulfilled orders waiting to ship, with the buyer and address to ship to."""
    rows = []
    for o in state.d["orders"].get(r["seller"], []):
        if (o["created"] > at or o["marketplaceId"] not in r["mps"] or o["channel"] != "MFN"
                or status_of(o, at) != "Unshipped"):
            continue
        b = o["buyer"]
        promise = o["created"] + o["latestShipDays"] * gen.DAY
        for i in o["items"]:
            rows.append({
                "order-id": o["id"], "order-item-id": i["id"],
                "purchase-date": gen.iso_offset(o["created"]),
                "payments-date": gen.iso_offset(o["unshipped"]),
                "reporting-date": gen.iso_offset(o["unshipped"]),
                "promise-date": gen.iso_offset(promise),
                "days-past-promise": max(0, int((at - promise) // gen.DAY)),
                "buyer-email": b["email"], "buyer-name": b["name"],
                "buyer-phone-number": b["phone"], "sku": i["sku"], "product-name": i["title"],
                "quantity-purchased": i["qty"], "quantity-shipped": 0, "quantity-to-ship": i["qty"],
                "ship-service-level": o["serviceLevel"], "recipient-name": b["name"],
                "ship-address-1": b["line1"], "ship-address-2": b["line2"], "ship-address-3": "",
                "ship-city": b["city"], "ship-state": b["state"], "ship-postal-code": b["postal"],
                "ship-country": b["country"], "is-business-order": str(o["business"]).lower(),
                "purchase-order-number": f"PO-{o['id'][-7:]}" if o["business"] else "",
                "price-designation": "",
            })
    return rows


def _open_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _listing_rows(state: State, r: dict[str, Any], at: float) -> list[dict[str, Any]]:
    from sellerkit.emulator.simulation import listings as li

    mp = r["mps"][0]
    active_only = r["type"] == "GET_MERCHANT_LISTINGS_DATA"
    rows = []
    for sku in sorted(state.d["listings"].get(r["seller"], {})):
        lst = state.d["listings"][r["seller"]][sku]
        price = li.price_of(lst, mp)
        if price is None and not li.offers_in(lst, mp):
            continue
        status = "Active" if "BUYABLE" in li.listing_status(state, r["seller"], lst, mp) else (
            "Inactive")
        if active_only and status != "Active":
            continue
        afn = li.is_afn(lst)
        rows.append({
            "item-name": li.attr_value(lst, "item_name"),
            "item-description": li.attr_value(lst, "product_description"),
            "listing-id": lst["listingId"], "seller-sku": sku,
            "price": "" if price is None else gen.money(price, gen.MARKETPLACES[mp]["currency"]),
            "quantity": "" if afn else li.mfn_quantity(lst),
            "open-date": _open_date(lst["created"]), "image-url": "",
            "item-is-marketplace": "y", "product-id-type": "1", "zshop-shipping-fee": "",
            "item-note": "", "item-condition": "11", "zshop-category1": "",
            "zshop-browse-path": "", "zshop-storefront-feature": "", "asin1": lst["asin"],
            "asin2": "", "asin3": "", "will-ship-internationally": "",
            "expedited-shipping": "", "zshop-boldface": "", "product-id": lst["asin"],
            "bid-for-featured-placement": "", "add-delete": "", "pending-quantity": "0",
            "fulfillment-channel": li.channel_code(lst),
            "merchant-shipping-group": "" if afn else "Migrated Template", "status": status,
        })
    return rows


def _inventory_rows(state: State, r: dict[str, Any], at: float) -> list[dict[str, Any]]:
    from sellerkit.emulator.simulation import inventory
    from sellerkit.emulator.simulation import listings as li

    mp = r["mps"][0]
    cur = gen.MARKETPLACES[mp]["currency"]
    rows = []
    for sku in sorted(state.d["listings"].get(r["seller"], {})):
        lst = state.d["listings"][r["seller"]][sku]
        if not li.is_afn(lst):
            continue
        q = inventory.quantities(state, r["seller"], lst, at)
        price = li.price_of(lst, mp)
        rows.append({
            "sku": sku, "fnsku": lst["fnsku"], "asin": lst["asin"],
            "product-name": li.attr_value(lst, "item_name"), "condition": "New",
            "your-price": "" if price is None else gen.money(price, cur),
            "mfn-listing-exists": "No", "mfn-fulfillable-quantity": "",
            "afn-listing-exists": "Yes", "afn-warehouse-quantity": q["warehouse"],
            "afn-fulfillable-quantity": q["fulfillable"], "afn-unsellable-quantity": q["unsellable"],
            "afn-reserved-quantity": q["reserved"], "afn-total-quantity": q["total"],
            "per-unit-volume": "0.12", "afn-inbound-working-quantity": q["inboundWorking"],
            "afn-inbound-shipped-quantity": q["inboundShipped"],
            "afn-inbound-receiving-quantity": q["inboundReceiving"],
            "afn-researching-quantity": q["researching"], "afn-reserved-future-supply": 0,
            "afn-future-supply-buyable": 0,
        })
    return rows


_BUILDERS = {
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": (_orders_rows, ORDER_COLUMNS),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": (_orders_rows, ORDER_COLUMNS),
    "GET_MERCHANT_LISTINGS_ALL_DATA": (_listing_rows, LISTING_COLUMNS),
    "GET_MERCHANT_LISTINGS_DATA": (_listing_rows, LISTING_COLUMNS),
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA": (_inventory_rows, INVENTORY_COLUMNS),
    "GET_FBA_MYI_ALL_INVENTORY_DATA": (_inventory_rows, INVENTORY_COLUMNS),
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING": (_actionable_rows, ACTIONABLE_COLUMNS),
}
SUPPORTED_TYPES = tuple(_BUILDERS)


# every other report type: plausible documents by family --------------------------------------

EU_MARKETPLACES = frozenset({"A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH",
                             "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS"})
JP_MARKETPLACES = frozenset({"A1VC38T7YXB528"})
# How the document host labels flat files (sp-api-facts.md §8; next-waves.md §2 "Report
# charset"): Cp1252 in the EU, Windows-31J (cp932) in JP, UTF-8 elsewhere. Characters the
# charset lacks arrive as "?", as Amazon substitutes them.
_FLAT_CHARSETS = {"eu": ("Cp1252", "cp1252"), "jp": ("Windows-31J", "cp932"),
                  "other": ("UTF-8", "utf-8")}
# Localised words in EU/JP titles, so the charset matters in the emulator as it does at Amazon.
_LOCAL_WORDS = {"A1F83G8C2ARO7P": "– £ edition", "A1PA6795UKMFR9": "– Größe M, 5 € Rabatt",
                "A13V1IB3VIYZZH": "– édition spéciale", "APJ6JRA9NG5V4": "– qualità",
                "A1RKKUPIHCS9HS": "– tamaño único", "A1VC38T7YXB528": "– 限定版 ①"}

OUTCOME_OPTION = "emulatorOutcome"  # reportOptions key: FATAL | FATAL_NO_DOCUMENT | CANCELLED

_SHIPMENT_COLUMNS = [
    "amazon-order-id", "merchant-order-id", "shipment-id", "shipment-item-id",
    "amazon-order-item-id", "merchant-order-item-id", "purchase-date", "payments-date",
    "shipment-date", "reporting-date", "sku", "product-name", "quantity-shipped", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "ship-service-level",
    "ship-city", "ship-state", "ship-postal-code", "ship-country", "carrier",
    "tracking-number", "fulfillment-center-id", "fulfillment-channel", "sales-channel",
]
_BUYER_COLUMNS = ["buyer-email", "buyer-name", "buyer-phone-number", "recipient-name",
                  "ship-address-1", "ship-address-2"]
_RETURN_COLUMNS = [
    "order-id", "order-date", "return-request-date", "return-request-status", "amazon-rma-id",
    "label-type", "currency-code", "return-carrier", "tracking-id", "asin", "merchant-sku",
    "item-name", "return-quantity", "return-reason", "in-policy", "return-type", "resolution",
    "order-amount", "order-quantity", "refunded-amount",
]
_FBA_RETURN_COLUMNS = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name",
                       "quantity", "fulfillment-center-id", "detailed-disposition", "reason",
                       "status", "license-plate-number", "customer-comments"]
_SETTLEMENT_COLUMNS = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "shipment-id", "marketplace-name", "amount-type", "amount-description", "amount",
    "fulfillment-id", "posted-date", "order-item-code", "sku", "quantity-purchased",
]
_FEE_COLUMNS = [
    "sku", "fnsku", "asin", "product-name", "product-group", "brand", "fulfilled-by",
    "your-price", "sales-price", "longest-side", "median-side", "shortest-side",
    "unit-of-dimension", "item-package-weight", "unit-of-weight", "product-size-tier",
    "currency", "estimated-fee-total", "estimated-referral-fee-per-unit",
    "expected-fulfillment-fee-per-unit",
]
_STOCK_COLUMNS = ["sku", "fnsku", "asin", "product-name", "condition", "your-price",
                  "quantity", "fulfillment-center-id", "snapshot-date", "marketplace"]
_LEDGER_COLUMNS = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID",
                   "Quantity", "Fulfillment Center", "Disposition", "Reason", "Country"]
_FEEDBACK_COLUMNS = ["Date", "Rating", "Comments", "Your Response", "Order ID"]
_VAT_COLUMNS = [
    "UNIQUE_ACCOUNT_IDENTIFIER", "ACTIVITY_PERIOD", "SALES_CHANNEL", "MARKETPLACE",
    "TRANSACTION_TYPE", "TRANSACTION_EVENT_ID", "TAX_CALCULATION_DATE", "SELLER_SKU", "ASIN",
    "ITEM_DESCRIPTION", "QTY", "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL",
    "TOTAL_ACTIVITY_VALUE_VAT_AMT", "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL",
    "TRANSACTION_CURRENCY_CODE", "SALE_ARRIVAL_COUNTRY",
]
_GST_COLUMNS = [
    "Seller Gstin", "Invoice Number", "Invoice Date", "Transaction Type", "Order Id",
    "Shipment Id", "Shipment Date", "Order Date", "Quantity", "Item Description", "Asin", "Sku",
    "Tax Exclusive Gross", "Total Tax Amount", "Invoice Amount", "Ship To Country",
]
_GENERIC_COLUMNS = ["sku", "asin", "fnsku", "product-name", "quantity", "your-price",
                    "currency", "snapshot-date", "marketplace", "status"]

# JSON report types: the top-level arrays of their schemas (schemas/reports in the models).
_JSON_ARRAYS = {
    "GET_V2_SELLER_PERFORMANCE_REPORT": ("accountStatuses", "performanceMetrics"),
    "GET_B2B_PRODUCT_OPPORTUNITIES_NOT_YET_ON_AMAZON": ("recommendations",),
    "GET_B2B_PRODUCT_OPPORTUNITIES_RECOMMENDED_FOR_YOU": ("recommendations",),
    "END_USER_DATA_REPORT": ("endUserData",),
    "MARKETPLACE_ASIN_PAGE_VIEW_METRICS": ("marketplaceAsinPageViewMetrics",),
    "GET_PROMOTION_PERFORMANCE_REPORT": ("promotions",),
    "GET_COUPON_PERFORMANCE_REPORT": ("coupons",),
    "GET_SALES_AND_TRAFFIC_REPORT": ("salesAndTrafficByDate", "salesAndTrafficByAsin"),
    "GET_BRAND_ANALYTICS_MARKET_BASKET_REPORT": ("dataByAsin",),
    "GET_BRAND_ANALYTICS_REPEAT_PURCHASE_REPORT": ("dataByAsin",),
    "GET_BRAND_ANALYTICS_SEARCH_CATALOG_PERFORMANCE_REPORT": ("dataByAsin",),
    "GET_BRAND_ANALYTICS_SEARCH_QUERY_PERFORMANCE_REPORT": ("dataByAsin",),
    "GET_BRAND_ANALYTICS_SEARCH_TERMS_REPORT": ("dataByDepartmentAndSearchTerm",),
    "GET_VENDOR_FORECASTING_REPORT": ("forecastByAsin",),
    "GET_VENDOR_INVENTORY_REPORT": ("inventoryAggregate", "inventoryByAsin"),
    "GET_VENDOR_NET_PURE_PRODUCT_MARGIN_REPORT": ("netPureProductMarginAggregate",
                                                  "netPureProductMarginByAsin"),
    "GET_VENDOR_REAL_TIME_INVENTORY_REPORT": ("reportData",),
    "GET_VENDOR_REAL_TIME_SALES_REPORT": ("reportData",),
    "GET_VENDOR_REAL_TIME_TRAFFIC_REPORT": ("reportData",),
    "GET_VENDOR_SALES_REPORT": ("salesAggregate", "salesByAsin"),
    "GET_VENDOR_TRAFFIC_REPORT": ("trafficAggregate", "trafficByAsin"),
}
_NO_SPEC = frozenset({"GET_V2_SELLER_PERFORMANCE_REPORT",
                      "GET_B2B_PRODUCT_OPPORTUNITIES_NOT_YET_ON_AMAZON",
                      "GET_B2B_PRODUCT_OPPORTUNITIES_RECOMMENDED_FOR_YOU"})


def _family(rtype: str) -> tuple[str, list[str]]:
    """(source, columns) for a flat-file type: rows come from ``orders`` or ``listings``."""
    t = rtype
    if "SETTLEMENT" in t:
        return "orders", _SETTLEMENT_COLUMNS
    if "LEDGER" in t:
        return "listings", _LEDGER_COLUMNS
    if "FEEDBACK" in t:
        return "orders", _FEEDBACK_COLUMNS
    if "VAT" in t and t.startswith(("GET_VAT", "SC_VAT")):
        return "orders", _VAT_COLUMNS
    if "GST" in t:
        return "orders", _GST_COLUMNS
    if "FBA_FULFILLMENT_CUSTOMER_RETURNS" in t:
        return "orders", _FBA_RETURN_COLUMNS
    if "RETURN" in t:
        return "orders", _RETURN_COLUMNS
    if "SHIPMENT" in t or "ORDER_REPORT" in t or "RECONCILIATION" in t or "EASYSHIP" in t:
        cols = _SHIPMENT_COLUMNS + (_BUYER_COLUMNS if t in RESTRICTED_TYPES else [])
        return "orders", cols
    if "ORDER" in t:
        return "orders", ORDER_COLUMNS
    if "FEE" in t:
        return "listings", _FEE_COLUMNS
    if "LISTING" in t:
        return "listings", LISTING_COLUMNS
    if "INVENTORY" in t or "STRANDED" in t or "RESERVED" in t or "RESTOCK" in t:
        return "listings", _STOCK_COLUMNS
    return "listings", _GENERIC_COLUMNS


def _norm(col: str) -> str:
    return col.lower().replace("_", "-").replace(" ", "-")


def _cell(col: str, c: dict[str, Any]) -> Any:
    """A plausible value for column ``col`` from the row's context ``c``."""
    n = _norm(col)
    exact = {"fnsku": c["fnsku"], "asin": c["asin"], "country": c["country"],
             "rating": "5", "comments": "Fast delivery, as described.", "your-response": "",
             "seller-gstin": "", "reason": "CUSTOMER_REQUEST", "disposition": "SELLABLE",
             "event-type": "Shipments", "transaction-type": "Order", "status": c["status"],
             "amount-type": "ItemPrice", "amount-description": "Principal",
             "fulfillment-center-id": "PHL6", "fulfillment-center": "PHL6",
             "condition": "New", "carrier": "UPS", "unit-of-dimension": "inches",
             "unit-of-weight": "pounds", "product-size-tier": "Standard-Size",
             "ship-service-level": "Standard", "return-reason": "CUSTOMER_CHANGED_MIND",
             "in-policy": "Y", "return-type": "C-Returns", "resolution": "StandardRefund",
             "return-request-status": "Approved", "label-type": "AmazonPrePaidLabel",
             "fulfilled-by": "Amazon", "activity-period": c["date"][:7],
             "detailed-disposition": "SELLABLE", "product-group": "Home", "brand": "Simulated"}
    if n in exact:
        return exact[n]
    if n in ("sku", "msku", "seller-sku", "merchant-sku"):
        return c["sku"]
    if "order-item" in n or "item-id" in n or n == "order-item-code":
        return c["item_id"]
    if "order-id" in n or n in ("reference-id", "transaction-event-id", "invoice-number"):
        return c["order_id"]
    if "shipment-id" in n or "rma" in n or "settlement-id" in n or "fulfillment-id" in n:
        return f"{c['order_id'][-7:]}{len(n)}"
    if "tracking" in n or "license-plate" in n:
        return f"1Z{c['order_id'][-8:].replace('-', '')}"
    if "email" in n:
        return c["buyer"].get("email", "")
    if "phone" in n:
        return c["buyer"].get("phone", "")
    if "buyer-name" in n or "recipient-name" in n:
        return c["buyer"].get("name", "")
    if "address-1" in n:
        return c["buyer"].get("line1", "")
    if "address-2" in n:
        return c["buyer"].get("line2", "")
    if "city" in n:
        return c["buyer"].get("city", "")
    if "state" in n:
        return c["buyer"].get("state", "")
    if "postal" in n:
        return c["buyer"].get("postal", "")
    if "currency" in n:
        return c["currency"]
    if "date" in n:
        return c["date"]
    if "name" in n and "marketplace" in n or n in ("sales-channel", "marketplace"):
        return c["channel"]
    if "name" in n or "title" in n or "description" in n:
        return c["title"]
    if "quantity" in n or n in ("qty",) or "units" in n:
        return c["qty"]
    if any(w in n for w in ("price", "amount", "fee", "total", "tax", "gross", "value")):
        return c["price"]
    if "side" in n or "weight" in n or "girth" in n:
        return "1.20"
    if "channel" in n:
        return c["fulfillment"]
    if "account" in n:
        return c["seller"]
    return ""


def _contexts(state: State, r: dict[str, Any], at: float, source: str) -> list[dict[str, Any]]:
    """One context per order item (``orders``) or per listing offered in the first marketplace
    (``listings``), the raw material of a generic flat file, XML or JSON report."""
    from sellerkit.emulator.simulation import listings as li

    mp = r["mps"][0]
    info = gen.MARKETPLACES[mp]
    local = _LOCAL_WORDS.get(mp)
    out: list[dict[str, Any]] = []
    if source == "orders":
        end = r["end"] if r["end"] is not None else r["created"]
        start = r["start"] if r["start"] is not None else end - 30 * gen.DAY
        for o in state.d["orders"].get(r["seller"], []):
            if o["created"] > at or o["marketplaceId"] not in r["mps"]:
                continue
            if not start <= o["created"] <= end:
                continue
            for i in o["items"]:
                title = f"{i['title']} {local}" if local else i["title"]
                out.append({"sku": i["sku"], "asin": i["asin"], "fnsku": f"X00{i['asin'][-7:]}",
                            "title": title, "qty": i["qty"], "currency": o["currency"],
                            "price": gen.money(i["unit"] * i["qty"], o["currency"]),
                            "date": gen.iso_offset(o["created"]), "order_id": o["id"],
                            "item_id": i["id"], "buyer": o["buyer"],
                            "country": o["buyer"]["country"], "channel": info["name"],
                            "fulfillment": "Amazon" if o["channel"] == "AFN" else "Merchant",
                            "status": _REPORT_ORDER_STATUS[status_of(o, at)],
                            "seller": r["seller"]})
        out.sort(key=lambda x: (x["date"], x["order_id"]))
        return out
    for sku in sorted(state.d["listings"].get(r["seller"], {})):
        lst = state.d["listings"][r["seller"]][sku]
        price = li.price_of(lst, mp)
        if price is None and not li.offers_in(lst, mp):
            continue
        name = li.attr_value(lst, "item_name")
        title = f"{name} {local}" if local else name
        out.append({"sku": sku, "asin": lst["asin"], "fnsku": lst.get("fnsku") or "",
                    "title": title, "qty": "" if li.is_afn(lst) else li.mfn_quantity(lst),
                    "currency": info["currency"],
                    "price": "" if price is None else gen.money(price, info["currency"]),
                    "date": gen.iso_offset(at), "order_id": lst["listingId"],
                    "item_id": lst["listingId"], "buyer": {}, "country": info["countryCode"],
                    "channel": info["name"], "fulfillment": li.channel_code(lst),
                    "status": "Active", "seller": r["seller"]})
    return out


def _flat(columns: list[str], rows: list[dict[str, Any]], fmt: str, quoting: str | None) -> str:
    """TSV as Amazon writes it (tabs, no quoting; LEDGER types enclose every field in quotes)
    or CSV (RFC 4180)."""
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        return buf.getvalue()
    if quoting == "quoted":
        def q(v: Any) -> str:
            return '"' + ("" if v is None else str(v)).replace('"', '""') + '"'
        lines = ["\t".join(q(c) for c in columns)]
        lines += ["\t".join(q(row.get(c)) for c in columns) for row in rows]
        return "\n".join(lines) + "\n"
    return _tsv(columns, rows)


def _generic_flat(state: State, r: dict[str, Any], at: float, fmt: str, quoting: str | None
                  ) -> str | None:
    source, columns = _family(r["type"])
    ctx = _contexts(state, r, at, source)
    if not ctx:
        return None
    return _flat(columns, [{c: _cell(c, x) for c in columns} for x in ctx], fmt, quoting)


def _xml_escape(v: Any) -> str:
    from xml.sax.saxutils import escape

    return escape("" if v is None else str(v))


def _generic_xml(state: State, r: dict[str, Any], at: float) -> str | None:
    t = r["type"]
    orders = any(w in t for w in ("ORDER", "RETURN", "VAT", "SETTLEMENT"))
    ctx = _contexts(state, r, at, "orders" if orders else "listings")
    if not ctx:
        return None
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<AmazonEnvelope>\n<Header>'
            f"<DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>{r['seller']}"
            "</MerchantIdentifier></Header>\n")
    if "BROWSE_TREE" in t:
        body = "".join(
            f"<Node><browseNodeId>{1000 + n}</browseNodeId><browseNodeName>"
            f"{_xml_escape(x['title'].split(' ')[0])}</browseNodeName><browsePathByName>"
            f"Home,{_xml_escape(x['title'].split(' ')[0])}</browsePathByName>"
            f"<hasChildren>false</hasChildren></Node>\n" for n, x in enumerate(ctx))
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Result>\n{body}</Result>\n'
    kind = "OrderReport" if orders else "Item"
    msgs = []
    for n, x in enumerate(ctx, 1):
        if orders:
            inner = (f"<Order><AmazonOrderID>{x['order_id']}</AmazonOrderID>"
                     f"<PurchaseDate>{x['date']}</PurchaseDate>"
                     f"<OrderStatus>{x['status']}</OrderStatus>"
                     f"<SalesChannel>{_xml_escape(x['channel'])}</SalesChannel>"
                     f"<OrderItem><AmazonOrderItemCode>{x['item_id']}</AmazonOrderItemCode>"
                     f"<ASIN>{x['asin']}</ASIN><SKU>{_xml_escape(x['sku'])}</SKU>"
                     f"<ProductName>{_xml_escape(x['title'])}</ProductName>"
                     f"<Quantity>{x['qty']}</Quantity><ItemPrice><Component><Type>Principal"
                     f"</Type><Amount currency=\"{x['currency']}\">{x['price']}</Amount>"
                     "</Component></ItemPrice></OrderItem></Order>")
        else:
            inner = (f"<Item><SKU>{_xml_escape(x['sku'])}</SKU><ASIN>{x['asin']}</ASIN>"
                     f"<Title>{_xml_escape(x['title'])}</Title>"
                     f"<Price currency=\"{x['currency']}\">{x['price']}</Price></Item>")
        msgs.append(f"<Message><MessageID>{n}</MessageID>{inner}</Message>\n")
    return f"{head}<MessageType>{kind}</MessageType>\n{''.join(msgs)}</AmazonEnvelope>\n"


def _generic_json(state: State, r: dict[str, Any], at: float) -> str | None:
    import json

    t = r["type"]
    ctx = _contexts(state, r, at, "listings")
    if not ctx:
        return None
    end = r["end"] if r["end"] is not None else r["created"]
    start = r["start"] if r["start"] is not None else end - gen.DAY
    day = gen.iso_offset(start)[:10]
    doc: dict[str, Any] = {}
    if t not in _NO_SPEC:
        doc["reportSpecification"] = {
            "reportType": t, "reportOptions": {k: v for k, v in r["options"].items()
                                               if k != OUTCOME_OPTION},
            "dataStartTime": gen.iso_offset(start)[:10], "dataEndTime": gen.iso_offset(end)[:10],
            "marketplaceIds": list(r["mps"])}
    for key in _JSON_ARRAYS.get(t, ("records",)):
        items: list[dict[str, Any]] = []
        for n, x in enumerate(ctx):
            amount = {"amount": float(x["price"] or 0), "currencyCode": x["currency"]}
            if key == "salesAndTrafficByDate":
                items.append({"date": day, "salesByDate": {
                    "orderedProductSales": amount, "unitsOrdered": n + 1,
                    "totalOrderItems": n + 1}, "trafficByDate": {"pageViews": 10 * (n + 1),
                                                                 "sessions": 5 * (n + 1)}})
                break
            if key == "accountStatuses":
                items.append({"marketplaceId": r["mps"][0], "status": "NORMAL"})
                break
            if key == "performanceMetrics":
                items.append({"marketplaceId": r["mps"][0], "orderDefectRate": {"status": "GOOD"}})
                break
            if key.endswith("Aggregate"):
                items.append({"startDate": day, "endDate": day, "units": len(ctx)})
                break
            items.append({"startDate": day, "endDate": day, "parentAsin": x["asin"],
                          "childAsin": x["asin"], "asin": x["asin"], "sku": x["sku"],
                          "marketplaceId": r["mps"][0], "sales": amount,
                          "unitsOrdered": n + 1, "pageViews": 10 * (n + 1)})
        doc[key] = items
    return json.dumps(doc, ensure_ascii=False) + "\n"


def _pdf(r: dict[str, Any]) -> str:
    """A minimal one-page PDF (GET_EASYSHIP_DOCUMENTS holds labels and invoices as PDF)."""
    text = f"Easy Ship documents, report {r['id']}"
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
    return ("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
            "/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
            f"4 0 obj<</Length {len(stream)}>>stream\n{stream}\nendstream endobj\n"
            "5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
            "trailer<</Root 1 0 R>>\n%%EOF\n")


def _flat_charset(mps: list[str]) -> tuple[str, str]:
    """(label for Content-Type, Python codec) of a flat file for these marketplaces."""
    if mps and mps[0] in EU_MARKETPLACES:
        return _FLAT_CHARSETS["eu"]
    if mps and mps[0] in JP_MARKETPLACES:
        return _FLAT_CHARSETS["jp"]
    return _FLAT_CHARSETS["other"]


def _content(state: State, r: dict[str, Any], at: float) -> tuple[str, str, str] | None:
    """(text, Content-Type, codec) of the report's document; None when there is no data."""
    from sellerkit.workflows.report_types import report_types

    meta = report_types().get(r["type"])
    fmt = meta.format if meta is not None else None
    builder = _BUILDERS.get(r["type"])
    if fmt in ("tsv", "csv") or (builder is not None and fmt is None):
        label, codec = _flat_charset(r["mps"])
        if builder is not None:
            rows = builder[0](state, r, at)
            if rows and r["mps"][0] in _LOCAL_WORDS:
                for row in rows:
                    for col in ("product-name", "item-name"):
                        if row.get(col):
                            row[col] = f"{row[col]} {_LOCAL_WORDS[r['mps'][0]]}"
            text = _tsv(builder[1], rows) if rows else None
        else:
            text = _generic_flat(state, r, at, fmt or "tsv", meta.quoting if meta else None)
        if text is None:
            return None
        base = "text/csv" if fmt == "csv" else "text/tab-separated-values"
        return text, f"{base}; charset={label}", codec
    if fmt == "xml":
        text = _generic_xml(state, r, at)
        return None if text is None else (text, "text/xml; charset=UTF-8", "utf-8")
    if fmt == "json":
        text = _generic_json(state, r, at)
        return None if text is None else (text, "application/json; charset=UTF-8", "utf-8")
    if fmt == "pdf":
        return _pdf(r), "application/pdf", "latin-1"
    return None  # a type the metadata does not know: no data (CANCELLED)


def _fatal(state: State, r: dict[str, Any], with_document: bool) -> None:
    r["status"] = "FATAL"
    if with_document:
        import json

        doc_id = "amzn1.spdoc.1.4.na." + gen.uuid_from(state.rng("reportDocument"))
        text = json.dumps({"errorDetails": f"The report {r['id']} of type {r['type']} could not "
                           "be generated: the requested data is not available for the "
                           "requested date range and marketplaces."})
        state.add_document(doc_id, seller_id=r["seller"], content=text,
                           content_type="application/json; charset=UTF-8", gzip_it=True)
        state.d["documents"][doc_id]["reportType"] = r["type"]
        r["docId"] = doc_id


def finish(state: State, r: dict[str, Any]) -> None:
    """Called by ``State.advance`` once the report's processing time has passed.

    ``reportOptions.emulatorOutcome`` forces an outcome: ``FATAL`` (with an error document),
    ``FATAL_NO_DOCUMENT`` or ``CANCELLED``; otherwise the report is DONE with a document, or
    CANCELLED when there is no data for its window (as at Amazon)."""
    forced = str((r.get("options") or {}).get(OUTCOME_OPTION, "")).upper()
    if forced in ("FATAL", "FATAL_NO_DOCUMENT"):
        _fatal(state, r, with_document=forced == "FATAL")
        return
    made = None if forced == "CANCELLED" else _content(state, r, r["done"])
    if made is None:
        r["status"] = "CANCELLED"
        return
    text, content_type, codec = made
    doc_id = "amzn1.spdoc.1.4.na." + gen.uuid_from(state.rng("reportDocument"))
    state.add_document(doc_id, seller_id=r["seller"], content=text,
                       content_type=content_type, gzip_it=True)
    state.d["documents"][doc_id]["reportType"] = r["type"]
    if codec != "utf-8":
        state.d["documents"][doc_id]["charset"] = codec
    r["status"] = "DONE"
    r["docId"] = doc_id


# API ------------------------------------------------------------------------------------


def _view(state: State, r: dict[str, Any]) -> dict[str, Any]:
    now = state.now()
    status = r["status"]
    if status == "IN_QUEUE" and now >= r["started"]:
        status = "IN_PROGRESS"
    out: dict[str, Any] = {
        "reportId": r["id"], "reportType": r["type"], "marketplaceIds": list(r["mps"]),
        "createdTime": gen.iso_offset(r["created"]), "processingStatus": status,
    }
    if r["start"] is not None:
        out["dataStartTime"] = gen.iso_offset(r["start"])
    if r["end"] is not None:
        out["dataEndTime"] = gen.iso_offset(r["end"])
    if status != "IN_QUEUE" and not r.get("cancelledInQueue"):
        out["processingStartTime"] = gen.iso_offset(r["started"])
    if status in ("DONE", "CANCELLED", "FATAL"):
        out["processingEndTime"] = gen.iso_offset(r.get("ended", r["done"]))
    if r.get("docId"):
        out["reportDocumentId"] = r["docId"]
    if r.get("scheduleId"):
        out["reportScheduleId"] = r["scheduleId"]
    return out


def create_report(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    body = req.body if isinstance(req.body, dict) else {}
    rtype = body.get("reportType")
    if not isinstance(rtype, str) or not rtype:
        raise invalid("reportType is required.")
    mps = body.get("marketplaceIds")
    if not isinstance(mps, list) or not mps:
        raise invalid("marketplaceIds is required and must not be empty.")
    state.check_marketplaces(seller, mps, "marketplaceIds")
    start = time_param(body, "dataStartTime")
    end = time_param(body, "dataEndTime")
    now = state.now()
    if start is not None and end is not None and end < start:
        raise invalid("dataEndTime must be equal to or after dataStartTime.")
    if start is not None and start > now:
        raise invalid("dataStartTime cannot be in the future.")
    options = body.get("reportOptions") or {}
    if not isinstance(options, dict):
        raise invalid("reportOptions must be an object of string values.")
    rid = _new_report(state, seller["id"], rtype, mps, now, options, start, end)
    return SimResponse(202, {"reportId": rid})


def own_job(state: State, req: SimRequest, kind: str) -> dict[str, Any]:
    """The caller's report or feed (``kind`` "report" | "feed") named in the path; 404 when it
    is another seller's, unknown, or past retention. Reports and feeds share this lifecycle."""
    state.seller(req)
    job_id = str(req.params.get(f"{kind}Id", ""))
    job = state.d[f"{kind}s"].get(job_id)
    if job is None or job["seller"] != req.seller_id or job["created"] < state.now() - RETENTION:
        raise not_found(f"{kind.capitalize()} {job_id} was not found.")
    return job


def cancel_job(state: State, job: dict[str, Any], status: str, kind: str) -> SimResponse:
    """Cancel a report or feed that is still IN_QUEUE (Amazon refuses the others)."""
    if status != "IN_QUEUE":
        raise invalid(f"Only {kind}s with processingStatus IN_QUEUE can be cancelled.")
    job["status"] = "CANCELLED"
    job["ended"] = state.now()
    job["cancelledInQueue"] = True
    return SimResponse(200, None)


def _own_report(state: State, req: SimRequest) -> dict[str, Any]:
    return own_job(state, req, "report")


def get_report(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, _view(state, _own_report(state, req)))


def cancel_report(state: State, req: SimRequest) -> SimResponse:
    r = _own_report(state, req)
    return cancel_job(state, r, _view(state, r)["processingStatus"], "report")


def get_reports(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    p = req.params
    token = p.get("nextToken")
    others = [k for k in ("reportTypes", "processingStatuses", "marketplaceIds", "pageSize",
                          "createdSince", "createdUntil") if p.get(k) not in (None, [], "")]
    return list_page(state, req, items=state.d["reports"], type_param="reportTypes",
                     token=token, others=others, view=_view, key="reports")


def list_page(state: State, req: SimRequest, *, items: dict[str, Any], type_param: str,
              token: Any, others: list[str], view: Any, key: str) -> SimResponse:
    """getReports/getFeeds: the token carries every filter and is sent alone."""
    p = req.params
    now = state.now()
    if token:
        if others:
            raise invalid(f"nextToken cannot be combined with other parameters ({', '.join(others)}).",
                          "Send nextToken as the only parameter.")
        f = state.unsign(str(token), "nextToken")
        if f.get("op") != req.operation.key or f.get("s") != req.seller_id:
            raise invalid("Invalid nextToken.")
    else:
        types = as_list(p.get(type_param))
        if not types:
            raise invalid(f"{type_param} is required when nextToken is not provided.")
        statuses = as_list(p.get("processingStatuses"))
        for s in statuses:
            if s not in STATUSES:
                raise invalid(f"Invalid processingStatuses value {s!r}.")
        size = int(p.get("pageSize") or 10)
        if not 1 <= size <= 100:
            raise invalid("pageSize must be between 1 and 100.")
        since = time_param(p, "createdSince")
        until = time_param(p, "createdUntil")
        f = {"op": req.operation.key, "s": req.seller_id, "types": types,
             "statuses": statuses, "mps": as_list(p.get("marketplaceIds")), "size": size,
             "since": since if since is not None else now - RETENTION,
             "until": until if until is not None else now, "o": 0}
    since = max(f["since"], now - RETENTION)
    rows = []
    for rec in items.values():
        if rec["seller"] != req.seller_id or rec["type"] not in f["types"]:
            continue
        if not since <= rec["created"] <= f["until"]:
            continue
        if f["mps"] and not set(f["mps"]) & set(rec["mps"]):
            continue
        v = view(state, rec)
        if f["statuses"] and v["processingStatus"] not in f["statuses"]:
            continue
        rows.append((rec["created"], v))
    rows.sort(key=lambda x: x[0], reverse=True)  # most recent first
    offset, size = int(f["o"]), int(f["size"])
    body: dict[str, Any] = {key: [v for _, v in rows[offset:offset + size]]}
    if offset + size < len(rows):
        body["nextToken"] = state.sign({**f, "o": offset + size})
    return SimResponse(200, body)


def get_report_document(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    doc_id = str(req.params.get("reportDocumentId", ""))
    doc = state.d["documents"].get(doc_id)
    if doc is None or doc["seller"] != req.seller_id or doc["kind"] != "result" or not (
            doc_id.startswith("amzn1.spdoc.")):
        raise not_found(f"Report document {doc_id} was not found.")
    if doc.get("reportType") in RESTRICTED_TYPES and req.rdt is None:
        raise Reject(error(403, "Unauthorized", "Access to requested resource is denied.",
                           f"Documents of {doc['reportType']} contain buyer data; call "
                           "getReportDocument with a Restricted Data Token for this document."))
    token = state.presign(doc_id, "download",
                          content_encoding=bool(req.params.get("enableContentEncodingUrlHeader")))
    return SimResponse(200, {"reportDocumentId": doc_id,
                             "url": f"{req.base_url}/_emulator/documents/{token}",
                             "compressionAlgorithm": "GZIP"})


# schedules ------------------------------------------------------------------------------

PERIODS = {"PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600, "PT2H": 7200,
           "PT4H": 14400, "PT8H": 28800, "PT12H": 43200, "P1D": 86400, "P2D": 172800,
           "P3D": 259200, "PT84H": 302400, "P7D": 604800, "P14D": 1209600, "P15D": 1296000,
           "P18D": 1555200, "P30D": 2592000, "P1M": 2592000}


def _new_report(state: State, seller_id: str, rtype: str, mps: list[str], at: float,
                options: dict[str, Any], start: float | None, end: float | None,
                schedule_id: str | None = None) -> str:
    rid = state.next_number("report", 50_000_000_000)
    state.d["reports"][rid] = {
        "id": rid, "seller": seller_id, "type": rtype, "mps": list(mps), "created": at,
        "start": start, "end": end, "options": options, "status": "IN_QUEUE",
        "started": at + state.report_seconds / 3, "done": at + state.report_seconds,
        "docId": None, "scheduleId": schedule_id,
    }
    return rid


def run_schedules(state: State, now: float) -> None:
    """Create the reports that schedules owe up to ``now`` (at most ten per schedule and call,
    so a long pause does not flood the seller with catch-up reports)."""
    for sched in state.d.get("schedules", {}).values():
        made = 0
        while sched["next"] <= now and made < 10:
            at = sched["next"]
            _new_report(state, sched["seller"], sched["type"], sched["mps"], at,
                        sched["options"], at - PERIODS[sched["period"]], at, sched["id"])
            sched["next"] = at + PERIODS[sched["period"]]
            made += 1
        if sched["next"] <= now:  # skip what is left of a long pause
            periods = int((now - sched["next"]) // PERIODS[sched["period"]]) + 1
            sched["next"] += periods * PERIODS[sched["period"]]


def _schedule_view(sched: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"reportScheduleId": sched["id"], "reportType": sched["type"],
                           "marketplaceIds": list(sched["mps"]), "period": sched["period"],
                           "nextReportCreationTime": gen.iso_offset(sched["next"])}
    if sched["options"]:
        out["reportOptions"] = dict(sched["options"])
    return out


def create_report_schedule(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    body = req.body if isinstance(req.body, dict) else {}
    rtype, mps, period = body.get("reportType"), body.get("marketplaceIds"), body.get("period")
    if not isinstance(rtype, str) or not rtype:
        raise invalid("reportType is required.")
    if not isinstance(mps, list) or not mps:
        raise invalid("marketplaceIds is required and must not be empty.")
    state.check_marketplaces(seller, mps, "marketplaceIds")
    if period not in PERIODS:
        raise invalid(f"Invalid period {period!r}.")
    now = state.now()
    first = time_param(body, "nextReportCreationTime")
    options = body.get("reportOptions") or {}
    if not isinstance(options, dict):
        raise invalid("reportOptions must be an object of string values.")
    schedules = state.d.setdefault("schedules", {})
    # A new schedule for the same report type and marketplaces replaces the old one.
    for sid, old in list(schedules.items()):
        if (old["seller"], old["type"], sorted(old["mps"])) == (seller["id"], rtype, sorted(mps)):
            del schedules[sid]
    sid = state.next_number("reportSchedule", 50_000_000_000)
    schedules[sid] = {"id": sid, "seller": seller["id"], "type": rtype, "mps": list(mps),
                      "period": period, "options": options,
                      "next": first if first is not None and first > now
                      else now + PERIODS[period]}
    return SimResponse(201, {"reportScheduleId": sid})


def _own_schedule(state: State, req: SimRequest) -> dict[str, Any]:
    state.seller(req)
    sid = str(req.params.get("reportScheduleId", ""))
    sched = state.d.get("schedules", {}).get(sid)
    if sched is None or sched["seller"] != req.seller_id:
        raise not_found(f"Report schedule {sid} was not found.")
    return sched


def get_report_schedule(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, _schedule_view(_own_schedule(state, req)))


def cancel_report_schedule(state: State, req: SimRequest) -> SimResponse:
    sched = _own_schedule(state, req)
    del state.d["schedules"][sched["id"]]
    return SimResponse(200, None)


def get_report_schedules(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    types = as_list(req.params.get("reportTypes"))
    if not types:
        raise invalid("reportTypes is required.")
    rows = [_schedule_view(s) for s in state.d.get("schedules", {}).values()
            if s["seller"] == req.seller_id and s["type"] in types]
    return SimResponse(200, {"reportSchedules": rows})


HANDLERS = {
    "reports_2021_06_30.createReportSchedule": create_report_schedule,
    "reports_2021_06_30.getReportSchedule": get_report_schedule,
    "reports_2021_06_30.getReportSchedules": get_report_schedules,
    "reports_2021_06_30.cancelReportSchedule": cancel_report_schedule,
    "reports_2021_06_30.createReport": create_report,
    "reports_2021_06_30.getReport": get_report,
    "reports_2021_06_30.getReports": get_reports,
    "reports_2021_06_30.cancelReport": cancel_report,
    "reports_2021_06_30.getReportDocument": get_report_document,
}
