"""Generate sellerkit/workflows/data/notification_types.json: what sellerkit knows per
notification type.

    python3 tools/gen_notification_types.py            # regenerate
    python3 tools/gen_notification_types.py --check    # fail if the checked-in file is stale

Sources (facts only; descriptions, titles and examples are not copied):

1. ``../shared/sp-api-models/schemas/notifications/*.json`` (or ``--models``), one schema per
   (type, payload version). From each: the type name, the payload version, the envelope's
   casing (``NotificationType`` or ``notificationType``), the notification version, and the
   payload's top-level keys (all and required). The schemas are irregular: some name the type
   in an ``enum``, some in ``examples``, some only in the example envelope; some hold the
   envelope behind ``$ref`` (one spells it ``#ref``, one points into empty ``definitions``), so
   a fact is taken from the schema first and from its example envelope second. Where an example
   and an enum disagree on the type name (``LISTINGS_ITEM_STATUS_CHANGE`` vs ``..._CHANGED``),
   the example wins (it is the wire form, and the name Amazon documents for subscriptions) and
   the other spelling becomes an alias.
2. ``OVERRIDES``: facts a schema does not state (B2B_ANY_OFFER_CHANGED names neither its type nor
   its payload version).
3. ``DESTINATIONS``: the destination kind each type supports (``research/next-waves.md`` §4,
   from Amazon's use-case guide and the samples' notification-type definitions).
4. ``EXTRA_TYPES``: types without a schema in the models (sp-api-facts.md §12, next-waves §4).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "sellerkit" / "workflows" / "data" / "notification_types.json"

# schema file stem -> facts the schema does not state
OVERRIDES: dict[str, dict[str, str]] = {
    "B2bAnyOfferChangedNotification": {"type": "B2B_ANY_OFFER_CHANGED", "payload_version": "1.0",
                                       "notification_version": "1.0"},
}

EVENTBRIDGE_ONLY = frozenset({
    "BRANDED_ITEM_CONTENT_CHANGE", "ITEM_PRODUCT_TYPE_CHANGE", "LISTINGS_ITEM_STATUS_CHANGE",
    "LISTINGS_ITEM_ISSUES_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    "PRODUCT_TYPE_DEFINITIONS_CHANGE",
})
SQS_ONLY = frozenset({
    "ACCOUNT_STATUS_CHANGED", "ANY_OFFER_CHANGED", "B2B_ANY_OFFER_CHANGED",
    "DETAIL_PAGE_TRAFFIC_EVENT", "FBA_INVENTORY_AVAILABILITY_CHANGES",
    "FBA_OUTBOUND_SHIPMENT_STATUS", "FEE_PROMOTION", "FEED_PROCESSING_FINISHED",
    "FULFILLMENT_ORDER_STATUS", "ITEM_INVENTORY_EVENT_CHANGE", "ITEM_SALES_EVENT_CHANGE",
    "ORDER_CHANGE", "PRICING_HEALTH", "REPORT_PROCESSING_FINISHED", "TRANSACTION_UPDATE",
    "DATA_KIOSK_QUERY_PROCESSING_FINISHED",
})
# Registered in the developer console (Notification Preferences), not with createSubscription.
CONSOLE_ONLY = frozenset({"APPLICATION_OAUTH_CLIENT_NEW_SECRET",
                          "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"})

# type -> (payload version, casing, notification version, payload keys); no schema in the models
EXTRA_TYPES: dict[str, tuple[str, str, str | None, list[str]]] = {
    "ACCOUNT_STATUS_CHANGED": ("2021-01-01", "camel", None, []),
    "APPLICATION_OAUTH_CLIENT_NEW_SECRET": ("2023-11-30", "camel", "1.0",
                                            ["applicationOAuthClientNewSecret"]),
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY": ("2023-11-30", "camel", "1.0",
                                               ["applicationOAuthClientSecretExpiry"]),
}

_ENVELOPE = ("notificationversion", "notificationtype", "payloadversion", "eventtime",
             "payload", "notificationmetadata")


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` (and the ``#ref`` misspelling) inside one schema; a dangling reference
    gives ``{}``."""
    for _ in range(16):
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref") or node.get("#ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return {}
        node = target
    raise SystemExit("a $ref cycle")


def _field(mapping: dict[str, Any], name: str) -> tuple[str | None, Any]:
    for key, value in mapping.items():
        if key.lower() == name:
            return key, value
    return None, None


def _names(prop: Any) -> list[str]:
    """The string values a property schema pins down (const, enum, examples)."""
    if not isinstance(prop, dict):
        return []
    out: list[str] = []
    if isinstance(prop.get("const"), str):
        out.append(prop["const"])
    for key in ("enum", "examples"):
        out += [v for v in prop.get(key) or [] if isinstance(v, str) and v]
    return out


def _example(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    for holder in (schema, root):
        ex = holder.get("examples") if isinstance(holder, dict) else None
        if isinstance(ex, list) and ex and isinstance(ex[0], dict):
            found = ex[0]
            if any(k.lower() == "notificationtype" for k in found):
                return found
    return {}


def _entry(path: Path) -> dict[str, Any]:
    schema = json.loads(path.read_text(encoding="utf-8"))
    root = _resolve(schema, schema)
    props = root.get("properties") if isinstance(root, dict) else None
    props = props if isinstance(props, dict) else {}
    example = _example(schema, root)
    override = OVERRIDES.get(path.stem, {})

    envelope_keys = [k for k in props if k.lower() in _ENVELOPE] or [
        k for k in example if k.lower() in _ENVELOPE]
    if not envelope_keys:
        raise SystemExit(f"{path.name}: no notification envelope found")
    casing = "pascal" if "NotificationType" in envelope_keys else "camel"

    def fact(name: str) -> tuple[str | None, list[str]]:
        _, prop = _field(props, name)
        from_schema = _names(_resolve(schema, prop))
        _, value = _field(example, name)
        from_example = [value] if isinstance(value, str) and value else []
        ordered = list(dict.fromkeys(from_example + from_schema))
        return (ordered[0] if ordered else None), ordered

    ntype, spellings = fact("notificationtype")
    version, _ = fact("payloadversion")
    nversion, _ = fact("notificationversion")
    ntype = override.get("type", ntype)
    version = override.get("payload_version", version)
    nversion = override.get("notification_version", nversion)
    if not ntype or not version:
        raise SystemExit(f"{path.name}: names no notification type or payload version; add it to "
                         "OVERRIDES")

    _, payload = _field(props, "payload")
    payload = _resolve(schema, payload)
    keys: list[str] = []
    required: list[str] = []
    if isinstance(payload, dict) and isinstance(payload.get("properties"), dict):
        keys = list(payload["properties"])
        required = [k for k in payload.get("required") or [] if isinstance(k, str)]
    else:
        _, ex_payload = _field(example, "payload")
        if isinstance(ex_payload, dict):
            keys = list(ex_payload)
    return {"type": ntype, "aliases": [s for s in spellings if s != ntype],
            "payload_version": version, "schema": path.name, "casing": casing,
            "notification_version": nversion, "payload_keys": keys,
            "required_payload_keys": required}


def build(models: Path) -> dict[str, Any]:
    schemas_dir = models / "schemas" / "notifications"
    if not schemas_dir.is_dir():
        raise SystemExit(f"{schemas_dir} not found; pass --models")
    types: dict[str, dict[str, Any]] = {}

    def add(name: str, version: str, model: dict[str, Any], aliases: list[str]) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
            raise SystemExit(f"{name}: not a notification type name")
        t = types.setdefault(name, {"destination": None, "subscribable": True, "aliases": [],
                                    "payload_versions": {}})
        if version in t["payload_versions"]:
            raise SystemExit(f"{name} {version}: two models")
        t["payload_versions"][version] = model
        t["aliases"] = sorted(set(t["aliases"]) | set(aliases))

    for path in sorted(schemas_dir.glob("*.json")):
        e = _entry(path)
        add(e.pop("type"), e.pop("payload_version"), e, e.pop("aliases"))
    for name, (version, casing, nversion, keys) in EXTRA_TYPES.items():
        add(name, version, {"schema": None, "casing": casing, "notification_version": nversion,
                            "payload_keys": keys, "required_payload_keys": []}, [])
    for name, t in types.items():
        t["destination"] = ("eventBridge" if name in EVENTBRIDGE_ONLY
                            else "sqs" if name in SQS_ONLY or name in CONSOLE_ONLY else None)
        t["subscribable"] = name not in CONSOLE_ONLY
        t["payload_versions"] = dict(sorted(t["payload_versions"].items()))
    unknown = (EVENTBRIDGE_ONLY | SQS_ONLY) - set(types)
    if unknown:
        raise SystemExit(f"destination facts for types without a model: {sorted(unknown)}")
    return {"generated_by": "tools/gen_notification_types.py",
            "notification_types": {name: types[name] for name in sorted(types)}}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models_source  # tools/models_source.py: --models, SELLERKIT_MODELS_DIR, ../shared

    return models_source.data_file_main(
        "gen_notification_types", OUTPUT, lambda root: render(build(root)), argv,
        description=__doc__.splitlines()[0] if __doc__ else None,
        summary=lambda text: f"{len(json.loads(text)['notification_types'])} types")


if __name__ == "__main__":
    raise SystemExit(main())
