"""The emulator's Login with Amazon token endpoint."""

from __future__ import annotations

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from .conftest import FakeClock

CREDS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}


def test_refresh_token_grant_form(client: httpx.Client, emulator: Emulator) -> None:
    r = client.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                            "refresh_token": emulator.refresh_token(), **CREDS})
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == emulator.refresh_token()
    assert r.headers["cache-control"] == "no-store"
    seller = client.get("/sellers/v1/marketplaceParticipations",
                        headers={"x-amz-access-token": body["access_token"]})
    assert seller.status_code == 200


def test_refresh_token_grant_json(client: httpx.Client, emulator: Emulator) -> None:
    r = client.post("/auth/o2/token", json={"grant_type": "refresh_token",
                                            "refresh_token": emulator.refresh_token(), **CREDS})
    assert r.status_code == 200
    assert r.json()["access_token"].startswith("Atza|")


def test_every_seller_has_a_refresh_token() -> None:
    emu = Emulator(EmulatorConfig(sellers=3, orders=1, rate_limits=False))
    tokens = [emu.refresh_token(i) for i in range(3)]
    assert tokens[1] == f"{tokens[0]}-1"
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        sellers = set()
        for t in tokens:
            r = c.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                               "refresh_token": t, **CREDS})
            access = r.json()["access_token"]
            sellers.add(emu.tokens.lookup(access).seller_id)  # type: ignore[union-attr]
        assert sellers == set(emu.seller_ids)


def test_client_credentials_grant(client: httpx.Client) -> None:
    r = client.post("/auth/o2/token", data={"grant_type": "client_credentials",
                                            "scope": "sellingpartnerapi::notifications",
                                            **CREDS})
    assert r.status_code == 200
    body = r.json()
    assert body["scope"] == "sellingpartnerapi::notifications"
    assert "refresh_token" not in body
    dest = client.get("/notifications/v1/destinations",
                      headers={"x-amz-access-token": body["access_token"]})
    assert dest.status_code == 200, dest.text


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"refresh_token": "x"}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "refresh_token", "refresh_token": "Atzr|nope"}, 400, "invalid_grant"),
    ({"grant_type": "refresh_token"}, 400, "invalid_request"),
    ({"grant_type": "client_credentials", "scope": "sellingpartnerapi::everything"}, 400,
     "invalid_scope"),
    ({"grant_type": "client_credentials"}, 400, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "ANnope"}, 400, "invalid_grant"),
])
def test_lwa_errors(client: httpx.Client, form: dict[str, str], status: int,
                    error: str) -> None:
    r = client.post("/auth/o2/token", data={**form, **CREDS})
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error
    assert body["error_description"]


@pytest.mark.parametrize("creds", [
    {"client_id": DEFAULT_CLIENT_ID, "client_secret": "amzn1.oa2-cs.v1.wrong"},
    {"client_id": "amzn1.application-oa2-client.other", "client_secret": DEFAULT_CLIENT_SECRET},
])
def test_wrong_client_is_401_invalid_client(client: httpx.Client, emulator: Emulator,
                                            creds: dict[str, str]) -> None:
    r = client.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                            "refresh_token": emulator.refresh_token(), **creds})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert DEFAULT_CLIENT_SECRET not in r.text


def test_missing_client_credentials_is_invalid_request(client: httpx.Client,
                                                       emulator: Emulator) -> None:
    r = client.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                            "refresh_token": emulator.refresh_token()})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("content", [b"\xff\xfe", b"{not json", b"[1,2]"])
def test_unparseable_token_requests(client: httpx.Client, content: bytes) -> None:
    ctype = "application/json" if content != b"\xff\xfe" else "application/x-www-form-urlencoded"
    r = client.post("/auth/o2/token", content=content, headers={"content-type": ctype})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_access_tokens_expire(clock: FakeClock) -> None:
    emu = Emulator(EmulatorConfig(clock=clock, token_lifetime=60, rate_limits=False, orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        r = c.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                           "refresh_token": emu.refresh_token(), **CREDS})
        assert r.json()["expires_in"] == 60
        headers = {"x-amz-access-token": r.json()["access_token"]}
        assert c.get("/sellers/v1/marketplaceParticipations", headers=headers).status_code == 200
        clock.advance(61)
        expired = c.get("/sellers/v1/marketplaceParticipations", headers=headers)
        assert expired.status_code == 403
        assert expired.json()["errors"][0]["code"] == "Unauthorized"
        assert "expired" in expired.json()["errors"][0]["details"]


def test_configured_credentials_replace_the_defaults() -> None:
    emu = Emulator(EmulatorConfig(client_id="cid", client_secret="csecret", refresh_token="rt",
                                  rate_limits=False, orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        ok = c.post("/auth/o2/token", data={"grant_type": "refresh_token", "refresh_token": "rt",
                                            "client_id": "cid", "client_secret": "csecret"})
        assert ok.status_code == 200
        old = c.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                             "refresh_token": "rt", **CREDS})
        assert old.status_code == 401


def test_huge_token_request_is_413() -> None:
    emu = Emulator(EmulatorConfig(max_body_bytes=100, orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        r = c.post("/auth/o2/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 200,
                                           **CREDS})
        assert r.status_code == 413
        assert r.json()["error"] == "invalid_request"
