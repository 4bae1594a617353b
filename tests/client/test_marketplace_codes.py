"""Marketplace codes (``US``, ``de``, ``GB``) wherever a request carries marketplace ids: the
client sends the ids Amazon expects, and an unknown code is a ValidationError listing the codes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.catalog import get_catalog
from sellerkit.errors import ValidationError
from sellerkit.regions import MARKETPLACE_ID_FIELDS, marketplace_codes, marketplace_id
from tests.client.fake import BASE, LWA, FakeSPAPI, ok


def client(fake: FakeSPAPI) -> SellingPartner:
    return SellingPartner(client_id="id", client_secret="secret", refresh_token="Atzr|r",
                          endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                          rate_limiter=False)


def query(fake: FakeSPAPI) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(fake.requests[-1].url)).query)


def test_every_marketplace_parameter_of_the_catalog_is_mapped() -> None:
    names = {p.name for op in get_catalog() for p in op.params
             if "marketplace" in p.name.lower() and p.location != "body"}
    assert names == set(MARKETPLACE_ID_FIELDS)


def test_get_orders_with_codes_sends_ids() -> None:
    fake = FakeSPAPI()
    fake.on("GET", "/orders/v0/orders", ok({"payload": {"Orders": []}}))
    with client(fake) as sp:
        sp.orders_v0.get_orders(marketplace_ids=["US", "ca", "A1AM78C64UM0Y8"],
                                created_after="2026-01-01T00:00:00Z")
    assert query(fake)["MarketplaceIds"] == ["ATVPDKIKX0DER,A2EUQ1WTGCTBG2,A1AM78C64UM0Y8"]


def test_single_ids_lower_case_parameters_and_aliases() -> None:
    fake = FakeSPAPI()
    fake.on("GET", "/catalog/2022-04-01/items/B0TEST", ok({"asin": "B0TEST"}))
    fake.on("GET", "/fba/inventory/v1/summaries", ok({"payload": {}}))
    with client(fake) as sp:
        sp.call("catalog_items_2022_04_01.getCatalogItem", asin="B0TEST", marketplaceIds=["GB"])
        assert query(fake)["marketplaceIds"] == ["A1F83G8C2ARO7P"]
        sp.call("fba_inventory_v1.getInventorySummaries", granularityType="Marketplace",
                granularityId="de", marketplaceIds=["DE"])
        q = query(fake)
        assert q["marketplaceIds"] == ["A1PA6795UKMFR9"]
        assert q["granularityId"] == ["de"]  # not a marketplace id field: left alone


def test_codes_in_a_request_body() -> None:
    fake = FakeSPAPI()
    fake.on("POST", "/reports/2021-06-30/reports", ok({"reportId": "1"}, 202))
    with client(fake) as sp:
        sp.call("reports_2021_06_30.createReport",
                body={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["JP"]})
    assert json.loads(fake.requests[-1].content)["marketplaceIds"] == ["A1VC38T7YXB528"]


def test_an_unknown_code_lists_the_valid_ones() -> None:
    fake = FakeSPAPI()
    with client(fake) as sp, pytest.raises(ValidationError) as info:
        sp.orders_v0.get_orders(marketplace_ids=["XX"], created_after="2026-01-01T00:00:00Z")
    text = str(info.value)
    assert "MarketplaceIds: 'XX' is not a marketplace code; valid codes: AE, AU" in text
    assert "US" in text and "ZA" in text
    assert fake.requests == []  # nothing sent


def test_async_client_maps_too() -> None:
    import asyncio

    fake = FakeSPAPI()
    fake.on("GET", "/orders/v0/orders", ok({"payload": {"Orders": []}}))

    async def run() -> None:
        async with AsyncSellingPartner(client_id="id", client_secret="secret",
                                       refresh_token="Atzr|r", endpoint=BASE, lwa_endpoint=LWA,
                                       transport=fake.async_transport(),
                                       rate_limiter=False) as sp:
            await sp.orders_v0.get_orders(marketplace_ids=["US"],
                                          created_after="2026-01-01T00:00:00Z")

    asyncio.run(run())
    assert query(fake)["MarketplaceIds"] == ["ATVPDKIKX0DER"]


def test_marketplace_id_helper() -> None:
    assert marketplace_id("us") == "ATVPDKIKX0DER"
    assert marketplace_id("A1PA6795UKMFR9") == "A1PA6795UKMFR9"
    assert marketplace_id("ANEWMARKETID1") == "ANEWMARKETID1"  # unknown ids pass through
    with pytest.raises(ValueError, match="valid codes"):
        marketplace_id("QQ")
    assert "GB" in marketplace_codes() and "UK" in marketplace_codes()
