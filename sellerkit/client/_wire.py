"""The wire under the clients' pipeline: keep-alive HTTP/1.1 pools without httpx on the hot path.

Measured by ``bench/clients.py``: httpx.Client costs ~350-450 us of CPU per call against a local
server, ``http.client`` ~80 us; httpx.AsyncClient with 100 calls in flight ~1,600 us per call
(its connection pool), asyncio streams ~35 us. So API calls go through these pools:

- ``SyncPool``: ``http.client`` connections, kept alive per (scheme, host, port), thread-safe.
- ``AsyncPool``: asyncio stream connections; h11 (httpx's own HTTP/1.1 state machine) frames
  requests and responses.
- ``HttpxWire`` / ``AsyncHttpxWire``: the same interface over an httpx client, used when the
  caller passes ``transport=`` (the test seam: mock handlers, the in-process emulator) or a
  proxy, which the pools do not speak.

Failures are raised as httpx exceptions, so the pipeline's retry decisions and error mapping
(``failure_of``, ``transport_error``) stay as they are.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx

MAX_IDLE_PER_HOST = 100
_RETRYABLE_ON_REUSE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                       ConnectionAbortedError)


class WireResponse:
    """Status, lower-cased headers, body."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content


_split_cache: dict[str, tuple[str, str, int]] = {}


def _split(url: str) -> tuple[tuple[str, str, int], str]:
    """(scheme, host, port) and the request target; the origin part is cached per base URL."""
    scheme_end = url.index("://") + 3
    slash = url.find("/", scheme_end)
    origin = url if slash < 0 else url[:slash]
    target = "/" if slash < 0 else url[slash:]
    key = _split_cache.get(origin)
    if key is None:
        if len(_split_cache) > 64:
            _split_cache.clear()
        parts = urlsplit(origin)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname or "", port)
        _split_cache[origin] = key
    return key, target


def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    try:
        import certifi  # what httpx verifies against, so behaviour does not change
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class SyncPool:
    def __init__(self, *, connect_timeout: float, ca_bundle: str | None = None) -> None:
        self._connect_timeout = connect_timeout
        self._ca_bundle = ca_bundle
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}

    def _new(self, key: tuple[str, str, int], timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl_context(self._ca_bundle)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=min(timeout, self._connect_timeout), context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port,
                                              timeout=min(timeout, self._connect_timeout))
        try:
            conn.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc)) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                content: bytes | None, timeout: float) -> WireResponse:
        key, target = _split(url)
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle.setdefault(key, [])
        for attempt in (0, 1):
            try:
                conn = idle.pop()
                reused = True
            except IndexError:
                conn = self._new(key, timeout)
                reused = False
            try:
                assert conn.sock is not None
                conn.sock.settimeout(timeout)
                conn.request(method, target, body=content, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except _RETRYABLE_ON_REUSE as exc:
                conn.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection
                raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from None
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("no response within the timeout") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from None
            hdrs: dict[str, str] = {}
            for k, v in resp.getheaders():
                k = k.lower()
                hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
            if resp.will_close or len(idle) >= MAX_IDLE_PER_HOST:
                conn.close()
            else:
                idle.append(conn)
            return WireResponse(resp.status, hdrs, body)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conns in self._idle.values():
            while conns:
                conns.pop().close()


class _Conn:
    """One asyncio stream connection and its h11 state machine (h11 does the HTTP/1.1 framing:
    content-length, chunked, connection close)."""

    __slots__ = ("h11", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


class _LoopState:
    """Connections and slots of one event loop (streams cannot move between loops)."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self.slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the server before any response byte."""


class AsyncPool:
    def __init__(self, *, connect_timeout: float, ca_bundle: str | None = None,
                 max_connections: int = 100) -> None:
        self._connect_timeout = connect_timeout
        self._ca_bundle = ca_bundle
        self._ssl: ssl.SSLContext | None = None
        self._max = max_connections
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary())

    async def _new(self, key: tuple[str, str, int], timeout: float) -> _Conn:
        scheme, host, port = key
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl_context(self._ca_bundle)
            tls = self._ssl
        try:
            async with asyncio.timeout(min(timeout, self._connect_timeout)):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=2**20)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc)) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(reader, writer)

    async def request(self, method: str, url: str, *, headers: Mapping[str, str],
                      content: bytes | None, timeout: float) -> WireResponse:
        key, target = _split(url)
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState()
        idle = state.idle.get(key)
        if idle is None:
            idle = state.idle[key] = []
            state.slots[key] = asyncio.Semaphore(self._max)
        host = key[1] if key[2] in (80, 443) else f"{key[1]}:{key[2]}"
        hdrs = [("host", host), *headers.items()]
        if content is not None or method in ("POST", "PUT", "PATCH"):
            hdrs.append(("content-length", str(len(content or b""))))
        async with state.slots[key]:
            for attempt in (0, 1):
                try:
                    conn = idle.pop()
                    reused = True
                except IndexError:
                    conn = await self._new(key, timeout)
                    reused = False
                try:
                    async with asyncio.timeout(timeout):
                        result = await _exchange(conn, method, target, hdrs, content, reused)
                except _StaleConnection:
                    conn.close()
                    if attempt == 0:
                        continue  # the server closed an idle keep-alive connection
                    raise httpx.RemoteProtocolError("the server closed the connection") from None
                except TimeoutError:
                    conn.close()
                    raise httpx.ReadTimeout("no response within the timeout") from None
                except h11.LocalProtocolError as exc:
                    conn.close()
                    raise ValueError(f"invalid request: {exc}") from None
                except (OSError, h11.RemoteProtocolError) as exc:
                    conn.close()
                    raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from None
                status, rhdrs, body = result
                if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                    conn.h11.start_next_cycle()
                    idle.append(conn)
                else:
                    conn.close()
                return WireResponse(status, rhdrs, body)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        state = self._loops.pop(asyncio.get_running_loop(), None)
        for conns in (state.idle.values() if state is not None else ()):
            while conns:
                conns.pop().close()


async def _exchange(conn: _Conn, method: str, target: str, headers: list[tuple[str, str]],
                    content: bytes | None, reused: bool
                    ) -> tuple[int, dict[str, str], bytes]:
    h = conn.h11
    data = h.send(h11.Request(method=method, target=target, headers=headers)) or b""
    if content:
        data += h.send(h11.Data(data=content)) or b""
    data += h.send(h11.EndOfMessage()) or b""
    conn.writer.write(data)
    status = 0
    rhdrs: dict[str, str] = {}
    parts: list[bytes] = []
    received = False
    while True:
        event = h.next_event()
        if event is h11.NEED_DATA:
            try:
                chunk = await conn.reader.read(65536)
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                if reused and not received:
                    raise _StaleConnection from None
                raise
            if not chunk and reused and not received:
                raise _StaleConnection
            received = received or bool(chunk)
            h.receive_data(chunk)
        elif isinstance(event, h11.Response):
            status = event.status_code
            for name, value in event.headers:
                k = name.decode("latin-1")
                v = value.decode("latin-1")
                rhdrs[k] = f"{rhdrs[k]}, {v}" if k in rhdrs else v
        elif isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return status, rhdrs, b"".join(parts)
        elif isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("connection closed before the response ended")
        # InformationalResponse (1xx): keep reading


class HttpxWire:
    """The pool interface over an httpx.Client (``transport=`` given, or a proxy)."""

    def __init__(self, client: httpx.Client, connect_timeout: float) -> None:
        self._client = client
        self._connect_timeout = connect_timeout

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                content: bytes | None, timeout: float) -> Any:
        return self._client.request(
            method, url, headers=headers, content=content,
            timeout=httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout)))

    def close(self) -> None:
        pass  # the client owns the httpx.Client


class AsyncHttpxWire:
    def __init__(self, client: httpx.AsyncClient, connect_timeout: float) -> None:
        self._client = client
        self._connect_timeout = connect_timeout

    async def request(self, method: str, url: str, *, headers: Mapping[str, str],
                      content: bytes | None, timeout: float) -> Any:
        return await self._client.request(
            method, url, headers=headers, content=content,
            timeout=httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout)))

    async def aclose(self) -> None:
        pass
