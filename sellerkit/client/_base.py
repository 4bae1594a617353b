"""The pure core shared by ``SellingPartner`` and ``AsyncSellingPartner``.

Everything here is free of I/O: resolving settings, validating and serializing a request from the
catalog, choosing the token an operation needs, and turning a response into an ``ApiResponse`` or
an ``ApiError``. The two clients only add the loop that sends (``_client.py`` and ``_aclient.py``
mirror each other line for line).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from sellerkit._secret import Secret
from sellerkit._version import __version__
from sellerkit.catalog import Operation, get_catalog
from sellerkit.catalog.validation import Problem, check_params
from sellerkit.client.options import DEFAULT_OPTIONS, UNSET, CallOptions, _Unset
from sellerkit.client.response import ApiResponse
from sellerkit.client.retry import Failure, RetryPolicy
from sellerkit.errors import (
    ApiError,
    ConfigurationError,
    ConnectionFailedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
    ValidationError,
    api_error_from_response,
)

if TYPE_CHECKING:
    from sellerkit.auth.lwa import LwaClient
    from sellerkit.auth.rdt import RdtCache
    from sellerkit.auth.sigv4 import SigV4Signer
    from sellerkit.config import Settings
    from sellerkit.ratelimit import LimitContext, RateLimiter

log = logging.getLogger("sellerkit.client")

TOKENS_KEY = "tokens_2021_03_01.createRestrictedDataToken"
# Amazon wants the specific path for these RDTs (the document URL is per report).
RDT_SPECIFIC_PATH = frozenset({"reports_2021_06_30.getReportDocument"})


@dataclass(frozen=True)
class Prepared:
    """A request ready to send (minus auth)."""

    operation: Operation | None
    method: str
    path: str  # concrete, encoded
    query: str  # encoded, without '?'
    headers: dict[str, str]
    content: bytes | None

    def url(self, base_url: str) -> str:
        return base_url + self.path + (("?" + self.query) if self.query else "")


def user_agent(app_name: str | None = None, app_version: str | None = None) -> str:
    """``sellerkit/<v> (Language=Python/<x.y>; Platform=<os>)``, then the app when configured.

    Amazon rejects user agents over 500 characters and asks for backslash escapes of ``/`` and
    ``\\`` in the app name and of ``;`` and ``)`` in attribute values.
    """
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    plat = _ua_value(platform.system() or "unknown")
    ua = f"sellerkit/{__version__} (Language=Python/{py}; Platform={plat})"
    if app_name:
        name = app_name.replace("\\", "\\\\").replace("/", "\\/")
        ua += f" {name}/{(app_version or '1.0').replace('(', '_')}"
    return ua[:500]


def _ua_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace(";", "\\;").replace(")", "\\)")


# --------------------------------------------------------------------------------------------
# serialization


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_SEPARATORS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


def encode_path_value(value: Any) -> str:
    """Percent-encode a path parameter: ``/``, spaces, ``#``, ``?`` and non-ASCII all escape,
    so a SKU like ``A/B C#1`` stays one segment."""
    return quote(_scalar_text(value), safe="-_.~")


def build_query(op: Operation, values: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for p in op.params:
        if p.location != "query" or values.get(p.name) is None:
            continue
        v = values[p.name]
        name = quote(p.name, safe="-_.~")
        if p.type == "array":
            items = [_scalar_text(x) for x in v]
            if p.collection_format == "multi":
                parts.extend(f"{name}={quote(x, safe='-_.~')}" for x in items)
            else:
                sep = _SEPARATORS.get(p.collection_format or "csv", ",")
                parts.append(f"{name}={quote(sep.join(items), safe='-_.~')}")
        else:
            parts.append(f"{name}={quote(_scalar_text(v), safe='-_.~')}")
    return "&".join(parts)


def build_path(op: Operation, values: Mapping[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        return encode_path_value(values[m.group(1)])

    return re.sub(r"\{([^}]+)\}", sub, op.path)


def prepare(op: Operation, values: Mapping[str, Any], options: CallOptions = DEFAULT_OPTIONS
            ) -> Prepared:
    """Validate ``values`` (wire names; ``None`` = absent) and build the request.

    Every problem is reported at once in a ``ValidationError``; nothing is added that the
    caller did not ask for (no marketplace defaults, no body on a GET).
    """
    clean = {k: v for k, v in values.items() if v is not None}
    problems: list[Problem] = check_params(op, clean)
    if problems:
        raise ValidationError(op.key, problems)
    headers: dict[str, str] = {}
    for p in op.params:
        if p.location == "header" and p.name in clean:
            headers[p.name] = _scalar_text(clean[p.name])
    content: bytes | None = None
    body_param = op.body_param
    if body_param is not None and body_param.name in clean:
        body = clean[body_param.name]
        ctype = next((c for c in op.consumes if "json" in c), None) or (
            op.consumes[0] if op.consumes else "application/json")
        if isinstance(body, bytes):
            content = body
        elif isinstance(body, str) and "json" not in ctype:
            content = body.encode("utf-8")
        else:
            try:
                content = json.dumps(body, separators=(",", ":"), ensure_ascii=False,
                                     default=_json_default).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise ValidationError(op.key, [Problem(body_param.name,
                                                       f"is not JSON-serializable: {exc}")]
                                      ) from None
            ctype = ctype if "json" in ctype else "application/json"
        headers["content-type"] = ctype
    headers.update(options.headers)
    return Prepared(op, op.method, build_path(op, clean), build_query(op, clean), headers,
                    content)


def _json_default(o: Any) -> Any:
    if isinstance(o, (datetime, date)):
        return _scalar_text(o)
    if isinstance(o, Secret):
        raise TypeError("a Secret cannot be sent in a request body")
    raise TypeError(f"{type(o).__name__} is not JSON-serializable")


def values_from_python(op: Operation, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map snake_case keyword arguments (``marketplace_ids``) to wire names (``MarketplaceIds``).
    Wire names are accepted too; anything else is reported by validation."""
    out: dict[str, Any] = {}
    by_py = op.params_by_py_name
    for k, v in kwargs.items():
        p = by_py.get(k)
        out[p.name if p is not None else k] = v
    return out


# --------------------------------------------------------------------------------------------
# responses


def interpret(status: int, headers: Mapping[str, str], content: bytes, operation: str | None
              ) -> ApiResponse:
    """A 2xx response becomes an ApiResponse; anything else raises the matching ApiError."""
    if 200 <= status < 300:
        payload: Any = None
        ctype = headers.get("content-type", "")
        raw = b""
        if content:
            if "json" in ctype or (not ctype and content[:1] in (b"{", b"[")):
                try:
                    payload = json.loads(content)
                except ValueError:
                    raw = content
            else:
                raw = content
        return ApiResponse(status, headers, payload, raw, operation)
    raise api_error_from_response(status, content, headers, operation)


def failure_of(exc: BaseException | None, status: int | None = None,
               headers: Mapping[str, str] | None = None) -> Failure:
    if exc is not None:
        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout,
                                    httpx.PoolTimeout))
        return Failure(status=None, sent=sent)
    h = {k.lower(): v for k, v in (headers or {}).items()}
    rl = h.get("x-amzn-ratelimit-limit")
    ra = h.get("retry-after")
    return Failure(status=status, sent=True, rate_limit=_float(rl), retry_after=_float(ra))


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def transport_error(exc: httpx.HTTPError, method: str, path: str) -> TransportError:
    """Map an httpx failure; the message names method and path, never headers or tokens."""
    where = f"{method} {path}"
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ConnectTimeoutError(f"{where}: timed out connecting ({type(exc).__name__})",
                                   method=method, url=path)
    if isinstance(exc, httpx.TimeoutException):
        return ReadTimeoutError(f"{where}: no response within the timeout", method=method,
                                url=path)
    return ConnectionFailedError(f"{where}: {type(exc).__name__}: {exc}", method=method,
                                 url=path)


# --------------------------------------------------------------------------------------------
# the shared client state


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


class BaseClient:
    """Settings, catalog and auth state common to both clients. No I/O here."""

    _resources_module: str = ""

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        refresh_token: str | Secret | None = None,
        region: str | None = None,
        marketplace: str | None = None,
        endpoint: str | None = None,
        lwa_endpoint: str | None = None,
        profile: str | None = None,
        sandbox: bool | None = None,
        transport: Any = None,
        rate_limiter: RateLimiter | bool | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        max_wait: float | None = None,
        token_store: Any = None,
        settings: Settings | None = None,
        **more: Any,
    ) -> None:
        from sellerkit.config import load_settings

        explicit: dict[str, Any] = {
            k: v for k, v in dict(client_id=client_id, client_secret=client_secret,
                                   refresh_token=refresh_token, region=region,
                                   marketplace=marketplace, endpoint=endpoint,
                                   lwa_endpoint=lwa_endpoint, sandbox=sandbox,
                                   timeout=timeout, max_wait=max_wait, **more).items()
            if v is not None
        }
        self.settings: Settings = settings if settings is not None else load_settings(
            profile=profile, **explicit)
        s = self.settings
        if not s.client_id or not s.client_secret:
            raise ConfigurationError(
                "no LWA credentials: pass client_id= and client_secret= (or set "
                "SELLERKIT_CLIENT_ID / SELLERKIT_CLIENT_SECRET, or LWA_APP_ID / "
                "LWA_CLIENT_SECRET, or a profile in the config file)")
        # Settings arrive converted and checked (types, defaults, URLs, loopback-only http).
        ep = s.resolve_endpoint()
        self.base_url: str = ep.base_url.rstrip("/")
        self.aws_region: str = ep.aws_region
        self.region_name: str = ep.region_name
        self.user_agent = user_agent(s.app_name, s.app_version)
        self.catalog = get_catalog()
        self.timeout: float = s.timeout
        self.connect_timeout: float = s.connect_timeout
        self.max_wait: float = s.max_wait
        self.retry = retry or RetryPolicy(max_attempts=s.max_attempts,
                                          max_retry_time=s.max_retry_time)
        self._transport = transport
        self._refresh_token: Secret | None = s.refresh_token
        self.application_id = _hash("app", s.client_id)
        self.seller_id = (_hash("seller", s.client_id, self._refresh_token.reveal())
                          if self._refresh_token else "")

        from sellerkit.auth.lwa import LwaClient
        from sellerkit.auth.rdt import RdtCache

        store = token_store if token_store is not None else _store_from_setting(s.token_store)
        self.lwa: LwaClient = LwaClient(s.client_id, s.client_secret, endpoint=s.lwa_url,
                                        store=store, user_agent=self.user_agent)
        self.rdt_cache: RdtCache = RdtCache()
        self.signer: SigV4Signer | None = _signer(s, self.aws_region)
        if rate_limiter is None or rate_limiter is True:
            from sellerkit.ratelimit import RateLimiter as _RL

            self.limiter: RateLimiter | None = _RL()
        elif rate_limiter is False:
            self.limiter = None
        else:
            self.limiter = rate_limiter
        # The client saves the snapshot `sellerkit limits` reads only for the in-process limiter
        # it made itself; a limiter passed in (shared, or in Redis) is its owner's to save.
        self._owns_limiter = rate_limiter is None or rate_limiter is True
        self._resources: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} endpoint={self.base_url} region={self.region_name} "
                f"client_id={self.settings.client_id}>")

    # -- resources ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        catalog = get_catalog()
        api_key = catalog.aliases.get(name, name)
        if api_key not in catalog.apis:
            raise AttributeError(f"{type(self).__name__} has no API {name!r}; APIs are named "
                                 "like 'orders_v0' or 'orders' (newest version)")
        res = self._resources.get(api_key)
        if res is None:
            import importlib

            mod = importlib.import_module("sellerkit.client._generated.resources")
            table = getattr(mod, self._resources_module)
            res = table[api_key](self)
            self._resources[api_key] = res
        return res

    # -- pure decisions ----------------------------------------------------------------------
    def operation(self, key: str) -> Operation:
        return self.catalog.operation(key)

    def budget(self, options: CallOptions) -> float:
        t = options.timeout
        return float(t) if not isinstance(t, _Unset) and t is not None else self.timeout

    def wait_bound(self, options: CallOptions) -> float | None:
        """How long a call may wait for rate-limit capacity (None: as long as the quota
        requires). ``CallOptions.max_wait`` first, then ``wait_as_needed()`` (``paginate``,
        ``sellerkit.bulk``), then the client's ``max_wait``. ``timeout`` plays no part: it
        bounds the HTTP attempt, and the wait is not counted against it."""
        mw = options.max_wait
        if not isinstance(mw, _Unset):
            if mw is None:
                return None
            if isinstance(mw, bool) or not isinstance(mw, int | float) or not mw >= 0:
                raise ConfigurationError(
                    f"CallOptions(max_wait={mw!r}) must be a number of seconds >= 0 (0 fails "
                    "fast), or None to wait as long as the quota requires")
            return float(mw)
        from sellerkit.ratelimit import waiting_as_needed

        return None if waiting_as_needed() else self.max_wait

    def attempts(self, options: CallOptions) -> int:
        a = options.max_attempts
        return int(a) if not isinstance(a, _Unset) else self.retry.max_attempts

    def limit_context(self, op: Operation, body: Any) -> LimitContext:
        from sellerkit.ratelimit import LimitContext

        seller = "" if op.grantless_scope else self.seller_id
        return LimitContext(operation=op, seller=seller, application=self.application_id,
                            region=self.region_name, body=body)

    def rdt_resource(self, op: Operation, prepared: Prepared, options: CallOptions
                     ) -> tuple[str, str, tuple[str, ...]] | None:
        """(method, path, data elements) of the RDT a call needs, or None for the plain token."""
        if not op.restricted or not options.rdt or options.restricted_data_token is not UNSET:
            return None
        if not isinstance(options.rdt_data_elements, _Unset):
            elements = tuple(options.rdt_data_elements)
        else:
            elements = op.restricted_data_elements
        path = prepared.path if op.key in RDT_SPECIFIC_PATH else op.path
        return op.method, path, tuple(sorted(elements))

    def auth_headers(self, prepared: Prepared, token: str, url: str) -> dict[str, str]:
        headers = {
            "user-agent": self.user_agent,
            "x-amz-access-token": token,
            "accept": "application/json",
        }
        headers.update(prepared.headers)
        if self.signer is not None:
            headers.update(self.signer.sign(prepared.method, url, headers,
                                            prepared.content or b""))
        return headers

    def http_settings(self) -> dict[str, Any]:
        """Keyword arguments for httpx.Client / AsyncClient: timeouts, proxy, CA bundle."""
        s = self.settings
        kw: dict[str, Any] = {
            "timeout": httpx.Timeout(self.timeout, connect=self.connect_timeout),
            "follow_redirects": False,
        }
        if s.ca_bundle:
            from sellerkit.client._wire import ssl_context

            kw["verify"] = ssl_context(s.ca_bundle)
        if s.proxy:
            kw["proxy"] = s.proxy
        return kw

    def save_limits(self) -> None:
        """Write the rate-limit snapshot for ``sellerkit limits`` (best effort)."""
        if self.limiter is None or not self._owns_limiter:
            return
        try:
            self.limiter.save_snapshot()
        except OSError as exc:  # visibility only; never fail a close over it
            log.debug("could not save the rate-limit snapshot: %s", exc)

    def log_call(self, method: str, path: str, status: int | None, request_id: str | None,
                 started: float, attempt: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s request_id=%s %.1fms attempt=%d", method, path, status,
                      request_id, (time.perf_counter() - started) * 1000, attempt)


def _store_from_setting(value: str | None) -> Any:
    if not value or value == "memory":
        return None
    if value.startswith("file:"):
        from sellerkit.auth.stores import FileTokenStore

        return FileTokenStore(value[5:])
    if value.startswith(("redis://", "rediss://", "unix://")):
        from sellerkit.auth.stores import RedisTokenStore

        return RedisTokenStore(value)
    raise ConfigurationError(f"token_store={value!r} is not understood; use 'memory', "
                             "'file:/path/tokens.json' or 'redis://host:6379/0'")


def _signer(s: Settings, aws_region: str) -> SigV4Signer | None:
    if not s.sigv4:
        return None
    from sellerkit.auth.sigv4 import AssumeRoleCredentials, SigV4Signer, StaticCredentials

    key = s.aws_access_key_id
    secret = s.aws_secret_access_key.reveal() if s.aws_secret_access_key else None
    provider: Any
    if s.role_arn:
        provider = AssumeRoleCredentials(s.role_arn, access_key=key, secret_key=secret)
    elif key and secret:
        token = s.aws_session_token.reveal() if s.aws_session_token else None
        provider = StaticCredentials(key, secret, token)
    else:
        raise ConfigurationError("sigv4 is on but no AWS credentials are set: set "
                                 "SP_API_ACCESS_KEY and SP_API_SECRET_KEY, or SP_API_ROLE_ARN")
    return SigV4Signer(aws_region, provider)


def is_expired_token_error(err: ApiError) -> bool:
    text = f"{err.message} {err.details or ''}".lower()
    return err.status == 403 and ("expired" in text or "invalid" in text and "token" in text)
