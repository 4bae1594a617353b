"""Reports API 2021-06-30: report requests that progress with the clock, and their documents.

A report is ``IN_QUEUE`` for the first third of ``report_seconds``, ``IN_PROGRESS`` until
``report_seconds`` have passed, then ``DONE`` with a document, or ``CANCELLED`` when it has no
data (as Amazon does for an empty date range). Documents are built from the simulated orders,
listings and inventory as they stood when processing finished.

Report types with content: ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``,
``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL``,
``GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING`` (unshipped MFN orders with buyer and address;
its document needs a Restricted Data Token, as at Amazon), ``GET_MERCHANT_LISTINGS_ALL_DATA``,
``GET_MERCHANT_LISTINGS_DATA`` (active listings only), ``GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA``
and ``GET_FBA_MYI_ALL_INVENTORY_DATA``. Every other report type is accepted and ends
``CANCELLED`` (no data), so a client's polling and status handling still runs, but no made-up
columns are served for formats the simulation does not know.

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
# Report types whose documents hold buyer PII: getReportDocument needs a Restricted Data Token.
RESTRICTED_TYPES = frozenset({"GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"})
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


def finish(state: State, r: dict[str, Any]) -> None:
    """Called by ``State.advance`` once the report's processing time has passed."""
    builder = _BUILDERS.get(r["type"])
    rows = builder[0](state, r, r["done"]) if builder else []
    if not rows or builder is None:
        r["status"] = "CANCELLED"
        return
    doc_id = "amzn1.spdoc.1.4.na." + gen.uuid_from(state.rng("reportDocument"))
    state.add_document(doc_id, seller_id=r["seller"], content=_tsv(builder[1], rows),
                       content_type=TSV, gzip_it=True)
    state.d["documents"][doc_id]["reportType"] = r["type"]
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
