"""The wire under the clients' pipeline: keep-alive HTTP/1.1 pools without httpx on the hot path.

Measured by ``bench/clients.py``: httpx.Client costs ~350-450 us of CPU per call against a local
server, ``http.client`` ~80 us; httpx.AsyncClient with 100 calls in flight ~1,600 us per call
(its connection pool), asyncio streams ~35 us. So API calls go through these pools:

- ``SyncPool``: ``http.client`` connections, kept alive per (scheme, host, port), thread-safe.
- ``AsyncPool`` (in ``_wire_async.py``, so the sync client never imports asyncio): asyncio stream
  connections; h11 (httpx's own HTTP/1.1 state machine) frames requests and responses.
- ``HttpxWire`` / ``AsyncHttpxWire``: the same interface over an httpx client, used when the
  caller passes ``transport=`` (the test seam: mock handlers, the in-process emulator) or a
  proxy, which the pools do not speak.

Failures are raised as httpx exceptions, so the pipeline's retry decisions and error mapping
(``failure_of``, ``transport_error``) stay as they are. httpx itself is imported only when one is
raised (or an httpx wire is built): ``import sellerkit`` and a call that succeeds never load it.

``timeout`` is a deadline for the whole attempt: waiting for a pool slot, connecting, sending and
reading the last byte. A server that trickles its response a byte at a time cannot keep a call
alive past it (the per-read socket timeout alone would restart on every byte).

``stream()`` (document downloads, ``sp.stream_download``) keeps that deadline up to the response
head, then hands the body out as it arrives under a progress deadline (``STREAM_PROGRESS``), so a
download of any size runs while data flows and a stalled or trickling one still ends.
"""

from __future__ import annotations

import contextvars
import http.client
import io
import select
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sellerkit.client._lazy import hx

if TYPE_CHECKING:
    import httpx

MAX_IDLE_PER_HOST = 100
_RETRYABLE_ON_REUSE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                       ConnectionAbortedError)
# Methods sent again on a fresh connection when a reused one turns out closed: a POST may have
# reached the server before it closed (createReport twice, a feed submitted twice), so it is not.
_RESEND_ON_REUSE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _closed_by_peer(conn: Any) -> bool:
    """An idle keep-alive connection the server has closed (or sent stray bytes on) reads as
    readable; it is dropped before a request is written to it."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


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
    if not url.startswith(("https://", "http://")):
        raise hx.UnsupportedProtocol(f"not an http(s) URL: {url.split(':', 1)[0][:20]!r}")
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


class _DeadlineReader(socket.SocketIO):
    """The socket reader under an ``http.client`` response: each read may block only until the
    attempt's deadline, so a trickling server cannot stretch the response past it.

    It counts as one of the socket's open files, as ``socket.makefile`` does: ``http.client``
    closes the connection as soon as it sees a response that will close (HTTP/1.0,
    ``Connection: close``) and relies on that count to keep the descriptor open until the body
    has been read."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, "rb")
        sock._io_refs += 1  # type: ignore[attr-defined]  # what socket.makefile does
        self.deadline = deadline  # a streamed body moves it forward as data arrives
        self._socket = sock

    def readinto(self, b: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the response did not end within the timeout")
        self._socket.settimeout(left)
        n = super().readinto(b)
        return 0 if n is None else n


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` takes: only ``makefile`` is used."""

    __slots__ = ("deadline", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))


class _HTTPConnection(http.client.HTTPConnection):
    deadline = 0.0

    def response_class(self, sock: Any, *args: Any, **kwargs: Any  # type: ignore[override]
                       ) -> http.client.HTTPResponse:
        return http.client.HTTPResponse(_DeadlineSocket(sock, self.deadline),  # type: ignore[arg-type]
                                        *args, **kwargs)


class _HTTPSConnection(http.client.HTTPSConnection):
    deadline = 0.0
    response_class = _HTTPConnection.response_class  # type: ignore[assignment]


# A streamed body must make progress: each STREAM_PROGRESS bytes (or the rest of the body) must
# arrive within ``timeout`` of the previous ones. A download of any size runs as long as data
# flows at more than STREAM_PROGRESS bytes per ``timeout`` (2 KiB/s at 30 s); a server that
# trickles a byte at a time, or stalls, ends it after ``timeout``.
STREAM_PROGRESS = 64 * 1024
STREAM_CHUNK = 256 * 1024


class _Progress:
    """The moving deadline of a streamed body (``STREAM_PROGRESS``)."""

    __slots__ = ("deadline", "pending", "timeout")

    def __init__(self, timeout: float, now: float) -> None:
        self.timeout = timeout
        self.deadline = now + timeout
        self.pending = 0

    def got(self, n: int, now: float) -> float:
        self.pending += n
        if self.pending >= STREAM_PROGRESS:
            self.pending = 0
            self.deadline = now + self.timeout
        return self.deadline


def _ended(resp: http.client.HTTPResponse) -> bool:
    """The whole body has been read (http.client leaves a Content-Length response open at 0)."""
    if resp.isclosed():
        return True
    if resp.length == 0:
        resp.close()  # closes the reader, not the connection's socket
        return True
    return False


class SyncStream:
    """A response whose body is read as it arrives: ``status_code``, ``headers`` (lower-cased)
    and ``iter_raw()``, the body's bytes as received (no Content-Encoding is undone), in chunks
    of at most ``STREAM_CHUNK`` bytes. The connection goes back to the pool only when the body
    was read to its end; ``close()`` before that closes it."""

    def __init__(self, pool: SyncPool, idle: list[Any], conn: _HTTPConnection | _HTTPSConnection,
                 resp: http.client.HTTPResponse, headers: dict[str, str], timeout: float) -> None:
        self.status_code = resp.status
        self.headers = headers
        self._pool = pool
        self._idle = idle
        self._conn: _HTTPConnection | _HTTPSConnection | None = conn
        self._resp = resp
        fp: Any = resp.fp
        self._reader: _DeadlineReader | None = getattr(fp, "raw", None) if fp else None
        self._progress = _Progress(timeout, time.monotonic())
        if self._reader is not None:
            self._reader.deadline = self._progress.deadline
        self.complete = _ended(resp)  # a body-less answer (HEAD, 204, 304) is complete
        if self.complete:
            self._finish()

    def iter_raw(self) -> Iterator[bytes]:
        resp = self._resp
        reader = self._reader
        progress = self._progress
        while self._conn is not None and not self.complete:
            try:
                chunk = resp.read1(STREAM_CHUNK)
            except TimeoutError:
                self.close()
                raise hx.ReadTimeout("the body stopped arriving within the timeout") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise hx.ReadError(f"{type(exc).__name__}: {exc}") from None
            if not chunk:
                if not _ended(resp):  # EOF before the announced end
                    self.close()
                    raise hx.RemoteProtocolError("the connection closed before the body ended")
                self.complete = True
                self._finish()
                return
            deadline = progress.got(len(chunk), time.monotonic())
            if reader is not None:
                reader.deadline = deadline
            if _ended(resp):
                self.complete = True
                self._finish()
                yield chunk
                return
            yield chunk

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            SyncPool._release(self._idle, conn, self._resp)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            self._resp.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - best effort at interpreter shutdown
            pass


class SyncPool:
    def __init__(self, *, connect_timeout: float, ca_bundle: str | None = None) -> None:
        self._connect_timeout = connect_timeout
        self._ca_bundle = ca_bundle
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[_HTTPConnection | _HTTPSConnection]] = {}

    def _new(self, key: tuple[str, str, int], deadline: float
             ) -> _HTTPConnection | _HTTPSConnection:
        scheme, host, port = key
        limit = min(deadline - time.monotonic(), self._connect_timeout)
        if limit <= 0:
            raise hx.ConnectTimeout("no time left to connect within the timeout")
        conn: _HTTPConnection | _HTTPSConnection
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl_context(self._ca_bundle)
            conn = _HTTPSConnection(host, port, timeout=limit, context=self._ssl)
        else:
            conn = _HTTPConnection(host, port, timeout=limit)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise hx.ConnectTimeout(str(exc) or "timed out connecting") from None
        except OSError as exc:
            conn.close()
            raise hx.ConnectError(str(exc)) from None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                content: bytes | None, timeout: float) -> WireResponse:
        """Send and read one response; ``timeout`` bounds the whole attempt."""
        return self._exchange(method, url, headers, content, timeout, stream=False)

    def stream(self, method: str, url: str, *, headers: Mapping[str, str],
               timeout: float) -> SyncStream:
        """Send and read the response head; the body is read by the returned ``SyncStream``.
        ``timeout`` bounds the exchange up to the last header, then each ``STREAM_PROGRESS``
        bytes of the body (see ``SyncStream``)."""
        result = self._exchange(method, url, headers, None, timeout, stream=True)
        assert isinstance(result, SyncStream)
        return result

    def _exchange(self, method: str, url: str, headers: Mapping[str, str],
                  content: bytes | None, timeout: float, *, stream: bool
                  ) -> Any:
        deadline = time.monotonic() + timeout
        key, target = _split(url)
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle.setdefault(key, [])
        for attempt in (0, 1):
            conn = None
            while idle:
                candidate = idle.pop()
                if not _closed_by_peer(candidate):
                    conn = candidate
                    break
                candidate.close()
            reused = conn is not None
            if conn is None:
                conn = self._new(key, deadline)
            try:
                assert conn.sock is not None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                conn.sock.settimeout(left)  # sendall: a bound on the whole send
                conn.deadline = deadline
                conn.request(method, target, body=content, headers=headers)
                resp = conn.getresponse()
                body = b"" if stream else resp.read()
            except _RETRYABLE_ON_REUSE as exc:
                conn.close()
                if reused and attempt == 0 and method.upper() in _RESEND_ON_REUSE:
                    continue  # the server closed an idle keep-alive connection
                raise hx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from None
            except TimeoutError:
                conn.close()
                raise hx.ReadTimeout("no complete response within the timeout") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise hx.ReadError(f"{type(exc).__name__}: {exc}") from None
            hdrs: dict[str, str] = {}
            for k, v in resp.getheaders():
                k = k.lower()
                hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
            if stream:
                return SyncStream(self, idle, conn, resp, hdrs, timeout)
            self._release(idle, conn, resp)
            return WireResponse(resp.status, hdrs, body)
        raise AssertionError("unreachable")

    @staticmethod
    def _release(idle: list[Any], conn: _HTTPConnection | _HTTPSConnection,
                 resp: http.client.HTTPResponse) -> None:
        if resp.will_close or len(idle) >= MAX_IDLE_PER_HOST:
            conn.close()
        else:
            idle.append(conn)

    def close(self) -> None:
        for conns in self._idle.values():
            while conns:
                conns.pop().close()


# -- the httpx wires ---------------------------------------------------------------------------
# httpx's timeouts are per operation (each read may take the whole read timeout), so the wires
# below add the attempt's deadline: the body is streamed and checked after every chunk, and in
# the sync client the sockets of the transports sellerkit builds (proxies) cap every read and
# write at the time left (``deadline_transport``). The async wire (``_wire_async.py``) runs under
# asyncio.timeout.

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "sellerkit_wire_deadline", default=None)


def _headers(resp: Any) -> dict[str, str]:
    hdrs: dict[str, str] = {}
    for k, v in resp.headers.multi_items():
        k = k.lower()
        hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
    return hdrs


def _timeout(timeout: float, connect_timeout: float) -> httpx.Timeout:
    return hx.Timeout(timeout, connect=min(connect_timeout, timeout))


class HttpxWire:
    """The pool interface over an httpx.Client (``transport=`` given, or a proxy)."""

    def __init__(self, client: httpx.Client, connect_timeout: float) -> None:
        self._client = client
        self._connect_timeout = connect_timeout

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                content: bytes | None, timeout: float) -> WireResponse:
        deadline = time.monotonic() + timeout
        token = _DEADLINE.set(deadline)
        try:
            request = self._client.build_request(
                method, url, headers=headers, content=content,
                timeout=_timeout(timeout, self._connect_timeout))
            resp = self._client.send(request, stream=True)
            try:
                parts = []
                for chunk in resp.iter_bytes():
                    parts.append(chunk)
                    if time.monotonic() > deadline:
                        raise hx.ReadTimeout("no complete response within the timeout",
                                             request=request)
            finally:
                resp.close()
        finally:
            _DEADLINE.reset(token)
        return WireResponse(resp.status_code, _headers(resp), b"".join(parts))

    def stream(self, method: str, url: str, *, headers: Mapping[str, str],
               timeout: float) -> HttpxStream:
        """The response head within ``timeout``; the body streams (see ``STREAM_PROGRESS``)."""
        token = _DEADLINE.set(time.monotonic() + timeout)
        try:
            request = self._client.build_request(
                method, url, headers=headers, timeout=_timeout(timeout, self._connect_timeout))
            resp = self._client.send(request, stream=True)
        finally:
            _DEADLINE.reset(token)
        return HttpxStream(resp, timeout)

    def close(self) -> None:
        pass  # the client owns the httpx.Client


class HttpxStream:
    """``SyncStream`` over an httpx response (the raw bytes: httpx undoes no Content-Encoding
    here, so every wire hands out the same bytes)."""

    def __init__(self, resp: httpx.Response, timeout: float) -> None:
        self.status_code = resp.status_code
        self.headers = _headers(resp)
        self._resp: httpx.Response | None = resp
        self._timeout = timeout
        self.complete = False

    def iter_raw(self) -> Iterator[bytes]:
        resp = self._resp
        if resp is None:
            return
        # a transport that hands back a response it already read (an in-process app) has its
        # body in memory: give that
        chunks = iter([resp.content]) if resp.is_stream_consumed else resp.iter_raw()
        progress = _Progress(self._timeout, time.monotonic())
        while True:
            token = _DEADLINE.set(progress.deadline)
            try:
                chunk = next(chunks, None)
            except BaseException:
                self.close()
                raise
            finally:
                _DEADLINE.reset(token)
            now = time.monotonic()
            if chunk is None:
                self.complete = True
                self.close()
                return
            if now > progress.deadline:
                self.close()
                raise hx.ReadTimeout("the body stopped arriving within the timeout")
            progress.got(len(chunk), now)
            yield chunk

    def close(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.close()


def deadline_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose sockets honour the wire's deadline: every read and write
    waits at most until it (httpx alone would let a trickling server reset the read timeout with
    each byte)."""
    import httpcore

    transport = hx.HTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    backend: Any = getattr(pool, "_network_backend", None)
    if backend is None:  # another httpx layout: the per-chunk check still bounds the body
        return transport

    def left(timeout: float | None) -> float | None:
        deadline = _DEADLINE.get()
        if deadline is None:
            return timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("no complete response within the timeout")
        return remaining if timeout is None else min(timeout, remaining)

    class Stream(httpcore.NetworkStream):
        def __init__(self, inner: httpcore.NetworkStream) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, left(timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, left(timeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                      timeout: float | None = None) -> httpcore.NetworkStream:
            return Stream(self._inner.start_tls(ssl_context, server_hostname, left(timeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None, socket_options: Any = None
                        ) -> httpcore.NetworkStream:
            return Stream(backend.connect_tcp(host, port, left(timeout), local_address,
                                              socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None,
                                socket_options: Any = None) -> httpcore.NetworkStream:
            return Stream(backend.connect_unix_socket(path, left(timeout), socket_options))

        def sleep(self, seconds: float) -> None:
            backend.sleep(seconds)

    pool._network_backend = Backend()  # type: ignore[union-attr]
    return transport
