"""The web app's protections: signing keys, cookies, CSRF, sessions, and the outer middleware.

:class:`SecurityMiddleware` wraps the whole Starlette app (outside Starlette's own error
middleware, so even a 500 page carries the headers). On every HTTP response it sets

    Content-Security-Policy   default-src 'none'; style-src 'self'; img-src 'self';
                              form-action 'self' <consent hosts>; frame-ancestors 'none'; ...
    X-Frame-Options           DENY
    Referrer-Policy           no-referrer      (a code or state in a URL never leaks onwards)
    X-Content-Type-Options    nosniff
    Cache-Control             no-store         (static files excepted)
    Strict-Transport-Security max-age=31536000; includeSubDomains   (only when serving TLS)

No page has an inline script, so the policy allows none. It refuses clients outside the IP
allowlist (the admin pages by default, every page with ``allow_scope="all"``), gives each browser
a signed visitor cookie (SameSite=Lax, HttpOnly, Secure under TLS) that the OAuth ``state`` and
the CSRF tokens are bound to, and logs one line per request with the path only: never a query
string, which carries ``spapi_oauth_code`` and ``state`` on the callback.

CSRF: every form carries ``csrf_token`` = HMAC(key, visitor id) and :func:`read_form` rejects a
POST without the matching token (and one whose ``Origin`` is another site). Admin sessions are
server-side (:class:`SqlSessionStore` in the vault database, or :class:`MemorySessionStore`): the
cookie holds a random id, signed; the store holds its SHA-256, the user, and the idle and
absolute expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["MAX_FORM_BYTES", "CsrfError", "Keys", "MemorySessionStore", "SecurityMiddleware",
           "SessionRecord", "SessionStore", "SqlSessionStore", "cookie_name", "csrf_token",
           "read_form", "security_headers"]

log = logging.getLogger("sellerkit.web")

MAX_FORM_BYTES = 64 * 1024
VISITOR = "sk_visitor"
SESSION = "sk_session"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    """Purpose-bound HMAC keys derived from one 32-byte secret (the vault's ``web-session``)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the web signing secret must be at least 32 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "Keys(<secret>)"

    def _key(self, purpose: str) -> bytes:
        return hmac.new(self._secret, b"sellerkit-web\x1f" + purpose.encode(),
                        hashlib.sha256).digest()

    def sign(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self._key(purpose), data.encode(), hashlib.sha256).digest())

    def verify(self, purpose: str, data: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, data).encode(), signature.encode())

    def signed(self, purpose: str, value: str) -> str:
        return f"{value}.{self.sign(purpose, value)}"

    def unsign(self, purpose: str, token: str | None) -> str | None:
        if not token or "." not in token:
            return None
        value, _, sig = token.rpartition(".")
        return value if value and self.verify(purpose, value, sig) else None


def cookie_name(base: str, tls: bool) -> str:
    # __Host- cookies are only accepted when Secure, for path / and without a Domain
    return f"__Host-{base}" if tls else base


def _cookie_header(name: str, value: str, *, tls: bool, samesite: str,
                   max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", f"SameSite={samesite}"]
    if tls:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


# -- CSRF -------------------------------------------------------------------------------------------


class CsrfError(Exception):
    """A form arrived without the CSRF token of this browser."""


def csrf_token(request: Request) -> str:
    ctx = request.app.state.web
    visitor = request.scope.get("sellerkit.visitor", "")
    return ctx.keys.sign("csrf", visitor)


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST, after the CSRF check (raises :class:`CsrfError`)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise CsrfError("the form was sent from another site")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise CsrfError("the form is too large")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except ValueError:
        raise CsrfError("the form could not be read") from None
    sent = form.pop("csrf_token", "")
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(request).encode()):
        raise CsrfError("the form's security token is missing or wrong")
    return form


# -- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    user_id: str
    created_at: float
    last_seen_at: float
    expires_at: float


class SessionStore(Protocol):
    def create(self, user_id: str) -> str: ...
    def get(self, session_id: str) -> SessionRecord | None: ...
    def delete(self, session_id: str) -> None: ...
    def delete_user(self, user_id: str) -> None: ...


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class MemorySessionStore:
    """Sessions of one process (a single-worker server, tests)."""

    def __init__(self, *, idle: float, lifetime: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.idle, self.lifetime, self._clock = idle, lifetime, clock
        self._rows: dict[str, SessionRecord] = {}
        self._lock = threading.Lock()

    def create(self, user_id: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._rows = {k: v for k, v in self._rows.items() if self._live(v, now)}
            self._rows[_hash_id(sid)] = SessionRecord(user_id, now, now, now + self.lifetime)
        return sid

    def _live(self, rec: SessionRecord, now: float) -> bool:
        return now < rec.expires_at and now - rec.last_seen_at < self.idle

    def get(self, session_id: str) -> SessionRecord | None:
        key, now = _hash_id(session_id), self._clock()
        with self._lock:
            rec = self._rows.get(key)
            if rec is None:
                return None
            if not self._live(rec, now):
                del self._rows[key]
                return None
            rec = SessionRecord(rec.user_id, rec.created_at, now, rec.expires_at)
            self._rows[key] = rec
            return rec

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._rows.pop(_hash_id(session_id), None)

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            self._rows = {k: v for k, v in self._rows.items() if v.user_id != user_id}


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class SqlSessionStore:
    """Sessions in the vault database (``web_sessions``): shared by every worker process."""

    def __init__(self, engine: Any, *, idle: float, lifetime: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine, self.idle, self.lifetime, self._clock = engine, idle, lifetime, clock

    def create(self, user_id: str) -> str:
        from sqlalchemy import delete, insert

        from sellerkit.vault.schema import web_sessions as t
        from sellerkit.vault.store import write_transaction

        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with write_transaction(self.engine) as conn:
            conn.execute(delete(t).where((t.c.expires_at < _dt(now))
                                         | (t.c.last_seen_at < _dt(now - self.idle))))
            conn.execute(insert(t).values(id_hash=_hash_id(sid), user_id=user_id,
                                          created_at=_dt(now), last_seen_at=_dt(now),
                                          expires_at=_dt(now + self.lifetime)))
        return sid

    def get(self, session_id: str) -> SessionRecord | None:
        from sqlalchemy import delete, select, update

        from sellerkit.vault.schema import web_sessions as t
        from sellerkit.vault.store import write_transaction

        key, now = _hash_id(session_id), self._clock()
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(t).where(t.c.id_hash == key)).first()
            if row is None:
                return None
            last, expires = row.last_seen_at.timestamp(), row.expires_at.timestamp()
            if now >= expires or now - last >= self.idle:
                conn.execute(delete(t).where(t.c.id_hash == key))
                return None
            conn.execute(update(t).where(t.c.id_hash == key).values(last_seen_at=_dt(now)))
            return SessionRecord(row.user_id, row.created_at.timestamp(), now, expires)

    def delete(self, session_id: str) -> None:
        from sqlalchemy import delete

        from sellerkit.vault.schema import web_sessions as t
        from sellerkit.vault.store import write_transaction

        with write_transaction(self.engine) as conn:
            conn.execute(delete(t).where(t.c.id_hash == _hash_id(session_id)))

    def delete_user(self, user_id: str) -> None:
        from sqlalchemy import delete

        from sellerkit.vault.schema import web_sessions as t
        from sellerkit.vault.store import write_transaction

        with write_transaction(self.engine) as conn:
            conn.execute(delete(t).where(t.c.user_id == user_id))


# -- the middleware -------------------------------------------------------------------------------


def security_headers(*, tls: bool, form_targets: Iterable[str]) -> list[tuple[bytes, bytes]]:
    targets = " ".join(sorted(set(form_targets)))
    csp = ("default-src 'none'; style-src 'self'; img-src 'self'; "
           f"form-action 'self'{' ' + targets if targets else ''}; frame-ancestors 'none'; "
           "base-uri 'none'")
    headers = [
        ("content-security-policy", csp),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if tls:
        headers.append(("strict-transport-security", "max-age=31536000; includeSubDomains"))
    return [(k.encode(), v.encode()) for k, v in headers]


_MANAGED = {b"content-security-policy", b"x-frame-options", b"referrer-policy",
            b"x-content-type-options", b"strict-transport-security",
            b"cross-origin-opener-policy", b"permissions-policy"}


class SecurityMiddleware:
    """The outermost ASGI layer of the web app (see the module docstring).

    ``app`` is the Starlette application inside; ``routes`` its routes (tests enumerate them).
    """

    def __init__(self, app: Any, *, keys: Keys, tls: bool, networks: tuple[Any, ...],
                 allow_scope: str, form_targets: Iterable[str],
                 deny_page: Callable[[], bytes]) -> None:
        self.app = app
        self.keys = keys
        self.tls = tls
        self.networks = networks
        self.allow_scope = allow_scope
        self._headers = security_headers(tls=tls, form_targets=form_targets)
        self._deny_page = deny_page
        self.visitor_cookie = cookie_name(VISITOR, tls)

    @property
    def routes(self) -> list[Any]:
        return list(self.app.routes)

    @property
    def state(self) -> Any:
        return self.app.state

    def allowed(self, client: str | None, path: str) -> bool:
        if self.allow_scope != "all" and not (path == "/admin" or path.startswith("/admin/")):
            return True
        if not client:
            return False
        try:
            addr = ipaddress.ip_address(client)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == n.version and addr in n for n in self.networks)

    def _visitor(self, scope: dict[str, Any]) -> tuple[str, bool]:
        raw = b""
        for k, v in scope.get("headers", []):
            if k == b"cookie":
                raw += v + b"; "
        if raw:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(raw.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed Cookie header counts as no cookie
                cookie = SimpleCookie()
            morsel = cookie.get(self.visitor_cookie)
            value = self.keys.unsign("visitor", morsel.value if morsel else None)
            if value:
                return value, False
        return secrets.token_urlsafe(24), True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        client = (scope.get("client") or (None,))[0]
        status_box = [0]
        static = path.startswith("/static/")

        async def send_secure(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in _MANAGED]
                headers.extend(self._headers)
                if not static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if new_visitor and not static:
                    headers.append((b"set-cookie", _cookie_header(
                        self.visitor_cookie, self.keys.signed("visitor", visitor),
                        tls=self.tls, samesite="Lax").encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if not self.allowed(client, path):
                new_visitor, visitor = False, ""
                body = self._deny_page()
                await send_secure({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())]})
                await send_secure({"type": "http.response.body", "body": body})
                return
            visitor, new_visitor = self._visitor(scope)
            scope = {**scope, "sellerkit.visitor": visitor}
            try:
                await self.app(scope, receive, send_secure)
            except Exception as exc:  # noqa: BLE001 - the error page went out already
                # Starlette re-raises after sending its 500 page so that the server logs the
                # traceback; its message may quote a request, so only the type is logged here
                log.error("request failed with %s", type(exc).__name__)
                if not status_box[0]:
                    body = b"Internal Server Error"
                    await send_secure({"type": "http.response.start", "status": 500,
                                       "headers": [(b"content-type", b"text/plain")]})
                    await send_secure({"type": "http.response.body", "body": body})
        finally:
            # the path only: the query string of the callback holds the code and the state
            log.info("%s %s %s %.1fms", method, path, status_box[0] or "-",
                     (time.perf_counter() - started) * 1000)
