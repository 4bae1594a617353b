"""The keep-alive pools under the clients (``sellerkit/client/_wire.py``), against a real local
socket server: reuse, stale keep-alive connections, chunked bodies, Connection: close,
timeouts, refused connections, several event loops, and a whole client call through them."""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit.client._wire import SyncPool
from sellerkit.client._wire_async import AsyncPool

TOKEN = json.dumps({"access_token": "Atza|t", "token_type": "bearer", "expires_in": 3600})


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        server.connections += 1
        buf = b""
        sock = self.request
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            while len(buf) < length:
                buf += sock.recv(65536)
            body, buf = buf[:length], buf[length:]
            method, path, _ = lines[0].split(" ")
            server.seen.append((method, path, body))
            if path.startswith("/swallow") and server.swallow > 0:
                server.swallow -= 1
                return  # read the request, then close without a response byte
            if path == "/slow":
                time.sleep(1.0)
            if path == "/auth/o2/token":
                payload = TOKEN.encode()
            else:
                payload = json.dumps({"payload": {"path": path}}).encode()
            extra = ""
            if path == "/close":
                extra = "connection: close\r\n"
            if path == "/chunked":
                half = len(payload) // 2
                sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"transfer-encoding: chunked\r\n\r\n" +
                             f"{half:x}\r\n".encode() + payload[:half] + b"\r\n" +
                             f"{len(payload) - half:x}\r\n".encode() + payload[half:] +
                             b"\r\n0\r\n\r\n")
            else:
                sock.sendall(
                    (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     f"x-amzn-RequestId: r{len(server.seen)}\r\nx-amzn-RateLimit-Limit: 0.5\r\n"
                     f"{extra}content-length: {len(payload)}\r\n\r\n").encode() + payload)
            if path == "/close" or server.drop_idle:
                return  # close the connection (announced or not)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.seen: list[tuple[str, str, bytes]] = []
        self.drop_idle = False
        self.swallow = 0  # requests to /swallow* that get the connection closed instead

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_sync_pool_reuses_one_connection_and_reads_bodies(server: _Server) -> None:
    pool = SyncPool(connect_timeout=5)
    for i in range(5):
        r = pool.request("GET", f"{server.url}/x?i={i}", headers={"accept": "application/json"},
                         content=None, timeout=5)
        assert r.status_code == 200
        assert json.loads(r.content)["payload"]["path"] == f"/x?i={i}"
        assert r.headers.get("x-amzn-ratelimit-limit") == "0.5"
    r = pool.request("POST", f"{server.url}/p", headers={"content-type": "application/json"},
                     content=b'{"a":1}', timeout=5)
    assert server.seen[-1] == ("POST", "/p", b'{"a":1}')
    assert server.connections == 1
    pool.close()


def test_sync_pool_chunked_close_and_stale_connections(server: _Server) -> None:
    pool = SyncPool(connect_timeout=5)
    r = pool.request("GET", f"{server.url}/chunked", headers={}, content=None, timeout=5)
    assert json.loads(r.content)["payload"]["path"] == "/chunked"
    pool.request("GET", f"{server.url}/close", headers={}, content=None, timeout=5)
    pool.request("GET", f"{server.url}/after-close", headers={}, content=None, timeout=5)
    assert server.connections == 2
    server.drop_idle = True  # the server now closes every connection without saying so
    for _ in range(3):
        r = pool.request("GET", f"{server.url}/stale", headers={}, content=None, timeout=5)
        assert r.status_code == 200
    pool.close()


def test_sync_pool_maps_timeouts_and_refusals_to_httpx_errors(server: _Server) -> None:
    pool = SyncPool(connect_timeout=5)
    with pytest.raises(httpx.ReadTimeout):
        pool.request("GET", f"{server.url}/slow", headers={}, content=None, timeout=0.2)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(httpx.ConnectError):
        pool.request("GET", f"http://127.0.0.1:{port}/", headers={}, content=None, timeout=2)


async def test_async_pool_concurrency_chunked_close_and_stale(server: _Server) -> None:
    pool = AsyncPool(connect_timeout=5, max_connections=4)
    results = await asyncio.gather(*(
        pool.request("GET", f"{server.url}/c{i}", headers={"accept": "application/json"},
                     content=None, timeout=5) for i in range(20)))
    assert [json.loads(r.content)["payload"]["path"] for r in results] == \
        [f"/c{i}" for i in range(20)]
    assert server.connections <= 4
    r = await pool.request("GET", f"{server.url}/chunked", headers={}, content=None, timeout=5)
    assert json.loads(r.content)["payload"]["path"] == "/chunked"
    await pool.request("GET", f"{server.url}/close", headers={}, content=None, timeout=5)
    r = await pool.request("POST", f"{server.url}/p", headers={}, content=b"xyz", timeout=5)
    assert server.seen[-1] == ("POST", "/p", b"xyz")
    server.drop_idle = True
    for _ in range(3):
        r = await pool.request("GET", f"{server.url}/stale", headers={}, content=None, timeout=5)
        assert r.status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        await pool.request("GET", f"{server.url}/slow", headers={}, content=None, timeout=0.2)
    with pytest.raises(ValueError):
        await pool.request("GET", f"{server.url}/x", headers={"x": "a\r\nevil: 1"},
                           content=None, timeout=5)
    await pool.aclose()


def test_async_pool_survives_a_new_event_loop(server: _Server) -> None:
    pool = AsyncPool(connect_timeout=5)

    async def one() -> int:
        r = await pool.request("GET", f"{server.url}/loop", headers={}, content=None, timeout=5)
        return r.status_code

    assert asyncio.run(one()) == 200
    assert asyncio.run(one()) == 200  # the first loop's connection is not reused


def test_clients_send_through_the_pools_without_a_transport(server: _Server) -> None:
    with SellingPartner(client_id="id", client_secret="secret", refresh_token="Atzr|r",
                        endpoint=server.url, lwa_endpoint=server.url + "/auth/o2/token",
                        rate_limiter=False) as sp:
        assert isinstance(sp._wire, SyncPool)
        r = sp.sellers_v1.get_marketplace_participations()
        r = sp.sellers_v1.get_marketplace_participations()
    assert r.body == {"payload": {"path": "/sellers/v1/marketplaceParticipations"}}
    assert r.payload == {"path": "/sellers/v1/marketplaceParticipations"}
    assert r.request_id and r.rate_limit == 0.5

    async def run() -> None:
        async with AsyncSellingPartner(client_id="id", client_secret="secret",
                                       refresh_token="Atzr|r", endpoint=server.url,
                                       lwa_endpoint=server.url + "/auth/o2/token",
                                       rate_limiter=False) as asp:
            assert isinstance(asp._wire, AsyncPool)
            rs = await asyncio.gather(*(asp.sellers_v1.get_marketplace_participations()
                                        for _ in range(10)))
            assert all(x.status == 200 for x in rs)

    asyncio.run(run())


def _sent(server: _Server, method: str, path: str) -> int:
    return sum(1 for m, p, _ in server.seen if (m, p) == (method, path))


def test_a_post_on_a_reused_connection_that_dies_is_not_sent_twice(server: _Server) -> None:
    pool = SyncPool(connect_timeout=5)
    pool.request("GET", f"{server.url}/warm", headers={}, content=None, timeout=5)
    server.swallow = 1  # the server takes the request and drops the connection
    with pytest.raises(httpx.RemoteProtocolError):
        pool.request("POST", f"{server.url}/swallow", headers={}, content=b"{}", timeout=5)
    assert _sent(server, "POST", "/swallow") == 1  # a createReport never reaches Amazon twice
    pool.request("GET", f"{server.url}/warm", headers={}, content=None, timeout=5)
    server.swallow = 1
    r = pool.request("GET", f"{server.url}/swallow-get", headers={}, content=None, timeout=5)
    assert r.status_code == 200 and _sent(server, "GET", "/swallow-get") == 2  # GET is resent
    server.drop_idle = True  # closed while idle: noticed before sending, so a POST goes through
    pool.request("GET", f"{server.url}/a", headers={}, content=None, timeout=5)
    time.sleep(0.05)
    r = pool.request("POST", f"{server.url}/b", headers={}, content=b"{}", timeout=5)
    assert r.status_code == 200 and _sent(server, "POST", "/b") == 1
    pool.close()


async def test_async_a_post_on_a_reused_connection_that_dies_is_not_sent_twice(
        server: _Server) -> None:
    pool = AsyncPool(connect_timeout=5)
    await pool.request("GET", f"{server.url}/warm", headers={}, content=None, timeout=5)
    server.swallow = 1
    with pytest.raises(httpx.RemoteProtocolError):
        await pool.request("POST", f"{server.url}/swallow", headers={}, content=b"{}", timeout=5)
    assert _sent(server, "POST", "/swallow") == 1
    await pool.request("GET", f"{server.url}/warm", headers={}, content=None, timeout=5)
    server.swallow = 1
    r = await pool.request("GET", f"{server.url}/swallow-get", headers={}, content=None, timeout=5)
    assert r.status_code == 200 and _sent(server, "GET", "/swallow-get") == 2
    server.drop_idle = True
    await pool.request("GET", f"{server.url}/a", headers={}, content=None, timeout=5)
    await asyncio.sleep(0.05)
    r = await pool.request("POST", f"{server.url}/b", headers={}, content=b"{}", timeout=5)
    assert r.status_code == 200 and _sent(server, "POST", "/b") == 1
    await pool.aclose()
