"""Routing, request validation against the catalog, and bad input: always an SP-API error body,
never a 500."""

from __future__ import annotations

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig


def _errors(r: httpx.Response) -> list[dict[str, str]]:
    errors = r.json()["errors"]
    assert isinstance(errors, list) and errors
    for e in errors:
        assert e["code"] and e["message"]
    return errors


def test_unknown_path_is_404(client: httpx.Client, seller_headers: dict[str, str]) -> None:
    r = client.get("/not/an/operation", headers=seller_headers)
    assert r.status_code == 404
    assert _errors(r)[0]["code"] == "NotFound"
    assert r.headers["x-amzn-RequestId"]


def test_wrong_method_is_405(client: httpx.Client, seller_headers: dict[str, str]) -> None:
    r = client.put("/orders/v0/orders", headers=seller_headers)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert _errors(r)[0]["code"] == "MethodNotAllowed"


def test_missing_required_and_bad_types_are_all_named(client: httpx.Client,
                                                      seller_headers: dict[str, str]) -> None:
    r = client.get("/catalog/2022-04-01/items", headers=seller_headers,
                   params={"pageSize": "many", "identifiersType": "NOPE"})
    assert r.status_code == 400
    errors = _errors(r)
    named = {e["details"] for e in errors}
    assert {"marketplaceIds", "pageSize", "identifiersType"} <= named
    assert all(e["code"] == "InvalidInput" for e in errors)
    assert r.headers["x-amzn-RateLimit-Limit"]


def test_unknown_query_parameters_are_ignored_by_default(client: httpx.Client,
                                                        seller_headers: dict[str, str]) -> None:
    # python-amazon-sp-api adds MarketplaceId to calls that do not declare it; Amazon ignores it
    r = client.get("/sellers/v1/marketplaceParticipations", headers=seller_headers,
                   params={"MarketplaceId": "ATVPDKIKX0DER"})
    assert r.status_code == 200


def test_strict_params_names_an_unknown_query_parameter() -> None:
    from sellerkit.emulator import Emulator, EmulatorConfig

    emu = Emulator(EmulatorConfig(strict_params=True))
    transport = emu.sync_transport()
    try:
        with httpx.Client(transport=transport, base_url="http://emulator") as c:
            headers = {"x-amz-access-token": emu.access_token(0)}
            r = c.get("/sellers/v1/marketplaceParticipations", headers=headers,
                      params={"Typo": "1"})
    finally:
        transport.close()
    assert r.status_code == 400
    assert _errors(r)[0]["details"] == "Typo"


def test_body_is_checked_against_its_schema(client: httpx.Client,
                                            seller_headers: dict[str, str]) -> None:
    r = client.post("/reports/2021-06-30/reports", headers=seller_headers,
                    json={"reportType": 5, "marketplaceIds": "ATVPDKIKX0DER"})
    assert r.status_code == 400
    messages = " ".join(e["message"] for e in _errors(r))
    assert "reportType" in messages
    assert "marketplaceIds" in messages


def test_required_body_missing(client: httpx.Client, seller_headers: dict[str, str]) -> None:
    r = client.post("/reports/2021-06-30/reports", headers=seller_headers)
    assert r.status_code == 400
    assert "body" in _errors(r)[0]["message"]


def test_percent_encoded_path_parameter_is_decoded(emulator: Emulator) -> None:
    seen = []

    class Sim:
        seller_ids = ["A1"]

        def handles(self, key: str) -> bool:
            return key == "listings_items_2021_08_01.getListingsItem"

        def handle(self, req):  # type: ignore[no-untyped-def]
            from sellerkit.emulator.simulation import SimResponse

            seen.append(req.params["sku"])
            return SimResponse(200, {"sku": req.params["sku"]})

    emu = Emulator(EmulatorConfig(rate_limits=False), simulation=Sim())
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        r = c.get("/listings/2021-08-01/items/A1/my%2Fsku%20%C3%A9",
                  params={"marketplaceIds": "ATVPDKIKX0DER"},
                  headers={"x-amz-access-token": emu.access_token()})
    assert r.status_code == 200, r.text
    assert seen == ["my/sku é"]


@pytest.mark.parametrize(("content", "ctype", "status", "fragment"), [
    (b"{not json", "application/json", 400, "not valid JSON"),
    (b"\xff\xfe\x00garbage", "application/json", 400, "UTF-8"),
    (b'{"reportType": "X"}', "text/plain", 415, "Content-Type"),
    (b"<xml/>", "application/xml", 415, "Content-Type"),
    (b"[1, 2, 3]", "application/json", 400, "InvalidInput"),
])
def test_bad_bodies(client: httpx.Client, seller_headers: dict[str, str], content: bytes,
                    ctype: str, status: int, fragment: str) -> None:
    r = client.post("/reports/2021-06-30/reports", content=content,
                    headers={**seller_headers, "content-type": ctype})
    assert r.status_code == status, r.text
    assert fragment in r.text
    _errors(r)


def test_huge_body_is_413(seller_headers: dict[str, str]) -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, max_body_bytes=1000, orders=1))
    headers = {"x-amz-access-token": emu.access_token(), "content-type": "application/json"}
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        declared = c.post("/reports/2021-06-30/reports", content=b"x" * 5000, headers=headers)
        assert declared.status_code == 413
        assert _errors(declared)[0]["code"] == "RequestEntityTooLarge"

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"y" * 200

        streamed = c.post("/reports/2021-06-30/reports", content=chunks(), headers=headers)
        assert streamed.status_code == 413


def test_default_cap_is_ten_megabytes(client: httpx.Client,
                                      seller_headers: dict[str, str]) -> None:
    r = client.post("/reports/2021-06-30/reports", content=b" " * (10 * 1024 * 1024 + 1),
                    headers={**seller_headers, "content-type": "application/json"})
    assert r.status_code == 413


def test_invalid_utf8_in_query_and_path(client: httpx.Client,
                                        seller_headers: dict[str, str]) -> None:
    q = client.get("/orders/v0/orders?MarketplaceIds=%ff%fe", headers=seller_headers)
    assert q.status_code == 400
    _errors(q)
    p = client.get("/orders/v0/orders/%ff%fe", headers=seller_headers)
    assert p.status_code == 400
    _errors(p)


def test_empty_path_parameter_is_a_400_naming_it(client: httpx.Client,
                                                 seller_headers: dict[str, str]) -> None:
    r = client.get("/catalog/2022-04-01/items/", params={"marketplaceIds": "ATVPDKIKX0DER"},
                   headers=seller_headers)
    assert r.status_code == 400
    assert _errors(r)[0]["details"] == "asin"


def test_garbage_never_gives_500(client: httpx.Client, seller_headers: dict[str, str]) -> None:
    junk = [b"", b"null", b"0", b'"s"', b"{}", b'{"a":' * 50, b"\x00" * 100, b"[" * 5000]
    for body in junk:
        for path in ("/reports/2021-06-30/reports", "/feeds/2021-06-30/documents",
                     "/tokens/2021-03-01/restrictedDataToken", "/listings/2021-08-01/items/A/s"):
            r = client.post(path, content=body,
                            headers={**seller_headers, "content-type": "application/json"})
            assert r.status_code < 500, (path, body[:20], r.text)
            if r.status_code >= 400:
                _errors(r)
