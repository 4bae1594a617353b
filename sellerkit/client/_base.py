"""The pure core shared by ``SellingPartner`` and ``AsyncSellingPartner``.

Everything here is free of I/O: resolving settings, validating and serializing a request from the
catalog, choosing the token an operation needs, and turning a response into an ``ApiResponse`` or
an ``ApiError``. The two clients only add the loop that sends (``_client.py`` and ``_aclient.py``
mirror each other line for line).
"""

from __future__ import annotations

import json
import logging
import math
import platform
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from sellerkit._secret import Secret
from sellerkit._version import __version__
from sellerkit.catalog.validation import Problem, check_params
from sellerkit.client.options import (
    DEFAULT_OPTIONS,
    UNSET,
    CallOptions,
    _Unset,
    check_call_options,
    header_problem,
)
from sellerkit.client.response import ApiResponse
from sellerkit.errors import (
    ApiError,
    ClientClosedError,
    ConfigurationError,
    ConnectionFailedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
    ValidationError,
    api_error_from_response,
)

if TYPE_CHECKING:
    import httpx

    from sellerkit.auth.lwa import LwaClient
    from sellerkit.auth.rdt import RdtCache
    from sellerkit.auth.sigv4 import SigV4Signer
    from sellerkit.catalog import Operation
    from sellerkit.client.retry import Failure, RetryPolicy
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
        for what, value in (("app_name", app_name), ("app_version", app_version or "")):
            if any(not c.isprintable() for c in value):
                raise ConfigurationError(
                    f"{what} {value!r:.40} holds a line break or control character; it goes "
                    "into the User-Agent header: use plain text such as 'MyTool'")
        name = app_name.replace("\\", "\\\\").replace("/", "\\/")
        ua += f" {name}/{(app_version or '1.0').replace('(', '_')}"
        # HTTP headers are ASCII here: other characters travel percent-encoded.
        ua = quote(ua, safe=" !\"#$&'()*+,/:;<=>?@[\\]^_`{|}~-.%")
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
    so a SKU like ``A/B C#1`` stays one segment. A value of only dots (``.``, ``..``) is
    escaped too, so no server or proxy takes it for a relative path segment."""
    encoded = quote(_scalar_text(value), safe="-_.~")
    if encoded and encoded.strip(".") == "":
        return "%2E" * len(encoded)
    return encoded


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
    code_problems = _marketplace_codes_to_ids(op, clean)
    problems: list[Problem] = code_problems + check_params(op, clean)
    if problems:
        raise ValidationError(op.key, problems)
    headers: dict[str, str] = {}
    for p in op.params:
        if p.location == "header" and p.name in clean:
            headers[p.name] = _scalar_text(clean[p.name])
            problem = header_problem(p.name, headers[p.name])
            if problem:
                problems.append(Problem(p.name, problem))
    if problems:
        raise ValidationError(op.key, problems)
    content: bytes | None = None
    body_param = op.body_param
    if body_param is not None and body_param.name in clean:
        body = clean[body_param.name]
        ctype = next((c for c in op.consumes if "json" in c), None) or (
            op.consumes[0] if op.consumes else "application/json")
        if isinstance(body, bytes):
            content = body
        elif isinstance(body, str) and "json" not in ctype:
            if not _utf8(body):
                raise ValidationError(op.key, [Problem(body_param.name, "is not valid Unicode "
                                                                        "text (a lone surrogate)")])
            content = body.encode("utf-8")
        else:
            content = json_body(body, op.key, body_param.name)
            ctype = ctype if "json" in ctype else "application/json"
        headers["content-type"] = ctype
    headers.update(options.headers)
    path, query = build_path(op, clean), build_query(op, clean)
    _check_length(op.key, path, query)
    return Prepared(op, op.method, path, query, headers, content)


MAX_TARGET = 60_000
"""Characters of path and query together: httpx refuses URLs over 65,536 characters (with the
endpoint), and servers refuse far shorter ones; a longer request is a ValidationError here."""


def _check_length(what: str, path: str, query: str) -> None:
    n = len(path) + len(query)
    if n > MAX_TARGET:
        raise ValidationError(what, [Problem(
            "url", f"the path and query would be {n:,} characters, more than {MAX_TARGET:,}; "
                   "split long lists over several calls")])


def json_body(body: Any, what: str, name: str = "body") -> bytes:
    """``body`` as compact UTF-8 JSON; anything JSON cannot carry (NaN, infinity, sets, objects)
    is a ValidationError before anything is sent."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=_json_default).encode("utf-8")
    except ValueError as exc:
        text = str(exc)
        if isinstance(exc, UnicodeEncodeError):
            text = "it holds text that is not valid Unicode (a lone surrogate)"
        elif "Out of range float" in text:
            text = ("contains NaN or infinity, which JSON cannot carry; send a finite number or "
                    "leave the field out")
        raise ValidationError(what, [Problem(name, f"is not valid JSON: {text}")]) from None
    except (TypeError, RecursionError) as exc:
        raise ValidationError(what, [Problem(
            name, f"is not JSON-serializable: {exc} (use dicts, lists, str, int, float, bool, "
                  "None and datetime)")]) from None


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def url_problem(text: str) -> str:
    """What makes a path or URL unsendable (control characters, spaces, non-ASCII), or ''."""
    for i, c in enumerate(text):
        if c in "\r\n":
            return (f"contains a line break at position {i}; a URL never holds CR or LF "
                    "(percent-encode data as %0D / %0A)")
        if ord(c) < 0x21 or ord(c) == 0x7F:
            return (f"contains {'a space' if c == ' ' else 'a control character'} at position "
                    f"{i}; percent-encode it (urllib.parse.quote)")
        if ord(c) > 0x7E:
            return (f"contains the non-ASCII character {c!r} at position {i}; percent-encode it "
                    "(urllib.parse.quote)")
    return ""


def _query_value(v: Any) -> str | None:
    """A raw query value as text, or None when it is not a scalar the API can take."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, str) and not _utf8(v):
        return None
    if isinstance(v, str | int | float | bool | datetime | date):
        return _scalar_text(v)
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def prepare_raw(catalog: Any, method: Any, path: Any, params: Any, json_value: Any,
                headers: Any, options: CallOptions) -> Prepared:
    """Check and build the request of ``request()``: every mistake in the arguments is one
    ValidationError (method, path, params, headers, body) before anything is sent. The
    operation is looked up by method and path (None when the catalog does not know it)."""
    what = f"{_printable(method)[:20]} {_printable(path)[:80]}"
    problems: list[Problem] = []
    m = method.upper() if isinstance(method, str) else ""
    if m not in _METHODS:
        problems.append(Problem("method", f"{method!r:.40} is not an HTTP method; use one of "
                                          f"{', '.join(sorted(_METHODS))}"))
    query_parts: list[str] = []
    bare = ""
    if not isinstance(path, str):
        problems.append(Problem("path", f"must be a str such as '/orders/v0/orders', got "
                                        f"{type(path).__name__}"))
    elif not path.startswith("/"):
        hint = (" (pass only the path: the client adds its endpoint)" if "://" in path
                else "")
        problems.append(Problem("path", f"{path!r:.60} must start with '/'{hint}"))
    else:
        problem = url_problem(path)
        if problem:
            problems.append(Problem("path", problem))
        bare, _, inline = path.partition("?")
        if inline:
            query_parts.append(inline)
    if params is not None:
        if not isinstance(params, Mapping):
            problems.append(Problem("params", f"must be a dict of query parameters such as "
                                              f"{{'MarketplaceIds': 'ATVPDKIKX0DER'}}, got "
                                              f"{type(params).__name__} {params!r:.30}"))
        else:
            for k, v in params.items():
                if not isinstance(k, str) or not k or not _utf8(k):
                    problems.append(Problem("params", f"parameter names must be non-empty str "
                                                      f"(valid Unicode), got {k!r:.30}"))
                    continue
                if v is None:
                    continue
                values = list(v) if isinstance(v, list | tuple) else [v]
                for item in values:
                    text = _query_value(item)
                    if text is None:
                        problems.append(Problem(k, f"must be a str, number, bool, date or a list "
                                                   f"of them (finite numbers, valid Unicode), "
                                                   f"got {type(item).__name__} {item!r:.30}"))
                    else:
                        query_parts.append(f"{quote(k, safe='-_.~')}={quote(text, safe='-_.~')}")
    hdrs: dict[str, str] = {}
    if headers is not None:
        if not isinstance(headers, Mapping):
            problems.append(Problem("headers", f"must be a dict of header name to str value, "
                                               f"got {type(headers).__name__}"))
        else:
            for k, v in headers.items():
                problem = header_problem(k, v)
                if problem:
                    problems.append(Problem("headers", problem))
                else:
                    hdrs[k] = v
    content = None
    if json_value is not None:
        try:
            content = json_body(json_value, what, "json")
        except ValidationError as exc:
            problems.extend(exc.problems)
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["content-type"] = "application/json"
    if problems:
        raise ValidationError(what, problems)
    hdrs.update(options.headers)
    _check_length(what, bare, "&".join(query_parts))
    found = catalog.match(m, bare)
    return Prepared(found[0] if found else None, m, bare, "&".join(query_parts), hdrs, content)


def scrub_url_values(body: bytes, url: str) -> bytes:
    """``body`` (a document host's error) without the values of ``url``'s query: an S3 error such
    as SignatureDoesNotMatch echoes the signature and the security token it was sent."""
    from urllib.parse import parse_qsl

    query = url.partition("?")[2]
    for _, value in parse_qsl(query, keep_blank_values=False):
        for form in {value, quote(value, safe=""), quote(value, safe="/")}:
            if len(form) >= 6:
                body = body.replace(form.encode("utf-8", "replace"), b"<redacted>")
    return body


def gunzip_document(data: bytes) -> bytes:
    """Decompress a GZIP document; a document that is not GZIP is a ValidationError."""
    import gzip
    import zlib

    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValidationError("download", [Problem(
            "compression", f"the document is not valid GZIP ({type(exc).__name__}: {exc}); "
                           "pass the compressionAlgorithm of its getReportDocument answer, or "
                           "None when there is none")]) from None


def _printable(value: Any) -> str:
    """``value`` as one line of text for a message: control characters are escaped."""
    text = value if isinstance(value, str) else repr(value)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_download(url: Any, compression: Any) -> str | None:
    """The checked arguments of ``download()``: an absolute http(s) URL and ``None`` or
    ``"GZIP"`` (the values of a document's ``compressionAlgorithm``). Returns the compression."""
    problems: list[Problem] = []
    if not isinstance(url, str):
        problems.append(Problem("url", f"must be the document's url (a str), got "
                                       f"{type(url).__name__}"))
    else:
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        problem = url_problem(url) if ok else ""
        if ok and not problem:
            try:  # what the wire will need: a valid port and an IDNA-encodable host
                _ = parts.port
                (parts.hostname or "").encode("idna")
            except (ValueError, UnicodeError):
                ok = False
        if ok and not problem and len(url) > MAX_TARGET:
            problem = (f"is {len(url):,} characters, more than {MAX_TARGET:,}; a document URL "
                       "from getReportDocument/getFeedDocument is far shorter")
        if problem:
            problems.append(Problem("url", problem))
        elif not ok:
            shown = url.split("?", 1)[0]  # never the query: it is the document's credential
            problems.append(Problem("url", f"{shown!r:.60} is not an http(s) URL; pass the "
                                           "'url' field of getReportDocument/getFeedDocument"))
    comp: str | None = None
    if compression is not None:
        if isinstance(compression, str) and compression.upper() == "GZIP":
            comp = "GZIP"
        else:
            problems.append(Problem("compression", f"must be None or 'GZIP' (the document's "
                                                   f"compressionAlgorithm), got "
                                                   f"{compression!r:.30}"))
    if problems:
        raise ValidationError("download", problems)
    return comp


def _marketplace_codes_to_ids(op: Operation, clean: dict[str, Any]) -> list[Problem]:
    """Replace marketplace codes (``"US"``, ``"de"``) by ids wherever a request carries
    marketplace ids: the parameters named in ``MARKETPLACE_ID_FIELDS`` and those keys at the top
    of a JSON object body. ``clean`` is changed in place (body dicts are copied first)."""
    from sellerkit.regions import MARKETPLACE_ID_FIELDS, marketplace_id

    problems: list[Problem] = []

    def convert(where: str, value: Any) -> Any:
        try:
            if isinstance(value, str):
                return marketplace_id(value)
            if isinstance(value, (list, tuple)):
                return [marketplace_id(v) if isinstance(v, str) else v for v in value]
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
        return value

    for p in op.params:
        if p.name in clean and p.name in MARKETPLACE_ID_FIELDS and p.location != "body":
            clean[p.name] = convert(p.name, clean[p.name])
    body_param = op.body_param
    body = clean.get(body_param.name) if body_param is not None else None
    if body_param is not None and isinstance(body, Mapping) and \
            MARKETPLACE_ID_FIELDS & set(body):
        body = dict(body)
        for key in MARKETPLACE_ID_FIELDS & set(body):
            body[key] = convert(f"{body_param.name}.{key}", body[key])
        clean[body_param.name] = body
    return problems


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
    from sellerkit.client.retry import Failure

    if exc is not None:
        import httpx  # the failure is an httpx exception: httpx is loaded

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
    import httpx  # the failure is an httpx exception: httpx is loaded

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
    import hashlib

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
        from sellerkit.catalog import get_catalog
        from sellerkit.client.retry import RetryPolicy
        from sellerkit.config import Settings as _Settings
        from sellerkit.config import load_settings

        if settings is not None and not isinstance(settings, _Settings):
            raise ConfigurationError(
                f"settings= takes a sellerkit.config.Settings (from load_settings()), got "
                f"{type(settings).__name__}; or pass the settings as keyword arguments")

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
                "LWA_CLIENT_SECRET, or a profile in the config file)",
                problem="no LWA credentials", missing=("client_id", "client_secret"))
        # Settings arrive converted and checked (types, defaults, URLs, loopback-only http).
        ep = s.resolve_endpoint()
        for what, url in (("endpoint", ep.base_url), ("lwa_endpoint", s.lwa_url),
                          ("proxy", s.proxy or "")):
            problem = url_problem(str(url))
            if problem:
                shown = str(url) if "@" not in str(url) else "***@" + str(url).rsplit("@", 1)[1]
                raise ConfigurationError(f"the {what} URL {_printable(shown)[:80]!r} {problem}")
        self.base_url: str = ep.base_url.rstrip("/")
        self.aws_region: str = ep.aws_region
        self.region_name: str = ep.region_name
        self.user_agent = user_agent(s.app_name, s.app_version)
        self.catalog = get_catalog()
        self.timeout: float = s.timeout
        self.connect_timeout: float = s.connect_timeout
        _check_arguments(self._resources_module == "ASYNC_RESOURCES", retry, rate_limiter,
                         transport, token_store)
        self._closed = False
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

        store = (_store_from_setting(token_store) if isinstance(token_store, str)
                 else token_store if token_store is not None
                 else _store_from_setting(s.token_store))
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
        # set by for_seller(): the seller and its vault connection record (no token in it)
        self.selling_partner_id: str | None = None
        self.connection: Any = None

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} endpoint={self.base_url} region={self.region_name} "
                f"client_id={self.settings.client_id}>")

    # -- resources ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from sellerkit.catalog import get_catalog

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

    def check_open(self) -> None:
        """Raise ClientClosedError after close()/aclose()."""
        if self._closed:
            name = type(self).__name__
            raise ClientClosedError(
                f"this {name} is closed: make a new {name}, or keep the calls inside its "
                f"`with` block (close() ends it)")

    @staticmethod
    def call_options(options: Any) -> CallOptions:
        return check_call_options(options)

    def budget(self, options: CallOptions) -> float:
        t = options.timeout
        return float(t) if not isinstance(t, _Unset) and t is not None else self.timeout

    def wait_bound(self, options: CallOptions) -> float | None:
        """How long a call may wait for rate-limit capacity (None: as long as the quota
        requires). ``CallOptions.max_wait`` first, then ``wait_as_needed()`` (``paginate``,
        ``sellerkit.bulk``), then the client's ``max_wait``. ``timeout`` plays no part: it
        bounds the HTTP attempt, and the wait is not counted against it."""
        mw = options.max_wait  # CallOptions checked it: a number >= 0, math.inf for no bound
        if not isinstance(mw, _Unset):
            return None if mw == math.inf else float(mw)
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
        if not op.restricted_data_elements:
            # Amazon: dataElements apply only to Orders v0 getOrders, getOrder and getOrderItems;
            # any other restricted operation is unlocked by the RDT for its path. Elements asked
            # for here would only make the Tokens API check roles the call does not need.
            elements: tuple[str, ...] = ()
        elif not isinstance(options.rdt_data_elements, _Unset):
            elements = tuple(options.rdt_data_elements)
        else:
            # getOrders, getOrder, getOrderItems answer without buyer data to a plain token; the
            # data elements are opt-in (as in Amazon's SDKs), so an app without the restricted
            # roles is not refused by the Tokens API on its first getOrders.
            return None
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

    def http_settings(self, *, asynchronous: bool) -> dict[str, Any]:
        """Keyword arguments for httpx.Client / AsyncClient: transport, timeouts, proxy, CA
        bundle. Only ``transport=`` and proxies need httpx (and this imports it)."""
        import httpx

        from sellerkit.client._wire import deadline_transport, ssl_context

        s = self.settings
        kw: dict[str, Any] = {
            "timeout": httpx.Timeout(self.timeout, connect=self.connect_timeout),
            "follow_redirects": False,
        }
        verify = ssl_context(s.ca_bundle) if s.ca_bundle else None
        if verify is not None:
            kw["verify"] = verify
        if self._transport is not None:
            kw["transport"] = self._transport
            if s.proxy:
                kw["proxy"] = s.proxy
        elif s.proxy and not asynchronous:
            # sync httpx cannot be interrupted: its sockets get the attempt's deadline instead
            kw["transport"] = deadline_transport(
                proxy=s.proxy, **({"verify": verify} if verify is not None else {}))
        elif s.proxy:
            kw["proxy"] = s.proxy
        return kw

    def save_limits(self) -> None:
        """Write the rate-limit snapshot for ``sellerkit limits`` (best effort)."""
        if self.limiter is None or not self._owns_limiter:
            return
        try:
            if not self.limiter.snapshot():  # a client that sent nothing keeps the last one
                return
            self.limiter.save_snapshot()
        except OSError as exc:  # visibility only; never fail a close over it
            log.debug("could not save the rate-limit snapshot: %s", exc)

    def log_call(self, method: str, path: str, status: int | None, request_id: str | None,
                 started: float, attempt: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s request_id=%s %.1fms attempt=%d", method, path, status,
                      request_id, (time.perf_counter() - started) * 1000, attempt)


def _check_arguments(is_async: bool, retry: Any, rate_limiter: Any, transport: Any,
                     token_store: Any) -> None:
    """Constructor arguments of the wrong type fail here, not at the first call."""
    from sellerkit.client.retry import RetryPolicy

    if retry is not None and not isinstance(retry, RetryPolicy) and not (
            callable(getattr(retry, "delay", None)) and hasattr(retry, "max_attempts")):
        hint = (f"; for {retry} attempts pass max_attempts={retry} or "
                f"retry=RetryPolicy(max_attempts={retry})"
                if isinstance(retry, int) and not isinstance(retry, bool) else "")
        raise ConfigurationError(
            f"retry= takes a RetryPolicy (from sellerkit.client.retry import RetryPolicy), got "
            f"{type(retry).__name__} {retry!r:.30}{hint}")
    needed = ("acquire_async", "record_async") if is_async else ("acquire", "record")
    if rate_limiter is not None and not isinstance(rate_limiter, bool) and not all(
            callable(getattr(rate_limiter, n, None)) for n in needed):
        raise ConfigurationError(
            f"rate_limiter= takes True (the default, an in-process limiter), False (none) or a "
            f"limiter such as RateLimiter() or RedisRateLimiter(...) from sellerkit.ratelimit; "
            f"got {type(rate_limiter).__name__} {rate_limiter!r:.30}")
    if transport is not None:
        import httpx  # transport= is an httpx transport: the caller has httpx loaded

        kind = httpx.AsyncBaseTransport if is_async else httpx.BaseTransport
        if not isinstance(transport, kind):
            other = httpx.BaseTransport if is_async else httpx.AsyncBaseTransport
            hint = (f" (this is a {other.__name__}: it belongs to the "
                    f"{'sync' if is_async else 'async'} client)"
                    if isinstance(transport, other) else "")
            raise ConfigurationError(
                f"transport= takes an httpx.{kind.__name__} (for example "
                f"httpx.MockTransport(handler) in tests), got {type(transport).__name__}{hint}")
    if token_store is not None and not isinstance(token_store, str) and not all(
            callable(getattr(token_store, n, None)) for n in ("get", "set", "delete")):
        raise ConfigurationError(
            "token_store= takes a token store (MemoryTokenStore, FileTokenStore(path), "
            "RedisTokenStore(url) from sellerkit.auth.stores), got "
            f"{type(token_store).__name__} {token_store!r:.30}, or a setting string such as "
            "'file:/path/tokens.json' or 'redis://host:6379/0'")


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
