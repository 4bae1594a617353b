"""The admin pages: log-in for vault users, connected sellers, audit log, retention, incidents.

Every admin route is declared with :func:`guarded` and the access it needs: ``LOGIN`` (the
log-in form itself), ``ANY_USER`` (any logged-in vault user) or a vault
:class:`~sellerkit.vault.roles.Permission`. The check runs on the server for every request and
form, before the handler; the vault methods check the permission again themselves. A missing or
expired session sends a GET to the log-in page (a POST gets a 401 page); a role without the
permission gets the 403 page, and the refusal is audited (``access.denied``).

Log-in uses ``vault.users.authenticate`` (argon2 passwords, an optional TOTP code, lockout after
10 failures; audited ``login`` / ``login.failed``). The session is server-side (see
:mod:`sellerkit.web.security`): it ends after ``session_idle`` seconds without a request, after
``session_lifetime`` in any case, at log-out, and as soon as the user is disabled.

    page                      needs
    /admin/sellers            read_data         (admin, analyst, fulfillment)
    /admin/audit              read_audit        (admin, auditor)
    /admin/retention          read_audit; a purge run needs purge (admin)
    /admin/incidents          read_audit; opening or closing one needs manage_incidents
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sellerkit.errors import AccessDeniedError, AuthenticationError, SellerkitError
from sellerkit.vault.roles import Permission, Principal
from sellerkit.web.security import SESSION, CsrfError, cookie_name, read_form

__all__ = ["ANY_USER", "LOGIN", "forbidden", "guarded", "routes"]

LOGIN = "login"
ANY_USER = "any-user"

Handler = Callable[[Request, Principal], Awaitable[Response]]


def _session_cookie(request: Request) -> str:
    return cookie_name(SESSION, request.app.state.web.settings.tls)


def _principal(request: Request) -> Principal | None:
    ctx = request.app.state.web
    sid = ctx.keys.unsign("session", request.cookies.get(_session_cookie(request)))
    if not sid:
        return None
    rec = ctx.sessions.get(sid)
    if rec is None:
        return None
    try:
        principal: Principal = ctx.vault.users.cli_principal(rec.user_id)
    except AuthenticationError:  # disabled or removed since the log-in
        ctx.sessions.delete_user(rec.user_id)
        return None
    return principal


def forbidden(request: Request, detail: str = "") -> Response:
    ctx = request.app.state.web
    return ctx.error(request, 403, "Not allowed",
                     "Your role does not allow this page or action."
                     + (f" ({detail})" if detail else ""),
                     "Ask an administrator for a role that includes it.")


def guarded(access: Permission | str) -> Callable[[Any], Callable[[Request], Awaitable[Response]]]:
    """Declare an admin endpoint and the access it needs (see the module docstring)."""

    def wrap(handler: Any) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if access == LOGIN:
                result: Response = await handler(request)
                return result
            principal = await run_in_threadpool(_principal, request)
            if principal is None:
                if request.method == "GET":
                    return RedirectResponse("/admin/login", 303)
                ctx = request.app.state.web
                return ctx.error(request, 401, "Please log in",
                                 "Your session has ended.", "Log in again.")
            request.scope["sellerkit.principal"] = principal
            if isinstance(access, Permission) and not principal.can(access):
                await run_in_threadpool(_audit_denied, request, principal)
                return forbidden(request)
            return await handler(request, principal)

        endpoint.sellerkit_access = access  # type: ignore[attr-defined]
        endpoint.__name__ = getattr(handler, "__name__", "endpoint")
        return endpoint

    return wrap


def _audit_denied(request: Request, principal: Principal) -> None:
    ctx = request.app.state.web
    try:
        ctx.vault.audit.record("access.denied", actor=principal.user_id,
                               target=f"web:{request.method} {request.url.path}"[:200],
                               outcome="denied")
    except SellerkitError as exc:  # the refusal stands even if it could not be recorded
        ctx.log.warning("could not audit a refused admin request: %s", type(exc).__name__)


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    result: Response = request.app.state.web.render(request, name, status, **context)
    return result


def _table(items: Any) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a list of dataclasses or mappings, for the generic tables."""
    rows: list[list[Any]] = []
    cols: list[str] = []
    for item in items or []:
        data = (dataclasses.asdict(item) if dataclasses.is_dataclass(item)
                and not isinstance(item, type) else dict(item))
        if not cols:
            cols = list(data)
        rows.append([data.get(c) for c in cols])
    return cols, rows


def _pairs(obj: Any) -> list[tuple[str, Any]]:
    if obj is None:
        return []
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return list(dataclasses.asdict(obj).items())
    if isinstance(obj, dict):
        return list(obj.items())
    return [(k, v) for k, v in vars(obj).items() if not k.startswith("_")]


# -- log-in ---------------------------------------------------------------------------------------


def _needs_code(exc: AuthenticationError) -> bool:
    from sellerkit.vault.users import SecondFactorRequired

    return isinstance(exc, SecondFactorRequired)


def _login_problem(exc: AuthenticationError) -> str:
    """What the log-in page says: the same for an unknown user and a wrong password (no hint
    which user ids exist); the lockout, an expired password and a missing code are named."""
    from sellerkit.vault.users import AccountLockedError, PasswordExpiredError

    if _needs_code(exc):
        return "This account needs the code from its authenticator app as well."
    if isinstance(exc, AccountLockedError):
        return ("This account is locked after too many failed log-ins. An administrator can "
                "unlock it (sellerkit users unlock).")
    if isinstance(exc, PasswordExpiredError):
        return "The password has expired: an administrator sets a new one."
    return "The user name, password or code is wrong."


@guarded(LOGIN)
async def login_page(request: Request) -> Response:
    return _render(request, "admin/login.html")


@guarded(LOGIN)
async def login(request: Request) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    user = form.get("user", "").strip()
    password = form.get("password", "")
    code = form.get("totp", "").strip() or None
    if not user or not password:
        return _render(request, "admin/login.html", 400, problem="Give your user name and "
                       "password.", username=user)
    try:
        principal = await run_in_threadpool(
            lambda: ctx.vault.users.authenticate(user, password, totp_code=code, source="web"))
    except AuthenticationError as exc:
        return _render(request, "admin/login.html", 401, problem=_login_problem(exc),
                       username=user)
    sid = await run_in_threadpool(ctx.sessions.create, principal.user_id)
    response = RedirectResponse("/admin", 303)
    response.set_cookie(_session_cookie(request), ctx.keys.signed("session", sid),
                        httponly=True, secure=ctx.settings.tls, samesite="strict", path="/")
    return response


@guarded(ANY_USER)
async def logout(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    try:
        await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    sid = ctx.keys.unsign("session", request.cookies.get(_session_cookie(request)))
    if sid:
        await run_in_threadpool(ctx.sessions.delete, sid)
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(_session_cookie(request), path="/", secure=ctx.settings.tls,
                           httponly=True, samesite="strict")
    return response


@guarded(ANY_USER)
async def index(request: Request, principal: Principal) -> Response:
    for perm, path in ((Permission.READ_DATA, "/admin/sellers"),
                       (Permission.READ_AUDIT, "/admin/audit")):
        if principal.can(perm):
            return RedirectResponse(path, 303)
    return forbidden(request)


# -- pages ----------------------------------------------------------------------------------------


def _days(delta_seconds: float) -> int:
    return int(delta_seconds // 86400)


@guarded(Permission.READ_DATA)
async def sellers(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    infos = await run_in_threadpool(ctx.vault.connections.list, principal)
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    rows = []
    for info in infos:
        authorized = getattr(info, "authorized_at", None)
        due = getattr(info, "renewal_due_at", None)
        rows.append({
            "info": info,
            "age_days": _days((now - authorized).total_seconds()) if authorized else None,
            "due_days": math.ceil((due - now).total_seconds() / 86400) if due else None,
        })
    return _render(request, "admin/sellers.html", rows=rows, page="sellers")


@guarded(Permission.READ_AUDIT)
async def audit(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    action = request.query_params.get("action") or None
    events = await run_in_threadpool(
        lambda: ctx.vault.audit.events(principal, action=action, limit=200))
    cols, rows = _table(sorted(events, key=lambda e: e.seq, reverse=True))  # newest first
    return _render(request, "admin/audit.html", cols=cols, rows=rows, action=action or "",
                   page="audit")


async def _retention_page(request: Request, principal: Principal, status: int = 200,
                          report: Any = None, problem: str = "") -> Response:
    ctx = request.app.state.web
    state = await run_in_threadpool(ctx.vault.retention.status, principal)
    return _render(request, "admin/retention.html", status, pairs=_pairs(state),
                   report=_pairs(report), problem=problem, page="retention",
                   may_purge=principal.can(Permission.PURGE))


@guarded(Permission.READ_AUDIT)
async def retention(request: Request, principal: Principal) -> Response:
    return await _retention_page(request, principal)


@guarded(Permission.PURGE)
async def purge(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    dry_run = form.get("dry_run") == "1"
    report = await run_in_threadpool(
        lambda: ctx.vault.retention.purge(principal, trigger="web", dry_run=dry_run))
    return await _retention_page(request, principal, report=report)


async def _incidents_page(request: Request, principal: Principal, status: int = 200,
                          problem: str = "") -> Response:
    ctx = request.app.state.web
    items = await run_in_threadpool(ctx.vault.incidents.list, principal)
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    cols, rows = _table([i.as_dict(now) if hasattr(i, "as_dict") else i for i in items])
    return _render(request, "admin/incidents.html", status, cols=cols, rows=rows,
                   problem=problem, page="incidents",
                   may_manage=principal.can(Permission.MANAGE_INCIDENTS))


@guarded(Permission.READ_AUDIT)
async def incidents(request: Request, principal: Principal) -> Response:
    return await _incidents_page(request, principal)


@guarded(Permission.MANAGE_INCIDENTS)
async def open_incident(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    title = form.get("title", "").strip()
    severity = form.get("severity", "high")
    if not title:
        return await _incidents_page(request, principal, 400, "Give the incident a title.")
    if severity not in ("low", "medium", "high", "critical"):
        return await _incidents_page(request, principal, 400, "Choose a severity.")
    description = form.get("description", "").strip() or None
    try:
        await run_in_threadpool(lambda: ctx.vault.incidents.open(
            principal, title, severity=severity, description=description))
    except AccessDeniedError:
        raise
    except SellerkitError as exc:
        return await _incidents_page(request, principal, 400, str(exc))
    return RedirectResponse("/admin/incidents", 303)


@guarded(Permission.MANAGE_INCIDENTS)
async def close_incident(request: Request, principal: Principal) -> Response:
    ctx = request.app.state.web
    try:
        form = await read_form(request)
    except CsrfError as exc:
        return ctx.csrf_failed(request, exc)
    resolution = form.get("resolution", "").strip()
    if not resolution:
        return await _incidents_page(request, principal, 400,
                                     "Say how the incident was resolved.")
    incident_id = int(request.path_params["incident_id"])
    try:
        await run_in_threadpool(ctx.vault.incidents.close, principal, incident_id, resolution)
    except AccessDeniedError:
        raise
    except SellerkitError as exc:
        return await _incidents_page(request, principal, 400, str(exc))
    return RedirectResponse("/admin/incidents", 303)


def routes() -> list[Route]:
    return [
        Route("/admin/login", login_page, methods=["GET"]),
        Route("/admin/login", login, methods=["POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin", index, methods=["GET"]),
        Route("/admin/sellers", sellers, methods=["GET"]),
        Route("/admin/audit", audit, methods=["GET"]),
        Route("/admin/retention", retention, methods=["GET"]),
        Route("/admin/retention/purge", purge, methods=["POST"]),
        Route("/admin/incidents", incidents, methods=["GET"]),
        Route("/admin/incidents", open_incident, methods=["POST"]),
        Route("/admin/incidents/{incident_id:int}/close", close_incident, methods=["POST"]),
    ]
