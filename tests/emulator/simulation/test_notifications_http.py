"""Notifications v1 in the emulator, through plain httpx (not sellerkit's client): duplicate
subscriptions, payload versions, destination kinds, grantless tokens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

SCOPE = "sellingpartnerapi::notifications"
SQS = "arn:aws:sqs:us-east-1:123456789012:sp-queue"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=3))


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield c


def _dest(http: httpx.Client, emu: Emulator, spec: dict[str, object]) -> str:
    r = http.post("/notifications/v1/destinations", json={"name": "d", "resourceSpecification":
                                                          spec},
                  headers={"x-amz-access-token": emu.grantless_token(SCOPE)})
    assert r.status_code == 200, r.text
    return str(r.json()["payload"]["destinationId"])


def test_duplicate_subscription_is_409_but_another_payload_version_is_not(
        emu: Emulator, http: httpx.Client) -> None:
    seller = {"x-amz-access-token": emu.access_token()}
    bus = _dest(http, emu, {"eventBridge": {"region": "us-east-1", "accountId": "123456789012"}})
    url = "/notifications/v1/subscriptions/LISTINGS_ITEM_ISSUES_CHANGE"
    first = http.post(url, json={"payloadVersion": "1.0", "destinationId": bus}, headers=seller)
    assert first.status_code == 200, first.text
    again = http.post(url, json={"payloadVersion": "1.0", "destinationId": bus}, headers=seller)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "Conflict"
    newer = http.post(url, json={"payloadVersion": "2023-12-13", "destinationId": bus},
                      headers=seller)
    assert newer.status_code == 200, newer.text
    assert newer.json()["payload"]["subscriptionId"] != first.json()["payload"]["subscriptionId"]
    got = http.get(url, params={"payloadVersion": "2023-12-13"}, headers=seller)
    assert got.json()["payload"] == newer.json()["payload"]


@pytest.mark.parametrize(("ntype", "spec", "word"), [
    ("LISTINGS_ITEM_STATUS_CHANGE", {"sqs": {"arn": SQS}}, "AMAZON_SQS"),
    ("ORDER_CHANGE", {"eventBridge": {"region": "us-east-1", "accountId": "123456789012"}},
     "AWS_EVENT_BRIDGE"),
])
def test_a_type_on_the_wrong_destination_kind_is_400(emu: Emulator, http: httpx.Client,
                                                     ntype: str, spec: dict[str, object],
                                                     word: str) -> None:
    did = _dest(http, emu, spec)
    r = http.post(f"/notifications/v1/subscriptions/{ntype}",
                  json={"payloadVersion": "1.0", "destinationId": did},
                  headers={"x-amz-access-token": emu.access_token()})
    assert r.status_code == 400
    assert f"does not support {word}" in r.json()["errors"][0]["message"]


def test_grantless_operations_refuse_a_seller_token_and_vice_versa(
        emu: Emulator, http: httpx.Client) -> None:
    r = http.get("/notifications/v1/destinations",
                 headers={"x-amz-access-token": emu.access_token()})
    assert r.status_code == 403
    did = _dest(http, emu, {"sqs": {"arn": SQS}})
    r = http.post("/notifications/v1/subscriptions/ORDER_CHANGE",
                  json={"payloadVersion": "1.0", "destinationId": did},
                  headers={"x-amz-access-token": emu.grantless_token(SCOPE)})
    assert r.status_code == 403
