"""The emulator's onboarding failures (lwa_fault, clock_skew, missing_roles, rdt=False), checked
against what Amazon answers in each situation (facts §1, §6, §7; docs/emulator.md), not against
what ``sellerkit doctor`` expects."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from typer.testing import CliRunner

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.config import LWA_FAULTS
from sellerkit.emulator.server import EmulatorServer

DENIED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                      "details": ""}]}


def _client(emu: Emulator) -> httpx.Client:
    return httpx.Client(transport=emu.sync_transport(), base_url="http://emulator")


def _form(emu: Emulator, grant: str) -> dict[str, str]:
    cfg = emu.config
    form = {"grant_type": grant, "client_id": cfg.client_id, "client_secret": cfg.client_secret}
    if grant == "refresh_token":
        form["refresh_token"] = cfg.refresh_token
    elif grant == "client_credentials":
        form["scope"] = "sellingpartnerapi::notifications"
    else:
        form.update(code="ANemulatorUnknown", redirect_uri=cfg.redirect_uris[0])
    return form


@pytest.mark.parametrize("fault", sorted(LWA_FAULTS))
@pytest.mark.parametrize("grant", ["refresh_token", "client_credentials", "authorization_code"])
def test_lwa_fault_answers_amazons_error_for_every_grant(fault: str, grant: str) -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1, lwa_fault=fault))
    with _client(emu) as c:
        r = c.post("/auth/o2/token", data=_form(emu, grant))
    status, description = LWA_FAULTS[fault]
    assert r.status_code == status
    assert r.json() == {"error": fault, "error_description": description}
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "no-store"


def test_lwa_statuses_follow_oauth() -> None:
    assert LWA_FAULTS["invalid_client"][0] == 401
    assert {LWA_FAULTS[k][0] for k in ("invalid_grant", "unauthorized_client", "invalid_scope",
                                       "invalid_request", "access_denied")} == {400}
    assert LWA_FAULTS["server_error"][0] >= 500 and LWA_FAULTS["temporarily_unavailable"][0] == 503


def test_every_response_has_one_date_header_shifted_by_the_skew() -> None:
    now = 1_800_000_000.0
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1, clock=lambda: now,
                                  clock_skew=-90.0))
    with _client(emu) as c:
        for r in (c.post("/auth/o2/token", data=_form(emu, "refresh_token")),
                  c.get("/sellers/v1/marketplaceParticipations"),  # a 403: no token
                  c.get("/_emulator/health")):
            dates = r.headers.get_list("date")
            assert len(dates) == 1
            assert email.utils.parsedate_to_datetime(dates[0]).timestamp() == now - 90


def test_over_http_uvicorn_adds_no_second_date() -> None:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=1, clock_skew=3600)) as srv:
        r = httpx.get(srv.base_url + "/_emulator/health")
    dates = r.headers.get_list("date")
    assert len(dates) == 1
    skew = email.utils.parsedate_to_datetime(dates[0]).timestamp() - time.time()
    assert 3590 < skew < 3610


def test_missing_role_refuses_only_what_that_role_grants() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1,
                                  missing_roles=("Finance and Accounting",)))
    token = {"x-amz-access-token": emu.access_token()}
    with _client(emu) as c:
        r = c.get("/finances/v0/financialEventGroups", headers=token)
        assert r.status_code == 403 and r.json() == DENIED  # the same answer as a bad token
        assert "x-amzn-requestid" in r.headers
        ok = c.get("/sellers/v1/marketplaceParticipations", headers=token)
        assert ok.status_code == 200
        orders = c.get("/orders/v0/orders", headers=token,
                       params={"MarketplaceIds": "ATVPDKIKX0DER",
                               "CreatedAfter": "2020-01-01T00:00:00Z"})
        assert orders.status_code == 200
        grantless = {"x-amz-access-token": emu.grantless_token("sellingpartnerapi::notifications")}
        assert c.get("/notifications/v1/destinations", headers=grantless).status_code == 200


def test_reports_need_every_general_role_missing() -> None:
    from sellerkit.emulator.roles import GENERAL_ROLES

    for missing, status in ((("Pricing",), 200), (GENERAL_ROLES, 403)):
        emu = Emulator(EmulatorConfig(rate_limits=False, orders=1, missing_roles=missing))
        with _client(emu) as c:
            r = c.get("/reports/2021-06-30/reports", params={"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE"},
                      headers={"x-amz-access-token": emu.access_token()})
        assert r.status_code == status


def test_no_rdt_refuses_the_token_but_not_the_plain_calls() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1, rdt=False))
    token = {"x-amz-access-token": emu.access_token()}
    body = {"restrictedResources": [{"method": "GET",
                                     "path": "/orders/v0/orders/{orderId}/address"}]}
    with _client(emu) as c:
        r = c.post("/tokens/2021-03-01/restrictedDataToken", json=body, headers=token)
        assert r.status_code == 403 and r.json() == DENIED
        assert c.get("/sellers/v1/marketplaceParticipations", headers=token).status_code == 200


def test_bad_switches_are_refused() -> None:
    with pytest.raises(ValueError, match="lwa_fault must be one of"):
        EmulatorConfig(lwa_fault="invalid_token")
    with pytest.raises(ValueError, match="unknown SP-API role 'Accounting'"):
        EmulatorConfig(missing_roles=("Accounting",))
    cfg = EmulatorConfig(missing_roles=("pricing", "Direct-to-Consumer Delivery (Restricted)"))
    assert cfg.missing_roles == ("Pricing", "Direct-to-Consumer Shipping")
    with pytest.raises(ValueError, match="finite"):
        EmulatorConfig(clock_skew=float("nan"))


@pytest.mark.parametrize(("args", "words"), [
    (["--lwa-fault", "nope"], "--lwa-fault 'nope' is not one of"),
    (["--missing-role", "Accounting"], "--missing-role: unknown SP-API role"),
])
def test_cli_refuses_bad_switches_before_starting(args: list[str], words: str) -> None:
    from sellerkit.cli.main import app

    r = CliRunner().invoke(app, ["emulator", "--port", "0", *args])
    assert r.exit_code == 2 and words in r.stderr
