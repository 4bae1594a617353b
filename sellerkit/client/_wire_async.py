"""The asyncio half of the wire (``_wire.py`` has the sync pool and the shared parts): the
keep-alive pool of asyncio stream connections, framed by h11, and the wire over an
httpx.AsyncClient. Kept apart so ``SellingPartner`` never imports asyncio or h11.

``timeout`` is a deadline for the whole attempt: the wait for a connection slot, connecting,
sending and reading the last byte all end by it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import h11

from sellerkit.client._wire import (
    STREAM_CHUNK,
    WireResponse,
    _headers,
    _Progress,
    _split,
    _timeout,
    hx,
    ssl_context,
)

if TYPE_CHECKING:
    import httpx


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


# Methods sent again on a fresh connection when a reused one turns out closed: a POST may have
# reached the server before it closed (createReport twice, a feed submitted twice), so it is not.
_RESEND_ON_REUSE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


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

    async def _new(self, key: tuple[str, str, int], deadline: float) -> _Conn:
        scheme, host, port = key
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl_context(self._ca_bundle)
            tls = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self._connect_timeout)):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=2**20)
        except TimeoutError as exc:
            raise hx.ConnectTimeout(str(exc) or "timed out connecting") from None
        except OSError as exc:
            raise hx.ConnectError(str(exc)) from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(reader, writer)

    async def request(self, method: str, url: str, *, headers: Mapping[str, str],
                      content: bytes | None, timeout: float) -> WireResponse:
        """Send and read one response; ``timeout`` bounds the whole attempt (slot wait included)."""
        result = await self._exchange(method, url, headers, content, timeout, stream=False)
        assert isinstance(result, WireResponse)
        return result

    async def stream(self, method: str, url: str, *, headers: Mapping[str, str],
                     timeout: float) -> AsyncStream:
        """Send and read the response head within ``timeout``; the returned ``AsyncStream``
        reads the body (each ``STREAM_PROGRESS`` bytes within ``timeout``). It holds a
        connection slot until its body ends or it is closed."""
        result = await self._exchange(method, url, headers, None, timeout, stream=True)
        assert isinstance(result, AsyncStream)
        return result

    async def _exchange(self, method: str, url: str, headers: Mapping[str, str],
                        content: bytes | None, timeout: float, *, stream: bool) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        key, target = _split(url)
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
        slot = state.slots[key]
        if slot.locked():
            try:
                async with asyncio.timeout_at(deadline):
                    await slot.acquire()
            except TimeoutError:
                raise hx.PoolTimeout("no free connection within the timeout") from None
        else:
            await slot.acquire()
        handed_over = False
        try:
            for attempt in (0, 1):
                conn = None
                while idle:
                    candidate = idle.pop()
                    if not (candidate.reader.at_eof() or candidate.writer.is_closing()):
                        conn = candidate
                        break
                    candidate.close()  # the server closed it while it was idle
                reused = conn is not None
                if conn is None:
                    conn = await self._new(key, deadline)
                try:
                    async with asyncio.timeout_at(deadline):
                        result = await _exchange(conn, method, target, hdrs, content, reused,
                                                 head_only=stream)
                except _StaleConnection:
                    conn.close()
                    if attempt == 0 and method.upper() in _RESEND_ON_REUSE:
                        continue  # the server closed an idle keep-alive connection
                    raise hx.RemoteProtocolError("the server closed the connection") from None
                except TimeoutError:
                    conn.close()
                    raise hx.ReadTimeout("no complete response within the timeout") from None
                except h11.LocalProtocolError as exc:
                    conn.close()
                    raise ValueError(f"invalid request: {exc}") from None
                except (OSError, h11.RemoteProtocolError) as exc:
                    conn.close()
                    raise hx.ReadError(f"{type(exc).__name__}: {exc}") from None
                status, rhdrs, body = result
                if stream:
                    handed_over = True
                    return AsyncStream(conn, idle, slot, status, rhdrs, body, timeout)
                _release(conn, idle)
                return WireResponse(status, rhdrs, body)
        finally:
            if not handed_over:
                slot.release()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        state = self._loops.pop(asyncio.get_running_loop(), None)
        for conns in (state.idle.values() if state is not None else ()):
            while conns:
                conns.pop().close()


def _release(conn: _Conn, idle: list[_Conn]) -> None:
    """Back to the pool when both sides finished the exchange; closed otherwise."""
    if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
        conn.h11.start_next_cycle()
        idle.append(conn)
    else:
        conn.close()


async def _exchange(conn: _Conn, method: str, target: str, headers: list[tuple[str, str]],
                    content: bytes | None, reused: bool, *, head_only: bool = False
                    ) -> tuple[int, dict[str, str], bytes]:
    """One request and its response; with ``head_only``, up to the response head (the body
    is left to ``AsyncStream``; the bytes are returned only for a body-less response)."""
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
            if head_only:
                return status, rhdrs, b""
        elif isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return status, rhdrs, b"".join(parts)
        elif isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("connection closed before the response ended")
        # InformationalResponse (1xx): keep reading


class AsyncStream:
    """A response whose body is read as it arrives (``async for chunk in s.iter_raw()``):
    ``status_code``, ``headers``, raw body chunks. Each ``STREAM_PROGRESS`` bytes must arrive
    within ``timeout``. The connection (and its slot) goes back to the pool only when the
    body was read to its end; ``aclose()`` before that closes the connection."""

    def __init__(self, conn: _Conn, idle: list[_Conn], slot: asyncio.Semaphore, status: int,
                 headers: dict[str, str], _body: bytes, timeout: float) -> None:
        self.status_code = status
        self.headers = headers
        self._conn: _Conn | None = conn
        self._idle = idle
        self._slot: asyncio.Semaphore | None = slot
        self._timeout = timeout
        self.complete = False
        if conn.h11.their_state is h11.DONE:  # a body-less response (HEAD, 204, 304)
            self.complete = True
            self._give_back(reuse=True)

    async def iter_raw(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self.complete:
            return
        h = conn.h11
        loop = asyncio.get_running_loop()
        progress = _Progress(self._timeout, loop.time())
        try:
            while True:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    async with asyncio.timeout_at(progress.deadline):
                        chunk = await conn.reader.read(STREAM_CHUNK)
                    h.receive_data(chunk)
                elif isinstance(event, h11.Data):
                    data = bytes(event.data)
                    progress.got(len(data), loop.time())
                    yield data
                elif isinstance(event, h11.EndOfMessage):
                    self.complete = True
                    self._give_back(reuse=True)
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    raise h11.RemoteProtocolError("connection closed before the body ended")
        except TimeoutError:
            self._give_back(reuse=False)
            raise hx.ReadTimeout("the body stopped arriving within the timeout") from None
        except (OSError, h11.RemoteProtocolError) as exc:
            self._give_back(reuse=False)
            raise hx.ReadError(f"{type(exc).__name__}: {exc}") from None
        finally:
            if not self.complete:
                self._give_back(reuse=False)

    def _give_back(self, *, reuse: bool) -> None:
        conn, self._conn = self._conn, None
        slot, self._slot = self._slot, None
        if conn is not None:
            if reuse:
                _release(conn, self._idle)
            else:
                conn.close()
        if slot is not None:
            slot.release()

    async def aclose(self) -> None:
        self._give_back(reuse=self.complete)

    def __del__(self) -> None:
        try:
            self._give_back(reuse=False)
        except Exception:  # noqa: BLE001, S110 - best effort (the loop may be gone)
            pass


class AsyncHttpxWire:
    def __init__(self, client: httpx.AsyncClient, connect_timeout: float) -> None:
        self._client = client
        self._connect_timeout = connect_timeout

    async def request(self, method: str, url: str, *, headers: Mapping[str, str],
                      content: bytes | None, timeout: float) -> WireResponse:
        request = self._client.build_request(
            method, url, headers=headers, content=content,
            timeout=_timeout(timeout, self._connect_timeout))
        try:
            async with asyncio.timeout(timeout):
                resp = await self._client.send(request)
        except TimeoutError:
            raise hx.ReadTimeout("no complete response within the timeout",
                                 request=request) from None
        return WireResponse(resp.status_code, _headers(resp), resp.content)

    async def stream(self, method: str, url: str, *, headers: Mapping[str, str],
                     timeout: float) -> AsyncHttpxStream:
        """The response head within ``timeout``; the body streams (``STREAM_PROGRESS``)."""
        request = self._client.build_request(
            method, url, headers=headers, timeout=_timeout(timeout, self._connect_timeout))
        try:
            async with asyncio.timeout(timeout):
                resp = await self._client.send(request, stream=True)
        except TimeoutError:
            raise hx.ReadTimeout("no response head within the timeout", request=request) from None
        return AsyncHttpxStream(resp, timeout)

    async def aclose(self) -> None:
        pass


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class AsyncHttpxStream:
    """``AsyncStream`` over an httpx response (raw bytes, as every wire hands out)."""

    def __init__(self, resp: httpx.Response, timeout: float) -> None:
        self.status_code = resp.status_code
        self.headers = _headers(resp)
        self._resp: httpx.Response | None = resp
        self._timeout = timeout
        self.complete = False

    async def iter_raw(self) -> AsyncIterator[bytes]:
        resp = self._resp
        if resp is None:
            return
        loop = asyncio.get_running_loop()
        progress = _Progress(self._timeout, loop.time())
        chunks = (_one(resp.content) if resp.is_stream_consumed else resp.aiter_raw()).__aiter__()
        try:
            while True:
                try:
                    async with asyncio.timeout_at(progress.deadline):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    self.complete = True
                    return
                except TimeoutError:
                    raise hx.ReadTimeout("the body stopped arriving within the timeout"
                                         ) from None
                progress.got(len(chunk), loop.time())
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            await resp.aclose()
