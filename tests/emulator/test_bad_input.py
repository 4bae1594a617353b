"""Bad input that used to get a 500 (or a text/plain answer) from the emulator, sent over real
HTTP with plain httpx and raw sockets: each gets a 4xx with an SP-API (or LWA) error body, and
a client that hangs up mid-body is not logged as an internal error."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sellerkit.emulator import EmulatorConfig, EmulatorServer
from sellerkit.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)

US = "ATVPDKIKX0DER"
CREATE_REPORT = "/reports/2021-06-30/reports"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=5)) as srv:
        yield srv


@pytest.fixture(scope="module")
def token(server: EmulatorServer) -> str:
    r = httpx.post(f"{server.base_url}/auth/o2/token",
                   data={"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
                         "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _sp_api_error(r: httpx.Response, status: int) -> dict[str, str]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    errors = r.json()["errors"]
    assert isinstance(errors, list) and errors and errors[0]["code"] and errors[0]["message"]
    return dict(errors[0])


def test_an_integer_of_more_than_4300_digits_is_a_400(server: EmulatorServer,
                                                       token: str) -> None:
    body = ('{"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["' + US
            + '"], "reportOptions": {"x": ' + "9" * 5000 + "}}")
    r = httpx.post(server.base_url + CREATE_REPORT, content=body.encode(),
                   headers={"x-amz-access-token": token, "content-type": "application/json"})
    err = _sp_api_error(r, 400)
    assert err["code"] == "InvalidInput" and "number" in err["message"]


def test_a_huge_integer_in_an_lwa_json_body_is_invalid_request(server: EmulatorServer) -> None:
    body = '{"grant_type": "refresh_token", "client_id": ' + "7" * 5000 + "}"
    r = httpx.post(server.base_url + "/auth/o2/token", content=body.encode(),
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("value", ["é", "\u00b2", "日本", "+/+/é=="])
def test_a_non_ascii_pagination_token_is_a_400(server: EmulatorServer, token: str,
                                               value: str) -> None:
    r = httpx.get(server.base_url + "/orders/v0/orders", headers={"x-amz-access-token": token},
                  params={"MarketplaceIds": US, "NextToken": value})
    err = _sp_api_error(r, 400)
    assert err["code"] == "InvalidInput" and "NextToken" in err["message"]


@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_a_non_ascii_lwa_credential_is_invalid_client(server: EmulatorServer, field: str) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    form[field] = form[field] + "é"
    for r in (httpx.post(server.base_url + "/auth/o2/token", data=form),
              httpx.post(server.base_url + "/auth/o2/token", json=form)):
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/orders/v0/orders/123%0A", "/%0A", "/sellers/v1/market%0D%0A"
                                  "placeParticipations", "/auth/o2/tok%0Aen"])
def test_a_newline_in_the_path_is_an_sp_api_404(server: EmulatorServer, token: str,
                                                path: str) -> None:
    r = httpx.get(server.base_url + path, headers={"x-amz-access-token": token})
    err = _sp_api_error(r, 404)
    assert err["code"] == "NotFound" and "control character" in err["message"]
    assert r.headers["x-amzn-RequestId"]


def _sandbox_models(tmp: Path) -> Path:
    """A one-operation model with two parameterless cases (200 and 400), as Amazon's sellers
    getAccount has."""
    ok = {"request": {"parameters": {}}, "response": {"marketplaceParticipationList": []}}
    bad = {"request": {"parameters": {}},
           "response": {"errors": [{"code": "InvalidInput", "message": "sandbox 400"}]}}
    model = {"swagger": "2.0", "paths": {"/sellers/v1/account": {"get": {"responses": {
        "200": {"x-amzn-api-sandbox": {"static": [ok]}},
        "400": {"x-amzn-api-sandbox": {"static": [bad]}}}}}}}
    (tmp / "sellers.json").write_text(json.dumps(model), encoding="utf-8")
    return tmp


@pytest.mark.parametrize("value", ["\u00b2", "٤٠٠", "4000", "abc", "", "40"])
def test_a_sandbox_status_header_that_is_not_a_status_is_a_400(tmp_path: Path,
                                                               value: str) -> None:
    cfg = EmulatorConfig(rate_limits=False, orders=1, models=_sandbox_models(tmp_path))
    with EmulatorServer(cfg) as srv:
        headers = {"x-amz-access-token": srv.emulator.access_token()}
        url = srv.base_url + "/sellers/v1/account"
        assert httpx.get(url, headers=headers).status_code == 200
        chosen = httpx.get(url, headers={**headers, "x-emulator-sandbox-status": "400"})
        assert _sp_api_error(chosen, 400)["message"] == "sandbox 400"
        r = httpx.get(url, headers={**headers,
                                    "x-emulator-sandbox-status": value.encode("utf-8")})
        err = _sp_api_error(r, 400)
        assert err["details"] == "x-emulator-sandbox-status"
        assert "HTTP status code" in err["message"]


def _hang_up_mid_body(base_url: str, path: str, headers: dict[str, str]) -> None:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Length: 5000",
                "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'{"reportType": "GET_')
        time.sleep(0.2)  # let the app start reading the body before the hang-up


@pytest.mark.parametrize("path", [CREATE_REPORT, "/auth/o2/token"])
def test_a_client_that_hangs_up_mid_body_is_not_an_internal_error(
        server: EmulatorServer, token: str, path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sellerkit.emulator")
    _hang_up_mid_body(server.base_url, path, {"x-amz-access-token": token})
    deadline = time.monotonic() + 15
    while not any("disconnected" in rec.getMessage() for rec in caplog.records):
        assert time.monotonic() < deadline, "the emulator never noticed the hang-up"
        time.sleep(0.05)
    bad = [rec for rec in caplog.records if rec.levelno >= logging.ERROR or rec.exc_info]
    assert not bad, [rec.getMessage() for rec in bad]
    # and the server goes on answering
    assert httpx.get(server.base_url + "/_emulator/health").status_code == 200
