"""Fixtures of the web app's tests: a real vault, the emulator and ``sellerkit serve`` on loopback.

:func:`make_site` starts the emulator (its consent page and LWA) and the web app, each a real
uvicorn server on a free loopback port, over a fresh SQLite vault with three vault users
(``alice`` admin, ``aud`` auditor, ``ana`` analyst). The web app's clock and the emulator's
clock are :class:`Clock` objects tests move forward (expired states, expired codes, idle
sessions) without sleeping.
"""

from __future__ import annotations

import re
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sellerkit.emulator import EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

PASSWORDS = {"alice": "Correct-Horse-Battery-1", "aud": "Quiet-Ledger-Review-2",
             "ana": "Blue-Report-Window-3"}
ROLES = {"alice": "admin", "aud": "auditor", "ana": "analyst"}


class Clock:
    """A settable clock (seconds since the epoch) starting at the real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Site:
    base_url: str
    emulator: EmulatorServer
    vault: Any
    settings: Any
    app: Any
    clock: Clock
    emu_clock: Clock
    consent_host: str
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=20, **kw)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def start_connect(client: httpx.Client, marketplace: str = "US", kind: str = "seller") -> str:
    """Open the Connect page and press Authorize: the consent URL the app redirects to."""
    page = client.get("/connect")
    assert page.status_code == 200
    r = client.post("/connect", data={"csrf_token": csrf_of(page.text),
                                      "marketplace": marketplace, "kind": kind})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def approve(consent_url: str, seller: str | None = None) -> str:
    """Approve at the emulator's consent page (as the seller would): Amazon's redirect back."""
    with httpx.Client(follow_redirects=False, timeout=20) as amazon:
        page = amazon.get(consent_url)
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        import html as _html

        fields = {k: _html.unescape(v) for k, v in fields.items()}
        if seller:
            fields["selling_partner_id"] = seller
        r = amazon.post(consent_url.split("?")[0], data=fields)
        assert r.status_code == 302, r.text
        return r.headers["location"]


def login(client: httpx.Client, user: str, password: str | None = None,
          totp: str = "") -> httpx.Response:
    page = client.get("/admin/login")
    return client.post("/admin/login", data={
        "csrf_token": csrf_of(page.text), "user": user,
        "password": PASSWORDS.get(user, "") if password is None else password, "totp": totp})


def make_site(tmp: Path, *, consent_host: str = "127.0.0.1", sellers: int = 2,
              **settings_kw: Any) -> Iterator[Site]:
    from sellerkit.vault import Vault
    from sellerkit.vault.roles import Role
    from sellerkit.web.app import create_app
    from sellerkit.web.config import WebSettings
    from sellerkit.web.server import WebServer

    clock, emu_clock = Clock(), Clock()
    sock = free_socket()
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    emu_cfg = EmulatorConfig(rate_limits=False, orders=5, sellers=sellers,
                             redirect_uris=(f"{base}/callback",), clock=emu_clock)
    with EmulatorServer(emu_cfg) as emu:
        consent = emu.base_url.replace("127.0.0.1", consent_host)
        vault = Vault.open(f"sqlite:///{tmp / 'vault.sqlite3'}")
        # argon2id still, with test-sized costs (the default costs 64 MiB and ~0.5 s a hash)
        from argon2 import PasswordHasher

        from sellerkit.vault.users import UserStore

        vault.__dict__["users"] = UserStore(vault, hasher=PasswordHasher(
            time_cost=1, memory_cost=1024, parallelism=1))
        admin = vault.users.bootstrap_admin("alice")
        vault.users.set_password(admin, "alice", PASSWORDS["alice"])
        for user in ("aud", "ana"):
            vault.users.add(admin, user, Role(ROLES[user]), password=PASSWORDS[user])
        cfg = emu.emulator.config
        kw: dict[str, Any] = {
            "application_id": cfg.application_id, "client_id": cfg.client_id,
            "client_secret": cfg.client_secret, "redirect_uri": f"{base}/callback",
            "app_status": "draft", "consent_base_url": consent,
            "lwa_endpoint": f"{emu.base_url}/auth/o2/token"}
        kw.update(settings_kw)
        settings = WebSettings(**kw)
        app = create_app(settings, vault=vault, clock=clock)
        server = WebServer(app, sock=sock)
        with server:
            yield Site(base, emu, vault, settings, app, clock, emu_clock, consent)
        vault.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from make_site(tmp_path_factory.mktemp("web"))


@pytest.fixture(autouse=True)
def _reset_clocks(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "site" in request.fixturenames:
        s = request.getfixturevalue("site")
        s.clock.reset()
        s.emu_clock.reset()


def new_secret() -> bytes:
    return secrets.token_bytes(32)
