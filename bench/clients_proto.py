"""Prototype transports, to measure what sellerkit would gain by sending without httpx.

Not part of the library: ``bench/clients.py`` swaps these in for the ``sellerkit-proto`` and
``sellerkit-aiohttp`` rows so the transport can be chosen by measurement. Each exposes the one
method sellerkit's pipeline calls on its HTTP client, ``request(method, url, *, headers,
content, timeout)``, returning an object with ``status_code``, ``headers`` (case-insensitive
``get``) and ``content``; everything else (the LWA token fetch) still goes to the original
httpx client.

- ``HttpClientTransport`` (sync): a keep-alive pool of ``http.client`` connections.
- ``StreamsTransport`` (async): a keep-alive pool of asyncio stream connections with a minimal
  HTTP/1.1 response parser (Content-Length, chunked, Connection: close).
- ``AiohttpTransport`` (async): aiohttp's ClientSession.

They handle what the bench needs plus the usual keep-alive failure (a pooled connection that the
server closed is retried once on a fresh one); TLS, proxies and decompression are left out.
"""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class _Headers(dict[str, str]):
    """Lower-cased header names; ``get`` is then case-insensitive for lower-case keys."""

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)


class _Response:
    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status: int, headers: _Headers, content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (("?" + parts.query) if parts.query else "")
    return parts.scheme, parts.hostname or "", port, target


class _Swap:
    """Stands in for sellerkit's wire: ``request`` (API calls and the LWA token POST) goes to
    the prototype transport, anything else (close) to the original."""

    def __init__(self, original: Any, transport: Any) -> None:
        self._original = original
        self.request = transport.request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class HttpClientTransport:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                content: bytes | None = None, timeout: Any = None) -> _Response:
        scheme, host, port, target = _split(url)
        key = (scheme, host, port)
        idle = self._idle.setdefault(key, [])
        seconds = getattr(timeout, "read", timeout)
        for attempt in (0, 1):
            reused = bool(idle)
            if reused:
                conn = idle.pop()
            else:
                cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
                conn = cls(host, port, timeout=seconds)
            try:
                if conn.sock is not None and seconds is not None:
                    conn.sock.settimeout(seconds)
                conn.request(method, target, body=content, headers=dict(headers or {}))
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 0:
                    continue
                raise
            hdrs = _Headers((k.lower(), v) for k, v in resp.getheaders())
            if resp.will_close:
                conn.close()
            else:
                idle.append(conn)
            return _Response(resp.status, hdrs, body)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()


class StreamsTransport:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int],
                         list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                      content: bytes | None = None, timeout: Any = None) -> _Response:
        scheme, host, port, target = _split(url)
        key = (scheme, host, port)
        idle = self._idle.setdefault(key, [])
        lines = [f"{method} {target} HTTP/1.1", f"host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if content is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(content or b'')}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (content or b"")
        seconds = getattr(timeout, "read", timeout)
        for attempt in (0, 1):
            reused = bool(idle)
            if reused:
                reader, writer = idle.pop()
            else:
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=True if scheme == "https" else None)
            try:
                writer.write(data)
                status, hdrs, body, close = await asyncio.wait_for(
                    _read_response(reader, method), seconds)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                writer.close()
                if reused and attempt == 0:
                    continue
                raise
            if close:
                writer.close()
            else:
                idle.append((reader, writer))
            return _Response(status, hdrs, body)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for _, w in conns:
                w.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader, method: str
                         ) -> tuple[int, _Headers, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    hdrs = _Headers()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    status = int(status_text)
    close = hdrs.get("connection", "").lower() == "close" or version == "HTTP/1.0"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, hdrs, b"", close
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, hdrs, b"".join(parts), close
    length = hdrs.get("content-length")
    if length is not None:
        return status, hdrs, await reader.readexactly(int(length)), close
    return status, hdrs, await reader.read(), True


class AiohttpTransport:
    def __init__(self, limit: int = 100) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._session: Any = None
        self._limit = limit

    async def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                      content: bytes | None = None, timeout: Any = None) -> _Response:
        if self._session is None:
            self._session = self._aiohttp.ClientSession(
                connector=self._aiohttp.TCPConnector(limit=self._limit),
                auto_decompress=False)
        seconds = getattr(timeout, "read", timeout)
        async with self._session.request(
                method, url, headers=headers, data=content,
                timeout=self._aiohttp.ClientTimeout(total=seconds)) as r:
            body = await r.read()
            hdrs = _Headers((k.lower(), v) for k, v in r.headers.items())
            return _Response(r.status, hdrs, body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def swap(sp: Any, transport: Any) -> None:
    """Route ``sp``'s requests through ``transport`` (bench-only; touches a private field)."""
    sp._wire = _Swap(sp._wire, transport)
