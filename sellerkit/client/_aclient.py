"""``AsyncSellingPartner``: the asyncio client.

This file is the source of truth for the request loop; ``_client.py`` (the sync client) is
generated from it by ``tools/unasync.py`` and checked in CI, so the two never drift.
"""

from __future__ import annotations

import asyncio
import json as _json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from sellerkit._log import hide_url_in_logs
from sellerkit.client._base import (
    TOKENS_KEY,
    BaseClient,
    Prepared,
    check_download,
    failure_of,
    gunzip_document,
    interpret,
    is_expired_token_error,
    prepare,
    prepare_raw,
    scrub_url_values,
    transport_error,
    values_from_python,
)
from sellerkit.client._generated.attributes import AsyncResourceAttributes
from sellerkit.client._lazy import hx
from sellerkit.client.options import UNSET, CallOptions
from sellerkit.client.response import ApiResponse
from sellerkit.errors import (
    ApiError,
    ConfigurationError,
    ForbiddenError,
    SellerkitError,
    ValidationError,
)

if TYPE_CHECKING:
    import httpx

    from sellerkit.catalog import Operation
    from sellerkit.client._wire_async import AsyncHttpxStream, AsyncHttpxWire, AsyncPool, AsyncStream
    from sellerkit.vault import Principal, Vault

log = logging.getLogger("sellerkit.client")


class AsyncSellingPartner(BaseClient, AsyncResourceAttributes):
    """The asyncio SP-API client. Same surface as ``SellingPartner``, with ``await``.

        async with AsyncSellingPartner(client_id=..., client_secret=..., refresh_token=...,
                                       marketplace="US") as sp:
            r = await sp.orders_v0.get_orders(marketplace_ids=["ATVPDKIKX0DER"],
                                              created_after="2026-01-01T00:00:00Z")
    """

    _resources_module = "ASYNC_RESOURCES"

    def __init__(self, **kwargs: Any) -> None:
        from sellerkit.client._wire_async import AsyncHttpxWire, AsyncPool

        super().__init__(**kwargs)
        # Every request (API calls, LWA, RDTs, downloads) goes through our own keep-alive pool
        # (bench/clients.py: httpx's pool is the bottleneck, and importing httpx costs ~100 ms);
        # an httpx client is built only for transport= (the test seam) and proxies.
        self._httpx: httpx.AsyncClient | None = None
        self._wire: AsyncPool | AsyncHttpxWire = (
            AsyncPool(connect_timeout=self.connect_timeout,
                      ca_bundle=self.settings.ca_bundle)
            if self._transport is None and not self.settings.proxy
            else AsyncHttpxWire(self._http, self.connect_timeout))
        self._rdt_locks: dict[tuple[str, str, tuple[str, ...]], asyncio.Lock] = {}

    @classmethod
    def for_seller(cls, selling_partner_id: str, region: str, *, vault: Vault | str | None = None,
                   profile: str | None = None, actor: Principal | None = None, **kwargs: Any
                   ) -> AsyncSellingPartner:
        """A client for a seller whose connection (authorization of this app) is stored in the
        vault: ``AsyncSellingPartner.for_seller("A1...", "NA")``. The refresh token is read
        from the vault (decrypted, audited with the purpose "api calls"); the app's client id
        and secret come from ``profile``, the environment or ``kwargs``, and must be the app
        the seller authorized. ``vault`` is a ``Vault`` or its URL (default: the default
        vault); ``actor`` the vault principal reading the token (default: the system)."""
        from sellerkit.client._for_seller import connection_kwargs

        found = connection_kwargs(selling_partner_id, region, vault=vault, profile=profile,
                                  actor=actor, kwargs=kwargs)
        client = cls(**found.kwargs)
        client.selling_partner_id = found.selling_partner_id
        client.connection = found.info
        return client

    @property
    def _http(self) -> httpx.AsyncClient:
        """The httpx client under ``transport=`` or a proxy, built on first use."""
        if self._httpx is None:
            import httpx

            self._httpx = httpx.AsyncClient(**self.http_settings(asynchronous=True))
        return self._httpx

    async def aclose(self) -> None:
        self._closed = True
        await self._wire.aclose()
        if self._httpx is not None:
            await self._httpx.aclose()
        self.save_limits()

    async def __aenter__(self) -> AsyncSellingPartner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public calls ------------------------------------------------------------------------
    async def call(self, key: str, *, options: CallOptions | None = None, **params: Any
                   ) -> ApiResponse:
        """Call an operation by key with wire-named parameters:
        ``sp.call("orders_v0.getOrders", MarketplaceIds=[...], CreatedAfter=...)``."""
        self.check_open()
        op = self.operation(key)
        return await self._call_op(op, params, options)

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, headers: Mapping[str, str] | None = None,
                      options: CallOptions | None = None) -> ApiResponse:
        """The raw escape hatch: any method and path, no catalog validation. Auth, rate limits
        and retries still apply (the operation is looked up by path when it is known).
        ``params`` values are str, numbers, bools, dates or lists of them (a list repeats the
        key); ``None`` leaves a parameter out. Mistakes raise ValidationError before sending."""
        self.check_open()
        options = self.call_options(options)
        prepared = prepare_raw(self.catalog, method, path, params, json, headers, options)
        return await self._send(prepared.operation, prepared, options)

    async def paginate(self, target: str | Callable[..., Any], *,
                       items: bool | str = False, options: CallOptions | None = None,
                       **params: Any) -> AsyncIterator[Any]:
        """Follow an operation's next tokens. ``target`` is a key (``"orders_v0.getOrders"``,
        wire-named params) or a resource method (``sp.orders_v0.get_orders``, snake_case
        params). Yields each page (``ApiResponse``), or each item with ``items=True`` (or the
        name of the list field). Stops at the last page, or at a token seen before."""
        op, values = self._paging_target(target, params)
        pag = op.pagination
        if pag is None:
            raise ConfigurationError(f"{op.key} does not paginate")
        from sellerkit.ratelimit import wait_as_needed

        seen: set[str] = set()
        while True:
            with wait_as_needed():  # a page waits as long as the quota requires
                page = await self._call_op(op, values, options)
            if items:
                for item in _page_items(page, items):
                    yield item
            else:
                yield page
            token = pag.token_from(page.body)
            if token is None:
                return
            if token in seen:
                log.warning("%s returned a next token it had returned before; stopping", op.key)
                return
            seen.add(token)
            values = _next_values(op, values, token)

    async def download(self, url: str, *, compression: str | None = None) -> bytes:
        """Fetch a report or feed document from its presigned URL with this client's network
        settings (timeouts, proxy, CA bundle). No SP-API token is sent to the document host.
        ``timeout`` bounds the whole download (connect to last byte). ``compression`` is the
        document's ``compressionAlgorithm``: None or ``"GZIP"``. The URL (a bearer credential)
        is never logged, not even by httpx. The whole document is held in memory: for a large
        one, ``stream_download`` reads it as it arrives."""
        self.check_open()
        compression = check_download(url, compression)
        try:
            with hide_url_in_logs():
                resp = await self._wire.request("GET", url,
                                                headers={"user-agent": self.user_agent},
                                                content=None, timeout=self.timeout)
        except hx.HTTPError as exc:
            raise transport_error(exc, "GET", "<document url>") from None
        data = resp.content
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, message="document download failed",
                           body=scrub_url_values(data[:2000], url), headers=resp.headers)
        if compression == "GZIP":
            data = gunzip_document(data)
        return data

    def stream_download(self, url: str, *, timeout: float | None = None
                        ) -> AsyncDownloadStream:
        """Open a report or feed document's presigned URL and read its body as it arrives::

            async with sp.stream_download(url) as dl:
                dl.status, dl.content_type, dl.content_encoding
                async for chunk in dl.iter_bytes():
                    ...

        The chunks are the body as sent (at most 256 KiB each; no decompression: ``Document``
        finds gzip by its magic bytes), so memory stays bounded whatever the document's size.
        It goes through this client's keep-alive pool, proxy and CA bundle; no SP-API token is
        sent, and the URL (a bearer credential) is never logged. An answer of 400 or more
        raises ``ApiError`` (its body without the URL's signature) when the download opens.

        ``timeout`` (default: the client's) bounds the exchange up to the response's headers,
        like any call; then the body must keep coming: each 64 KiB (or the rest of the body)
        must arrive within ``timeout``, so a long download is not cut off while data flows,
        and a server that stalls or trickles ends it with ``ReadTimeoutError``. The connection
        is reused only when the body was read to its end; leaving the block early closes it.
        """
        self.check_open()
        check_download(url, None)
        if timeout is not None and (isinstance(timeout, bool) or
                                    not isinstance(timeout, int | float) or not timeout > 0):
            raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        return AsyncDownloadStream(self, url, self.timeout if timeout is None else float(timeout))

    # -- the pipeline ------------------------------------------------------------------------
    async def _invoke(self, key: str, kwargs: Mapping[str, Any], options: CallOptions | None
                      ) -> ApiResponse:
        op = self.operation(key)
        return await self._call_op(op, kwargs, options)

    async def _call_op(self, op: Operation, values: Mapping[str, Any],
                       options: CallOptions | None) -> ApiResponse:
        self.check_open()
        options = self.call_options(options)
        prepared = prepare(op, values, options)
        return await self._send(op, prepared, options)

    async def _send(self, op: Operation | None, prepared: Prepared, options: CallOptions
                    ) -> ApiResponse:
        budget = self.budget(options)
        max_wait = self.wait_bound(options)
        max_attempts = self.attempts(options)
        started = time.monotonic()
        url = prepared.url(self.base_url)
        ctx = None
        if self.limiter is not None and op is not None:
            body = _json.loads(prepared.content) if op.key.endswith(".createReport") and \
                prepared.content else None
            ctx = self.limit_context(op, body)
        key = op.key if op is not None else f"{prepared.method} {prepared.path}"
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            t0 = time.perf_counter()
            token = await self._token(op, prepared, options, budget)
            if ctx is not None and self.limiter is not None:
                # waiting for quota is bounded by max_wait, never by (or out of) the timeout
                waiting = time.monotonic()
                await self.limiter.acquire_async(ctx, max_wait=max_wait)
                started += time.monotonic() - waiting
            headers = self.auth_headers(prepared, token, url)
            try:
                # timeout: a deadline for this HTTP attempt (connect, send, read), apart from
                # the wait for quota above and from the token fetch (bounded on its own).
                resp = await self._wire.request(
                    prepared.method, url, headers=headers, content=prepared.content,
                    timeout=budget)
                content = resp.content
            except hx.HTTPError as exc:
                self.log_call(prepared.method, prepared.path, None, None, t0, attempt)
                delay = self.retry.delay(attempt=attempt, method=prepared.method,
                                         failure=failure_of(exc),
                                         elapsed=time.monotonic() - started,
                                         max_attempts=max_attempts, budget=budget)
                if delay is None:
                    raise transport_error(exc, prepared.method, prepared.path) from None
                await asyncio.sleep(delay)
                continue
            status = resp.status_code
            if ctx is not None and self.limiter is not None:
                await self.limiter.record_async(
                    ctx, status=status, rate_limit_header=resp.headers.get("x-amzn-ratelimit-limit"))
            self.log_call(prepared.method, prepared.path, status,
                          resp.headers.get("x-amzn-requestid"), t0, attempt)
            try:
                return interpret(status, resp.headers, content, key)
            except ApiError as err:
                if isinstance(err, ForbiddenError) and not refreshed and \
                        is_expired_token_error(err):
                    refreshed = True
                    self._forget_token(op, prepared, options, token)
                    attempt -= 1
                    continue
                delay = self.retry.delay(attempt=attempt, method=prepared.method,
                                         failure=failure_of(None, status, resp.headers),
                                         elapsed=time.monotonic() - started,
                                         max_attempts=max_attempts, budget=budget)
                if delay is None:
                    raise
                await asyncio.sleep(delay)

    async def _token(self, op: Operation | None, prepared: Prepared, options: CallOptions,
                     timeout: float) -> str:
        """The token for the call; fetching it (LWA with its retries, or the RDT call) ends
        within ``timeout``."""
        if options.restricted_data_token is not UNSET:
            return str(options.restricted_data_token)
        if op is not None and op.grantless_scope:
            return await self.lwa.access_token_async(self._wire, scope=op.grantless_scope,
                                                     timeout=timeout)
        if self._refresh_token is None:
            what = op.key if op is not None else f"{prepared.method} {prepared.path}"
            raise ConfigurationError(
                f"{what} acts for a selling partner and needs their refresh token: pass "
                "refresh_token= (or set SELLERKIT_REFRESH_TOKEN / SP_API_REFRESH_TOKEN)",
                problem=f"{what} acts for a selling partner and needs their refresh token",
                missing=("refresh_token",))
        resource = self.rdt_resource(op, prepared, options) if op is not None else None
        if resource is not None:
            return await self._rdt(resource, timeout)
        return await self.lwa.access_token_async(self._wire, refresh_token=self._refresh_token,
                                                 timeout=timeout)

    async def _rdt(self, resource: tuple[str, str, tuple[str, ...]], timeout: float) -> str:
        from sellerkit.auth.rdt import parse_rdt_response, rdt_request_body

        cached = self.rdt_cache.get(*resource)
        if cached is not None:
            return cached
        lock = self._rdt_locks.setdefault(resource, asyncio.Lock())
        async with lock:
            cached = self.rdt_cache.get(*resource)
            if cached is not None:
                return cached
            tokens_op = self.operation(TOKENS_KEY)
            body_name = tokens_op.body_param.name if tokens_op.body_param else "body"
            method, path, elements = resource
            try:
                resp = await self._call_op(
                    tokens_op, {body_name: rdt_request_body(method, path, list(elements))},
                    CallOptions(timeout=timeout))
            except ForbiddenError as err:
                raise ForbiddenError(
                    err.status, code=err.code, message=(
                        f"{err.message} (getting a Restricted Data Token for {method} {path} "
                        f"with data elements {list(elements)}; does the app have the roles "
                        "for them? Pass options=CallOptions(rdt=False) to call without "
                        "buyer data)"),
                    details=err.details, errors=err.errors, request_id=err.request_id,
                    body=err.body, headers=err.headers, operation=err.operation) from None
            token, expires_in = parse_rdt_response(resp.body)
            self.rdt_cache.put(method, path, list(elements), token, expires_in)
            return token

    def _forget_token(self, op: Operation | None, prepared: Prepared, options: CallOptions,
                      token: str) -> None:
        """Drop the token a 403 called expired. Only that token: when many calls fail with it
        at once, the first refreshes and the others keep the new one."""
        resource = self.rdt_resource(op, prepared, options) if op is not None else None
        if resource is not None:
            if self.rdt_cache.get(*resource) == token:
                self.rdt_cache.invalidate(*resource)
        elif op is not None and op.grantless_scope:
            self.lwa.invalidate(scope=op.grantless_scope, token=token)
        elif self._refresh_token is not None:
            self.lwa.invalidate(refresh_token=self._refresh_token, token=token)

    def _paging_target(self, target: str | Callable[..., Any], params: Mapping[str, Any]
                       ) -> tuple[Operation, dict[str, Any]]:
        if isinstance(target, str):
            return self.operation(target), dict(params)
        resource = getattr(target, "__self__", None)
        api_key = getattr(resource, "api_key", None)
        name = getattr(target, "__name__", "")
        op = next((o for o in self.catalog.api_operations(api_key or "") if o.py_name == name),
                  None)
        if op is None:
            raise ConfigurationError(
                "paginate() takes an operation key or a resource method such as "
                "sp.orders_v0.get_orders")
        return op, values_from_python(op, params)


class AsyncDownloadStream:
    """A document download read as it arrives (``AsyncSellingPartner.stream_download``).

    ``status``, ``headers`` (lower-cased names), ``content_type`` and ``content_encoding`` are
    set once it is open (``async with``, or ``await dl.open()`` then ``await dl.aclose()``);
    ``iter_bytes()`` gives the body once; ``read()`` all of it as bytes; ``bytes_read`` counts
    what was received so far."""

    def __init__(self, client: AsyncSellingPartner, url: str, timeout: float) -> None:
        self._client = client
        self._url = url
        self._timeout = timeout
        self._stream: AsyncStream | AsyncHttpxStream | None = None
        self._opened = False
        self._consumed = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.bytes_read = 0

    def __repr__(self) -> str:  # never the URL
        return f"<{type(self).__name__} status={self.status} read={self.bytes_read}>"

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def content_encoding(self) -> str | None:
        return self.headers.get("content-encoding")

    async def open(self) -> AsyncDownloadStream:
        """Send the request and read the response head; raises ``ApiError`` on 400 or more."""
        if self._opened:
            raise ConfigurationError("this download is already open; a download is read once")
        self._opened = True
        client = self._client
        client.check_open()
        try:
            with hide_url_in_logs():
                self._stream = await client._wire.stream(
                    "GET", self._url, headers={"user-agent": client.user_agent},
                    timeout=self._timeout)
        except hx.HTTPError as exc:
            raise transport_error(exc, "GET", "<document url>") from None
        self.status = self._stream.status_code
        self.headers = dict(self._stream.headers)
        if self.status >= 400:
            body = b""
            try:
                async for chunk in self.iter_bytes():
                    body += chunk
                    if len(body) >= 65536:
                        break
            except SellerkitError:
                pass  # the status says enough
            finally:
                await self.aclose()
            raise ApiError(self.status, message="document download failed",
                           body=scrub_url_values(body[:2000], self._url), headers=self.headers)
        return self

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body's chunks as received (compressed or not, undecoded); once."""
        stream = self._stream
        if stream is None:
            raise ConfigurationError("open the download first: use it as a context manager "
                                     "(with sp.stream_download(url) as dl: ...)")
        if self._consumed:
            raise ConfigurationError("this download has already been read; a download is read "
                                     "once (stream_download again for a fresh read)")
        self._consumed = True
        try:
            async for chunk in stream.iter_raw():
                self.bytes_read += len(chunk)
                yield chunk
        except GeneratorExit:  # left unread (before hx below is looked up: it may be shutdown)
            raise
        except hx.HTTPError as exc:
            raise transport_error(exc, "GET", "<document url>") from None
        finally:
            await stream.aclose()

    async def read(self) -> bytes:
        """The whole body as bytes (for small documents; ``iter_bytes`` keeps memory bounded)."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def aclose(self) -> None:
        """Give the connection back (body read to its end) or close it (body left unread)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    async def __aenter__(self) -> AsyncDownloadStream:
        return self if self._opened else await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _next_values(op: Operation, values: Mapping[str, Any], token: str) -> dict[str, Any]:
    assert op.pagination is not None
    if op.pagination.mode == "token_only":
        kept = {p.name: values[p.name] for p in op.params
                if p.location == "path" and p.name in values}
    else:
        kept = dict(values)
    kept[op.pagination.request] = token
    return kept


def _page_items(page: ApiResponse, items: bool | str) -> list[Any]:
    data = page.payload
    if isinstance(items, str):
        node = data.get(items) if isinstance(data, dict) else None
        if node is None and isinstance(page.body, dict):
            node = page.body.get(items)
        return list(node or [])
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [v for k, v in data.items() if isinstance(v, list) and k != "errors"]
        if len(lists) == 1:
            return list(lists[0])
        if not lists:
            return []
    raise ValidationError(page.operation or "paginate", [
        f"cannot tell which list holds the items; pass items='<field name>' "
        f"(fields: {', '.join(data) if isinstance(data, dict) else type(data).__name__})"])


__all__ = ["AsyncDownloadStream", "AsyncSellingPartner"]
