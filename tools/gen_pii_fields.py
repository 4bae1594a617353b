"""Generate sellerkit/vault/data/pii_fields.json: which fields of the stored orders responses are PII.

    python3 tools/gen_pii_fields.py            # regenerate
    python3 tools/gen_pii_fields.py --check    # fail if the checked-in file is stale

The field names come from Amazon's models (``models/orders-api-model/ordersV0.json`` and
``orders_2026-01-01.json``): every property reachable from the response shapes the sync stores
(``SHAPES``) gets a path and a classification. What is PII, and where it goes, is the curated
overlay below (facts about the fields, no prose copied):

* ``CONTEXT``: which objects of a shape hold a buyer's data, and the vault record they go to
  (``buyer`` = order_buyers, ``address:shipping`` = order_addresses, ``item`` = order_items,
  ``order`` = orders); ``None`` marks an object that is not the buyer's (the seller's own
  ship-from address), kept clear.
* ``PII``: per schema, the PII properties and their column (a JSON column takes a ``key``).
* ``WHOLE``: schemas whose whole value is PII (tax registrations, delivery instructions, the
  extended address fields with coordinates, customizations).
* ``CLEAR``: per PII-bearing schema, the scalar properties that stay clear (country code,
  address type, gift-wrap level). Every scalar property of a PII-bearing schema must be in
  ``PII`` or ``CLEAR`` (objects under it are checked in turn, or are ``WHOLE``): a property
  Amazon adds to one fails the generator until it is classified (and at run time, before
  then, it is encrypted into ``extra_pii_ct``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

OUTPUT = ROOT / "sellerkit" / "vault" / "data" / "pii_fields.json"
MODELS = {"v0": "models/orders-api-model/ordersV0.json",
          "2026-01-01": "models/orders-api-model/orders_2026-01-01.json"}

# shape: (api version, schema, the record its top level goes to, what it is)
SHAPES: dict[str, tuple[str, str, str, str]] = {
    "v0.order": ("v0", "Order", "order", "getOrders / getOrder: an Order"),
    "v0.order_item": ("v0", "OrderItem", "item", "getOrderItems: an OrderItem"),
    "v0.buyer_info": ("v0", "OrderBuyerInfo", "buyer", "getOrderBuyerInfo payload"),
    "v0.order_address": ("v0", "OrderAddress", "address:shipping", "getOrderAddress payload"),
    "v0.order_item_buyer_info": ("v0", "OrderItemBuyerInfo", "item",
                                 "getOrderItemsBuyerInfo: an OrderItemBuyerInfo"),
    "2026-01-01.order": ("2026-01-01", "Order", "order",
                         "searchOrders / getOrder 2026-01-01: an order with its included blocks "
                         "(buyer, recipient, items, packages, ...)"),
}

# The records PII goes to, their table and columns (JSON columns hold {key: value}).
RECORDS: dict[str, dict[str, Any]] = {
    "order": {"table": "orders", "json": ["extra_pii_ct"], "text": []},
    "item": {"table": "order_items", "json": ["extra_pii_ct"], "text": ["gift_message_ct"]},
    "buyer": {"table": "order_buyers", "json": ["tax_info_ct", "extra_pii_ct"],
              "text": ["name_ct", "email_ct", "phone_ct", "company_ct"]},
    "address:shipping": {"table": "order_addresses", "kind": "shipping",
                         "json": ["lines_ct", "region_ct", "extra_pii_ct"],
                         "text": ["name_ct", "city_ct", "postal_code_ct", "phone_ct"],
                         "clear": ["country_code", "address_type"]},
}

# shape: {path: record | None}: the objects (and their subtrees) that hold a buyer's data.
CONTEXT: dict[str, dict[str, str | None]] = {
    "v0.order": {"BuyerInfo": "buyer", "ShippingAddress": "address:shipping",
                 "BuyerTaxInformation": "buyer", "DefaultShipFromLocationAddress": None},
    "v0.order_item": {"BuyerInfo": "item"},
    "v0.buyer_info": {"": "buyer"},
    "v0.order_address": {"": "address:shipping", "BuyerCompanyName": "buyer"},
    "v0.order_item_buyer_info": {"": "item"},
    "2026-01-01.order": {"buyer": "buyer", "recipient": "address:shipping",
                         "tax.taxRegistrations[]": "buyer", "orderItems[]": "item",
                         "packages[].shipFromAddress": None},
}

# (version, schema): {property: (category, column, key)}; key None = the column holds the value.
_ADDR_V0: dict[str, tuple[str, str, str | None]] = {
    "Name": ("name", "name_ct", None), "CompanyName": ("company", "extra_pii_ct", None),
    "AddressLine1": ("address", "lines_ct", "line1"),
    "AddressLine2": ("address", "lines_ct", "line2"),
    "AddressLine3": ("address", "lines_ct", "line3"),
    "City": ("city", "city_ct", None), "County": ("region", "region_ct", "county"),
    "District": ("region", "region_ct", "district"),
    "StateOrRegion": ("region", "region_ct", "state_or_region"),
    "Municipality": ("region", "region_ct", "municipality"),
    "PostalCode": ("postal_code", "postal_code_ct", None), "Phone": ("phone", "phone_ct", None),
}
_ADDR_2026: dict[str, tuple[str, str, str | None]] = {
    "name": ("name", "name_ct", None), "companyName": ("company", "extra_pii_ct", None),
    "addressLine1": ("address", "lines_ct", "line1"),
    "addressLine2": ("address", "lines_ct", "line2"),
    "addressLine3": ("address", "lines_ct", "line3"),
    "city": ("city", "city_ct", None),
    "districtOrCounty": ("region", "region_ct", "district_or_county"),
    "stateOrRegion": ("region", "region_ct", "state_or_region"),
    "municipality": ("region", "region_ct", "municipality"),
    "postalCode": ("postal_code", "postal_code_ct", None), "phone": ("phone", "phone_ct", None),
}
_Props = dict[str, tuple[str, str, str | None]]
_BUYER_V0: _Props = {
    "BuyerEmail": ("email", "email_ct", None), "BuyerName": ("name", "name_ct", None),
    "BuyerCounty": ("region", "extra_pii_ct", None),
    "PurchaseOrderNumber": ("extra", "extra_pii_ct", None),
}
PII: dict[tuple[str, str], dict[str, tuple[str, str, str | None]]] = {
    ("v0", "Address"): _ADDR_V0,
    ("v0", "BuyerInfo"): _BUYER_V0,
    ("v0", "OrderBuyerInfo"): _BUYER_V0,
    ("v0", "OrderAddress"): {"BuyerCompanyName": ("company", "company_ct", None)},
    ("v0", "ItemBuyerInfo"): {"GiftMessageText": ("gift_message", "gift_message_ct", None)},
    ("v0", "OrderItemBuyerInfo"): {"GiftMessageText": ("gift_message", "gift_message_ct", None)},
    ("2026-01-01", "Buyer"): {
        "buyerName": ("name", "name_ct", None), "buyerEmail": ("email", "email_ct", None),
        "buyerCompanyName": ("company", "company_ct", None),
        "buyerPurchaseOrderNumber": ("extra", "extra_pii_ct", None)},
    ("2026-01-01", "CustomerAddress"): _ADDR_2026,
    ("2026-01-01", "GiftOption"): {"giftMessage": ("gift_message", "gift_message_ct", None)},
}

# (version, schema): (category, column): the whole value is PII, stored as one JSON entry.
WHOLE: dict[tuple[str, str], tuple[str, str]] = {
    ("v0", "BuyerTaxInfo"): ("tax", "tax_info_ct"),
    ("v0", "BuyerTaxInformation"): ("tax", "tax_info_ct"),
    ("v0", "AddressExtendedFields"): ("address", "extra_pii_ct"),  # street, number, geo point
    ("v0", "DeliveryPreferences"): ("address", "extra_pii_ct"),  # drop-off, instructions
    ("v0", "BuyerCustomizedInfoDetail"): ("extra", "extra_pii_ct"),  # customization URL
    ("2026-01-01", "OrderTaxRegistration"): ("tax", "tax_info_ct"),
    ("2026-01-01", "AddressExtendedFields"): ("address", "extra_pii_ct"),
    ("2026-01-01", "DeliveryPreference"): ("address", "extra_pii_ct"),
    ("2026-01-01", "ItemCustomization"): ("extra", "extra_pii_ct"),
}

# (version, schema): the properties of a PII-bearing schema that stay clear.
CLEAR: dict[tuple[str, str], set[str]] = {
    ("v0", "Address"): {"CountryCode", "AddressType"},
    ("v0", "BuyerInfo"): set(),
    ("v0", "OrderBuyerInfo"): {"AmazonOrderId"},
    ("v0", "OrderAddress"): {"AmazonOrderId"},
    ("v0", "ItemBuyerInfo"): {"GiftWrapLevel"},
    ("v0", "OrderItemBuyerInfo"): {"OrderItemId", "GiftWrapLevel"},
    ("2026-01-01", "Buyer"): set(),
    ("2026-01-01", "Recipient"): set(),
    ("2026-01-01", "CustomerAddress"): {"countryCode", "addressType"},
    ("2026-01-01", "GiftOption"): {"giftWrapLevel"},
}
# Clear properties of an address that also fill a clear column of its record.
CLEAR_COLUMNS = {"CountryCode": "country_code", "AddressType": "address_type",
                 "countryCode": "country_code", "addressType": "address_type"}

# An unknown field (one Amazon adds after this file was generated) whose name looks like this is
# treated as PII even outside a PII-bearing object.
UNKNOWN_PII_NAMES = (r"(?i)(name|e-?mail|phone|address|street|city|postal|zip|county|"
                     r"tax.?(id|reg)|gift|message|instruction|recipient|buyer|customi[sz])")


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc.get("definitions") or doc.get("components", {}).get("schemas", {})
    return found


def _ref_name(prop: dict[str, Any]) -> tuple[str | None, bool]:
    """The schema a property refers to (through one array level) and whether it is an array."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1], False
    if prop.get("type") == "array":
        items = prop.get("items", {})
        if "$ref" in items:
            return items["$ref"].rsplit("/", 1)[-1], True
        return None, True
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in prop.get(key, []):
            if "$ref" in sub:
                return sub["$ref"].rsplit("/", 1)[-1], False
    return None, False


def _resolve(schemas: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """Follow a schema that is only an alias of another (``OrderList`` -> array of Order)."""
    seen = set()
    schema = schemas[name]
    while "$ref" in schema and name not in seen:
        seen.add(name)
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = schemas[name]
    return name, schema


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def build(models: Path) -> dict[str, Any]:
    docs = {v: json.loads((models / rel).read_text(encoding="utf-8")) for v, rel in MODELS.items()}
    schemas = {v: _schemas(d) for v, d in docs.items()}
    problems: list[str] = []
    named: list[tuple[tuple[str, str], set[str]]] = [(k, set(v)) for k, v in PII.items()]
    named += [(k, set(v)) for k, v in CLEAR.items()]
    for (version, name), props in named:
        have = schemas[version].get(name, {}).get("properties")
        if have is None:
            problems.append(f"{version} schema {name} is not in the models")
            continue
        problems.extend(f"{version} {name}.{p}: no such property in the models"
                        for p in props if p not in have)
    for (version, name) in WHOLE:
        if name not in schemas[version]:
            problems.append(f"{version} schema {name} is not in the models")

    shapes: dict[str, Any] = {}
    for shape, (version, root, record, what) in SHAPES.items():
        fields: dict[str, Any] = {}
        context = CONTEXT[shape]
        sch = schemas[version]

        def walk(schema_name: str, prefix: str, target: str | None, depth: int,
                 version: str = version, sch: dict[str, Any] = sch,
                 fields: dict[str, Any] = fields, context: dict[str, str | None] = context,
                 shape: str = shape, stack: tuple[str, ...] = ()) -> None:
            schema_name, schema = _resolve(sch, schema_name)
            if schema_name in stack or depth > 12:
                return
            props: dict[str, Any] = schema.get("properties", {})
            key = (version, schema_name)
            if target is not None and (key in PII or key in CLEAR):
                # a PII-bearing object: every scalar property must be classified (objects
                # under it are checked when walked)
                unclassified = {p for p in props if _ref_name(props[p])[0] is None} \
                    - set(PII.get(key, {})) - CLEAR.get(key, set())
                problems.extend(f"{version} {schema_name}.{p} (at {shape} {_join(prefix, p)}): "
                                f"classify it in PII, WHOLE or CLEAR" for p in sorted(unclassified))
                fields.setdefault(prefix, {})["pii_object"] = target
            for pname in props:
                path = _join(prefix, pname)
                ref, is_array = _ref_name(props[pname])
                item_path = path + "[]" if is_array else path
                here = context.get(item_path, context.get(path, target))
                if here is not None and pname in PII.get(key, {}):
                    cat, column, k = PII[key][pname]
                    entry: dict[str, Any] = {"pii": cat, "to": here, "column": column}
                    if k:
                        entry["key"] = k
                    fields[path] = entry
                    continue
                ref_name = _resolve(sch, ref)[0] if ref else None
                if here is not None and ref_name and (version, ref_name) in WHOLE:
                    cat, column = WHOLE[(version, ref_name)]
                    fields[path] = {"pii": cat, "to": here, "column": column, "whole": True}
                    continue
                entry = {"clear": True}
                if is_array:
                    entry["array"] = True
                if here is not None and ref_name is None and pname in CLEAR_COLUMNS:
                    entry.update(to=here, column=CLEAR_COLUMNS[pname])
                fields.setdefault(path, {}).update(entry)
                if ref_name:
                    walk(ref_name, item_path, here, depth + 1, stack=(*stack, schema_name))

        walk(root, "", context.get(""), 0)
        for path, rec in context.items():
            if path.endswith("[]") and rec == "item":
                fields.setdefault(path, {})["record"] = rec
        shapes[shape] = {"api_version": version, "model": MODELS[version], "schema": root,
                         "record": record, "description": what,
                         "fields": dict(sorted(fields.items()))}
    if problems:
        raise SystemExit("gen_pii_fields: the overlay does not match the models:\n  "
                         + "\n  ".join(problems))
    return {
        "generated_by": "tools/gen_pii_fields.py",
        "comment": "Which fields of the stored orders responses are PII and where each goes. "
                   "pii: its category; to: the vault record; column: the encrypted column "
                   "(JSON columns take a key; whole: the value with everything under it); "
                   "pii_object: an object holding a buyer's data, whose unknown fields are PII "
                   "(encrypted into its record's extra_pii_ct); clear: stays queryable.",
        "records": RECORDS,
        "unknown_pii_names": UNKNOWN_PII_NAMES,
        "shapes": shapes,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models_source  # tools/models_source.py: --models, SELLERKIT_MODELS_DIR, ../shared

    def summary(text: str) -> str:
        shapes = json.loads(text)["shapes"]
        pii = sum(1 for s in shapes.values() for f in s["fields"].values() if "pii" in f)
        return f"{len(shapes)} shapes, {pii} PII paths"

    return models_source.data_file_main(
        "gen_pii_fields", OUTPUT, lambda root: render(build(root)), argv,
        description=__doc__.splitlines()[0] if __doc__ else None, summary=summary)


if __name__ == "__main__":
    raise SystemExit(main())
