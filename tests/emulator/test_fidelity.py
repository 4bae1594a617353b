"""Fidelity where users look, checked with plain httpx: next tokens that need URL-encoding as
Amazon's do, Amazon's 429 body, and a Listings PUT with an ASIN that is not in the catalog."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig, EmulatorServer

US = "ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=40, seed=3)) as srv:
        yield srv


def _headers(server: EmulatorServer) -> dict[str, str]:
    return {"x-amz-access-token": server.emulator.access_token()}


def test_order_next_tokens_need_url_encoding(server: EmulatorServer) -> None:
    url = server.base_url + "/orders/v0/orders"
    query = {"MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z",
             "MaxResultsPerPage": "5"}
    first = httpx.get(url, params=query, headers=_headers(server))
    assert first.status_code == 200, first.text
    token = first.json()["payload"]["NextToken"]
    assert {"+", "/", "="} <= set(token), token
    seen = {o["AmazonOrderId"] for o in first.json()["payload"]["Orders"]}

    # encoded once, as httpx does with params=: the next page
    second = httpx.get(url, params={**query, "NextToken": token}, headers=_headers(server))
    assert second.status_code == 200, second.text
    more = {o["AmazonOrderId"] for o in second.json()["payload"]["Orders"]}
    assert more and not more & seen

    # pasted into the URL without encoding: '+' arrives as a space, and the answer says so
    raw = httpx.get(f"{url}?MarketplaceIds={US}&CreatedAfter=2020-01-01T00:00:00Z"
                    f"&MaxResultsPerPage=5&NextToken={token}", headers=_headers(server))
    assert raw.status_code == 400
    err = raw.json()["errors"][0]
    assert err["code"] == "InvalidInput"
    assert "NextToken" in err["message"] and "URL-encoded" in err["message"]

    # encoded twice: a clear 400 as well, never a 500
    twice = httpx.get(url, params={**query, "NextToken": httpx.QueryParams(
        {"t": token}).__str__()[2:]}, headers=_headers(server))
    assert twice.status_code == 400 and "NextToken" in twice.json()["errors"][0]["message"]

    # a token whose signature does not match is refused, not trusted
    forged = token[:8] + ("A" if token[8] != "A" else "B") + token[9:]
    r = httpx.get(url, params={**query, "NextToken": forged}, headers=_headers(server))
    assert r.status_code == 400


def test_listings_page_tokens_need_url_encoding(server: EmulatorServer) -> None:
    seller = server.emulator.seller_ids[0]
    url = f"{server.base_url}/listings/2021-08-01/items/{seller}"
    query = {"marketplaceIds": US, "pageSize": "5"}
    first = httpx.get(url, params=query, headers=_headers(server))
    assert first.status_code == 200, first.text
    token = first.json()["pagination"]["nextToken"]
    assert {"+", "/", "="} <= set(token), token
    ok = httpx.get(url, params={**query, "pageToken": token}, headers=_headers(server))
    assert ok.status_code == 200, ok.text
    skus = [i["sku"] for i in first.json()["items"] + ok.json()["items"]]
    assert len(skus) == len(set(skus)) == 10
    bad = httpx.get(url, params={**query, "pageToken": token.replace("+", " ")},
                    headers=_headers(server))
    assert bad.status_code == 400 and "URL-encoded" in bad.json()["errors"][0]["message"]


def test_throttled_bodies_carry_empty_details() -> None:
    emu = Emulator(EmulatorConfig(orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        headers = {"x-amz-access-token": emu.access_token()}
        statuses = [c.get("/sellers/v1/marketplaceParticipations", headers=headers)
                    for _ in range(20)]
        throttled = [r for r in statuses if r.status_code == 429]
        assert throttled
        assert throttled[0].json() == {"errors": [{
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.", "details": ""}]}
        emu.set_faults("429:1")
        injected = c.get("/sellers/v1/marketplaceParticipations", headers=headers)
        assert injected.status_code == 429 and injected.json()["errors"][0]["details"] == ""


def test_listings_put_with_an_unknown_asin_names_the_asin(server: EmulatorServer) -> None:
    seller = server.emulator.seller_ids[0]
    url = f"{server.base_url}/listings/2021-08-01/items/{seller}/NEW-SKU-1"
    for requirements in ("LISTING_OFFER_ONLY", "LISTING"):
        body = {"productType": "PRODUCT", "requirements": requirements, "attributes": {
            "merchant_suggested_asin": [{"value": "B0NOTREAL9", "marketplace_id": US}],
            "condition_type": [{"value": "new_new", "marketplace_id": US}]}}
        r = httpx.put(url, params={"marketplaceIds": US}, json=body, headers=_headers(server))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "INVALID"
        messages = [i["message"] for i in out["issues"]]
        assert any("B0NOTREAL9" in m and "not in the Amazon catalog" in m for m in messages)
        assert not any("required but not supplied" in m for m in messages), messages
        assert out["issues"][0]["attributeNames"] == ["merchant_suggested_asin"]
    # the same PUT with a catalog ASIN is accepted
    asin = server.emulator.simulation.catalog_asins()[0]
    body["attributes"]["merchant_suggested_asin"] = [{"value": asin, "marketplace_id": US}]
    r = httpx.put(url, params={"marketplaceIds": US}, json=body, headers=_headers(server))
    assert r.json()["status"] == "ACCEPTED", r.text
