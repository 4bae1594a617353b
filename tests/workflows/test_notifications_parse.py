"""Parsing notifications: every (type, payload version) of Amazon's schemas/notifications, in
both envelope casings, bare, as an SQS message, as an EventBridge event and as an EventBridge
event delivered through SQS.

The examples are built here from each schema (a minimal instance of its required properties,
validated against the schema where the schema resolves), not copied from the models."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sellerkit.errors import SellerkitError
from sellerkit.workflows.notification_types import (
    CaseInsensitiveDict,
    NotificationParseError,
    notification_type,
    notification_types,
    parse_notification,
)
from tests.conftest import MODELS_ROOT, requires_models

ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "sellerkit/workflows/data/notification_types.json").read_text())[
    "notification_types"]
MODELS = [(name, version, m["schema"]) for name, t in TABLE.items()
          for version, m in t["payload_versions"].items() if m["schema"]]


def test_every_schema_has_a_model() -> None:
    assert len(MODELS) == 23
    assert len({schema for _, _, schema in MODELS}) == 23
    if MODELS_ROOT is not None:
        files = sorted(p.name for p in (MODELS_ROOT / "schemas/notifications").glob("*.json"))
        assert sorted(s for _, _, s in MODELS) == files


# building an instance from a schema ---------------------------------------------------------


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref") or node.get("#ref"), str):
        target: Any = schema
        for part in (node.get("$ref") or node["#ref"])[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def instance(schema: dict[str, Any], node: Any, name: str = "x", depth: int = 0) -> Any:
    """A small valid value of ``node``: required properties (all of them at the top two
    levels), first enum values, typed placeholders."""
    node = _resolve(schema, node)
    if not isinstance(node, dict) or depth > 40:
        return "x"
    for key in ("allOf", "oneOf", "anyOf"):
        if node.get(key):
            merged: dict[str, Any] = {}
            for part in node[key] if key == "allOf" else node[key][:1]:
                value = instance(schema, part, name, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
                else:
                    return value
            return merged
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    typ = node.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    if typ == "object" or (typ is None and "properties" in node):
        props = node.get("properties") or {}
        required = list(node.get("required") or [])
        wanted = list(dict.fromkeys((list(props) if depth < 2 else []) + required))
        return {k: instance(schema, props.get(k, {"type": "string"}), k, depth + 1)
                for k in wanted}
    if typ == "array":
        if depth >= 3 and not node.get("minItems"):
            return []
        return [instance(schema, node.get("items") or {}, name, depth + 1)]
    if typ == "integer":
        return max(1, int(node.get("minimum", 1)))
    if typ == "number":
        return max(1.5, float(node.get("minimum", 1.5)))
    if typ == "boolean":
        return True
    if node.get("format") == "date-time":
        return "2026-03-04T05:06:07.250Z"
    if node.get("format") == "date":
        return "2026-03-04"
    return f"{name}-value"


PASCAL_META = {"ApplicationId": "amzn1.sellerapps.app.test", "SubscriptionId": "sub-1",
               "PublishTime": "2026-03-04T05:06:09Z", "NotificationId": "n-42"}


def envelope(name: str, version: str, schema_file: str, casing: str) -> dict[str, Any]:
    """An envelope for (name, version) built from the schema, in ``casing``."""
    assert MODELS_ROOT is not None
    schema = json.loads((MODELS_ROOT / "schemas/notifications" / schema_file).read_text())
    root = _resolve(schema, schema)
    model = TABLE[name]["payload_versions"][version]
    if isinstance(root, dict) and root.get("properties"):
        props = {k.lower(): v for k, v in root["properties"].items()}
        payload = instance(schema, props["payload"], "payload", 1)
    else:  # a schema whose $ref dangles: the payload keys the generator recorded
        payload = {k: {"value": 1} for k in model["payload_keys"]}
    env = {"NotificationVersion": model["notification_version"] or "1.0",
           "NotificationType": name, "PayloadVersion": version,
           "EventTime": "2026-03-04T05:06:07.250Z", "Payload": payload,
           "NotificationMetadata": dict(PASCAL_META)}
    if isinstance(root, dict) and root.get("properties"):
        import jsonschema

        # the schema's own enum may spell the type differently from its example (an alias)
        spelled = {**env, "NotificationType": (TABLE[name]["aliases"] or [name])[0]}
        native = spelled if model["casing"] == "pascal" else _camel(spelled)
        jsonschema.Draft7Validator(schema).validate(native)
    return env if casing == "pascal" else _camel(env)


def _camel(env: dict[str, Any]) -> dict[str, Any]:
    out = {k[0].lower() + k[1:]: v for k, v in env.items()}
    out["notificationMetadata"] = {k[0].lower() + k[1:]: v
                                   for k, v in env["NotificationMetadata"].items()}
    return out


def _swap(key: str) -> str:
    return key[0].lower() + key[1:] if key[0].isupper() else key[0].upper() + key[1:]


def wrappers(env: dict[str, Any]) -> dict[str, Any]:
    event = {"version": "0", "id": "e-1", "detail-type": env.get("NotificationType")
             or env.get("notificationType"), "source":
             "aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.test",
             "account": "123456789012", "time": "2026-03-04T05:06:09Z", "region": "us-east-1",
             "resources": [], "detail": env}
    return {
        "envelope": env,
        "json": json.dumps(env),
        "bytes": json.dumps(env).encode(),
        "sqs": {"MessageId": "m-1", "ReceiptHandle": "rh", "Body": json.dumps(env)},
        "lambda-sqs": {"messageId": "m-1", "eventSource": "aws:sqs", "body": json.dumps(env)},
        "eventbridge": event,
        "sqs+eventbridge": {"MessageId": "m-2", "ReceiptHandle": "rh",
                            "Body": json.dumps(event)},
    }


VIA = {"envelope": "envelope", "json": "envelope", "bytes": "envelope", "sqs": "sqs",
       "lambda-sqs": "sqs", "eventbridge": "eventbridge", "sqs+eventbridge": "sqs+eventbridge"}


@requires_models
@pytest.mark.parametrize("casing", ["pascal", "camel"])
@pytest.mark.parametrize(("name", "version", "schema_file"), MODELS,
                         ids=[f"{n}-{v}" for n, v, _ in MODELS])
def test_every_type_parses_in_both_casings_and_every_wrapper(
        name: str, version: str, schema_file: str, casing: str) -> None:
    env = envelope(name, version, schema_file, casing)
    for how, data in wrappers(env).items():
        n = parse_notification(data)
        assert n.type == name, how
        assert n.payload_version == version
        assert n.known and n.model is not None and n.model.schema == schema_file
        assert n.event_time == datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
        assert n.publish_time == datetime(2026, 3, 4, 5, 6, 9, tzinfo=UTC)
        assert n.notification_id == "n-42" and n.subscription_id == "sub-1"
        assert n.application_id == "amzn1.sellerapps.app.test"
        assert n.via == VIA[how]
        assert n.raw == env
        payload = env.get("Payload") or env["payload"]
        assert n.payload.to_dict() == payload
        for key in TABLE[name]["payload_versions"][version]["required_payload_keys"]:
            assert n.payload[_swap(key)] == n.payload[key]
        # strict parsing refuses a payload that lacks a required key
        required = TABLE[name]["payload_versions"][version]["required_payload_keys"]
        if required and how == "envelope":
            broken = json.loads(json.dumps(env))
            del (broken.get("Payload") or broken["payload"])[required[0]]
            with pytest.raises(NotificationParseError, match=required[0]):
                parse_notification(broken)
            assert parse_notification(broken, strict=False).type == name


# behaviour --------------------------------------------------------------------------------


ORDER = {"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
         "EventTime": "2026-01-01T10:00:00.000Z", "NotificationMetadata": {
             "ApplicationId": "app", "SubscriptionId": "s", "PublishTime":
             "2026-01-01T10:00:01Z", "NotificationId": "id-1"},
         "Payload": {"OrderChangeNotification": {
             "NotificationLevel": "OrderLevel", "SellerId": "A1", "AmazonOrderId": "111-1",
             "OrderChangeType": "OrderStatusChange", "Summary": {"OrderItems": [
                 {"SellerSKU": "SKU-1", "Quantity": 2}]}}}}


def test_case_insensitive_access_at_every_level() -> None:
    n = parse_notification(ORDER)
    assert n.body["amazonOrderId"] == "111-1" == n.payload["orderChangeNotification"][
        "AmazonOrderId"]
    item = n.body["summary"]["orderItems"][0]
    assert isinstance(item, CaseInsensitiveDict)
    assert item["sellerSku"] == "SKU-1" and "QUANTITY" in item
    with pytest.raises(KeyError):
        n.body["NoSuchKey"]
    assert n.body.get("NoSuchKey") is None
    assert n.to_dict()["event_time"] == "2026-01-01T10:00:00+00:00"


def test_unknown_types_and_versions_still_parse() -> None:
    n = parse_notification({"notificationType": "SOMETHING_NEW", "payloadVersion": "2030-01-01",
                            "eventTime": "2030-01-01T00:00:00+02:00", "payload": {"a": {"b": 1}}})
    assert n.type == "SOMETHING_NEW" and not n.known and n.model is None
    assert n.info.known is False
    assert n.event_time is not None and n.event_time.utcoffset() is not None
    assert n.body["B"] == 1
    later = parse_notification({**ORDER, "PayloadVersion": "2031-01-01"})
    assert later.type == "ORDER_CHANGE" and later.model is None


def test_alias_spelling_maps_to_the_type() -> None:
    n = parse_notification({"NotificationType": "LISTINGS_ITEM_STATUS_CHANGED",
                            "PayloadVersion": "1.0", "Payload": {
                                "SellerId": "A", "Sku": "S", "Status": ["BUYABLE"]}})
    assert n.type == "LISTINGS_ITEM_STATUS_CHANGE" and n.known


def test_eventbridge_detail_type_fills_in_a_missing_type() -> None:
    n = parse_notification({"detail-type": "ITEM_PRODUCT_TYPE_CHANGE", "source": "aws.partner/x",
                            "detail": {"PayloadVersion": "1.0", "Payload": {
                                "MarketplaceId": "M", "Asin": "B0", "PreviousProductType": "A",
                                "CurrentProductType": "B"}}})
    assert n.type == "ITEM_PRODUCT_TYPE_CHANGE" and n.via == "eventbridge"


@pytest.mark.parametrize(("data", "message"), [
    ("{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    ("[1, 2]", "JSON object; got list"),
    ({"hello": "world"}, "no NotificationType or Payload .*keys found: hello"),
    ({"Payload": {}}, "no NotificationType"),
    ({"NotificationType": "ORDER_CHANGE"}, "ORDER_CHANGE notification has no Payload"),
    ({"NotificationType": "ORDER_CHANGE", "Payload": []}, "Payload is a list"),
    ({**ORDER, "EventTime": "yesterday"}, "EventTime is not an ISO 8601"),
    ({**ORDER, "NotificationMetadata": "x"}, "NotificationMetadata is not an object"),
    ({"MessageId": "m", "ReceiptHandle": "r", "Body": "oops"}, "SQS message body is not valid"),
    ({"MessageId": "m", "ReceiptHandle": "r", "Body": "{}"}, "in the sqs wrapper's content"),
    ({"detail-type": "X", "source": "s", "detail": "{]"}, "EventBridge event's detail is not"),
])
def test_malformed_input_says_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(NotificationParseError, match=message) as info:
        parse_notification(data)
    assert isinstance(info.value, SellerkitError)


def test_metadata_table() -> None:
    types = notification_types()
    assert types["LISTINGS_ITEM_ISSUES_CHANGE"].payload_versions == ("1.0", "2023-12-13")
    assert types["LISTINGS_ITEM_ISSUES_CHANGE"].latest_payload_version == "2023-12-13"
    assert types["ORDER_CHANGE"].destination == "sqs"
    assert types["BRANDED_ITEM_CONTENT_CHANGE"].destination == "eventBridge"
    assert types["SHIPMENT_TRACKING_MILESTONE_CHANGED"].destination is None
    assert not types["APPLICATION_OAUTH_CLIENT_NEW_SECRET"].subscribable
    assert notification_type("order_change").name == "ORDER_CHANGE"
    assert types["REPORT_PROCESSING_FINISHED"].models["2020-09-04"].casing == "camel"
    assert types["ORDER_CHANGE"].models["1.0"].casing == "pascal"


@requires_models
def test_checked_in_data_is_what_the_generator_makes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools/gen_notification_types.py"),
                           "--check", "--models", str(MODELS_ROOT)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_new_client_secret_stays_out_of_reprs_and_summaries() -> None:
    n = parse_notification({
        "notificationVersion": "1.0", "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-11-30", "eventTime": "2026-01-01T00:00:00Z",
        "payload": {"applicationOAuthClientNewSecret": {
            "clientId": "amzn1.application-oa2-client.x",
            "newClientSecret": "amzn1.oa2-cs.v1.s3cr3tvalue",
            "newClientSecretExpiryTime": "2026-06-30T00:00:00Z"}}})
    assert n.known and n.body["NewClientSecret"] == "amzn1.oa2-cs.v1.s3cr3tvalue"
    assert "s3cr3tvalue" not in repr(n) and "s3cr3tvalue" not in repr(n.body)
    assert "s3cr3tvalue" not in json.dumps(n.to_dict())
    assert n.to_dict()["payload"]["applicationOAuthClientNewSecret"]["newClientSecret"] == (
        "[redacted]")
    assert "s3cr3tvalue" in json.dumps(n.to_dict(reveal_secrets=True))
