"""Feeds API 2021-06-30: feed documents, uploads, feeds that progress with the clock, and
``JSON_LISTINGS_FEED`` messages applied to the seller's listings.

Flow (as at Amazon): ``createFeedDocument {contentType}`` gives a document id and an upload URL
(``/_emulator/uploads/<token>``, valid five minutes); the PUT must carry exactly that
Content-Type, otherwise it fails like a presigned S3 URL (403 ``SignatureDoesNotMatch``) and
nothing is stored. ``createFeed`` then needs an uploaded document. A feed is ``IN_QUEUE`` for a
third of ``feed_seconds``, ``IN_PROGRESS`` until ``feed_seconds`` have passed, then:

* ``JSON_LISTINGS_FEED``: ``DONE``; each message is validated and applied to the listings
  (UPDATE, PARTIAL_UPDATE, PATCH, DELETE, with the rules of
  :mod:`sellerkit.emulator.simulation.listings`); invalid messages become issues in the
  processing report (``listings-feed-processing-report-schema-v2`` shape) and change nothing.
  A document that is not JSON, or whose header names another seller, ends ``FATAL`` with a
  processing report that says why.
* the legacy XML / flat-file listings feeds (``LEGACY_LISTINGS``: POST_PRODUCT_DATA,
  POST_INVENTORY_AVAILABILITY_DATA, POST_FLAT_FILE_LISTINGS_DATA...): ``FATAL``, as at Amazon
  since 2025-07-31 (sp-api-facts.md §8), with an XML processing report that says so.
* the XML order feeds (``XML_ORDER_FEEDS``: order acknowledgement, fulfillment, payment
  adjustment): ``DONE`` with the legacy XML processing report (AmazonEnvelope / Message /
  ProcessingReport: DocumentTransactionID = the feed id, StatusCode, ProcessingSummary and one
  Result per problem, AdditionalInfo/AmazonOrderID). A message needs a unique positive
  MessageID and a body whose AmazonOrderID is an order of the seller; the orders themselves are
  not changed. A document that is not well-formed XML, not an AmazonEnvelope or whose
  MerchantIdentifier names another seller ends ``FATAL`` (XML report, MessageID 0).
* any other feed type: ``FATAL`` with an XML processing report saying the simulation does not
  process it.

The uploaded document is decoded with the charset its Content-Type declared at
createFeedDocument (UTF-8 when none). Result documents are not compressed (no
``compressionAlgorithm``); JSON ones are ``application/json``, XML ones ``text/xml``, both
``charset=UTF-8``. The ResultMessageCodes of the XML reports (``XML_CODES``) are the
emulator's own; Amazon's models do not list them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation import listings as li
from sellerkit.emulator.simulation.reports import cancel_job, list_page, own_job
from sellerkit.emulator.simulation.state import State, invalid, not_found

JSON_CT = "application/json; charset=UTF-8"
XML_CT = "text/xml; charset=UTF-8"
LEGACY_LISTINGS = frozenset({
    "POST_PRODUCT_DATA", "POST_INVENTORY_AVAILABILITY_DATA", "POST_PRODUCT_PRICING_DATA",
    "POST_PRODUCT_IMAGE_DATA", "POST_PRODUCT_RELATIONSHIP_DATA", "POST_PRODUCT_OVERRIDES_DATA",
    "POST_FLAT_FILE_LISTINGS_DATA", "POST_FLAT_FILE_INVLOADER_DATA",
    "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA", "POST_FLAT_FILE_BOOKLOADER_DATA",
    "POST_UIEE_BOOKLOADER_DATA"})
XML_ORDER_FEEDS = frozenset({"POST_ORDER_ACKNOWLEDGEMENT_DATA", "POST_ORDER_FULFILLMENT_DATA",
                             "POST_PAYMENT_ADJUSTMENT_DATA"})
XML_CODES = {"xml": "5000", "message": "5001", "order": "18028", "fatal": "6001"}
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
REPORT_DATA = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability",
               "procurement", "relationships", "productTypes")


def _document_id(state: State) -> str:
    return "amzn1.tortuga.4.na." + gen.uuid_from(state.rng("feedDocument"))


def create_feed_document(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    body = req.body if isinstance(req.body, dict) else {}
    ct = body.get("contentType")
    if not isinstance(ct, str) or not ct.strip():
        raise invalid("contentType is required.")
    doc_id = _document_id(state)
    state.d["documents"][doc_id] = {"seller": seller["id"], "kind": "input",
                                    "contentType": ct, "data": None, "uploaded": None,
                                    "created": state.now()}
    token = state.presign(doc_id, "upload")
    return SimResponse(201, {"feedDocumentId": doc_id,
                             "url": f"{req.base_url}/_emulator/uploads/{token}"})


def create_feed(state: State, req: SimRequest) -> SimResponse:
    seller = state.seller(req)
    body = req.body if isinstance(req.body, dict) else {}
    ftype = body.get("feedType")
    if not isinstance(ftype, str) or not ftype:
        raise invalid("feedType is required.")
    mps = body.get("marketplaceIds")
    if not isinstance(mps, list) or not mps:
        raise invalid("marketplaceIds is required and must not be empty.")
    state.check_marketplaces(seller, mps, "marketplaceIds")
    doc_id = body.get("inputFeedDocumentId")
    doc = state.d["documents"].get(str(doc_id))
    if not doc_id or doc is None or doc["seller"] != seller["id"] or doc["kind"] != "input":
        raise invalid(f"inputFeedDocumentId {doc_id!r} is not a feed document of this seller.")
    if doc.get("data") is None:
        raise invalid(f"inputFeedDocumentId {doc_id!r} has no uploaded content; upload the "
                      "feed to the document's url first.")
    options = body.get("feedOptions") or {}
    if not isinstance(options, dict):
        raise invalid("feedOptions must be an object of string values.")
    now = state.now()
    doc["locked"] = True
    fid = state.next_number("feed", 50_000_000_000)
    state.d["feeds"][fid] = {
        "id": fid, "seller": seller["id"], "type": ftype, "mps": list(mps), "created": now,
        "input": doc_id, "options": options, "status": "IN_QUEUE",
        "started": now + state.feed_seconds / 3, "done": now + state.feed_seconds,
        "resultId": None,
    }
    return SimResponse(202, {"feedId": fid})


def _view(state: State, f: dict[str, Any]) -> dict[str, Any]:
    now = state.now()
    status = f["status"]
    if status == "IN_QUEUE" and now >= f["started"]:
        status = "IN_PROGRESS"
    out: dict[str, Any] = {"feedId": f["id"], "feedType": f["type"],
                           "marketplaceIds": list(f["mps"]),
                           "createdTime": gen.iso_offset(f["created"]),
                           "processingStatus": status}
    if status != "IN_QUEUE" and not f.get("cancelledInQueue"):
        out["processingStartTime"] = gen.iso_offset(f["started"])
    if status in ("DONE", "CANCELLED", "FATAL"):
        out["processingEndTime"] = gen.iso_offset(f.get("ended", f["done"]))
    if f.get("resultId"):
        out["resultFeedDocumentId"] = f["resultId"]
    return out


def _own_feed(state: State, req: SimRequest) -> dict[str, Any]:
    return own_job(state, req, "feed")


def get_feed(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, _view(state, _own_feed(state, req)))


def cancel_feed(state: State, req: SimRequest) -> SimResponse:
    f = _own_feed(state, req)
    return cancel_job(state, f, _view(state, f)["processingStatus"], "feed")


def get_feeds(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    p = req.params
    others = [k for k in ("feedTypes", "processingStatuses", "marketplaceIds", "pageSize",
                          "createdSince", "createdUntil") if p.get(k) not in (None, [], "")]
    return list_page(state, req, items=state.d["feeds"], type_param="feedTypes",
                     token=p.get("nextToken"), others=others, view=_view, key="feeds")


def get_feed_document(state: State, req: SimRequest) -> SimResponse:
    state.seller(req)
    doc_id = str(req.params.get("feedDocumentId", ""))
    doc = state.d["documents"].get(doc_id)
    if doc is None or doc["seller"] != req.seller_id or not doc_id.startswith("amzn1.tortuga."):
        raise not_found(f"Feed document {doc_id} was not found.")
    token = state.presign(doc_id, "download")
    out: dict[str, Any] = {"feedDocumentId": doc_id,
                           "url": f"{req.base_url}/_emulator/documents/{token}"}
    if doc.get("gzip"):
        out["compressionAlgorithm"] = "GZIP"
    return SimResponse(200, out)


# processing -----------------------------------------------------------------------------


def _report(seller_id: str, feed_id: str, issues: list[dict[str, Any]], processed: int,
            accepted: int, invalid_count: int, included: list[str] | None,
            items: list[dict[str, Any]] | None) -> dict[str, Any]:
    header: dict[str, Any] = {"sellerId": seller_id, "version": "2.0", "feedId": feed_id}
    if included:
        header["report"] = {"includedData": included, "apiVersion": "2021-08-01"}
    out: dict[str, Any] = {
        "header": header,
        "issues": issues,
        "summary": {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": processed, "messagesAccepted": accepted,
            "messagesInvalid": invalid_count,
        },
    }
    if items is not None:
        out["items"] = items
    return out


def _fatal(state: State, f: dict[str, Any], message: str) -> None:
    _store_result(state, f, _report(f["seller"], f["id"], [
        {"code": "FATAL", "severity": "ERROR", "message": message}], 0, 0, 0, None, None))
    f["status"] = "FATAL"


def _store_result(state: State, f: dict[str, Any], report: dict[str, Any]) -> None:
    doc_id = _document_id(state)
    state.add_document(doc_id, seller_id=f["seller"],
                       content=json.dumps(report, indent=2, sort_keys=False),
                       content_type=JSON_CT, gzip_it=False)
    f["resultId"] = doc_id


def _message_problem(m: Any) -> str | None:
    if not isinstance(m, dict):
        return "A message must be an object."
    mid = m.get("messageId")
    if not isinstance(mid, int) or isinstance(mid, bool) or not 1 <= mid <= 2147483647:
        return "messageId must be an integer between 1 and 2147483647."
    if not isinstance(m.get("sku"), str) or not m["sku"]:
        return "sku is required."
    op = m.get("operationType")
    if op not in OPERATIONS:
        return f"operationType must be one of {', '.join(OPERATIONS)}."
    if op == "DELETE":
        extra = [k for k in ("requirements", "attributes", "productType", "patches") if k in m]
        if extra:
            return f"{', '.join(extra)} must not be given for DELETE."
        return None
    if not isinstance(m.get("productType"), str) or not m["productType"]:
        return f"productType is required for {op}."
    if op == "PATCH":
        if "attributes" in m or "requirements" in m:
            return "attributes and requirements must not be given for PATCH."
        if not isinstance(m.get("patches"), list) or not m["patches"]:
            return "patches is required for PATCH."
    else:
        if "patches" in m:
            return f"patches must not be given for {op}."
        if op == "PARTIAL_UPDATE" and "requirements" in m:
            return "requirements must not be given for PARTIAL_UPDATE."
        if not isinstance(m.get("attributes"), dict) or not m["attributes"]:
            return f"attributes is required for {op}."
    if m.get("requirements") not in (None, "LISTING", "LISTING_PRODUCT_ONLY",
                                     "LISTING_OFFER_ONLY"):
        return "requirements must be LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY."
    return None


def finish(state: State, f: dict[str, Any]) -> None:
    """Called by ``State.advance`` once the feed's processing time has passed."""
    if f["type"] in LEGACY_LISTINGS:
        _xml_fatal(state, f, f"The feed type {f['type']} is no longer supported (since "
                             "2025-07-31); submit listings with JSON_LISTINGS_FEED or the "
                             "Listings Items API.")
        return
    if f["type"] in XML_ORDER_FEEDS:
        _finish_xml(state, f)
        return
    if f["type"] != "JSON_LISTINGS_FEED":
        _xml_fatal(state, f, f"The simulation does not process {f['type']} feeds.")
        return
    doc = state.d["documents"][f["input"]]
    charset = _charset(doc["contentType"])
    try:
        feed = json.loads(base64.b64decode(doc["data"] or "").decode(charset))
    except (ValueError, UnicodeDecodeError, LookupError):
        _fatal(state, f, f"The feed document is not valid {charset} JSON.")
        return
    header = feed.get("header") if isinstance(feed, dict) else None
    messages = feed.get("messages") if isinstance(feed, dict) else None
    if not isinstance(header, dict) or header.get("version") != "2.0":
        _fatal(state, f, "The feed header is missing or its version is not \"2.0\".")
        return
    if header.get("sellerId") != f["seller"]:
        _fatal(state, f, "The sellerId in the feed header does not match the selling partner "
                         "that submitted the feed.")
        return
    if not isinstance(messages, list) or not 1 <= len(messages) <= 25000:
        _fatal(state, f, "messages must be a list of 1 to 25,000 messages.")
        return
    issues: list[dict[str, Any]] = []
    accepted = invalid_count = 0
    touched: list[str] = []
    for m in messages:
        problem = _message_problem(m)
        if problem:
            invalid_count += 1
            issue: dict[str, Any] = {"code": "4000001", "severity": "ERROR", "message": problem}
            if isinstance(m, dict):
                if isinstance(m.get("messageId"), int) and m["messageId"] >= 1:
                    issue["messageId"] = m["messageId"]
                if isinstance(m.get("sku"), str) and m["sku"]:
                    issue["sku"] = m["sku"]
            issues.append(issue)
            continue
        status, found, _ = li.submit(
            state, f["seller"], m["sku"], operation=m["operationType"],
            product_type=m.get("productType"), attributes=m.get("attributes"),
            patches=m.get("patches"), requirements=m.get("requirements"))
        for i in found:
            row = {"messageId": m["messageId"], "sku": m["sku"], "code": i["code"],
                   "severity": i["severity"], "message": i["message"]}
            if i.get("attributeNames"):
                row["attributeName"] = i["attributeNames"][0]
            issues.append(row)
        if status == "ACCEPTED":
            accepted += 1
            if m["sku"] not in touched and m["operationType"] != "DELETE":
                touched.append(m["sku"])
        else:
            invalid_count += 1
    included = None
    items = None
    rep = header.get("report")
    if isinstance(rep, dict) and isinstance(rep.get("includedData"), list):
        included = [x for x in rep["includedData"] if x in REPORT_DATA] or ["summaries"]
        store = state.d["listings"].get(f["seller"], {})
        items = [li.item_view(state, f["seller"], store[s], f["mps"], included)
                 for s in touched if s in store]
    _store_result(state, f, _report(f["seller"], f["id"], issues, len(messages), accepted,
                                    invalid_count, included, items))
    f["status"] = "DONE"


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip('"')
    return "utf-8"


# legacy XML feeds ------------------------------------------------------------------------


def _xml_report(f: dict[str, Any], processed: int, ok: int,
                results: list[tuple[int, str, str, str, dict[str, str]]]) -> str:
    """An XML processing report; ``results`` are (MessageID, ResultCode, ResultMessageCode,
    ResultDescription, AdditionalInfo)."""
    import xml.etree.ElementTree as ET

    env = ET.Element("AmazonEnvelope")
    header = ET.SubElement(env, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.02"
    ET.SubElement(header, "MerchantIdentifier").text = f["seller"]
    ET.SubElement(env, "MessageType").text = "ProcessingReport"
    msg = ET.SubElement(env, "Message")
    ET.SubElement(msg, "MessageID").text = "1"
    rep = ET.SubElement(msg, "ProcessingReport")
    ET.SubElement(rep, "DocumentTransactionID").text = f["id"]
    ET.SubElement(rep, "StatusCode").text = "Complete"
    summary = ET.SubElement(rep, "ProcessingSummary")
    errors = {m for m, code, *_ in results if code == "Error"}
    warnings = {m for m, code, *_ in results if code == "Warning"} - errors
    for name, value in (("MessagesProcessed", processed), ("MessagesSuccessful", ok),
                        ("MessagesWithError", len(errors)),
                        ("MessagesWithWarning", len(warnings))):
        ET.SubElement(summary, name).text = str(value)
    for mid, code, mcode, text, info in results:
        res = ET.SubElement(rep, "Result")
        ET.SubElement(res, "MessageID").text = str(mid)
        ET.SubElement(res, "ResultCode").text = code
        ET.SubElement(res, "ResultMessageCode").text = mcode
        ET.SubElement(res, "ResultDescription").text = text
        if info:
            extra = ET.SubElement(res, "AdditionalInfo")
            for k, v in info.items():
                ET.SubElement(extra, k).text = v
    ET.indent(env)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(env, encoding="unicode") + "\n")


def _store_xml(state: State, f: dict[str, Any], text: str) -> None:
    doc_id = _document_id(state)
    state.add_document(doc_id, seller_id=f["seller"], content=text, content_type=XML_CT,
                       gzip_it=False)
    f["resultId"] = doc_id


def _xml_fatal(state: State, f: dict[str, Any], message: str) -> None:
    _store_xml(state, f, _xml_report(f, 0, 0, [(0, "Error", XML_CODES["fatal"], message, {})]))
    f["status"] = "FATAL"


def _finish_xml(state: State, f: dict[str, Any]) -> None:
    from sellerkit.workflows.documents import Document, DocumentError

    doc = state.d["documents"][f["input"]]
    try:
        root = Document(base64.b64decode(doc["data"] or ""), content_type=doc["contentType"],
                        format="xml").xml()
    except DocumentError as exc:
        _xml_fatal(state, f, f"XML parsing error: {exc.args[0].split(': ', 1)[-1][:200]}")
        return
    if root.tag != "AmazonEnvelope":
        _xml_fatal(state, f, f"The root element is <{root.tag[:40]}>, not <AmazonEnvelope>.")
        return
    merchant = (root.findtext("Header/MerchantIdentifier") or "").strip()
    if merchant != f["seller"]:
        _xml_fatal(state, f, "The MerchantIdentifier in the envelope header does not match "
                             "the selling partner that submitted the feed.")
        return
    now = state.now()
    orders = {o["id"] for o in state.d["orders"].get(f["seller"], []) if o["created"] <= now}
    messages = root.findall("Message")
    results: list[tuple[int, str, str, str, dict[str, str]]] = []
    seen: set[int] = set()
    ok = 0
    for n, m in enumerate(messages, 1):
        text = (m.findtext("MessageID") or "").strip()
        mid = int(text) if text.isdigit() and int(text) > 0 else 0
        body = [c for c in m if c.tag not in ("MessageID", "OperationType")]
        order_id = (m.findtext("*/AmazonOrderID") or "").strip()
        problem = None
        if not mid or mid in seen:
            problem = (XML_CODES["message"], f"Message {n}: MessageID must be a unique positive "
                                             "integer.")
        elif not body:
            problem = (XML_CODES["message"], "The message has no content element.")
        elif not order_id:
            problem = (XML_CODES["message"], f"<{body[0].tag[:40]}> is missing AmazonOrderID.")
        elif order_id not in orders:
            problem = (XML_CODES["order"], f"The order id {order_id[:40]} was not found for "
                                           "this merchant.")
        seen.add(mid)
        if problem:
            info = {"AmazonOrderID": order_id} if order_id else {}
            results.append((mid, "Error", problem[0], problem[1], info))
        else:
            ok += 1
    _store_xml(state, f, _xml_report(f, len(messages), ok, results))
    f["status"] = "DONE"


HANDLERS = {
    "feeds_2021_06_30.createFeedDocument": create_feed_document,
    "feeds_2021_06_30.createFeed": create_feed,
    "feeds_2021_06_30.getFeed": get_feed,
    "feeds_2021_06_30.getFeeds": get_feeds,
    "feeds_2021_06_30.cancelFeed": cancel_feed,
    "feeds_2021_06_30.getFeedDocument": get_feed_document,
}
