"""The consent page and the authorization_code grant."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.config import (
    DEFAULT_APPLICATION_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URIS,
)

from .conftest import FakeClock

CREDS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
CONSENT = "/apps/authorize/consent"


def _approve(client: httpx.Client, **extra: str) -> httpx.Response:
    form = {"application_id": DEFAULT_APPLICATION_ID, "state": "st-123", "version": "beta",
            **extra}
    return client.post(CONSENT, data=form)


def test_consent_page_renders_an_approve_form(client: httpx.Client) -> None:
    r = client.get(CONSENT, params={"application_id": DEFAULT_APPLICATION_ID,
                                    "state": "<script>alert(1)</script>", "version": "beta"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert '<form method="post" action="/apps/authorize/consent">' in r.text
    assert "Approve" in r.text
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_full_flow_code_for_refresh_token(client: httpx.Client, emulator: Emulator) -> None:
    r = _approve(client)
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == DEFAULT_REDIRECT_URIS[0]
    q = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert q["state"] == "st-123"
    assert q["selling_partner_id"] == emulator.seller_ids[0]
    code = q["spapi_oauth_code"]
    tok = client.post("/auth/o2/token", data={"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": DEFAULT_REDIRECT_URIS[0], **CREDS})
    assert tok.status_code == 200, tok.text
    body = tok.json()
    assert body["refresh_token"].startswith("Atzr|")
    assert body["access_token"].startswith("Atza|")
    # the new refresh token works for that seller
    again = client.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                                "refresh_token": body["refresh_token"], **CREDS})
    access = again.json()["access_token"]
    rec = emulator.tokens.lookup(access)
    assert rec is not None and rec.seller_id == emulator.seller_ids[0]
    # the code is single use
    reuse = client.post("/auth/o2/token", data={"grant_type": "authorization_code",
                                                "code": code, **CREDS})
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"


def test_code_expires_after_five_minutes(clock: FakeClock) -> None:
    emu = Emulator(EmulatorConfig(clock=clock, rate_limits=False, orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        location = _approve(c).headers["location"]
        code = parse_qs(urlsplit(location).query)["spapi_oauth_code"][0]
        clock.advance(301)
        r = c.post("/auth/o2/token", data={"grant_type": "authorization_code", "code": code,
                                           **CREDS})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_one_of_the_code(client: httpx.Client) -> None:
    location = _approve(client, redirect_uri=DEFAULT_REDIRECT_URIS[1]).headers["location"]
    assert location.startswith(DEFAULT_REDIRECT_URIS[1])
    code = parse_qs(urlsplit(location).query)["spapi_oauth_code"][0]
    r = client.post("/auth/o2/token", data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": DEFAULT_REDIRECT_URIS[0], **CREDS})
    assert r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("params", "code", "status"), [
    ({"application_id": DEFAULT_APPLICATION_ID, "state": "s"}, "MD1000", 400),
    ({"application_id": DEFAULT_APPLICATION_ID, "state": "s", "version": "beta",
      "redirect_uri": "https://evil.example/cb"}, "MD5101", 400),
    ({"application_id": "amzn1.sp.solution.other", "state": "s", "version": "beta"}, "MD9100",
     404),
])
def test_consent_errors(client: httpx.Client, params: dict[str, str], code: str,
                        status: int) -> None:
    page = client.get(CONSENT, params=params)
    assert page.status_code == status
    assert code in page.text
    approve = client.post(CONSENT, data=params)
    assert approve.status_code == status
    assert "location" not in approve.headers


def test_several_sellers_can_be_chosen() -> None:
    emu = Emulator(EmulatorConfig(sellers=2, orders=1, rate_limits=False))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        page = c.get(CONSENT, params={"application_id": DEFAULT_APPLICATION_ID, "state": "s",
                                      "version": "beta"})
        assert all(s in page.text for s in emu.seller_ids)
        r = _approve(c, selling_partner_id=emu.seller_ids[1])
        assert parse_qs(urlsplit(r.headers["location"]).query)["selling_partner_id"] == [
            emu.seller_ids[1]]
        assert _approve(c, selling_partner_id="A0UNKNOWN").status_code == 400
