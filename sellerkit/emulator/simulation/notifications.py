"""Notifications API v1: destinations (per application) and subscriptions (per application,
selling partner and notification type).

Destinations are an SQS queue ARN (``arn:aws:sqs:<region>:<account>:<name>``) or an EventBridge
account and region; an EventBridge destination reports the partner event source name
``aws.partner/sellingpartnerapi.amazon.com/<account>/<application id>``. A second destination
for the same queue or account+region, or a second subscription to the same notification type
and payload version for the same selling partner, answers 409 ``Conflict`` (another payload
version of the same type may be subscribed beside it, as the model's createSubscription says);
so does deleting a destination that subscriptions still use. A type delivered only through
EventBridge, subscribed to an SQS destination, or an SQS type subscribed to an EventBridge
destination, answers 400 (research/next-waves.md §4: "Notification type X does not support
AWS_EVENT_BRIDGE").

Delivery: events are written to an in-memory outbox (the last 10,000), as the JSON envelopes
Amazon would put on the SQS queue or EventBridge bus, with the destination's ``resource``
(``Simulation.notifications()`` reads them; ``sellerkit.emulator.delivery`` hands them on to
SQS or to Python and HTTP readers). Events produced: ``REPORT_PROCESSING_FINISHED``,
``FEED_PROCESSING_FINISHED``, ``DATA_KIOSK_QUERY_PROCESSING_FINISHED`` (camelCase envelopes)
and ``ORDER_CHANGE`` with ``OrderStatusChange`` for new orders and every status transition
(PascalCase envelopes), for subscriptions that existed when the event happened, honouring
``eventFilter.marketplaceIds`` and ``orderChangeTypes``. Other simulations call
:func:`notify` (type, payload): it picks the casing per type (``ENVELOPES``) and posts to
every matching subscription.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from sellerkit.emulator.simulation import SimRequest, SimResponse, error
from sellerkit.emulator.simulation import data as gen
from sellerkit.emulator.simulation.state import Reject, State, as_list, invalid

SQS_ARN = re.compile(r"^arn:aws:sqs:\S+:\S+:\S+")
NOTIFICATION_TYPES = frozenset({
    "ACCOUNT_STATUS_CHANGED", "ANY_OFFER_CHANGED", "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "B2B_ANY_OFFER_CHANGED",
    "BRANDED_ITEM_CONTENT_CHANGE", "DATA_KIOSK_QUERY_PROCESSING_FINISHED",
    "DETAIL_PAGE_TRAFFIC_EVENT", "EXTERNAL_FULFILLMENT_SHIPMENT_STATUS_CHANGE",
    "FBA_INVENTORY_AVAILABILITY_CHANGES", "FBA_OUTBOUND_SHIPMENT_STATUS",
    "FEED_PROCESSING_FINISHED", "FEE_PROMOTION", "FULFILLMENT_ORDER_STATUS",
    "ITEM_INVENTORY_EVENT_CHANGE", "ITEM_PRODUCT_TYPE_CHANGE", "ITEM_SALES_EVENT_CHANGE",
    "LISTINGS_ITEM_ISSUES_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    "LISTINGS_ITEM_STATUS_CHANGE", "MFN_ORDER_STATUS_CHANGE", "ORDER_CHANGE",
    "ORDER_STATUS_CHANGE", "PRICING_HEALTH", "PRODUCT_TYPE_DEFINITIONS_CHANGE",
    "REPORT_PROCESSING_FINISHED", "TRANSACTION_UPDATE",
})

# research/next-waves.md §4 (Amazon's use-case guide and the samples' type definitions)
EVENTBRIDGE_TYPES = frozenset({
    "BRANDED_ITEM_CONTENT_CHANGE", "ITEM_PRODUCT_TYPE_CHANGE", "LISTINGS_ITEM_STATUS_CHANGE",
    "LISTINGS_ITEM_ISSUES_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    "PRODUCT_TYPE_DEFINITIONS_CHANGE",
})
SQS_TYPES = frozenset({
    "ACCOUNT_STATUS_CHANGED", "ANY_OFFER_CHANGED", "B2B_ANY_OFFER_CHANGED",
    "DETAIL_PAGE_TRAFFIC_EVENT", "FBA_INVENTORY_AVAILABILITY_CHANGES",
    "FBA_OUTBOUND_SHIPMENT_STATUS", "FEE_PROMOTION", "FEED_PROCESSING_FINISHED",
    "FULFILLMENT_ORDER_STATUS", "ITEM_INVENTORY_EVENT_CHANGE", "ITEM_SALES_EVENT_CHANGE",
    "ORDER_CHANGE", "PRICING_HEALTH", "REPORT_PROCESSING_FINISHED", "TRANSACTION_UPDATE",
    "DATA_KIOSK_QUERY_PROCESSING_FINISHED",
})


def _conflict(message: str) -> Reject:
    return Reject(error(409, "Conflict", message))


def _missing(message: str) -> Reject:
    return Reject(error(404, "NotFound", message))


# destinations ---------------------------------------------------------------------------


def _destination_view(d: dict[str, Any]) -> dict[str, Any]:
    return {"destinationId": d["id"], "name": d["name"], "resource": d["resource"]}


def create_destination(state: State, req: SimRequest) -> SimResponse:
    body = req.body if isinstance(req.body, dict) else {}
    name = body.get("name")
    spec = body.get("resourceSpecification")
    if not isinstance(name, str) or not name:
        raise invalid("name is required.")
    if not isinstance(spec, dict) or len([k for k in ("sqs", "eventBridge") if spec.get(k)]) != 1:
        raise invalid("resourceSpecification must contain exactly one of sqs or eventBridge.")
    mine = [d for d in state.d["destinations"].values() if d["app"] == req.application_id]
    if spec.get("sqs"):
        arn = spec["sqs"].get("arn") if isinstance(spec["sqs"], dict) else None
        if not isinstance(arn, str) or not SQS_ARN.match(arn) or len(arn) > 1000:
            raise invalid("resourceSpecification.sqs.arn is not a valid SQS queue ARN.")
        if any(d["resource"].get("sqs", {}).get("arn") == arn for d in mine):
            raise _conflict(f"A destination for the SQS queue {arn} already exists.")
        resource: dict[str, Any] = {"sqs": {"arn": arn}}
    else:
        eb = spec["eventBridge"]
        if not isinstance(eb, dict) or not eb.get("accountId") or not eb.get("region"):
            raise invalid("resourceSpecification.eventBridge needs accountId and region.")
        account, region = str(eb["accountId"]), str(eb["region"])
        if not re.fullmatch(r"\d{12}", account):
            raise invalid("resourceSpecification.eventBridge.accountId must be a 12-digit AWS "
                          "account id.")
        if any(d["resource"].get("eventBridge", {}).get("accountId") == account
               and d["resource"]["eventBridge"].get("region") == region for d in mine):
            raise _conflict(f"An EventBridge destination for account {account} in {region} "
                            "already exists.")
        resource = {"eventBridge": {
            "name": f"aws.partner/sellingpartnerapi.amazon.com/{account}/{req.application_id}",
            "region": region, "accountId": account}}
    did = gen.uuid_from(state.rng("destination"))
    state.d["destinations"][did] = {"id": did, "app": req.application_id, "name": name,
                                    "resource": resource}
    return SimResponse(200, {"payload": _destination_view(state.d["destinations"][did])})


def _own_destination(state: State, req: SimRequest) -> dict[str, Any]:
    did = str(req.params.get("destinationId", ""))
    d = state.d["destinations"].get(did)
    if d is None or d["app"] != req.application_id:
        raise _missing(f"Destination {did} was not found.")
    return d


def get_destinations(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, {"payload": [
        _destination_view(d) for d in state.d["destinations"].values()
        if d["app"] == req.application_id]})


def get_destination(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, {"payload": _destination_view(_own_destination(state, req))})


def delete_destination(state: State, req: SimRequest) -> SimResponse:
    d = _own_destination(state, req)
    if any(s["destinationId"] == d["id"] for s in state.d["subscriptions"].values()):
        raise _conflict("The destination has subscriptions; delete them first.")
    del state.d["destinations"][d["id"]]
    return SimResponse(200, {})


# subscriptions --------------------------------------------------------------------------


def _type(req: SimRequest) -> str:
    t = str(req.params.get("notificationType", ""))
    if t not in NOTIFICATION_TYPES:
        raise invalid(f"Invalid notificationType {t!r}.")
    return t


def _subscription_view(s: dict[str, Any]) -> dict[str, Any]:
    out = {"subscriptionId": s["id"], "payloadVersion": s["payloadVersion"],
           "destinationId": s["destinationId"]}
    if s.get("processingDirective"):
        out["processingDirective"] = s["processingDirective"]
    return out


def create_subscription(state: State, req: SimRequest) -> SimResponse:
    ntype = _type(req)
    body = req.body if isinstance(req.body, dict) else {}
    version = body.get("payloadVersion")
    did = body.get("destinationId")
    if not isinstance(version, str) or not version:
        raise invalid("payloadVersion is required.")
    if not isinstance(did, str) or not did:
        raise invalid("destinationId is required.")
    d = state.d["destinations"].get(did)
    if d is None or d["app"] != req.application_id:
        raise invalid(f"destinationId {did} does not name a destination of this application.")
    directive = body.get("processingDirective")
    if directive is not None:
        if not isinstance(directive, dict):
            raise invalid("processingDirective must be an object.")
        if directive.get("eventFilter") and directive.get("filterExpression"):
            raise invalid("eventFilter and filterExpression cannot be used together.")
    kind = "eventBridge" if d["resource"].get("eventBridge") else "sqs"
    if kind == "sqs" and ntype in EVENTBRIDGE_TYPES:
        raise invalid(f"Notification type {ntype} does not support AMAZON_SQS.")
    if kind == "eventBridge" and ntype in SQS_TYPES:
        raise invalid(f"Notification type {ntype} does not support AWS_EVENT_BRIDGE.")
    for s in state.d["subscriptions"].values():
        if (s["app"], s["seller"], s["type"], s["payloadVersion"]) == (
                req.application_id, req.seller_id, ntype, version):
            raise _conflict(f"A subscription to {ntype} (payload version {version}) already "
                            "exists for this application and selling partner.")
    sid = gen.uuid_from(state.rng("subscription"))
    rec = {"id": sid, "app": req.application_id, "seller": req.seller_id, "type": ntype,
           "payloadVersion": version, "destinationId": did,
           "processingDirective": directive or None, "created": state.now()}
    state.d["subscriptions"][sid] = rec
    return SimResponse(200, {"payload": _subscription_view(rec)})


def _mine(state: State, req: SimRequest, ntype: str) -> list[dict[str, Any]]:
    return [s for s in state.d["subscriptions"].values()
            if s["app"] == req.application_id and s["seller"] == req.seller_id
            and s["type"] == ntype]


def get_subscription(state: State, req: SimRequest) -> SimResponse:
    ntype = _type(req)
    version = req.params.get("payloadVersion")
    subs = [s for s in _mine(state, req, ntype)
            if version is None or s["payloadVersion"] == version]
    if not subs:
        raise _missing(f"No subscription to {ntype} exists for this selling partner.")
    return SimResponse(200, {"payload": _subscription_view(subs[0])})


def get_subscriptions(state: State, req: SimRequest) -> SimResponse:
    p = req.params
    types = as_list(p.get("notificationTypes"))
    if len(types) != 1:
        raise invalid("notificationTypes must name exactly one notification type.")
    if types[0] not in NOTIFICATION_TYPES:
        raise invalid(f"Invalid notificationType {types[0]!r}.")
    size = int(p.get("pageSize") or 30)
    if not 30 <= size <= 100:
        raise invalid("pageSize must be between 30 and 100.")
    version = p.get("payloadVersion")
    subs = [s for s in _mine(state, req, types[0])
            if version is None or s["payloadVersion"] == version]
    subs.sort(key=lambda s: s["id"])
    offset = 0
    if p.get("nextToken"):
        t = state.unsign(str(p["nextToken"]), "nextToken")
        if t.get("op") != req.operation.key or t.get("t") != types[0]:
            raise invalid("Invalid nextToken.")
        offset = int(t["o"])
    payload: dict[str, Any] = {"subscriptions": [_subscription_view(s)
                                                 for s in subs[offset:offset + size]]}
    if offset + size < len(subs):
        payload["nextToken"] = state.sign({"op": req.operation.key, "t": types[0],
                                           "o": offset + size})
    return SimResponse(200, {"payload": payload})


def _by_id(state: State, req: SimRequest) -> dict[str, Any]:
    ntype = _type(req)
    sid = str(req.params.get("subscriptionId", ""))
    s = state.d["subscriptions"].get(sid)
    if s is None or s["app"] != req.application_id or s["type"] != ntype:
        raise _missing(f"Subscription {sid} for {ntype} was not found.")
    return s


def get_subscription_by_id(state: State, req: SimRequest) -> SimResponse:
    return SimResponse(200, {"payload": _subscription_view(_by_id(state, req))})


def delete_subscription_by_id(state: State, req: SimRequest) -> SimResponse:
    s = _by_id(state, req)
    del state.d["subscriptions"][s["id"]]
    return SimResponse(200, {})


# delivery -------------------------------------------------------------------------------

OUTBOX_LIMIT = 10_000


def _subscribers(state: State, seller_id: str, ntype: str, at: float) -> list[dict[str, Any]]:
    return [s for s in state.d["subscriptions"].values()
            if s["seller"] == seller_id and s["type"] == ntype and s.get("created", 0) <= at]


def _post(state: State, sub: dict[str, Any], at: float, message: dict[str, Any]) -> None:
    outbox = state.d.setdefault("outbox", [])
    seq = state.d["counters"].get("outbox", 0) + 1
    state.d["counters"]["outbox"] = seq
    dest = state.d["destinations"].get(sub["destinationId"]) or {}
    outbox.append({"seq": seq, "app": sub["app"], "destinationId": sub["destinationId"],
                   "resource": copy.deepcopy(dest.get("resource") or {}),
                   "subscriptionId": sub["id"], "notificationType": sub["type"],
                   "eventTime": at, "message": message})
    if len(outbox) > OUTBOX_LIMIT:
        del outbox[: len(outbox) - OUTBOX_LIMIT]


# (casing, notificationVersion) of each type's envelope, from the examples in Amazon's
# schemas/notifications/*.json (sp-api-facts.md §9: casing varies by type); a type missing
# here gets a PascalCase envelope with NotificationVersion "1.0"
ENVELOPES: dict[str, tuple[str, str]] = {
    "ACCOUNT_STATUS_CHANGED": ("camel", "1.0"),
    "APPLICATION_OAUTH_CLIENT_NEW_SECRET": ("camel", "1.0"),
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY": ("camel", "1.0"),
    "DATA_KIOSK_QUERY_PROCESSING_FINISHED": ("camel", "2023-11-15"),
    "DETAIL_PAGE_TRAFFIC_EVENT": ("camel", "2020-09-04"),
    "FEED_PROCESSING_FINISHED": ("camel", "2020-09-04"),
    "ITEM_INVENTORY_EVENT_CHANGE": ("camel", "2020-09-04"),
    "ITEM_SALES_EVENT_CHANGE": ("camel", "2020-09-04"),
    "PRICING_HEALTH": ("camel", "1.0"),
    "REPORT_PROCESSING_FINISHED": ("camel", "2020-09-04"),
    "SHIPMENT_TRACKING_MILESTONE_CHANGED": ("camel", "1.0"),
}


def _pascal(key: str) -> str:
    return key[0].upper() + key[1:]


def _metadata(state: State, sub: dict[str, Any], at: float, pascal: bool) -> dict[str, str]:
    meta = {"applicationId": sub["app"], "subscriptionId": sub["id"],
            "publishTime": gen.iso(at + 1), "notificationId": gen.uuid_from(
                state.rng("notification"))}
    if pascal:
        return {_pascal(k): v for k, v in meta.items()}
    return meta


def envelope(state: State, sub: dict[str, Any], ntype: str, payload: dict[str, Any],
             at: float) -> dict[str, Any]:
    """The envelope Amazon sends for one subscription: casing and ``notificationVersion``
    per type (``ENVELOPES``), ``payloadVersion`` the subscription's."""
    casing, version = ENVELOPES.get(ntype, ("pascal", "1.0"))
    env: dict[str, Any] = {
        "notificationVersion": version, "notificationType": ntype,
        "payloadVersion": sub["payloadVersion"], "eventTime": gen.iso(at),
        "payload": payload,
        "notificationMetadata": _metadata(state, sub, at, pascal=casing == "pascal")}
    if casing == "pascal":
        return {_pascal(k): v for k, v in env.items()}
    return env


def notify(state: State, seller_id: str, ntype: str, payload: dict[str, Any],
           at: float | None = None, *, wants: Callable[[dict[str, Any]], bool] | None = None
           ) -> int:
    """Deliver one event of type ``ntype`` to every subscription of ``seller_id`` to it that
    existed at ``at`` (default: now): ``payload`` is the envelope's ``Payload`` as the type's
    schema has it (e.g. ``{"accountId", "queryId", "query", "processingStatus",
    "dataDocumentId"?}`` for DATA_KIOSK_QUERY_PROCESSING_FINISHED). ``wants(subscription)``
    may refuse a subscription (its event filter). Returns how many notifications were posted.
    The generic hook for simulations: call it with the state lock held (handlers and
    ``State.advance`` hold it)."""
    at = state.now() if at is None else at
    n = 0
    for sub in _subscribers(state, seller_id, ntype, at):
        if wants is not None and not wants(sub):
            continue
        _post(state, sub, at, envelope(state, sub, ntype, copy.deepcopy(payload), at))
        n += 1
    return n


def notify_application(state: State, application_id: str, arn: str | None, ntype: str,
                       payload: dict[str, Any], payload_version: str = "2023-11-30",
                       at: float | None = None) -> int:
    """Post one notification the developer registered for in the console rather than through
    createSubscription (the APPLICATION_OAUTH_CLIENT_* types, sp-api-facts.md §12): to the SQS
    queue ``arn`` (None: the in-process outbox only). Returns the ``seq`` posted."""
    at = state.now() if at is None else at
    sub = {"app": application_id, "id": gen.uuid_from(state.rng("console-subscription")),
           "payloadVersion": payload_version}
    outbox = state.d.setdefault("outbox", [])
    seq = state.d["counters"].get("outbox", 0) + 1
    state.d["counters"]["outbox"] = seq
    outbox.append({"seq": seq, "app": application_id, "destinationId": None,
                   "resource": {"sqs": {"arn": arn}} if arn else {},
                   "subscriptionId": None, "notificationType": ntype, "eventTime": at,
                   "message": envelope(state, sub, ntype, copy.deepcopy(payload), at)})
    if len(outbox) > OUTBOX_LIMIT:
        del outbox[: len(outbox) - OUTBOX_LIMIT]
    return seq


def account_id(seller_id: str) -> str:
    """``accountId`` of a seller in the notifications (the schemas' examples:
    ``amzn1.merchant.o.<sellerId>``)."""
    return f"amzn1.merchant.o.{seller_id}"


def processing_finished(state: State, kind: str, rec: dict[str, Any], at: float) -> None:
    """REPORT_PROCESSING_FINISHED / FEED_PROCESSING_FINISHED for a finished report or feed."""
    body: dict[str, Any] = {"sellerId": rec["seller"], "accountId": account_id(rec["seller"]),
                            f"{kind}Id": rec["id"], f"{kind}Type": rec["type"],
                            "processingStatus": rec["status"]}
    if kind == "report" and rec.get("docId"):
        body["reportDocumentId"] = rec["docId"]
    if kind == "feed" and rec.get("resultId"):
        body["resultFeedDocumentId"] = rec["resultId"]
    notify(state, rec["seller"], f"{kind.upper()}_PROCESSING_FINISHED",
           {f"{kind}ProcessingFinishedNotification": body}, at)


def order_changes(state: State, now: float) -> None:
    """ORDER_CHANGE events for the order transitions since the last call."""
    from sellerkit.emulator.simulation import orders as om
    from sellerkit.emulator.simulation.state import status_of

    since = state.d.get("orderEventsAt", state.d["anchor"])
    if now <= since:
        return
    state.d["orderEventsAt"] = now
    for seller_id, lst in state.d["orders"].items():
        subs = [s for s in state.d["subscriptions"].values()
                if s["seller"] == seller_id and s["type"] == "ORDER_CHANGE"]
        if not subs:
            continue
        events = []
        for o in lst:
            for t in (o["created"], o["unshipped"], o["shipped"], o["canceled"]):
                if t is not None and since < t <= now:
                    events.append((t, o["id"], o))
        for t, _, o in sorted(events, key=lambda e: (e[0], e[1])):
            st = status_of(o, t)
            for sub in subs:
                if sub.get("created", 0) > t or not _wants(sub, o["marketplaceId"]):
                    continue
                v0 = om.order_v0(o, t, frozenset())
                summary: dict[str, Any] = {
                    "MarketplaceId": o["marketplaceId"], "OrderStatus": st,
                    "PurchaseDate": v0["PurchaseDate"],
                    "DestinationPostalCode": o["buyer"]["postal"],
                    "FulfillmentType": o["channel"], "OrderType": "StandardOrder",
                    "NumberOfItemsShipped": v0["NumberOfItemsShipped"],
                    "NumberOfItemsUnshipped": v0["NumberOfItemsUnshipped"],
                    "EarliestShipDate": v0["EarliestShipDate"],
                    "LatestShipDate": v0["LatestShipDate"],
                    "EarliestDeliveryDate": v0["EarliestDeliveryDate"],
                    "LatestDeliveryDate": v0["LatestDeliveryDate"],
                    "OrderPrograms": (["Prime"] if o["prime"] else [])
                    + (["Business"] if o["business"] else []),
                    "OrderItems": [{
                        "OrderItemId": i["id"], "SellerSKU": i["sku"], "SupplySourceId": None,
                        "OrderItemStatus": "Shipped" if st == "Shipped" else "Unshipped",
                        "Quantity": i["qty"],
                        "QuantityShipped": i["qty"] if st == "Shipped" else 0,
                    } for i in o["items"]],
                }
                _post(state, sub, t, envelope(state, sub, "ORDER_CHANGE", {
                    "OrderChangeNotification": {
                        "NotificationLevel": "OrderLevel", "SellerId": seller_id,
                        "AmazonOrderId": o["id"], "OrderChangeType": "OrderStatusChange",
                        "OrderChangeTrigger": {"TimeOfOrderChange": gen.iso(t),
                                               "ChangeReason": "Order status changed"},
                        "Summary": summary}}, t))


def _wants(sub: dict[str, Any], marketplace_id: str) -> bool:
    ef = (sub.get("processingDirective") or {}).get("eventFilter") or {}
    mps = ef.get("marketplaceIds")
    if mps and marketplace_id not in mps:
        return False
    types = ef.get("orderChangeTypes")
    return not types or "OrderStatusChange" in types


def outbox(state: State, destination_id: str | None, after: int) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "app"} for m in state.d.get("outbox", [])
            if m["seq"] > after and (destination_id is None or m["destinationId"] == destination_id)]


HANDLERS = {
    "notifications_v1.createDestination": create_destination,
    "notifications_v1.getDestinations": get_destinations,
    "notifications_v1.getDestination": get_destination,
    "notifications_v1.deleteDestination": delete_destination,
    "notifications_v1.createSubscription": create_subscription,
    "notifications_v1.getSubscription": get_subscription,
    "notifications_v1.getSubscriptions": get_subscriptions,
    "notifications_v1.getSubscriptionById": get_subscription_by_id,
    "notifications_v1.deleteSubscriptionById": delete_subscription_by_id,
}
