"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
a seller connects through the emulator's consent page, the connection shows on the admin page,
the first SP-API call works through ``SellingPartner.for_seller``, and a replayed callback is
refused.

The emulator's consent page is served as ``localhost`` and the app as ``127.0.0.1``: two sites,
so the redirect back from "Amazon" is a cross-site navigation, as in production, and the
SameSite=Lax visitor cookie the state is bound to has to survive it.

Screenshots of the connect page and the admin page go to ``docs/images/`` when
``SELLERKIT_TEST_UPDATE_SCREENSHOTS=1`` (the README shows them), else into the test's temp dir.
Outside CI the tests skip when Playwright or Chromium is missing; in CI a skip fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORDS, Site, make_site

CHROMIUM = os.environ.get("SELLERKIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(sync_playwright is None,
                       reason="the browser tests need the playwright package "
                              "(pip install playwright; no browser download needed)"),
    pytest.mark.skipif(not (os.path.isfile(CHROMIUM) or shutil.which("chromium")),
                       reason=f"the browser tests need Chromium at {CHROMIUM} "
                              "(apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def bsite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from make_site(tmp_path_factory.mktemp("browser"), consent_host="localhost")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    exe = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=exe,
            headless=True, args=ARGS, viewport={"width": 1200, "height": 800})
        ctx.set_default_timeout(15_000)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    browser.clear_cookies()
    pg = browser.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.problems = problems
    try:
        yield pg
    finally:
        pg.close()


def _shot(page: Any, name: str, tmp_path: Path) -> Path:
    target = IMAGES if os.environ.get("SELLERKIT_TEST_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _connect(page: Any, site: Site, marketplace: str = "US",
             seller: str = "A2SIMSELLER0001") -> str:
    """Connect in the browser; returns the callback URL Amazon sent the browser to."""
    page.goto(f"{site.base_url}/connect")
    page.select_option("#marketplace", marketplace)
    page.click("#authorize")
    page.wait_for_url(f"{site.consent_host}/apps/authorize/consent?**")
    if page.locator("select[name=selling_partner_id]").count():
        page.select_option("select[name=selling_partner_id]", seller)
    with page.expect_navigation(url=f"{site.base_url}/callback?**"):
        page.click("button[name=approve]")
    return str(page.url)


def test_seller_connects_and_admin_sees_it(bsite: Site, page: Any, tmp_path: Path) -> None:
    page.goto(f"{bsite.base_url}/connect")
    assert page.title().startswith("Connect your Amazon account")
    shot = _shot(page, "connect-page.png", tmp_path)
    assert shot.stat().st_size > 5000

    callback = _connect(page, bsite, "US", "A2SIMSELLER0001")
    assert page.inner_text("#result-title") == "Your Amazon account is connected"
    assert page.inner_text("#partner") == "A2SIMSELLER0001"
    # the redirect to the consent host was a form submission: CSP form-action allowed it
    assert not [p for p in page.problems if "Content Security Policy" in p], page.problems

    _connect(page, bsite, "UK", "A2SIMSELLER0002")  # a second seller, in Europe
    assert page.inner_text("#result-title") == "Your Amazon account is connected"

    page.goto(f"{bsite.base_url}/admin/login")
    page.fill("#user", "alice")
    page.fill("#password", PASSWORDS["alice"])
    page.click("#login")
    page.wait_for_url(f"{bsite.base_url}/admin/sellers")
    table = page.inner_text("#sellers")
    assert "A2SIMSELLER0001" in table and "A2SIMSELLER0002" in table
    assert "NA" in table and "EU" in table
    assert "days" in table  # authorization age and renewal due
    _shot(page, "admin-sellers.png", tmp_path)

    # the first call, with the refresh token the flow stored
    from sellerkit import SellingPartner

    emu = bsite.emulator
    sp = SellingPartner.for_seller("A2SIMSELLER0001", "NA", vault=bsite.vault,
                                   client_id=bsite.settings.client_id,
                                   client_secret=bsite.settings.client_secret.reveal(),
                                   endpoint=emu.base_url,
                                   lwa_endpoint=f"{emu.base_url}/auth/o2/token")
    try:
        result = sp.sellers_v1.get_marketplace_participations()
        assert result.status == 200
    finally:
        sp.close()

    # the same callback again (a replay, e.g. from the history) is refused
    page.goto(callback)
    assert page.inner_text("#result-title") == "This authorization link cannot be used"
    assert "already used" in page.content()


def test_state_from_another_browser_session_is_refused(bsite: Site, page: Any,
                                                       browser: Any) -> None:
    page.goto(f"{bsite.base_url}/connect")
    page.click("#authorize")
    page.wait_for_url(f"{bsite.consent_host}/apps/authorize/consent?**")
    browser.clear_cookies()  # as if another browser finished the flow
    with page.expect_navigation(url=f"{bsite.base_url}/callback?**"):
        page.click("button[name=approve]")
    assert "another browser" in page.content()
