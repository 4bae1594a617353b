"""The web app of ``sellerkit serve``: :func:`create_app` builds it from settings and a vault.

    from sellerkit.vault import Vault
    from sellerkit.web import WebSettings, create_app

    app = create_app(WebSettings(application_id="amzn1.sp.solution.0123", app_status="draft",
                                 client_id="amzn1.application-oa2-client.0123",
                                 client_secret="amzn1.oa2-cs.v1.abcd",
                                 redirect_uri="https://app.example.com/callback"),
                     vault=Vault.open())

The result is an ASGI app (:class:`~sellerkit.web.security.SecurityMiddleware` around a
Starlette app): the public connect flow (:mod:`sellerkit.web.connect`), the admin pages
(:mod:`sellerkit.web.admin`), CSS under ``/static``. Pages are Jinja2 templates with
autoescaping and no script at all.

Signing key: the vault secret ``web-session`` (``vault.cipher.secret_key``), so states and
cookies stay valid across restarts and workers; ``secret=`` overrides it. Used states and admin
sessions live in the vault database (tables ``web_states`` and ``web_sessions``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from sellerkit._log import redact
from sellerkit.auth.lwa import LwaClient, TokenGrant
from sellerkit.errors import AccessDeniedError
from sellerkit.vault.roles import Principal, Role
from sellerkit.web import admin, connect
from sellerkit.web.config import WebSettings
from sellerkit.web.connect import SqlStateStore, StateCodec
from sellerkit.web.hosts import all_hosts
from sellerkit.web.security import (
    Keys,
    SecurityMiddleware,
    SessionStore,
    SqlSessionStore,
    csrf_token,
)

__all__ = ["WEB_PRINCIPAL", "WebContext", "create_app"]

log = logging.getLogger("sellerkit.web")
HERE = Path(__file__).resolve().parent

# The app stores sellers' refresh tokens as this service principal (the audit log's actor).
WEB_PRINCIPAL = Principal("web", Role.ADMIN, kind="service")


@dataclass
class WebContext:
    """Everything a request handler needs, as ``request.app.state.web``."""

    settings: WebSettings
    vault: Any
    keys: Keys
    states: StateCodec
    sessions: SessionStore
    lwa: LwaClient
    templates: Jinja2Templates
    clock: Callable[[], float]
    lwa_transport: Any = None
    log: logging.Logger = field(default=log)

    # -- rendering ------------------------------------------------------------------------------

    def render(self, request: Request, name: str, status_code: int = 200,
               **context: Any) -> Response:
        context.setdefault("user", request.scope.get("sellerkit.principal"))
        context.update(request=request, csrf=csrf_token(request), settings=self.settings,
                       app_name=self.settings.app_name)
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def error(self, request: Request, status: int, title: str, message: str,
              todo: str = "") -> Response:
        return self.render(request, "error.html", status, status=status, title=title,
                           message=message, todo=todo)

    def csrf_failed(self, request: Request, exc: Exception) -> Response:
        return self.error(request, 403, "The form could not be accepted",
                          f"{exc}.", "Reload the page and send the form again.")

    # -- the OAuth exchange and the vault ---------------------------------------------------------

    async def exchange_code(self, code: str) -> TokenGrant:
        import httpx

        kw: dict[str, Any] = {"timeout": 20.0}
        if self.lwa_transport is not None:
            kw["transport"] = self.lwa_transport
        async with httpx.AsyncClient(**kw) as http:
            return await self.lwa.exchange_authorization_code_async(
                http, code, self.settings.redirect_uri)

    def store_connection(self, *, selling_partner_id: str, region: str, refresh_token: str,
                         kind: str, source: str, marketplace: str) -> Any:
        from sellerkit.regions import get_marketplace

        return self.vault.connections.upsert(
            WEB_PRINCIPAL, selling_partner_id=selling_partner_id, region=region.lower(),
            client_id=self.settings.client_id, refresh_token=refresh_token, kind=kind,
            source=source, marketplace_ids=[get_marketplace(marketplace).id])


def _templates() -> Jinja2Templates:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=jinja2.select_autoescape(["html"], default=True))
    env.filters["when"] = _when
    return Jinja2Templates(env=env)


def _when(value: Any) -> str:
    """A datetime as ``2026-12-01 17:00 UTC`` ('' for None)."""
    from datetime import UTC, datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def create_app(settings: WebSettings, *, vault: Any, secret: bytes | None = None,
               clock: Callable[[], float] = time.time, lwa_transport: Any = None,
               session_store: SessionStore | None = None) -> SecurityMiddleware:
    """The ASGI app (see the module docstring). ``lwa_transport`` is an httpx transport for the
    code exchange (tests); ``clock`` drives state expiry and session timeouts."""
    if secret is None:
        secret = vault.cipher.secret_key("web-session")
    keys = Keys(secret)
    states = StateCodec(keys, SqlStateStore(vault.engine, clock), ttl=settings.state_ttl,
                        clock=clock)
    sessions = session_store or SqlSessionStore(vault.engine, idle=settings.session_idle,
                                                lifetime=settings.session_lifetime,
                                                clock=clock)
    lwa = LwaClient(settings.client_id, settings.client_secret, endpoint=settings.lwa_endpoint,
                    max_attempts=2)
    templates = _templates()
    ctx = WebContext(settings, vault, keys, states, sessions, lwa, templates, clock,
                     lwa_transport)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return ctx.error(request, 405, "Method not allowed",
                             "This address does not take that kind of request.")
        return ctx.error(request, status, "Page not found",
                         "There is no page at this address.",
                         "Go to the Connect page to connect an Amazon account.")

    async def denied(request: Request, exc: Exception) -> Response:
        return admin.forbidden(request, str(exc))

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s: %s", type(exc).__name__, request.url.path,
                  redact(str(exc))[:200])
        return ctx.error(request, 500, "Something went wrong",
                         "The server could not finish this request.",
                         "Try again; if it keeps failing, contact the site's operator.")

    async def home(request: Request) -> Response:
        return RedirectResponse("/connect", 303)

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/connect", connect.connect_page, methods=["GET"]),
        Route("/connect", connect.connect_start, methods=["POST"]),
        Route("/connect/errors", connect.errors_page, methods=["GET"]),
        Route("/appstore/login", connect.appstore_page, methods=["GET"]),
        Route("/appstore/login", connect.appstore_continue, methods=["POST"]),
        Route(settings.redirect_path, connect.callback, methods=["GET"]),
        *admin.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: not_found, AccessDeniedError: denied, Exception: crashed})
    app.state.web = ctx

    targets = {f"https://{h}" for h in all_hosts()}
    if settings.consent_base_url:
        targets.add(settings.consent_base_url)

    def deny_page() -> bytes:
        return (HERE / "templates" / "denied_ip.html").read_bytes()

    return SecurityMiddleware(app, keys=keys, tls=settings.tls, networks=settings.networks,
                              allow_scope=settings.allow_scope, form_targets=targets,
                              deny_page=deny_page)
