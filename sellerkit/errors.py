"""One exception tree for everything sellerkit raises.

    SellerkitError
    ├── ConfigurationError            bad or missing settings (credentials, region, files, client
    │                                 arguments, CallOptions fields)
    ├── ValidationError               a request rejected before sending (catalog checks, raw
    │                                 request()/download() arguments); lists every problem
    ├── UnknownOperationError         an operation key the catalog does not know (also a KeyError)
    ├── ClientClosedError             a call on a client after close()/aclose()
    ├── RateLimitWaitError            waiting for rate-limit capacity would exceed the call's max_wait
    │   └── CapacityWaitError         ... and names the limit (bucket) that binds
    ├── AuthError
    │   └── LwaError                  Login with Amazon refused a token request
    │       ├── InvalidClientError    client id / secret wrong or rotated
    │       ├── InvalidGrantError     refresh token or auth code revoked, expired, or for another app
    │       ├── UnauthorizedClientError
    │       ├── InvalidScopeError
    │       ├── InvalidRequestError
    │       ├── LwaThrottledError     HTTP 429 from LWA: too many token requests (retryable)
    │       └── LwaServerError        server_error / temporarily_unavailable (retryable)
    ├── TransportError                the request did not get an HTTP response
    │   ├── ConnectTimeoutError / ReadTimeoutError
    │   └── ConnectionFailedError
    ├── VaultError                    the vault refused or failed (sellerkit.vault)
    │   ├── VaultKeyError             the key-encryption key is missing, wrong or unreachable
    │   ├── AccessDeniedError         the user's role does not allow the action (or no purpose)
    │   ├── AuthenticationError       a log-in or API key was refused (wrong, locked, expired)
    │   └── IntegrityError            the audit chain or a ciphertext failed verification
    └── ApiError                      SP-API answered with an error status
        ├── BadRequestError (400)   ├── ForbiddenError (403)      ├── NotFoundError (404)
        ├── RequestTooLargeError (413) ├── UnsupportedMediaTypeError (415)
        ├── ThrottledError (429)    └── ServerError (5xx)

Every exception pickles (people move them across processes) and never carries a secret: API
errors keep the response body, which SP-API never fills with tokens, and LWA errors keep only
Amazon's error code and description, scrubbed of the credentials of the request (raw,
percent-encoded and form-encoded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AccessDeniedError",
    "ApiError",
    "AuthError",
    "AuthenticationError",
    "BadRequestError",
    "CapacityWaitError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectTimeoutError",
    "ConnectionFailedError",
    "ForbiddenError",
    "IntegrityError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "LwaError",
    "LwaServerError",
    "LwaThrottledError",
    "NotFoundError",
    "RateLimitWaitError",
    "ReadTimeoutError",
    "RequestTooLargeError",
    "SellerkitError",
    "ServerError",
    "ThrottledError",
    "TransportError",
    "UnauthorizedClientError",
    "UnknownOperationError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "VaultError",
    "VaultKeyError",
    "api_error_from_response",
    "lwa_error_from_response",
]


class SellerkitError(Exception):
    """The root of every exception sellerkit raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[SellerkitError], args: tuple[Any, ...], state: dict[str, Any]
             ) -> SellerkitError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, *args)
    obj.__dict__.update(state)
    return obj


class ConfigurationError(SellerkitError):
    """Settings are missing or wrong; the message says which and how to fix them.

    ``missing`` names the settings (``Settings`` fields such as ``"client_id"``) whose absence
    caused the error and ``problem`` says what is wrong without the Python-specific fix, so
    front ends (the CLI) can say how to set them in their own terms (flags, environment
    variables, profile keys)."""

    missing: tuple[str, ...] = ()
    problem: str | None = None

    def __init__(self, *args: Any, missing: Sequence[str] = (), problem: str | None = None
                 ) -> None:
        super().__init__(*args)
        if missing:
            self.missing = tuple(missing)
        if problem is not None:
            self.problem = problem


class ValidationError(SellerkitError, ValueError):
    """The catalog rejected a request before it was sent. ``problems`` lists every issue."""

    def __init__(self, operation: str, problems: Sequence[Any]) -> None:
        self.operation = operation
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid request for {operation} ({len(self.problems)} problem"
                         f"{'s' if len(self.problems) != 1 else ''}):\n{lines}")


class UnknownOperationError(SellerkitError, KeyError):
    """An operation key (``"orders_v0.getOrders"``) that the catalog does not know.

    Also a ``KeyError``, for code that looked operations up in a mapping before.
    """

    def __str__(self) -> str:  # KeyError quotes its argument; we want a readable sentence
        return str(self.args[0]) if self.args else ""


class ClientClosedError(SellerkitError, RuntimeError):
    """A call on a client after ``close()`` / ``aclose()``: make a new client, or keep this one
    open (``with SellingPartner(...) as sp:`` closes it only at the end of the block)."""


class RateLimitWaitError(SellerkitError):
    """Waiting for a rate-limit token would take longer than the call may wait (``max_wait``).

    ``timeout`` never bounds this wait: it bounds one HTTP attempt. ``max_wait`` (per call in
    ``CallOptions``, per client as ``SellingPartner(max_wait=...)``, ``SELLERKIT_MAX_WAIT`` or
    the profile key ``max_wait``) does; ``max_wait=0`` fails fast."""

    def __init__(self, operation: str, wait: float, budget: float | None) -> None:
        self.operation = operation
        self.wait = wait
        self.budget = budget
        super().__init__(
            f"{operation}: the rate limiter would have to wait {wait:.1f}s for capacity, more than "
            f"the {budget if budget is not None else 0:.1f}s this call may wait; {_WAIT_HINT}")


_WAIT_HINT = ("raise max_wait (options=CallOptions(max_wait=...), SellingPartner(max_wait=...) "
              "or SELLERKIT_MAX_WAIT) or spread the calls out")


class CapacityWaitError(RateLimitWaitError):
    """The wait for a token exceeds the call's ``max_wait``; ``layer`` says which limit binds
    (e.g. "per-seller limit of orders_v0.getOrders (1 request per 60s, burst 20)")."""

    def __init__(self, operation: str, wait: float, budget: float | None, layer: str) -> None:
        super().__init__(operation, wait, budget)
        self.layer = layer
        self.args = (
            f"{operation}: the next token of the {layer} is {wait:.1f}s away, more than the "
            f"{budget if budget is not None else 0:.1f}s this call may wait; {_WAIT_HINT}",)

    def __str__(self) -> str:
        return str(self.args[0])


class AuthError(SellerkitError):
    """Authentication or authorization failed before an SP-API call could be made."""


class LwaError(AuthError):
    """Login with Amazon refused a token request."""

    retryable = False
    hint = "check the LWA credentials of this client"

    def __init__(self, error: str, description: str = "", status: int | None = None) -> None:
        self.error = error
        self.description = description
        self.status = status
        detail = f": {description}" if description else ""
        super().__init__(f"LWA error {error!r}{detail} (HTTP {status}). {self.hint}")


class InvalidClientError(LwaError):
    hint = ("The client id or client secret is wrong, or the secret was rotated. Copy both again "
            "from Developer Central (Solution Provider Portal) or your rotation queue.")


class InvalidGrantError(LwaError):
    hint = ("The refresh token (or authorization code) is revoked, expired, or belongs to another "
            "app. Ask the selling partner to authorize the app again; retrying will not help.")


class UnauthorizedClientError(LwaError):
    hint = ("This app may not use this grant: check that the app is registered for SP-API and, "
            "for grantless calls, that it may request this scope.")


class InvalidScopeError(LwaError):
    hint = "The scope asked for does not exist or is not allowed for this app."


class InvalidRequestError(LwaError):
    hint = "The token request was malformed: a parameter is missing or duplicated."


class LwaThrottledError(LwaError):
    """HTTP 429 from Login with Amazon: this app asked for too many tokens too fast."""

    retryable = True
    hint = ("Login with Amazon is throttling token requests: slow down. Reuse access tokens "
            "(they live an hour; one client per process caches them, and token_store= shares "
            "them between processes) instead of creating a client per call.")


class LwaServerError(LwaError):
    retryable = True
    hint = "Login with Amazon is having trouble; the call is retried with backoff."


_LWA_CODES: dict[str, type[LwaError]] = {
    "invalid_client": InvalidClientError,
    "invalid_grant": InvalidGrantError,
    "unauthorized_client": UnauthorizedClientError,
    "access_denied": UnauthorizedClientError,
    "invalid_scope": InvalidScopeError,
    "invalid_request": InvalidRequestError,
    "server_error": LwaServerError,
    "temporarily_unavailable": LwaServerError,
}


def lwa_error_from_response(status: int, body: bytes, secrets: Sequence[str] = ()) -> LwaError:
    """Map an LWA error response (``{"error", "error_description"}``) to its exception.

    ``secrets`` (the client secret, refresh token or code of the request) are masked in the error
    code and description, in every URL/form encoding, before anything is shortened, so no part of
    one survives in the exception's str, repr or pickle.
    """
    error, description = "unknown_error", ""
    try:
        data = json.loads(body) if body else {}
        if isinstance(data, dict):
            error = str(data.get("error") or error)
            description = str(data.get("error_description") or "")
    except ValueError:
        description = f"non-JSON response of {len(body)} bytes"
    cls = _LWA_CODES.get(error)
    if status == 429:
        # Throttling, whatever the body says: the credentials may be fine, the rate is not.
        cls = LwaThrottledError
        if error == "unknown_error":
            error = "too_many_requests"
    elif cls is None:
        cls = LwaServerError if status >= 500 else LwaError
    from sellerkit._log import scrub_secrets

    secrets = tuple(secrets)
    # Bounded before the scan (a body can be large); only the first 500 characters are kept.
    error, description = error[:2000], description[:20000]
    return cls(scrub_secrets(error, secrets)[:100], scrub_secrets(description, secrets)[:500],
               status)


class VaultError(SellerkitError):
    """The vault refused an action or could not complete it; the message says what to do."""


class VaultKeyError(VaultError):
    """The key-encryption key is missing, wrong for this vault, or its provider is unreachable."""


class AccessDeniedError(VaultError, PermissionError):
    """The acting user's role does not allow the action, or a PII read stated no purpose."""


class AuthenticationError(VaultError):
    """A password, API key or second factor was refused, or the account is locked or disabled."""


class IntegrityError(VaultError):
    """Stored data failed verification: an audit entry edited, deleted, inserted or reordered, or
    a ciphertext that does not belong to its row."""


class TransportError(SellerkitError):
    """The request got no HTTP response (connection refused, reset, timed out...)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class ConnectTimeoutError(TransportError):
    """Connecting took longer than the connect timeout; nothing was sent."""


class ReadTimeoutError(TransportError):
    """The request was sent but no response arrived within the timeout."""


class ConnectionFailedError(TransportError):
    """The connection could not be made or broke."""


class ApiError(SellerkitError):
    """SP-API answered with an error status.

    ``status``, ``code``, ``message`` and ``details`` come from the first error of the body;
    ``errors`` holds all of them; ``request_id`` is ``x-amzn-RequestId`` (quote it to Amazon
    support); ``body`` is the raw response body.
    """

    def __init__(self, status: int, *, code: str = "", message: str = "", details: Any = None,
                 errors: Sequence[Mapping[str, Any]] = (), request_id: str | None = None,
                 body: bytes = b"", headers: Mapping[str, str] | None = None,
                 operation: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.errors = [dict(e) for e in errors]
        self.request_id = request_id
        self.body = body
        self.headers = dict(headers or {})
        self.operation = operation
        where = f"{operation}: " if operation else ""
        what = f"{code}: {message}" if code else (message or "no error body")
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{where}HTTP {status} {what}{rid}")

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class BadRequestError(ApiError):
    """400: a parameter is missing or invalid."""


class ForbiddenError(ApiError):
    """403: access denied, expired or invalid token, or a missing role."""


class NotFoundError(ApiError):
    """404: the resource does not exist."""


class RequestTooLargeError(ApiError):
    """413: the request body is too large."""


class UnsupportedMediaTypeError(ApiError):
    """415: the Content-Type is not accepted."""


class ThrottledError(ApiError):
    """429: the rate limit was exceeded."""


class ServerError(ApiError):
    """5xx: SP-API failed; retried with backoff."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    403: ForbiddenError,
    404: NotFoundError,
    413: RequestTooLargeError,
    415: UnsupportedMediaTypeError,
    429: ThrottledError,
}


def api_error_from_response(status: int, body: bytes, headers: Mapping[str, str],
                            operation: str | None = None) -> ApiError:
    """Build the right ApiError from a response; empty and non-JSON bodies are handled."""
    errors: list[Mapping[str, Any]] = []
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw = data.get("errors")
        if isinstance(raw, list):
            errors = [e for e in raw if isinstance(e, dict)]
        elif isinstance(raw, dict):
            errors = [raw]
        elif "message" in data or "code" in data:
            errors = [data]
    elif isinstance(data, list):
        errors = [e for e in data if isinstance(e, dict)]
    first = errors[0] if errors else {}
    message = str(first.get("message") or "")
    if not errors and body and data is None:
        text = body[:200].decode("utf-8", "replace").strip()
        message = f"non-JSON error body: {text}"
    lower = {k.lower(): v for k, v in headers.items()}
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(
        status,
        code=str(first.get("code") or ""),
        message=message,
        details=first.get("details"),
        errors=errors,
        request_id=lower.get("x-amzn-requestid"),
        body=bytes(body),
        headers=lower,
        operation=operation,
    )
