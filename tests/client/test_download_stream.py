"""``sp.stream_download(url)``: a document's body read as it arrives, against a real loopback
server, through each wire (the sync and async keep-alive pools, and httpx under ``transport=``).

What a user checks: the headers come through; a multi-MB document is read in bounded chunks
with bounded memory (traced allocations, not RSS timing); a stalled or trickling server ends the
download with ReadTimeoutError while a download that keeps flowing is not cut off; an error
status raises ApiError without the URL's signature; the URL never reaches a log record; the
connection is reused after a body read to its end and closed after one left unread.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import random
import socket
import socketserver
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.errors import ApiError, ConfigurationError, ReadTimeoutError, ValidationError
from sellerkit.workflows.documents import AsyncDocument, Document

CREDS = dict(client_id="amzn1.application-oa2-client.test",
             client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|refresh-secret",
             endpoint="http://127.0.0.1:9", lwa_endpoint="http://127.0.0.1:9/auth/o2/token",
             rate_limiter=False)
SIGNATURE = "5ecre7c0ffee"
QUERY = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={SIGNATURE}"
TSV_TYPE = "text/tab-separated-values; charset=UTF-8"
ROWS = 120_000


def _tsv() -> bytes:
    rng = random.Random(8)
    lines = ["sku\tqty\tnote"]
    lines += [f"SKU-{i}-{rng.getrandbits(64):016x}\t{i % 97}\t{rng.getrandbits(128):032x}"
              for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


TSV = _tsv()
GZ = gzip.compress(TSV, compresslevel=1)
NOISE = os.urandom(8 * 1024 * 1024)  # incompressible: every byte crosses the wire


class _Handler(socketserver.BaseRequestHandler):
    """A tiny HTTP/1.1 server with keep-alive; the path picks the answer."""

    def handle(self) -> None:
        server: DocServer = self.server  # type: ignore[assignment]
        sock: socket.socket = self.request
        sock.settimeout(20)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                server.seen.append((target, self.client_address[1]))
                if not self._answer(sock, target):
                    return
        except OSError:
            return

    @staticmethod
    def _send_body(sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        for i in range(0, len(view), 65536):
            sock.sendall(view[i:i + 65536])

    def _answer(self, sock: socket.socket, target: str) -> bool:
        path = target.split("?", 1)[0]
        if path.startswith("/denied"):
            body = (f"<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>{SIGNATURE}"
                    "</SignatureProvided></Error>").encode()
            sock.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/xml\r\n"
                         b"content-length: %d\r\n\r\n" % len(body) + body)
            return True
        if path.startswith("/trickle"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            for _ in range(200):
                sock.sendall(b"x")
                time.sleep(0.1)
            return False
        if path.startswith("/stall"):  # 256 KiB at once, then nothing
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 10000000\r\n\r\n")
            self._send_body(sock, NOISE[:262144])
            time.sleep(15)
            return False
        if path.startswith("/slow-but-flowing"):  # 1.5 MB over ~3 s: each 64 KiB well in time
            data = NOISE[:1_572_864]
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(data))
            for i in range(0, len(data), 65536):
                sock.sendall(data[i:i + 65536])
                time.sleep(0.12)
            return True
        if path.startswith("/noise"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
                         b"content-length: %d\r\n\r\n" % len(NOISE))
            self._send_body(sock, NOISE)
            return True
        if path.startswith("/chunked"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: " + TSV_TYPE.encode() +
                         b"\r\ntransfer-encoding: chunked\r\n\r\n")
            for i in range(0, len(GZ), 50000):
                piece = GZ[i:i + 50000]
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            return True
        # /gz: the gzip TSV, declared with Content-Encoding: gzip (as S3 may send it)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: " + TSV_TYPE.encode() +
                     b"\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(GZ))
        self._send_body(sock, GZ)
        return True


class DocServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, int]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}?{QUERY}"


@pytest.fixture(scope="module")
def server() -> Iterator[DocServer]:
    srv = DocServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


WIRES = {"pool": {}, "httpx": {"transport": "httpx"}}


def _sync_client(wire: str, **more: Any) -> SellingPartner:
    kw: dict[str, Any] = dict(CREDS, **more)
    if wire == "httpx":
        kw["transport"] = httpx.HTTPTransport()
    return SellingPartner(**kw)


def _async_client(wire: str, **more: Any) -> AsyncSellingPartner:
    kw: dict[str, Any] = dict(CREDS, **more)
    if wire == "httpx":
        kw["transport"] = httpx.AsyncHTTPTransport()
    return AsyncSellingPartner(**kw)


def _no_query_in(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert SIGNATURE not in text and "AKIAEXAMPLE" not in text, text


# -- headers, chunks, rows --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/gz", "/chunked"])
@pytest.mark.parametrize("wire", WIRES)
def test_sync_stream_gives_headers_and_the_raw_body_in_bounded_chunks(
        server: DocServer, wire: str, path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _sync_client(wire) as sp, sp.stream_download(server.url(path)) as dl:
        assert dl.status == 200
        assert dl.content_type == TSV_TYPE
        assert dl.content_encoding == ("gzip" if path == "/gz" else None)
        sizes = []
        doc = Document(_record(dl.iter_bytes(), sizes), content_type=dl.content_type,
                       content_encoding=dl.content_encoding)
        rows = sum(1 for _ in doc.rows())
    assert rows == ROWS
    assert sum(sizes) == len(GZ) == dl.bytes_read  # the gzip bytes, undecoded by the wire
    assert max(sizes) <= 256 * 1024
    assert doc.stats.compressed and doc.stats.gzip_members == 1
    assert "SellingPartner" not in repr(dl) and SIGNATURE not in repr(dl)
    _no_query_in(caplog)


def _record(chunks: Iterator[bytes], sizes: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        sizes.append(len(chunk))
        yield chunk


@pytest.mark.parametrize("path", ["/gz", "/chunked"])
@pytest.mark.parametrize("wire", WIRES)
def test_async_stream_gives_headers_and_rows(server: DocServer, wire: str, path: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> tuple[int, list[int]]:
        sizes: list[int] = []
        async with _async_client(wire) as sp, sp.stream_download(server.url(path)) as dl:
            assert dl.status == 200 and dl.content_type == TSV_TYPE

            async def chunks() -> Any:
                async for chunk in dl.iter_bytes():
                    sizes.append(len(chunk))
                    yield chunk
            doc = AsyncDocument(chunks(), content_type=dl.content_type)
            n = 0
            async for _ in doc.rows():
                n += 1
        return n, sizes

    rows, sizes = asyncio.run(main())
    assert rows == ROWS
    assert sum(sizes) == len(GZ) and max(sizes) <= 256 * 1024
    _no_query_in(caplog)


def test_memory_stays_bounded_while_a_multi_megabyte_body_streams(server: DocServer) -> None:
    """8 MB of incompressible bytes cross the wire; what Python holds at any moment (traced
    allocations, whatever the host's load) stays a small fraction of that."""
    with SellingPartner(**CREDS) as sp:
        tracemalloc.start()
        try:
            total = 0
            with sp.stream_download(server.url("/noise")) as dl:
                for chunk in dl.iter_bytes():
                    total += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total == len(NOISE)
    assert peak < 2 * 1024 * 1024, f"peak {peak:,} bytes traced for an 8 MB body"


def test_async_memory_stays_bounded(server: DocServer) -> None:
    async def main() -> tuple[int, int]:
        async with AsyncSellingPartner(**CREDS) as sp:
            tracemalloc.start()
            try:
                total = 0
                async with sp.stream_download(server.url("/noise")) as dl:
                    async for chunk in dl.iter_bytes():
                        total += len(chunk)
                return total, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    total, peak = asyncio.run(main())
    assert total == len(NOISE)
    assert peak < 3 * 1024 * 1024, f"peak {peak:,} bytes traced for an 8 MB body"


# -- connection reuse ---------------------------------------------------------------------------


def _ports(server: DocServer, since: int) -> list[int]:
    return [port for _, port in server.seen[since:]]


def test_the_connection_is_reused_only_after_a_body_read_to_its_end(server: DocServer) -> None:
    with SellingPartner(**CREDS) as sp:
        start = len(server.seen)
        for _ in range(2):
            with sp.stream_download(server.url("/gz")) as dl:
                assert sum(len(c) for c in dl.iter_bytes()) == len(GZ)
        with sp.stream_download(server.url("/noise")) as dl:  # left after one chunk
            next(iter(dl.iter_bytes()))
        with sp.stream_download(server.url("/gz")) as dl:
            assert dl.read() == GZ
    first, second, third, fourth = _ports(server, start)
    assert first == second == third  # read to the end: back to the pool
    assert fourth != third  # the unread body closed its connection


def test_async_connection_reuse(server: DocServer) -> None:
    async def main() -> None:
        async with AsyncSellingPartner(**CREDS) as sp:
            for _ in range(2):
                async with sp.stream_download(server.url("/chunked")) as dl:
                    assert await dl.read() == GZ
            async with sp.stream_download(server.url("/noise")) as dl:
                async for _ in dl.iter_bytes():
                    break
            async with sp.stream_download(server.url("/gz")) as dl:
                assert await dl.read() == GZ

    start = len(server.seen)
    asyncio.run(main())
    first, second, third, fourth = _ports(server, start)
    assert first == second == third and fourth != third


# -- deadlines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/trickle", "/stall"])
@pytest.mark.parametrize("wire", WIRES)
def test_a_trickle_or_a_stall_ends_with_the_timeout(server: DocServer, wire: str,
                                                    path: str) -> None:
    """A byte every 0.1 s never makes 64 KiB within the 1 s timeout, though each read gets a
    byte in time; a stall after 256 KiB gets nothing. Both end near the timeout (the bound is
    generous: the host is loaded), not after the server's 15-20 s."""
    with _sync_client(wire, timeout=1.0) as sp, sp.stream_download(server.url(path)) as dl:
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError) as info:
            for _ in dl.iter_bytes():
                pass
        elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"{path} ({wire}) took {elapsed:.1f} s"
    assert "<document url>" in str(info.value) and SIGNATURE not in str(info.value)


@pytest.mark.parametrize("wire", WIRES)
def test_async_trickle_ends_with_the_timeout(server: DocServer, wire: str) -> None:
    async def main() -> float:
        async with _async_client(wire, timeout=1.0) as sp:
            async with sp.stream_download(server.url("/trickle")) as dl:
                started = time.monotonic()
                with pytest.raises(ReadTimeoutError):
                    async for _ in dl.iter_bytes():
                        pass
                return time.monotonic() - started

    assert asyncio.run(main()) < 5.0


@pytest.mark.parametrize("wire", WIRES)
def test_a_download_that_keeps_flowing_outlasts_the_timeout(server: DocServer,
                                                            wire: str) -> None:
    """1.5 MB at 64 KiB every 0.12 s takes about 3 s, three times the timeout: it completes."""
    with _sync_client(wire, timeout=1.0) as sp:
        started = time.monotonic()
        with sp.stream_download(server.url("/slow-but-flowing")) as dl:
            data = dl.read()
        elapsed = time.monotonic() - started
    assert data == NOISE[:1_572_864]
    assert elapsed > 1.0  # it really outlasted the timeout


def test_async_download_that_keeps_flowing_outlasts_the_timeout(server: DocServer) -> None:
    async def main() -> bytes:
        async with AsyncSellingPartner(**CREDS, timeout=1.0) as sp:
            async with sp.stream_download(server.url("/slow-but-flowing")) as dl:
                return await dl.read()

    assert asyncio.run(main()) == NOISE[:1_572_864]


# -- errors and logs ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_an_error_status_raises_without_the_signature(server: DocServer, wire: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _sync_client(wire) as sp:
        with pytest.raises(ApiError) as info:
            with sp.stream_download(server.url("/denied")):
                pass
        # the connection of the error was read to its end: the next download still works
        with sp.stream_download(server.url("/gz")) as dl:
            assert dl.read() == GZ
    err = info.value
    assert err.status == 403 and b"SignatureDoesNotMatch" in err.body
    for text in (str(err), repr(err), repr(err.body)):
        assert SIGNATURE not in text and "AKIAEXAMPLE" not in text
    _no_query_in(caplog)


def test_async_error_status_and_logs(server: DocServer, caplog: pytest.LogCaptureFixture
                                     ) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> ApiError:
        async with _async_client("httpx") as sp:
            with pytest.raises(ApiError) as info:
                async with sp.stream_download(server.url("/denied")):
                    pass
            return info.value

    err = asyncio.run(main())
    assert err.status == 403 and SIGNATURE not in repr(err.body)
    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/denied?<redacted>" in line for line in httpx_lines), httpx_lines
    _no_query_in(caplog)


def test_mistakes_are_explained(server: DocServer) -> None:
    with SellingPartner(**CREDS) as sp:
        with pytest.raises(ConfigurationError, match="timeout"):
            sp.stream_download(server.url("/gz"), timeout=0)
        dl = sp.stream_download(server.url("/gz"))
        with pytest.raises(ConfigurationError, match="open the download first"):
            next(iter(dl.iter_bytes()))
        with dl:
            dl.read()
            with pytest.raises(ConfigurationError, match="already been read"):
                dl.read()
        with pytest.raises(ValidationError, match="url"):
            sp.stream_download("ftp://example.com/x")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_through_a_proxy_a_trickle_ends_with_the_timeout(asynchronous: bool) -> None:
    """The loopback server stands in for a forward proxy (absolute-form requests) and trickles
    the body: the httpx wire under a proxy keeps the progress deadline too."""
    from .trickle import trickle_server

    with trickle_server(interval=0.1) as srv:
        srv.modes["/doc/"] = "trickle"
        url = f"http://127.0.0.1:9/doc/1?{QUERY}"  # never reached: the proxy answers
        kw: dict[str, Any] = dict(CREDS, proxy=srv.url, timeout=1.0)
        started = time.monotonic()
        if asynchronous:
            async def main() -> None:
                async with AsyncSellingPartner(**kw) as sp:
                    async with sp.stream_download(url) as dl:
                        async for _ in dl.iter_bytes():
                            pass
            with pytest.raises(ReadTimeoutError):
                asyncio.run(main())
        else:
            with SellingPartner(**kw) as sp, sp.stream_download(url) as dl:
                with pytest.raises(ReadTimeoutError):
                    for _ in dl.iter_bytes():
                        pass
        elapsed = time.monotonic() - started
        assert [t for t, _ in srv.seen] == ["http://127.0.0.1:9/doc/1?" + QUERY]
    assert elapsed < 5.0
