"""The connect flow against the emulator's consent page and LWA, over real HTTP.

Each test plays the seller's browser with an httpx client (its cookie jar is the browser's)
and Amazon with the emulator: Connect -> consent page -> Approve -> the callback.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.web.conftest import Site, approve, csrf_of, start_connect


def _title(html: str) -> str:
    import re

    m = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    return m.group(1).strip() if m else ""


def _callback(client: httpx.Client, location: str) -> httpx.Response:
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def test_seller_connects_and_the_token_is_stored_encrypted(site: Site) -> None:
    with site.client() as browser:
        consent = start_connect(browser, "DE")
        q = parse_qs(urlsplit(consent).query)
        assert consent.startswith(site.settings.consent_base_url + "/apps/authorize/consent?")
        assert q["application_id"] == [site.settings.application_id]
        assert q["version"] == ["beta"]  # the app is configured as a draft
        assert q["redirect_uri"] == [site.settings.redirect_uri]
        back = approve(consent, "A2SIMSELLER0002")
        r = _callback(browser, back)
    assert r.status_code == 200, r.text
    assert _title(r.text) == "Your Amazon account is connected"
    assert "A2SIMSELLER0002" in r.text and "Renew by" in r.text
    from sellerkit.vault.roles import SYSTEM

    info = site.vault.connections.get(SYSTEM, "A2SIMSELLER0002", "eu",
                                      client_id=site.settings.client_id)
    assert info.kind == "seller" and info.source == "oauth"
    assert info.renewal_due_at is not None
    assert (info.renewal_due_at - info.authorized_at).days in (365, 366)
    # the refresh token is in the vault, encrypted: the database file does not hold it
    token = site.vault.connections.refresh_token(SYSTEM, "A2SIMSELLER0002", "eu",
                                                 site.settings.client_id, purpose="test")
    assert token.startswith("Atzr|")
    assert token.encode() not in _db_bytes(site)
    events = site.vault.audit.events(SYSTEM, action="connection.add")
    assert any("A2SIMSELLER0002" in (e.target or "") for e in events)


def _db_bytes(site: Site) -> bytes:
    path = site.vault.engine.url.database
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def test_reauthorization_updates_the_connection(site: Site) -> None:
    from sellerkit.vault.roles import SYSTEM

    def connect() -> None:
        with site.client() as browser:
            r = _callback(browser, approve(start_connect(browser, "JP"), "A2SIMSELLER0001"))
            assert r.status_code == 200, r.text

    connect()
    first = site.vault.connections.get(SYSTEM, "A2SIMSELLER0001", "fe",
                                       client_id=site.settings.client_id)
    connect()
    again = site.vault.connections.get(SYSTEM, "A2SIMSELLER0001", "fe",
                                       client_id=site.settings.client_id)
    assert again.authorized_at >= first.authorized_at
    assert again.renewal_due_at >= first.renewal_due_at
    conns = [c for c in site.vault.connections.list(SYSTEM)
             if c.selling_partner_id == "A2SIMSELLER0001" and c.region == "fe"]
    assert len(conns) == 1
    assert site.vault.audit.events(SYSTEM, action="connection.update")


def test_replayed_callback_is_refused(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
        parts = urlsplit(back)
        assert browser.head(f"{parts.path}?{parts.query}").status_code == 200  # no side effect
        assert _callback(browser, back).status_code == 200
        again = _callback(browser, back)
    assert again.status_code == 400
    assert "already used" in again.text


def test_tampered_state_is_refused(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
        parts = urlsplit(back)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw, _, sig = q["state"].partition(".")
        q["state"] = raw[:-1] + ("A" if raw[-1] != "A" else "B") + "." + sig
        r = browser.get(f"{parts.path}?{urlencode(q)}")
    assert r.status_code == 400
    assert "not one this site issued" in r.text


def test_expired_state_is_refused(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
        site.clock.advance(site.settings.state_ttl + 1)
        r = _callback(browser, back)
    assert r.status_code == 400
    assert "expired" in r.text and "within 10 minutes" in r.text


def test_state_from_another_browser_is_refused(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
    with site.client() as other:
        r = _callback(other, back)
    assert r.status_code == 400
    assert "another browser" in r.text


def test_expired_code_gets_its_own_page(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
        site.emu_clock.advance(301)  # Amazon's codes live five minutes
        r = _callback(browser, back)
    assert r.status_code == 400
    assert _title(r.text) == "The authorization code has expired"


def test_reused_code_with_a_fresh_state_is_refused(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser))
        assert _callback(browser, back).status_code == 200
        code = parse_qs(urlsplit(back).query)["spapi_oauth_code"][0]
        fresh = parse_qs(urlsplit(approve(start_connect(browser))).query)
        r = browser.get("/callback?" + urlencode({
            "state": fresh["state"][0], "selling_partner_id": "A2SIMSELLER0001",
            "spapi_oauth_code": code}))
    assert r.status_code == 400
    assert _title(r.text) == "The authorization code has expired"


@pytest.mark.parametrize(("error", "needle"), [
    ("MD1000", "version=beta"), ("MD5101", "redirect URI"), ("MD9000", "published"),
    ("MD9100", "log-in and redirect URIs"), ("access_denied", "declined"),
    ("XY123", "does not know")])
def test_amazon_errors_are_explained(site: Site, error: str, needle: str) -> None:
    with site.client() as browser:
        consent = start_connect(browser)
        state = parse_qs(urlsplit(consent).query)["state"][0]
        r = browser.get("/callback?" + urlencode({"state": state, "error": error}))
    assert r.status_code == 400
    assert needle in r.text


def test_the_consent_page_refuses_a_published_style_link_for_a_draft(site: Site) -> None:
    """The emulator's app is a draft: without version=beta Amazon answers MD1000 (what the app
    avoids by taking the status from its settings)."""
    with site.client() as browser:
        consent = start_connect(browser)
    q = {k: v[0] for k, v in parse_qs(urlsplit(consent).query).items()}
    del q["version"]
    r = httpx.get(consent.split("?")[0] + "?" + urlencode(q))
    assert "MD1000" in r.text


def test_bad_choices_on_the_connect_page(site: Site) -> None:
    with site.client() as browser:
        page = browser.get("/connect")
        r = browser.post("/connect", data={"csrf_token": csrf_of(page.text),
                                           "marketplace": "XX", "kind": "seller"})
        assert r.status_code == 400 and "Choose your marketplace" in r.text
        r = browser.post("/connect", data={"csrf_token": csrf_of(page.text),
                                           "marketplace": "US", "kind": "reseller"})
        assert r.status_code == 400 and "Seller or Vendor" in r.text


def test_vendor_of_a_marketplace_goes_to_vendor_central() -> None:
    from sellerkit.web.hosts import consent_url

    url = consent_url(marketplace="FR", kind="vendor", application_id="amzn1.sp.solution.x",
                      state="s", redirect_uri="https://a.example/cb", draft=True)
    assert urlsplit(url).hostname == "vendorcentral.amazon.fr"


def test_appstore_workflow(site: Site) -> None:
    from sellerkit.vault.roles import SYSTEM

    amazon_callback = f"{site.settings.consent_base_url}/apps/authorize/confirm/x"
    with site.client() as browser:
        page = browser.get("/appstore/login?" + urlencode({
            "amazon_callback_uri": amazon_callback, "amazon_state": "amz-state-1",
            "selling_partner_id": "A2SIMSELLER0002", "version": "beta"}))
        assert page.status_code == 200, page.text
        r = browser.post("/appstore/login", data={
            "csrf_token": csrf_of(page.text), "amazon_callback_uri": amazon_callback,
            "amazon_state": "amz-state-1", "marketplace": "UK", "kind": "seller"})
        assert r.status_code == 303
        loc = r.headers["location"]
        assert loc.startswith(amazon_callback + "?")
        q = parse_qs(urlsplit(loc).query)
        assert q["amazon_state"] == ["amz-state-1"]
        assert q["redirect_uri"] == [site.settings.redirect_uri]
        assert q["version"] == ["beta"]
        # Amazon then redirects to the redirect URI as in the website flow; the emulator's
        # consent page stands in for that last step with the app's own state
        consent = (f"{site.settings.consent_base_url}/apps/authorize/consent?"
                   + urlencode({"application_id": site.settings.application_id,
                                "state": q["state"][0], "version": "beta",
                                "redirect_uri": site.settings.redirect_uri}))
        done = _callback(browser, approve(consent, "A2SIMSELLER0002"))
    assert done.status_code == 200, done.text
    info = site.vault.connections.get(SYSTEM, "A2SIMSELLER0002", "eu",
                                      client_id=site.settings.client_id)
    assert info.source == "appstore"


@pytest.mark.parametrize("callback", [
    "https://evil.example/apps/authorize/confirm/x",
    "http://sellercentral.amazon.com/apps/authorize/confirm/x"])
def test_appstore_refuses_a_foreign_callback(site: Site, callback: str) -> None:
    with site.client() as browser:
        r = browser.get("/appstore/login?" + urlencode({
            "amazon_callback_uri": callback, "amazon_state": "s"}))
    assert r.status_code == 400
    assert "Not an Amazon address" in r.text
    assert "location" not in r.headers


def test_published_app_sends_no_version_beta(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.web.conftest import make_site

    gen = make_site(tmp_path_factory.mktemp("pub"), app_status="published")
    s = next(gen)
    try:
        with s.client() as browser:
            consent = start_connect(browser, "US")
        assert "version" not in parse_qs(urlsplit(consent).query)
    finally:
        gen.close()
