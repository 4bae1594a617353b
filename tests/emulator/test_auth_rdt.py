"""Access tokens, grantless scopes and Restricted Data Tokens on SP-API calls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.simulation import SimRequest, SimResponse

from .conftest import FakeClock

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
RDT = "/tokens/2021-03-01/restrictedDataToken"


class RecordingSimulation:
    """A tiny stand-in simulation that answers getOrder and remembers what it was given."""

    seller_ids = ["A1FAKESELLER", "A2FAKESELLER"]

    def __init__(self) -> None:
        self.requests: list[SimRequest] = []

    def handles(self, key: str) -> bool:
        return key == "orders_v0.getOrder"

    def handle(self, req: SimRequest) -> SimResponse:
        self.requests.append(req)
        payload: dict[str, Any] = {"AmazonOrderId": req.params["orderId"]}
        if req.rdt is not None and "buyerInfo" in req.rdt.data_elements:
            payload["BuyerInfo"] = {"BuyerEmail": "buyer@example.com"}
        return SimResponse(200, {"payload": payload})


@pytest.mark.parametrize(("headers", "detail"), [
    ({}, "missing"),
    ({"x-amz-access-token": "Atza|forged"}, "invalid"),
])
def test_missing_or_unknown_token_is_403(client: httpx.Client, headers: dict[str, str],
                                         detail: str) -> None:
    r = client.get(PARTICIPATIONS, headers=headers)
    assert r.status_code == 403
    err = r.json()["errors"][0]
    assert err["code"] == "Unauthorized"
    assert detail in err["details"]
    assert r.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in r.headers


def test_grantless_operation_needs_a_grantless_token(client: httpx.Client,
                                                     emulator: Emulator) -> None:
    seller = client.get("/notifications/v1/destinations",
                        headers={"x-amz-access-token": emulator.access_token()})
    assert seller.status_code == 403
    wrong_scope = client.get("/notifications/v1/destinations", headers={
        "x-amz-access-token": emulator.grantless_token("sellingpartnerapi::migration")})
    assert wrong_scope.status_code == 403
    right = client.get("/notifications/v1/destinations", headers={
        "x-amz-access-token": emulator.grantless_token("sellingpartnerapi::notifications")})
    assert right.status_code == 200


def test_seller_operation_refuses_a_grantless_token(client: httpx.Client,
                                                    emulator: Emulator) -> None:
    r = client.get(PARTICIPATIONS, headers={
        "x-amz-access-token": emulator.grantless_token("sellingpartnerapi::notifications")})
    assert r.status_code == 403
    assert "grantless" in r.json()["errors"][0]["details"]


@pytest.fixture
def fake() -> tuple[Emulator, RecordingSimulation, httpx.Client]:
    sim = RecordingSimulation()
    emu = Emulator(EmulatorConfig(rate_limits=False), simulation=sim)
    return emu, sim, httpx.Client(transport=emu.sync_transport(), base_url="http://e")


def _rdt(client: httpx.Client, token: str, resources: list[dict[str, Any]]) -> httpx.Response:
    return client.post(RDT, json={"restrictedResources": resources},
                       headers={"x-amz-access-token": token})


def test_rdt_covers_a_template_path_and_passes_data_elements(fake: Any) -> None:
    emu, sim, client = fake
    r = _rdt(client, emu.access_token(), [{"method": "GET", "path": "/orders/v0/orders/{orderId}",
                                           "dataElements": ["buyerInfo"]}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["restrictedDataToken"].startswith("Atz.sprdt|")
    assert body["expiresIn"] == 3600
    got = client.get("/orders/v0/orders/902-1845936-5435065",
                     headers={"x-amz-access-token": body["restrictedDataToken"]})
    assert got.status_code == 200
    assert got.json()["payload"]["BuyerInfo"]["BuyerEmail"] == "buyer@example.com"
    req = sim.requests[-1]
    assert req.rdt is not None and req.rdt.data_elements == frozenset({"buyerInfo"})
    assert req.seller_id == "A1FAKESELLER"
    assert req.base_url == "http://e"


def test_plain_token_on_restricted_operation_gets_no_pii(fake: Any) -> None:
    emu, sim, client = fake
    got = client.get("/orders/v0/orders/902-1845936-5435065",
                     headers={"x-amz-access-token": emu.access_token()})
    assert got.status_code == 200
    assert "BuyerInfo" not in got.json()["payload"]
    assert sim.requests[-1].rdt is None


def test_rdt_for_a_specific_path_does_not_cover_another(fake: Any) -> None:
    emu, _, client = fake
    token = _rdt(client, emu.access_token(), [{"method": "GET",
                                               "path": "/orders/v0/orders/111-0000000-0000001",
                                               "dataElements": ["shippingAddress"]}]
                 ).json()["restrictedDataToken"]
    ok = client.get("/orders/v0/orders/111-0000000-0000001", headers={"x-amz-access-token": token})
    assert ok.status_code == 200
    other = client.get("/orders/v0/orders/111-0000000-0000002",
                       headers={"x-amz-access-token": token})
    assert other.status_code == 403
    assert "does not cover" in other.json()["errors"][0]["details"]
    unrelated = client.get(PARTICIPATIONS, headers={"x-amz-access-token": token})
    assert unrelated.status_code == 403


def test_rdt_belongs_to_the_seller_of_the_token(fake: Any) -> None:
    emu, sim, client = fake
    token = _rdt(client, emu.access_token(1), [{"method": "GET",
                                                "path": "/orders/v0/orders/{orderId}"}]
                 ).json()["restrictedDataToken"]
    client.get("/orders/v0/orders/1", headers={"x-amz-access-token": token})
    assert sim.requests[-1].seller_id == "A2FAKESELLER"
    assert sim.requests[-1].rdt == sim.requests[-1].rdt.__class__(frozenset())


@pytest.mark.parametrize(("resource", "fragment"), [
    ({"method": "GET", "path": "/sellers/v1/marketplaceParticipations"}, "not a restricted"),
    ({"method": "GET", "path": "/nowhere/v1/x"}, "not an SP-API operation"),
    ({"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["ssn"]},
     "ssn"),
    ({"method": "GET", "path": "/reports/2021-06-30/documents/{reportDocumentId}"},
     "specific path"),
    ({"method": "FETCH", "path": "/orders/v0/orders"}, "restrictedResources"),
])
def test_rdt_request_errors(fake: Any, resource: dict[str, Any], fragment: str) -> None:
    emu, _, client = fake
    r = _rdt(client, emu.access_token(), [resource])
    assert r.status_code == 400
    assert fragment in r.text


def test_rdt_expires(clock: FakeClock) -> None:
    sim = RecordingSimulation()
    emu = Emulator(EmulatorConfig(rate_limits=False, clock=clock, rdt_lifetime=100),
                   simulation=sim)
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as client:
        body = _rdt(client, emu.access_token(), [{"method": "GET",
                                                  "path": "/orders/v0/orders/{orderId}"}]).json()
        assert body["expiresIn"] == 100
        headers = {"x-amz-access-token": body["restrictedDataToken"]}
        assert client.get("/orders/v0/orders/1", headers=headers).status_code == 200
        clock.advance(101)
        assert client.get("/orders/v0/orders/1", headers=headers).status_code == 403
