"""The admin pages: log-in (argon2, TOTP, lockout), sessions that expire, and the role check
on every admin route."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import Route

from sellerkit.vault.roles import ROLE_PERMISSIONS, Permission, Role
from sellerkit.web.admin import ANY_USER, LOGIN
from tests.web.conftest import PASSWORDS, ROLES, Site, approve, csrf_of, login, start_connect


def _admin_routes(app: object) -> list[Route]:
    return [r for r in app.routes  # type: ignore[attr-defined]
            if isinstance(r, Route) and (r.path == "/admin" or r.path.startswith("/admin/"))]


def test_every_admin_route_declares_its_access(site: Site) -> None:
    routes = _admin_routes(site.app)
    assert len(routes) >= 10
    for route in routes:
        access = getattr(route.endpoint, "sellerkit_access", None)
        assert access in (LOGIN, ANY_USER) or isinstance(access, Permission), route.path
        if access == LOGIN:
            assert route.path == "/admin/login"


def _expected(role: Role, access: object) -> bool:
    return access == ANY_USER or (isinstance(access, Permission)
                                  and access in ROLE_PERMISSIONS[role])


def test_roles_are_enforced_on_every_admin_route(site: Site) -> None:
    from sellerkit.vault.roles import SYSTEM

    incident = site.vault.incidents.open(SYSTEM, "role test incident", severity="low")
    guarded = [(r, r.endpoint.sellerkit_access) for r in _admin_routes(site.app)
               if r.endpoint.sellerkit_access != LOGIN]
    # without a session: GET goes to the log-in page, POST is refused
    with site.client() as anon:
        for route, _ in guarded:
            path = route.path.replace("{incident_id:int}", str(incident.id))
            for method in route.methods or ():
                if method == "HEAD":
                    continue
                r = anon.request(method, path)
                if method == "GET":
                    assert (r.status_code, r.headers.get("location")) == (303, "/admin/login")
                else:
                    assert r.status_code == 401, path
    for user, role_name in ROLES.items():
        role = Role(role_name)
        with site.client() as c:
            assert login(c, user).status_code == 303
            token = csrf_of(c.get("/connect").text)
            for route, access in guarded:
                path = route.path.replace("{incident_id:int}", str(incident.id))
                for method in sorted(route.methods or ()):
                    if method == "HEAD" or path == "/admin/logout":
                        continue
                    data = {"csrf_token": token, "title": "x", "resolution": "done",
                            "severity": "low", "dry_run": "1"}
                    r = (c.get(path) if method == "GET" else c.post(path, data=data))
                    allowed = _expected(role, access)
                    if allowed:
                        assert r.status_code not in (401, 403), (user, method, path, r.text)
                    else:
                        assert r.status_code == 403, (user, method, path)
                        assert "Not allowed" in r.text
    denied = site.vault.audit.events(SYSTEM, action="access.denied")
    assert any(e.actor == "ana" for e in denied)


def test_sellers_page_shows_connections(site: Site) -> None:
    with site.client() as browser:
        back = approve(start_connect(browser, "US"), "A2SIMSELLER0001")
        from urllib.parse import urlsplit

        parts = urlsplit(back)
        assert browser.get(f"{parts.path}?{parts.query}").status_code == 200
    with site.client() as c:
        assert login(c, "ana").status_code == 303
        r = c.get("/admin", follow_redirects=True)
        assert r.url.path == "/admin/sellers"
        assert "A2SIMSELLER0001" in r.text
        assert "in 36" in r.text  # renewal due in 364/365 days
        assert "never" in r.text  # no successful call yet
    with site.client() as c:
        assert login(c, "aud").status_code == 303
        r = c.get("/admin", follow_redirects=True)
        assert r.url.path == "/admin/audit"
        assert "connection.add" in r.text
        assert c.get("/admin/sellers").status_code == 403
        assert c.get("/admin/retention").status_code == 200
        assert c.get("/admin/incidents").status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(site: Site) -> None:
    with site.client() as c:
        a = login(c, "alice", "wrong password entirely")
        b = login(c, "nobody-here", "wrong password entirely")
    assert a.status_code == b.status_code == 401
    assert "password or code is wrong" in a.text and "password or code is wrong" in b.text


def test_lockout_after_ten_failures(site: Site) -> None:
    from sellerkit.vault.roles import SYSTEM

    site.vault.users.add(SYSTEM, "locky", Role.ANALYST, password="Stone-Gate-Meadow-9")
    with site.client() as c:
        for _ in range(10):
            assert login(c, "locky", "not the password at all").status_code == 401
        r = login(c, "locky", "Stone-Gate-Meadow-9")
    assert r.status_code == 401
    assert "locked" in r.text


def test_totp_second_factor(site: Site) -> None:
    import pyotp

    from sellerkit.vault.roles import SYSTEM

    site.vault.users.add(SYSTEM, "toto", Role.ANALYST, password="River-Lamp-Orchard-8")
    uri = site.vault.users.enable_totp(SYSTEM, "toto")
    totp = pyotp.parse_uri(uri)
    with site.client() as c:
        r = login(c, "toto", "River-Lamp-Orchard-8")
        assert r.status_code == 401 and "authenticator app" in r.text
        assert login(c, "toto", "River-Lamp-Orchard-8", totp="000000" if totp.now() !=
                     "000000" else "111111").status_code == 401
        r = login(c, "toto", "River-Lamp-Orchard-8", totp=totp.now())
        assert r.status_code == 303
        assert c.get("/admin/sellers").status_code == 200


def test_sessions_expire_when_idle_and_at_log_out(site: Site) -> None:
    with site.client() as c:
        assert login(c, "ana").status_code == 303
        assert c.get("/admin/sellers").status_code == 200
        site.clock.advance(site.settings.session_idle - 60)
        assert c.get("/admin/sellers").status_code == 200  # activity keeps it alive
        site.clock.advance(site.settings.session_idle + 1)
        r = c.get("/admin/sellers")
        assert (r.status_code, r.headers["location"]) == (303, "/admin/login")
    site.clock.reset()
    with site.client() as c:
        assert login(c, "ana").status_code == 303
        cookies = dict(c.cookies)
        token = csrf_of(c.get("/admin/sellers").text)
        assert c.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    with site.client(cookies=cookies) as replay:  # the old cookie no longer works
        assert replay.get("/admin/sellers").status_code == 303


def test_sessions_end_at_their_lifetime(site: Site) -> None:
    with site.client() as c:
        assert login(c, "ana").status_code == 303
        steps = int(site.settings.session_lifetime // (site.settings.session_idle - 60)) + 1
        for _ in range(steps):
            site.clock.advance(site.settings.session_idle - 60)
            r = c.get("/admin/sellers")
        assert r.status_code == 303


def test_a_disabled_user_is_logged_out(site: Site) -> None:
    from sellerkit.vault.roles import SYSTEM

    site.vault.users.add(SYSTEM, "temp", Role.ANALYST, password="Cedar-Mill-Harbor-7")
    with site.client() as c:
        assert login(c, "temp", "Cedar-Mill-Harbor-7").status_code == 303
        assert c.get("/admin/sellers").status_code == 200
        site.vault.users.disable(SYSTEM, "temp")
        assert c.get("/admin/sellers").status_code == 303


def test_incidents_can_be_opened_and_closed_from_the_page(site: Site) -> None:
    with site.client() as c:
        assert login(c, "aud").status_code == 303
        token = csrf_of(c.get("/admin/incidents").text)
        r = c.post("/admin/incidents", data={"csrf_token": token, "title": "laptop lost",
                                             "severity": "high"})
        assert r.status_code == 303
        page = c.get("/admin/incidents")
        assert "laptop lost" in page.text and "left to notify Amazon" in page.text
        import re

        iid = re.findall(r'/admin/incidents/(\d+)/close', page.text)[-1]
        r = c.post(f"/admin/incidents/{iid}/close",
                   data={"csrf_token": token, "resolution": "found, encrypted disk"})
        assert r.status_code == 303
        assert c.post("/admin/incidents", data={"csrf_token": token, "title": ""}
                      ).status_code == 400


def test_retention_purge_preview(site: Site) -> None:
    with site.client() as c:
        assert login(c, "alice").status_code == 303
        page = c.get("/admin/retention")
        assert page.status_code == 200 and "pii_days" in page.text
        r = c.post("/admin/retention/purge", data={"csrf_token": csrf_of(page.text),
                                                   "dry_run": "1"})
        assert r.status_code == 200 and "Purge result" in r.text


@pytest.mark.parametrize("user", list(PASSWORDS))
def test_each_role_lands_somewhere_useful(site: Site, user: str, tmp_path: Path) -> None:
    with site.client() as c:
        assert login(c, user).status_code == 303
        r = c.get("/admin")
        assert r.status_code == 303
        assert r.headers["location"] in ("/admin/sellers", "/admin/audit")
