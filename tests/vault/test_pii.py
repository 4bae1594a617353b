"""The PII classification: generated from Amazon's models, covering every PII property of the
stored shapes; unknown fields inside PII objects (or named like PII) are PII, nothing dropped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sellerkit.errors import VaultError
from sellerkit.vault.pii import CATEGORIES, classification, split
from tests.conftest import MODELS_ROOT, requires_models

ROOT = Path(__file__).resolve().parents[2]


def _leaves(obj: Any, prefix: str = "") -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= _leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list):
        for v in obj:
            out |= _leaves(v, prefix + "[]")
    elif obj is not None:
        out.add((prefix, json.dumps(obj)))
    return out


@requires_models
def test_checked_in_classification_is_what_the_generator_makes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_pii_fields.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@requires_models
def test_every_pii_property_in_the_models_is_classified() -> None:
    """Each property of the buyer/address/gift schemas in Amazon's models, at every path it
    appears in a stored shape, is classified PII (or, for the few clear ones, named clear)."""
    assert MODELS_ROOT is not None
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_pii_fields as gen

    cls = classification()
    for (version, schema_name), props in gen.PII.items():
        model = json.loads((MODELS_ROOT / gen.MODELS[version]).read_text())
        schemas = model.get("definitions") or model["components"]["schemas"]
        assert set(props) <= set(schemas[schema_name]["properties"]), schema_name
    # the paths, shape by shape
    expected = {
        "v0.order": ["BuyerInfo.BuyerEmail", "BuyerInfo.BuyerName", "BuyerInfo.BuyerTaxInfo",
                     "BuyerTaxInformation", "ShippingAddress.Name", "ShippingAddress.AddressLine1",
                     "ShippingAddress.AddressLine2", "ShippingAddress.AddressLine3",
                     "ShippingAddress.City", "ShippingAddress.PostalCode", "ShippingAddress.Phone",
                     "ShippingAddress.StateOrRegion", "ShippingAddress.County",
                     "ShippingAddress.CompanyName", "ShippingAddress.ExtendedFields"],
        "v0.buyer_info": ["BuyerEmail", "BuyerName", "BuyerCounty", "BuyerTaxInfo",
                          "PurchaseOrderNumber"],
        "v0.order_address": ["BuyerCompanyName", "ShippingAddress.Name",
                             "ShippingAddress.AddressLine1", "DeliveryPreferences"],
        "v0.order_item": ["BuyerInfo.GiftMessageText", "BuyerInfo.BuyerCustomizedInfo"],
        "2026-01-01.order": ["buyer.buyerName", "buyer.buyerEmail", "buyer.buyerCompanyName",
                             "recipient.deliveryAddress.name",
                             "recipient.deliveryAddress.addressLine1",
                             "recipient.deliveryAddress.postalCode",
                             "recipient.deliveryAddress.phone", "recipient.deliveryPreference",
                             "tax.taxRegistrations",
                             "orderItems[].fulfillment.packing.giftOption.giftMessage",
                             "orderItems[].product.customization"],
    }
    for shape, paths in expected.items():
        fields = cls.paths(shape)
        for path in paths:
            assert fields[path].get("pii") in CATEGORIES, (shape, path)
    # nothing of a PII-bearing schema is left unclassified (the generator refuses that)
    for shape in cls.data["shapes"]:
        for path, entry in cls.paths(shape).items():
            assert "pii" in entry or entry.get("clear") or "pii_object" in entry \
                or "record" in entry, (shape, path)
    # the seller's own ship-from address is not buyer PII
    assert cls.paths("v0.order")["DefaultShipFromLocationAddress.Name"] == {"clear": True}


def test_v0_order_split_keeps_everything_and_no_pii_in_public() -> None:
    order = {"AmazonOrderId": "111-1", "OrderStatus": "Shipped", "MarketplaceId": "ATVPDKIKX0DER",
             "OrderTotal": {"Amount": "10.00", "CurrencyCode": "USD"},
             "BuyerInfo": {"BuyerEmail": "ann@example.com", "BuyerName": "Ann Example",
                           "BuyerTaxInfo": {"CompanyLegalName": "Ann Ltd", "TaxClassifications":
                                            [{"Name": "VAT", "Value": "GB123"}]},
                           "BuyerShoeSize": "42"},  # a field Amazon might add: PII here
             "ShippingAddress": {"Name": "Ann Example", "AddressLine1": "1 Main St",
                                 "City": "Springfield", "StateOrRegion": "IL",
                                 "PostalCode": "62701", "CountryCode": "US",
                                 "AddressType": "Residential", "Phone": "+1 555 0100",
                                 "DoorCode": "4711"},
             "DefaultShipFromLocationAddress": {"Name": "Warehouse 1", "City": "Reno"},
             "BrandNewFlag": True,           # unknown, not PII-looking: stays clear
             "GiftRecipientName": "Bob"}     # unknown, named like PII: encrypted
    sp = split("v0.order", order)
    pub = json.dumps(sp.public)
    for secret in ("ann@example.com", "Ann Example", "1 Main St", "Springfield", "62701",
                   "555 0100", "GB123", "42", "4711", "Bob"):
        assert secret not in pub
    assert sp.public["BrandNewFlag"] is True
    assert sp.public["ShippingAddress"] == {"CountryCode": "US", "AddressType": "Residential"}
    assert sp.public["DefaultShipFromLocationAddress"] == {"Name": "Warehouse 1", "City": "Reno"}
    assert sp.public["OrderTotal"] == {"Amount": "10.00", "CurrencyCode": "USD"}
    buyer, addr = sp.pii["buyer"], sp.pii["address:shipping"]
    assert buyer["email_ct"] == "ann@example.com" and buyer["name_ct"] == "Ann Example"
    assert buyer["tax_info_ct"]["BuyerInfo.BuyerTaxInfo"]["CompanyLegalName"] == "Ann Ltd"
    assert buyer["extra_pii_ct"] == {"BuyerInfo.BuyerShoeSize": "42"}
    assert addr["lines_ct"] == {"line1": "1 Main St"} and addr["city_ct"] == "Springfield"
    assert addr["region_ct"] == {"state_or_region": "IL"} and addr["postal_code_ct"] == "62701"
    assert addr["extra_pii_ct"] == {"ShippingAddress.DoorCode": "4711"}
    assert sp.pii["order"]["extra_pii_ct"] == {"GiftRecipientName": "Bob"}
    assert sp.clear["address:shipping"] == {"country_code": "US", "address_type": "Residential"}
    # nothing lost: every leaf is in public or in a PII column
    kept = _leaves(sp.public) | _leaves(sp.pii)
    for path, value in _leaves(order):
        assert any(v == value for _, v in kept), (path, value)
    assert "ann@example.com" not in repr(sp)


def test_2026_order_split_with_items_and_new_fields() -> None:
    order = {"orderId": "111-2", "createdTime": "2026-01-05T10:00:00Z",
             "salesChannel": {"marketplaceId": "ATVPDKIKX0DER"},
             "buyer": {"buyerName": "Cy Example", "buyerEmail": "cy@example.com",
                       "buyerNickname": "cyx"},
             "recipient": {"deliveryAddress": {"name": "Cy Example", "addressLine1": "2 Oak Rd",
                                               "city": "Dover", "countryCode": "GB",
                                               "postalCode": "CT16"},
                           "deliveryPreference": {"addressInstruction": "behind the shed"},
                           "recipientMood": "cheerful"},
             "tax": {"taxRegistrations": [{"legalName": "Cy Ltd",
                                           "taxRegistrationNumber": "GB999"}]},
             "packages": [{"trackingNumber": "1Z", "shipFromAddress": {"name": "Depot"}}],
             "orderItems": [{"orderItemId": "9", "quantityOrdered": 1,
                             "product": {"asin": "B0", "customization": {"customizedUrl": "u"}},
                             "fulfillment": {"packing": {"giftOption": {
                                 "giftMessage": "Love, Cy", "giftWrapLevel": "Classic"}}}}]}
    sp = split("2026-01-01.order", order)
    pub = json.dumps(sp.public)
    for secret in ("Cy Example", "cy@example.com", "cyx", "2 Oak Rd", "Dover", "CT16",
                   "behind the shed", "cheerful", "GB999", "Love, Cy"):
        assert secret not in pub and secret not in json.dumps([i.public for i in sp.items])
    assert "orderItems" not in sp.public and len(sp.items) == 1
    assert sp.public["packages"][0]["shipFromAddress"] == {"name": "Depot"}
    assert sp.pii["buyer"]["extra_pii_ct"] == {"buyer.buyerNickname": "cyx"}
    assert sp.pii["address:shipping"]["extra_pii_ct"] == {
        "recipient.deliveryPreference": {"addressInstruction": "behind the shed"},
        "recipient.recipientMood": "cheerful"}
    assert sp.pii["buyer"]["tax_info_ct"]["tax.taxRegistrations"][0]["legalName"] == "Cy Ltd"
    item = sp.items[0]
    assert item.pii["item"]["gift_message_ct"] == "Love, Cy"
    assert item.pii["item"]["extra_pii_ct"] == {"product.customization": {"customizedUrl": "u"}}
    assert item.public["fulfillment"]["packing"]["giftOption"] == {"giftWrapLevel": "Classic"}


def test_unknown_shapes_and_bad_objects_are_clear_errors() -> None:
    with pytest.raises(VaultError, match="no PII classification for response shape 'v9.x'"):
        split("v9.x", {})
    with pytest.raises(VaultError, match="must be a JSON object"):
        split("v0.order", [])  # type: ignore[arg-type]


@requires_models
def test_a_property_amazon_adds_to_a_pii_schema_fails_the_generator(tmp_path: Path) -> None:
    assert MODELS_ROOT is not None
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_pii_fields as gen

    for version, rel in gen.MODELS.items():
        doc = json.loads((MODELS_ROOT / rel).read_text())
        if version == "v0":
            doc["definitions"]["Address"]["properties"]["Nickname"] = {"type": "string"}
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match=r"v0 Address.Nickname .*classify it"):
        gen.build(tmp_path)
