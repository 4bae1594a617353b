"""The "Connect your Amazon account" flow: Amazon's website and Appstore authorization workflows.

Website workflow::

    GET  /connect          the public page: marketplace, seller or vendor, an Authorize button
    POST /connect          (CSRF-checked) -> 303 to Seller/Vendor Central's consent page with
                           application_id, state, redirect_uri and, for a draft app, version=beta
    GET  <redirect path>   Amazon's redirect back: state, selling_partner_id, spapi_oauth_code

Appstore workflow (Amazon opens the app's *login URI*)::

    GET  /appstore/login?amazon_callback_uri=..&amazon_state=..&selling_partner_id=..
    POST /appstore/login   (CSRF-checked) -> 303 to amazon_callback_uri with amazon_state, the
                           app's own state and redirect_uri (+ version=beta for a draft app)

The ``state`` (:class:`StateCodec`) is random, HMAC-signed, expires after ``state_ttl`` seconds
(5-15 minutes), is bound to the browser's visitor cookie and works once: the callback records
its nonce in the vault's ``web_states`` table (:class:`SqlStateStore`; a second use is refused in
every worker process). The state also carries the marketplace and kind the seller chose, since
Amazon's redirect does not say which region the seller authorized.

The callback exchanges ``spapi_oauth_code`` (valid 5 minutes, once) at LWA with the *same*
``redirect_uri``, stores the refresh token encrypted with ``vault.connections.upsert`` (audited
``connection.add`` / ``connection.update``; a re-authorization updates the connection and moves
its yearly renewal date) and shows the result. Each failure has its own page saying what to do.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sellerkit.errors import SellerkitError
from sellerkit.regions import MARKETPLACES, get_marketplace
from sellerkit.web.hosts import (
    KINDS,
    SELLER_CENTRAL,
    VENDOR_CENTRAL,
    append_query,
    consent_url,
    is_amazon_host,
)
from sellerkit.web.security import CsrfError, read_form

__all__ = ["AMAZON_ERRORS", "MemoryStateStore", "SqlStateStore", "StateCodec", "StateError",
           "StatePayload", "StateStore"]

# -- Amazon's authorization errors, explained ----------------------------------------------------

AMAZON_ERRORS: dict[str, tuple[str, str]] = {
    "MD1000": ("The app is a draft and the consent link lacked version=beta (or the link was "
               "malformed, or used the LWA client id as application_id).",
               "The app's operator: start sellerkit serve with --app-status draft while the "
               "app is in Draft state, and check --application-id is the amzn1.sp.solution... "
               "id. Then start again from the Connect page."),
    "MD5101": ("The redirect URI is not registered for this app (a published app needs the "
               "edit that adds it to be published too).",
               "The app's operator: add the redirect URI exactly as sellerkit serve uses it "
               "(--redirect-uri) to the app in Solution Provider Portal."),
    "MD5110": ("The redirect URI contains a '#'.",
               "The app's operator: register and configure a redirect URI without a fragment."),
    "MD5100": ("The log-in URI and the redirect URI are missing or swapped (the Appstore flow "
               "opens the log-in URI).",
               "The app's operator: register /appstore/login as the OAuth Login URI and the "
               "callback as the OAuth Redirect URI."),
    "MD9100": ("The app has no log-in and redirect URIs, or it is a private app, which is "
               "authorized in Seller Central instead of through this flow.",
               "The app's operator: add both URIs in Solution Provider Portal, or use "
               "self-authorization for a private app."),
    "MD9000": ("The app cannot take new authorizations in its current state (for example "
               "submitted but not yet published, with version=beta dropped).",
               "The app's operator: while the app is not published, run with --app-status "
               "draft; once Amazon publishes it, switch to --app-status published."),
    "MD9999": ("A generic error, often a draft-style link for a published app or a malformed "
               "consent link.",
               "The app's operator: check --app-status matches the app's state in Solution "
               "Provider Portal. Seller: start again from the Connect page."),
    "MD4010": ("The consent link has no application_id.",
               "The app's operator: set --application-id."),
    "MD0000": ("A generic authorization error.",
               "Start again from the Connect page; if it repeats, contact the app's operator."),
    "SPDC8143": ("The account used is not the primary user of the selling account.",
                 "Sign in to Seller Central as the primary account user, then connect again."),
    "CONSENT_LIMIT_REACHED": ("The selling account has reached its limit of authorizations.",
                              "Remove an app you no longer use in Seller Central (Manage Your "
                              "Apps), then connect again."),
    "access_denied": ("The authorization was declined.",
                      "If that was not intended, start again and choose Confirm on Amazon's "
                      "page."),
}


# -- state -----------------------------------------------------------------------------------------


class StateError(Exception):
    """The callback's state is unusable; ``kind`` is missing | tampered | expired | replayed |
    session."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class StatePayload:
    nonce: str
    expires_at: int
    marketplace: str
    kind: str
    flow: str  # website | appstore


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateStore(Protocol):
    def consume(self, nonce: str, expires_at: float) -> bool:
        """Record ``nonce`` as used; False when it already was."""
        ...


class MemoryStateStore:
    """Used states of one process (tests, a single worker)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def consume(self, nonce: str, expires_at: float) -> bool:
        with self._lock:
            now = self._clock()
            if len(self._used) > 1000:
                self._used = {k: v for k, v in self._used.items() if v > now}
            if nonce in self._used:
                return False
            self._used[nonce] = expires_at
            return True


class SqlStateStore:
    """Used states in the vault database (``web_states``), shared by every worker."""

    def __init__(self, engine: Any, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    def consume(self, nonce: str, expires_at: float) -> bool:
        from sqlalchemy import delete, insert
        from sqlalchemy.exc import IntegrityError

        from sellerkit.vault.schema import web_states as t
        from sellerkit.vault.store import write_transaction

        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(t).where(t.c.expires_at < now))
                conn.execute(insert(t).values(
                    nonce=nonce, used_at=now,
                    expires_at=datetime.fromtimestamp(expires_at, UTC)))
        except IntegrityError:
            return False
        return True


class StateCodec:
    """Issues and checks ``state`` values: ``base64(payload).signature``.

    The payload holds a random nonce, the expiry, a hash binding it to the visitor cookie, and
    the seller's choice (marketplace, kind, flow); the signature is HMAC-SHA256 under the web
    key. :meth:`consume` checks all of it and spends the nonce.
    """

    def __init__(self, keys: Any, store: StateStore, *, ttl: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.store = store
        self.ttl = ttl
        self._clock = clock

    def issue(self, visitor: str, *, marketplace: str, kind: str, flow: str = "website") -> str:
        body = {"n": secrets.token_urlsafe(16), "x": int(self._clock()) + self.ttl,
                "b": self.keys.sign("state-binding", visitor)[:22], "m": marketplace,
                "k": kind, "f": flow}
        raw = _b64e(json.dumps(body, separators=(",", ":")).encode())
        return f"{raw}.{self.keys.sign('state', raw)}"

    def peek(self, state: str) -> StatePayload:
        """The verified payload (signature and shape only: no expiry or use check)."""
        return self._open(state)[0]

    def _open(self, state: str) -> tuple[StatePayload, str]:
        raw, dot, sig = (state or "").partition(".")
        if not state:
            raise StateError("missing")
        if not dot or not self.keys.verify("state", raw, sig):
            raise StateError("tampered")
        try:
            body = json.loads(_b64d(raw))
            payload = StatePayload(str(body["n"]), int(body["x"]), str(body["m"]),
                                   str(body["k"]), str(body["f"]))
            get_marketplace(payload.marketplace)
        except (ValueError, KeyError, TypeError, SellerkitError):
            raise StateError("tampered") from None
        return payload, str(body.get("b", ""))

    def consume(self, state: str, visitor: str | None) -> StatePayload:
        payload, binding = self._open(state)
        if self._clock() >= payload.expires_at:
            raise StateError("expired")
        expected = self.keys.sign("state-binding", visitor or "")[:22]
        if not visitor or not secrets.compare_digest(binding.encode(), expected.encode()):
            raise StateError("session")
        if not self.store.consume(payload.nonce, payload.expires_at):
            raise StateError("replayed")
        return payload


STATE_PAGES: dict[str, tuple[str, str]] = {
    "missing": ("The link has no state.",
                "Open the Connect page and start again: the link back from Amazon must come "
                "from a connection you started here."),
    "tampered": ("The link's state is not one this site issued, or it was changed on the way.",
                 "Start again from the Connect page. Do not edit or share the link Amazon sends "
                 "you back with."),
    "expired": ("The authorization took longer than allowed, so its state has expired.",
                "Start again from the Connect page and finish on Amazon's page within "
                "{minutes} minutes."),
    "replayed": ("This authorization link was already used.",
                 "Each link works once. If your account is not shown as connected, start again "
                 "from the Connect page."),
    "session": ("The authorization was started in another browser (or its cookies were "
                "cleared).",
                "Start again from the Connect page, in the browser you finish in, with cookies "
                "allowed for this site."),
}


# -- pages -----------------------------------------------------------------------------------------


def _marketplaces() -> list[dict[str, str]]:
    return [{"code": m.country_code, "name": m.country, "region": m.region}
            for m in sorted(MARKETPLACES.values(), key=lambda m: (m.region, m.country))]


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    ctx = request.app.state.web
    return ctx.render(request, name, status, **context)


def _result(request: Request, *, ok: bool, title: str, message: str, todo: str = "",
            status: int = 400, **extra: Any) -> Response:
    return _render(request, "result.html", 200 if ok else status, ok=ok, title=title,
                   message=message, todo=todo, **extra)


async def connect_page(request: Request) -> Response:
    return _render(request, "connect.html", marketplaces=_marketplaces(), kinds=KINDS,
                   draft=request.app.state.web.settings.draft)


def _choice(form: dict[str, str]) -> tuple[str, str]:
    code = form.get("marketplace", "")
    kind = form.get("kind", "seller")
    try:
        code = get_marketplace(code).country_code
    except SellerkitError:
        raise ValueError("Choose your marketplace from the list.") from None
    if kind not in KINDS:
        raise ValueError("Choose Seller or Vendor.")
    return code, kind


async def connect_start(request: Request) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
        code, kind = _choice(form)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    except ValueError as exc:
        return _render(request, "connect.html", 400, marketplaces=_marketplaces(), kinds=KINDS,
                       draft=ctx.settings.draft, problem=str(exc))
    s = ctx.settings
    state = ctx.states.issue(request.scope["sellerkit.visitor"], marketplace=code, kind=kind)
    url = consent_url(marketplace=code, kind=kind, application_id=s.application_id,
                      state=state, redirect_uri=s.redirect_uri, draft=s.draft,
                      override=s.consent_base_url)
    return RedirectResponse(url, 303)


def _marketplace_for_host(url: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    for table in (SELLER_CENTRAL, VENDOR_CENTRAL):
        for code, h in table.items():
            if h == host:
                return code
    return "US"


def _appstore_params(request: Request, params: Any) -> tuple[str, str] | Response:
    ctx = request.app.state.web
    callback = params.get("amazon_callback_uri", "")
    amazon_state = params.get("amazon_state", "")
    if not callback or not amazon_state:
        return _result(request, ok=False, title="This page is opened by Amazon",
                       message="The Appstore authorization link is incomplete (it needs "
                               "amazon_callback_uri and amazon_state).",
                       todo="Start from the app's page in the Selling Partner Appstore, or "
                            "use the Connect page.")
    if not is_amazon_host(callback, ctx.settings.consent_base_url):
        return _result(request, ok=False, title="Not an Amazon address",
                       message="The amazon_callback_uri of this link is not a Seller Central "
                               "or Vendor Central address, so this site will not send you "
                               "there.",
                       todo="Start again from the app's page in the Selling Partner Appstore.")
    return callback, amazon_state


async def appstore_page(request: Request) -> Response:
    checked = _appstore_params(request, request.query_params)
    if isinstance(checked, Response):
        return checked
    callback, amazon_state = checked
    return _render(request, "appstore.html", marketplaces=_marketplaces(), kinds=KINDS,
                   amazon_callback_uri=callback, amazon_state=amazon_state,
                   selected=_marketplace_for_host(callback))


async def appstore_continue(request: Request) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    checked = _appstore_params(request, form)
    if isinstance(checked, Response):
        return checked
    callback, amazon_state = checked
    try:
        code, kind = _choice(form)
    except ValueError as exc:
        return _result(request, ok=False, title="Choose your marketplace", message=str(exc))
    s = ctx.settings
    state = ctx.states.issue(request.scope["sellerkit.visitor"], marketplace=code, kind=kind,
                             flow="appstore")
    params = {"amazon_state": amazon_state, "state": state, "redirect_uri": s.redirect_uri}
    if s.draft:
        params["version"] = "beta"
    return RedirectResponse(append_query(callback, params), 303)


async def errors_page(request: Request) -> Response:
    code = request.query_params.get("code", "")
    return _render(request, "errors.html", errors=AMAZON_ERRORS,
                   highlight=code if code in AMAZON_ERRORS else "")


async def callback(request: Request) -> Response:
    """Amazon's redirect back (see the module docstring)."""
    ctx = request.app.state.web
    if request.method == "HEAD":
        # link checkers and prefetchers send HEAD: it must not spend the state or the code
        return Response(status_code=200, media_type="text/html")
    q = request.query_params
    state = q.get("state", "")
    payload: StatePayload | None = None
    state_error: StateError | None = None
    try:
        payload = await run_in_threadpool(ctx.states.consume, state,
                                          request.scope.get("sellerkit.visitor"))
    except StateError as exc:
        state_error = exc
    error = q.get("error") or q.get("error_code") or ""
    if error:
        known = AMAZON_ERRORS.get(error) or AMAZON_ERRORS.get(error.upper())
        meaning, todo = known or ("Amazon reported an error this site does not know.",
                                  "Start again from the Connect page; if it repeats, contact "
                                  "the app's operator.")
        return _result(request, ok=False, title=f"Amazon reported {error[:40]}",
                       message=meaning, todo=todo, code=error[:40])
    if state_error is not None:
        meaning, todo = STATE_PAGES[state_error.kind]
        return _result(request, ok=False, title="This authorization link cannot be used",
                       message=meaning, todo=todo.format(minutes=ctx.settings.state_ttl // 60),
                       reason=state_error.kind)
    assert payload is not None
    code = q.get("spapi_oauth_code", "")
    partner = q.get("selling_partner_id", "")
    if not code or not partner:
        return _result(request, ok=False, title="Amazon's answer is incomplete",
                       message="The link back from Amazon has no authorization code or no "
                               "selling partner id.",
                       todo="Start again from the Connect page.")
    if len(partner) > 64 or not partner.isalnum():
        return _result(request, ok=False, title="Amazon's answer is not valid",
                       message="The selling partner id in the link is not valid.",
                       todo="Start again from the Connect page.")
    from sellerkit.errors import LwaError, TransportError

    try:
        grant = await ctx.exchange_code(code)
    except LwaError as exc:
        if exc.error == "invalid_grant":
            return _result(request, ok=False, title="The authorization code has expired",
                           message="Amazon's authorization code is valid for 5 minutes and "
                                   "works once; this one has expired or was already used.",
                           todo="Start again from the Connect page and finish without a "
                                "pause.", reason="code")
        ctx.log.warning("LWA refused the authorization code: %s", exc.error[:40])
        return _result(request, ok=False, status=502,
                       title="Amazon refused the authorization",
                       message=f"Login with Amazon answered {exc.error[:40]}.",
                       todo="Try again later; if it repeats, the app's operator should check "
                            "the LWA client id and secret.")
    except TransportError:
        return _result(request, ok=False, status=502, title="Amazon could not be reached",
                       message="This site could not reach Login with Amazon to finish the "
                               "authorization.",
                       todo="Start again from the Connect page in a few minutes.")
    region = get_marketplace(payload.marketplace).region
    assert grant.refresh_token is not None
    info = await run_in_threadpool(
        ctx.store_connection, selling_partner_id=partner, region=region,
        refresh_token=grant.refresh_token.reveal(), kind=payload.kind,
        source="appstore" if payload.flow == "appstore" else "oauth",
        marketplace=payload.marketplace)
    return _result(request, ok=True, title="Your Amazon account is connected",
                   message="The app may now use the Selling Partner API for your account.",
                   partner=partner, region=region, kind=payload.kind,
                   renewal_due_at=getattr(info, "renewal_due_at", None))
