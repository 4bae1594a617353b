"""Security headers on every response, CSRF on every form, the IP allowlist, TLS, and no code,
state, token or secret in a URL or a log line."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.routing import Mount, Route

from tests.web.conftest import PASSWORDS, Site, approve, csrf_of, login, make_site, start_connect

REQUIRED = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def _check_headers(r: httpx.Response, *, tls: bool = False) -> None:
    where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
    for name, value in REQUIRED.items():
        assert r.headers.get(name) == value, f"{name} missing on {where}"
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, where
    assert "script-src" not in csp and "'unsafe-inline'" not in csp, where  # no script at all
    assert ("strict-transport-security" in r.headers) is tls, where


def _route_requests(app: object) -> list[tuple[str, str]]:
    """(method, path) for every route of the app, path parameters filled in."""
    out = []
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            out.append(("GET", route.path + "/style.css"))
            continue
        assert isinstance(route, Route)
        path = route.path.replace("{incident_id:int}", "1")
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, path))
    return out


def test_every_route_sends_the_security_headers(site: Site) -> None:
    requests = _route_requests(site.app)
    assert len(requests) >= 15
    with site.client() as anon, site.client() as admin:
        assert login(admin, "alice").status_code == 303
        for client in (anon, admin):
            for method, path in requests:
                _check_headers(client.request(method, path))
        for method, path in (("GET", "/no/such/page"), ("PUT", "/connect"),
                             ("GET", "/static/missing.css"), ("GET", "/callback?state=x")):
            r = anon.request(method, path)
            assert r.status_code >= 400
            _check_headers(r)


def test_a_crash_page_sends_the_headers_and_no_detail(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    gen = make_site(tmp_path)
    s = next(gen)
    try:
        async def boom(request: object) -> None:
            raise RuntimeError("secret detail Atzr|leaked-token")

        s.app.app.router.routes.append(Route("/boom", boom))
        with caplog.at_level(logging.DEBUG), s.client() as c:
            r = c.get("/boom")
        assert r.status_code == 500
        _check_headers(r)
        assert "leaked-token" not in r.text
        assert "leaked-token" not in caplog.text
    finally:
        gen.close()


def _post_routes(app: object) -> list[str]:
    return [path for method, path in _route_requests(app) if method == "POST"]


def test_every_form_needs_its_csrf_token(site: Site) -> None:
    posts = _post_routes(site.app)
    assert {"/connect", "/appstore/login", "/admin/login", "/admin/logout",
            "/admin/incidents"} <= set(posts)
    with site.client() as browser, site.client() as other:
        assert login(browser, "alice").status_code == 303
        foreign = csrf_of(other.get("/connect").text)  # another browser's token
        for path in posts:
            for data in ({}, {"csrf_token": "wrong"}, {"csrf_token": foreign}):
                r = browser.post(path, data={**data, "marketplace": "US", "kind": "seller",
                                             "title": "t", "resolution": "r"})
                assert r.status_code == 403, f"{path} accepted {data}"
                assert "security token" in r.text
        # the right token from another site is refused too (Origin check)
        token = csrf_of(browser.get("/connect").text)
        r = browser.post("/connect", data={"csrf_token": token, "marketplace": "US"},
                         headers={"origin": "https://evil.example"})
        assert r.status_code == 403


def test_disallowed_ip_gets_the_admin_pages_refused(tmp_path: Path) -> None:
    gen = make_site(tmp_path, allow_ips=("203.0.113.0/24",))
    s = next(gen)
    try:
        with s.client() as c:
            for path in ("/admin/login", "/admin", "/admin/sellers"):
                r = c.get(path)
                assert r.status_code == 403 and "allowlist" in r.text
                _check_headers(r)
            r = c.post("/admin/login", data={"user": "alice", "password": "x"})
            assert r.status_code == 403
            assert c.get("/connect").status_code == 200  # sellers still reach the connect page
    finally:
        gen.close()


def test_allowlist_for_every_page(tmp_path: Path) -> None:
    gen = make_site(tmp_path, allow_ips=("203.0.113.0/24",), allow_scope="all")
    s = next(gen)
    try:
        with s.client() as c:
            assert c.get("/connect").status_code == 403
            assert c.get("/callback?state=x").status_code == 403
    finally:
        gen.close()


def test_the_allowlist_accepts_listed_networks() -> None:
    from sellerkit.web.config import parse_networks
    from sellerkit.web.security import Keys, SecurityMiddleware

    mw = SecurityMiddleware(None, keys=Keys(b"k" * 32), tls=False,
                            networks=parse_networks(["10.1.0.0/16", "2001:db8::/32"]),
                            allow_scope="admin", form_targets=(), deny_page=lambda: b"")
    assert mw.allowed("10.1.2.3", "/admin/sellers")
    assert mw.allowed("::ffff:10.1.2.3", "/admin")
    assert mw.allowed("2001:db8::5", "/admin/audit")
    assert not mw.allowed("10.2.0.1", "/admin/sellers")
    assert not mw.allowed("127.0.0.1", "/admin/login")
    assert not mw.allowed(None, "/admin")
    assert mw.allowed("198.51.100.7", "/connect")
    assert mw.allowed("198.51.100.7", "/administrator")  # not an admin page: only /admin/...


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_serves_hsts_and_secure_cookies(site: Site, tmp_path: Path) -> None:
    import dataclasses

    from sellerkit.web.app import create_app
    from sellerkit.web.server import WebServer

    cert, key = _self_signed(tmp_path)
    settings = dataclasses.replace(site.settings, tls=True,
                                   redirect_uri="https://127.0.0.1:8443/callback")
    app = create_app(settings, vault=site.vault)
    ctx = ssl.create_default_context(cafile=str(cert))
    with WebServer(app, tls_cert=cert, tls_key=key) as server, \
            httpx.Client(base_url=server.base_url, verify=ctx, follow_redirects=False) as c:
        assert server.base_url.startswith("https://")
        r = c.get("/connect")
        assert r.status_code == 200
        _check_headers(r, tls=True)
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-sk_visitor=") and "Secure" in cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        page = c.get("/admin/login")
        r = c.post("/admin/login", data={"csrf_token": csrf_of(page.text), "user": "alice",
                                         "password": PASSWORDS["alice"]})
        assert r.status_code == 303
        session = r.headers["set-cookie"]
        assert session.startswith("__Host-sk_session=") and "Secure" in session
        assert "HttpOnly" in session and "samesite=strict" in session.lower()


def test_plain_http_cookies(site: Site) -> None:
    with site.client() as c:
        cookie = c.get("/connect").headers["set-cookie"]
    assert cookie.startswith("sk_visitor=") and "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_code_state_token_or_secret_in_logs_or_urls(site: Site,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from sellerkit.vault.roles import SYSTEM

    locations = []
    with caplog.at_level(logging.DEBUG), site.client() as browser:
        consent = start_connect(browser, "CA")
        back = approve(consent, "A2SIMSELLER0001")
        parts = urlsplit(back)
        r = browser.get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200
        page = browser.get("/admin/login")
        r = browser.post("/admin/login", data={"csrf_token": csrf_of(page.text),
                                               "user": "alice",
                                               "password": PASSWORDS["alice"]})
        locations.append(r.headers["location"])
        browser.get("/admin/sellers")
    q = parse_qs(parts.query)
    code, state = q["spapi_oauth_code"][0], q["state"][0]
    token = site.vault.connections.refresh_token(SYSTEM, "A2SIMSELLER0001", "na",
                                                 site.settings.client_id, purpose="test")
    # what the servers logged (the web app's and the emulator's threads), not this test's client
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records
                     if r.threadName != "MainThread")
    assert "/callback" in text  # the request was logged...
    for secret in (code, state, token, site.settings.client_secret.reveal(),
                   PASSWORDS["alice"]):
        assert secret not in text  # ...without its query string
    assert locations == ["/admin"]
    # the only redirect to Amazon carries the protocol's parameters and nothing else
    assert set(parse_qs(urlsplit(consent).query)) == {"application_id", "state", "redirect_uri",
                                                      "version"}
