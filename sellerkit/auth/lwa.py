"""Login with Amazon (LWA): the access tokens every SP-API call carries in ``x-amz-access-token``.

Three grants, all POSTed form-encoded to the LWA token endpoint with the app's client id and secret:

- ``refresh_token``: a seller's refresh token -> an access token for that seller's data;
- ``client_credentials`` with a ``scope``: "grantless" operations (notifications destinations,
  client secret rotation) that act for the app, not for a seller;
- ``authorization_code``: the one-time code from the consent flow -> a refresh token.

``LwaClient.access_token`` / ``access_token_async`` return a cached token until ``refresh_margin``
seconds before it expires. Refreshes are single-flight per credential set: while one caller (thread
or asyncio task, on any event loop) fetches, the others wait for its result instead of sending their
own request; inside the refresh window, callers that find a refresh already running keep using the
still-valid old token instead of waiting. Failed requests are retried only when that can help
(``server_error``, ``temporarily_unavailable``, 5xx, 429, network errors): 3 attempts with jittered
backoff; ``invalid_grant`` & co. fail at once. The request I/O is a thin sync or async shell around
the same pure preparation and interpretation.

``timeout`` is a deadline for the whole token fetch: every attempt, the backoff between them and
the wait for another caller's refresh end by it, with a ``ReadTimeoutError`` (or the last failure)
when it passes. The HTTP goes through the calling client's wire (``sellerkit.client._wire``: its
keep-alive pool, or an httpx client); an ``httpx.Client`` / ``AsyncClient`` may be passed instead.

Nothing here logs or raises a secret: the form body (client secret, refresh token, code) is never
put in a message, and cache keys are SHA-256 hashes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import hashlib
import json
import logging
import platform
import random as _random
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode

from sellerkit._log import scrub_secrets
from sellerkit._secret import Secret
from sellerkit._version import __version__
from sellerkit.auth.stores import CachedToken, MemoryTokenStore, TokenStore
from sellerkit.errors import (
    ConfigurationError,
    ConnectionFailedError,
    ConnectTimeoutError,
    LwaError,
    ReadTimeoutError,
    SellerkitError,
    TransportError,
    lwa_error_from_response,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_LWA_ENDPOINT", "LwaClient", "TokenGrant"]


class _Response(Protocol):
    status_code: int
    content: bytes


class _SyncWire(Protocol):
    def request(self, method: str, url: str, *, headers: Any, content: bytes | None,
                timeout: float) -> _Response: ...


class _AsyncWire(Protocol):
    async def request(self, method: str, url: str, *, headers: Any, content: bytes | None,
                      timeout: float) -> _Response: ...


if TYPE_CHECKING:
    from typing import TypeAlias

    SyncHttp: TypeAlias = "httpx.Client | _SyncWire"
    AsyncHttp: TypeAlias = "httpx.AsyncClient | _AsyncWire"

DEFAULT_TIMEOUT = 30.0  # seconds for a token fetch when the caller gives none

DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=UTF-8"

REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type name, not a secret
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"

# A token this close to its expiry is not handed out even while a refresh is running: the request
# it goes on could arrive after it expired.
_MIN_VALIDITY = 5.0
_DEFAULT_EXPIRES_IN = 3600

log = logging.getLogger("sellerkit.auth")


@dataclass(frozen=True)
class TokenGrant:
    """A successful token response. ``refresh_token`` is set by the authorization_code grant."""

    access_token: str = field(repr=False)
    refresh_token: Secret | None
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type
    scope: str | None = None

    def __repr__(self) -> str:
        return (f"TokenGrant(access_token='**********', refresh_token={self.refresh_token!r}, "
                f"expires_in={self.expires_in!r}, token_type={self.token_type!r}, "
                f"scope={self.scope!r})")


@dataclass(frozen=True)
class _Grant:
    kind: str
    key: str
    fields: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)


@dataclass
class _Flight:
    """One token request in progress; waiters block on (or await) its future."""

    future: concurrent.futures.Future[CachedToken]
    loop: asyncio.AbstractEventLoop | None


class _LeaderCancelled(Exception):
    """The caller fetching a token was cancelled; its waiters try again themselves."""


class LwaClient:
    """Fetches and caches LWA access tokens for one app (client id + secret).

    ``store`` shares tokens across processes (see ``sellerkit.auth.stores``); every client also
    keeps an in-process copy. ``clock``, ``sleep``, ``async_sleep`` and ``random`` are injectable
    so tests can pin expiry and backoff.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: Secret | str,
        *,
        endpoint: str = DEFAULT_LWA_ENDPOINT,
        store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60.0,
        user_agent: str | None = None,
        max_attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not client_id:
            raise ConfigurationError("LWA client id is empty: set client_id (or LWA_APP_ID)")
        if not client_secret or (isinstance(client_secret, Secret) and not client_secret.reveal()):
            raise ConfigurationError(
                "LWA client secret is empty: set client_secret (or LWA_CLIENT_SECRET)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client_id = client_id
        self._client_secret = Secret(client_secret)
        self.endpoint = endpoint
        self.store: TokenStore = store if store is not None else MemoryTokenStore()
        self.refresh_margin = float(refresh_margin)
        self.user_agent = user_agent or (
            f"sellerkit/{__version__} (Language=Python/{platform.python_version()})")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = float(timeout)
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._random = random
        self._local: dict[str, CachedToken] = {}
        self._mutex = threading.Lock()
        self._inflight: dict[str, _Flight] = {}

    def __repr__(self) -> str:
        return (f"LwaClient(client_id={self.client_id!r}, client_secret={self._client_secret!r}, "
                f"endpoint={self.endpoint!r}, store={self.store!r})")

    @property
    def client_secret(self) -> Secret:
        return self._client_secret

    def rotate_client_secret(self, new_secret: Secret | str) -> None:
        """Use a new client secret from now on (after LWA credential rotation).

        Cached tokens stay valid: rotation does not revoke access tokens or refresh tokens.
        """
        if not new_secret:
            raise ConfigurationError("the new LWA client secret is empty")
        self._client_secret = Secret(new_secret)

    # -- public API -------------------------------------------------------------------------

    def cache_key(self, *, refresh_token: Secret | str | None = None, scope: str | None = None
                  ) -> str:
        """The SHA-256 key a token is cached under; safe to log or use as a rate-limit identity."""
        return self._grant_for(refresh_token, scope).key

    def access_token(self, http: SyncHttp, *, refresh_token: Secret | str | None = None,
                     scope: str | None = None, timeout: float | None = None) -> str:
        """An access token for a seller (``refresh_token``) or a grantless ``scope``, within
        ``timeout`` seconds (default: the client's ``timeout``)."""
        grant = self._grant_for(refresh_token, scope)
        deadline = self._deadline(timeout)
        while True:
            cached = self._lookup(grant.key)
            now = self._clock()
            if cached is not None and self._fresh(cached, now):
                return cached.access_token
            flight, leader = self._join(grant.key, None)
            if leader:
                return self._lead_sync(http, grant, flight, deadline).access_token
            if cached is not None and self._usable(cached, now):
                return cached.access_token
            if flight.loop is not None and flight.loop is _running_loop():
                # The leader is a task of the event loop this thread is blocking: waiting for it
                # would deadlock, so fetch without joining the flight.
                token = self._fetch_sync(http, grant, deadline)
                self._remember(grant.key, token)
                return token.access_token
            try:
                return flight.future.result(timeout=max(0.0, deadline - time.monotonic())
                                            ).access_token
            except TimeoutError:
                raise self._waited_too_long(grant, deadline) from None
            except _LeaderCancelled:
                continue
            except Exception as exc:  # noqa: BLE001 - the leader's error, re-raised
                raise _copy(exc) from None

    async def access_token_async(self, http: AsyncHttp, *,
                                 refresh_token: Secret | str | None = None,
                                 scope: str | None = None, timeout: float | None = None) -> str:
        """``access_token`` for asyncio; single-flight across tasks, loops and threads."""
        grant = self._grant_for(refresh_token, scope)
        deadline = self._deadline(timeout)
        loop = asyncio.get_running_loop()
        while True:
            cached = await self._lookup_async(grant.key)
            now = self._clock()
            if cached is not None and self._fresh(cached, now):
                return cached.access_token
            flight, leader = self._join(grant.key, loop)
            if leader:
                return (await self._lead_async(http, grant, flight, deadline)).access_token
            if cached is not None and self._usable(cached, now):
                return cached.access_token
            try:
                # The future is marked running, so cancelling this waiter cannot cancel it.
                return (await asyncio.wait_for(asyncio.wrap_future(flight.future),
                                               max(0.0, deadline - time.monotonic()))
                        ).access_token
            except TimeoutError:
                raise self._waited_too_long(grant, deadline) from None
            except _LeaderCancelled:
                continue
            except Exception as exc:  # noqa: BLE001 - the leader's error, re-raised
                raise _copy(exc) from None

    def invalidate(self, *, refresh_token: Secret | str | None = None, scope: str | None = None,
                   token: str | None = None) -> bool:
        """Drop the cached token so the next call fetches a new one (e.g. after a 403).

        With ``token``, drop it only if it is still the cached one: when many calls fail with the
        same expired token, the first invalidates and refreshes, the others keep the new token.
        Returns whether something was dropped.
        """
        key = self._grant_for(refresh_token, scope).key
        dropped = False
        with self._mutex:
            local = self._local.get(key)
            if local is not None and (token is None or local.access_token == token):
                del self._local[key]
                dropped = True
        stored = self._store_call("get", key)
        if isinstance(stored, CachedToken) and (token is None or stored.access_token == token):
            self._store_call("delete", key)
            dropped = True
        return dropped

    def exchange_authorization_code(self, http: SyncHttp, code: str, redirect_uri: str, *,
                                    timeout: float | None = None) -> TokenGrant:
        """Trade the consent flow's ``spapi_oauth_code`` (valid 5 minutes) for a refresh token.

        The access token that comes with it is cached under the new refresh token.
        """
        grant = self._code_grant(code, redirect_uri)
        result = self._request_sync(http, grant, self._deadline(timeout))
        return self._after_code(result)

    async def exchange_authorization_code_async(self, http: AsyncHttp, code: str,
                                                redirect_uri: str, *,
                                                timeout: float | None = None) -> TokenGrant:
        """``exchange_authorization_code`` for asyncio."""
        grant = self._code_grant(code, redirect_uri)
        result = await self._request_async(http, grant, self._deadline(timeout))
        return self._after_code(result)

    # -- the deadline -------------------------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else max(0.0, timeout))

    def _waited_too_long(self, grant: _Grant, deadline: float) -> ReadTimeoutError:
        return ReadTimeoutError(
            f"LWA token request ({grant.kind} grant) to {self.endpoint} did not complete "
            "within the timeout (another caller's refresh of the same token was still running)",
            method="POST", url=self.endpoint)

    # -- single-flight bookkeeping ------------------------------------------------------------

    def _margin(self, token: CachedToken) -> float:
        if token.issued_at is None:
            return self.refresh_margin
        # A token that lives less than twice the margin is refreshed at half its life instead.
        return min(self.refresh_margin, max(0.0, token.expires_at - token.issued_at) / 2)

    def _fresh(self, token: CachedToken, now: float) -> bool:
        return now < token.expires_at - self._margin(token)

    def _usable(self, token: CachedToken, now: float) -> bool:
        return now < token.expires_at - min(_MIN_VALIDITY, self._margin(token))

    def _lookup(self, key: str) -> CachedToken | None:
        local = self._local.get(key)
        if local is not None and self._fresh(local, self._clock()):
            return local
        stored = self._store_call("get", key)
        return self._adopt(key, local, stored)

    async def _lookup_async(self, key: str) -> CachedToken | None:
        local = self._local.get(key)
        if local is not None and self._fresh(local, self._clock()):
            return local
        if isinstance(self.store, MemoryTokenStore):
            stored = self._store_call("get", key)
        else:  # file or network I/O: keep it off the event loop
            stored = await asyncio.to_thread(self._store_call, "get", key)
        return self._adopt(key, local, stored)

    def _adopt(self, key: str, local: CachedToken | None, stored: Any) -> CachedToken | None:
        if not isinstance(stored, CachedToken):
            return local
        if local is None or stored.expires_at > local.expires_at:
            with self._mutex:
                self._local[key] = stored
            return stored
        return local

    def _join(self, key: str, loop: asyncio.AbstractEventLoop | None) -> tuple[_Flight, bool]:
        with self._mutex:
            flight = self._inflight.get(key)
            if flight is not None:
                return flight, False
            future: concurrent.futures.Future[CachedToken] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()
            flight = _Flight(future, loop)
            self._inflight[key] = flight
            return flight, True

    def _lead_sync(self, http: SyncHttp, grant: _Grant, flight: _Flight, deadline: float
                   ) -> CachedToken:
        try:
            # Double check: another caller (or process, through the store) may have refreshed
            # between our lookup and taking the lead.
            cached = self._lookup(grant.key)
            if cached is not None and self._fresh(cached, self._clock()):
                token = cached
            else:
                token = self._fetch_sync(http, grant, deadline)
        except BaseException as exc:
            self._land(grant.key, flight, error=exc)
            raise
        self._land(grant.key, flight, token=token)
        return token

    async def _lead_async(self, http: AsyncHttp, grant: _Grant, flight: _Flight,
                          deadline: float) -> CachedToken:
        try:
            cached = await self._lookup_async(grant.key)
            if cached is not None and self._fresh(cached, self._clock()):
                token = cached
            else:
                token = await self._fetch_async(http, grant, deadline)
        except BaseException as exc:
            self._land(grant.key, flight, error=exc)
            raise
        self._land(grant.key, flight, token=token)
        return token

    def _land(self, key: str, flight: _Flight, *, token: CachedToken | None = None,
              error: BaseException | None = None) -> None:
        with self._mutex:
            if token is not None:
                self._local[key] = token
            if self._inflight.get(key) is flight:
                del self._inflight[key]
        if token is not None:
            flight.future.set_result(token)
            self._store_call("set", key, token)
        elif isinstance(error, Exception):
            flight.future.set_exception(error)
        else:  # CancelledError, KeyboardInterrupt...: not the waiters' failure
            flight.future.set_exception(_LeaderCancelled())

    def _remember(self, key: str, token: CachedToken) -> None:
        with self._mutex:
            self._local[key] = token
        self._store_call("set", key, token)

    def _store_call(self, method: str, key: str, *args: Any) -> Any:
        try:
            return getattr(self.store, method)(key, *args)
        except Exception as exc:  # noqa: BLE001 - a broken cache must not fail the API call
            log.warning("LWA token store %r: %s failed (%s); continuing without it",
                        self.store, method, type(exc).__name__)
            return None

    # -- requests: pure preparation and interpretation, thin sync/async loops --------------------

    def _grant_for(self, refresh_token: Secret | str | None, scope: str | None) -> _Grant:
        if (refresh_token is None) == (scope is None):
            raise ConfigurationError(
                "pass exactly one of refresh_token (calls for a selling partner) or scope "
                "(grantless calls)")
        if refresh_token is not None:
            value = refresh_token.reveal() if isinstance(refresh_token, Secret) else refresh_token
            if not value:
                raise ConfigurationError(
                    "the refresh token is empty: set refresh_token (or SP_API_REFRESH_TOKEN)")
            return _Grant(REFRESH_TOKEN, self._key(REFRESH_TOKEN, value),
                          {"refresh_token": value}, (value,))
        assert scope is not None
        if not scope.strip():
            raise ConfigurationError("the grantless scope is empty")
        return _Grant(CLIENT_CREDENTIALS, self._key(CLIENT_CREDENTIALS, scope), {"scope": scope},
                      ())

    def _code_grant(self, code: str, redirect_uri: str) -> _Grant:
        if not code:
            raise ConfigurationError("the authorization code (spapi_oauth_code) is empty")
        return _Grant(AUTHORIZATION_CODE, "", {"code": code, "redirect_uri": redirect_uri},
                      (code,))

    def _key(self, kind: str, value: str) -> str:
        material = "\x1f".join(("sellerkit-lwa-v1", self.endpoint, self.client_id, kind, value))
        return hashlib.sha256(material.encode()).hexdigest()

    def _prepare(self, grant: _Grant) -> tuple[bytes, dict[str, str]]:
        form = {"grant_type": grant.kind, **grant.fields, "client_id": self.client_id,
                "client_secret": self._client_secret.reveal()}
        headers = {"content-type": FORM_CONTENT_TYPE, "accept": "application/json",
                   "user-agent": self.user_agent}
        return urlencode(form).encode(), headers

    def _secrets(self, grant: _Grant) -> tuple[str, ...]:
        return (self._client_secret.reveal(), *grant.secrets)

    def _interpret(self, grant: _Grant, status: int, body: bytes) -> TokenGrant | SellerkitError:
        if not 200 <= status < 300:
            return _scrub_lwa(lwa_error_from_response(status, body, self._secrets(grant)),
                              self._secrets(grant))
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(token, str) or not token:
            return LwaError("invalid_response",
                            f"the {grant.kind} response has no access_token "
                            f"({len(body)} bytes, {'JSON' if data is not None else 'not JSON'})",
                            status)
        try:
            expires_in = int(data.get("expires_in", _DEFAULT_EXPIRES_IN))
        except (TypeError, ValueError):
            expires_in = _DEFAULT_EXPIRES_IN
        refresh = data.get("refresh_token")
        return TokenGrant(
            access_token=token,
            refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
            expires_in=expires_in,
            token_type=str(data.get("token_type") or "bearer"),
            scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
        )

    def _transport_error(self, grant: _Grant, exc: httpx.HTTPError
                         ) -> tuple[SellerkitError, bool]:
        """Map an httpx error; the flag says whether the request may have reached LWA."""
        import httpx  # the exception is httpx's: it is loaded

        cls: type[TransportError]
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            cls, sent = ConnectTimeoutError, False
        elif isinstance(exc, httpx.TimeoutException):
            cls, sent = ReadTimeoutError, True
        elif isinstance(exc, httpx.ConnectError):
            cls, sent = ConnectionFailedError, False
        elif isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigurationError(
                f"the LWA endpoint {self.endpoint!r} is not an http(s) URL"), False
        else:
            cls, sent = ConnectionFailedError, True
        detail = _scrub(str(exc), self._secrets(grant))[:300]
        message = (f"LWA token request ({grant.kind} grant) to {self.endpoint} failed: "
                   f"{type(exc).__name__}" + (f": {detail}" if detail else ""))
        return cls(message, method="POST", url=self.endpoint), sent

    def _retry_delay(self, grant: _Grant, outcome: SellerkitError, sent: bool, attempt: int
                     ) -> float | None:
        if attempt >= self.max_attempts:
            return None
        if grant.kind == AUTHORIZATION_CODE:
            # A code works once: if LWA may have seen it, a retry can only fail with invalid_grant.
            retry = isinstance(outcome, TransportError) and not sent
        elif isinstance(outcome, TransportError):
            retry = True
        elif isinstance(outcome, LwaError):
            retry = outcome.retryable or outcome.status == 429
        else:
            retry = False
        if not retry:
            return None
        step = self.backoff * (2 ** (attempt - 1))
        return min(step / 2 + self._random() * step / 2, 10.0)

    def _log(self, grant: _Grant, status: int | str, started: float, attempt: int) -> None:
        log.debug("LWA %s grant: %s in %.1f ms (attempt %d/%d)", grant.kind, status,
                  (time.perf_counter() - started) * 1000, attempt, self.max_attempts)

    def _request_sync(self, http: SyncHttp, grant: _Grant, deadline: float
                      ) -> tuple[TokenGrant, float]:
        wire = _sync_wire(http)
        body, headers = self._prepare(grant)
        attempt = 0
        while True:
            attempt += 1
            issued = self._clock()
            started = time.perf_counter()
            sent = True
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise _no_time_left()
                response = wire.request("POST", self.endpoint, headers=headers, content=body,
                                        timeout=left)
            except _httpx_errors() as exc:
                outcome, sent = self._transport_error(grant, exc)
                self._log(grant, type(exc).__name__, started, attempt)
            else:
                self._log(grant, f"HTTP {response.status_code}", started, attempt)
                result = self._interpret(grant, response.status_code, response.content)
                if isinstance(result, TokenGrant):
                    return result, issued
                outcome = result
            delay = self._retry_delay(grant, outcome, sent, attempt)
            if delay is None or delay >= deadline - time.monotonic():
                raise outcome
            log.warning("LWA %s grant failed (%s); retrying in %.2fs", grant.kind,
                        _short(outcome), delay)
            self._sleep(delay)

    async def _request_async(self, http: AsyncHttp, grant: _Grant, deadline: float
                             ) -> tuple[TokenGrant, float]:
        wire = _async_wire(http)
        body, headers = self._prepare(grant)
        attempt = 0
        while True:
            attempt += 1
            issued = self._clock()
            started = time.perf_counter()
            sent = True
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise _no_time_left()
                response = await wire.request("POST", self.endpoint, headers=headers,
                                              content=body, timeout=left)
            except _httpx_errors() as exc:
                outcome, sent = self._transport_error(grant, exc)
                self._log(grant, type(exc).__name__, started, attempt)
            else:
                self._log(grant, f"HTTP {response.status_code}", started, attempt)
                result = self._interpret(grant, response.status_code, response.content)
                if isinstance(result, TokenGrant):
                    return result, issued
                outcome = result
            delay = self._retry_delay(grant, outcome, sent, attempt)
            if delay is None or delay >= deadline - time.monotonic():
                raise outcome
            log.warning("LWA %s grant failed (%s); retrying in %.2fs", grant.kind,
                        _short(outcome), delay)
            await self._async_sleep(delay)

    def _fetch_sync(self, http: SyncHttp, grant: _Grant, deadline: float) -> CachedToken:
        result, issued = self._request_sync(http, grant, deadline)
        return CachedToken(result.access_token, issued + result.expires_in, issued)

    async def _fetch_async(self, http: AsyncHttp, grant: _Grant, deadline: float
                           ) -> CachedToken:
        result, issued = await self._request_async(http, grant, deadline)
        return CachedToken(result.access_token, issued + result.expires_in, issued)

    def _after_code(self, result: tuple[TokenGrant, float]) -> TokenGrant:
        grant, issued = result
        if grant.refresh_token is None:
            raise LwaError("invalid_response",
                           "the authorization_code response has no refresh_token")
        key = self._grant_for(grant.refresh_token, None).key
        self._remember(key, CachedToken(grant.access_token, issued + grant.expires_in, issued))
        return grant


def _sync_wire(http: SyncHttp) -> _SyncWire:
    """The wire to send on: the client's own, or one over an httpx.Client passed in."""
    httpx = sys.modules.get("httpx")  # not loaded: http cannot be an httpx client
    if httpx is not None and isinstance(http, httpx.Client):
        from sellerkit.client._wire import HttpxWire

        return HttpxWire(http, connect_timeout=http.timeout.connect or DEFAULT_TIMEOUT)
    return cast("_SyncWire", http)


def _async_wire(http: AsyncHttp) -> _AsyncWire:
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(http, httpx.AsyncClient):
        from sellerkit.client._wire_async import AsyncHttpxWire

        return AsyncHttpxWire(http, connect_timeout=http.timeout.connect or DEFAULT_TIMEOUT)
    return cast("_AsyncWire", http)


def _httpx_errors() -> type[httpx.HTTPError]:
    """httpx.HTTPError, imported when a failure is being handled (the wires raise httpx's
    exception types, importing httpx only then)."""
    import httpx

    return httpx.HTTPError


def _no_time_left() -> Exception:
    import httpx

    return httpx.ReadTimeout("no time left within the timeout")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` without the request's secrets, raw or URL/form-encoded (an LWA error may echo
    the form body it got), and without anything shaped like an LWA token or client secret."""
    return scrub_secrets(text, secrets)


def _scrub_lwa(err: LwaError, secrets: tuple[str, ...]) -> LwaError:
    """LWA should not echo credentials in its errors; make sure of it, in the error code and the
    description alike, so the exception's str, repr and pickle never hold one."""
    error = _scrub(err.error, secrets)
    description = _scrub(err.description, secrets)
    if description == err.description and error == err.error:
        return err
    return type(err)(error, description, err.status)


def _short(exc: BaseException) -> str:
    if isinstance(exc, LwaError):
        return f"{exc.error}, HTTP {exc.status}"
    return type(exc).__name__


def _copy(exc: Exception) -> Exception:
    """Each waiter raises its own copy, so concurrent raises do not share one traceback."""
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001 - an exception that cannot be copied is raised as is
        return exc
