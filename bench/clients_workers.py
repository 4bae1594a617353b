"""One measurement of one client, run in its own process by ``bench/clients.py``.

    python3 bench/clients_workers.py --client sellerkit --mode sync --url http://127.0.0.1:PORT

prints one JSON line: ``{"client", "mode", "rates", "cpu_us", "note", "error"}``. ``rates`` are
calls per second of each timed repetition; ``cpu_us`` the client's CPU time per call (user +
system of this process), which the machine's other load disturbs much less than wall time.

Only the standard library is imported at module level: the same file runs under the project's
Python (sellerkit, httpx, http.client) and under the peers' virtualenv (the other SP-API
libraries and the transport candidates), and each client is imported only when it is measured.

Every client calls the same operation on the same local server (``bench/_server.py``):
``sellers`` = GET /sellers/v1/marketplaceParticipations (no parameters), ``order`` =
GET /orders/v0/orders/{orderId} (a path parameter; sellerkit fetches a Restricted Data Token
for it once, as it does against Amazon, and then uses its cache).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

CLIENT_ID = "amzn1.application-oa2-client.bench"
CLIENT_SECRET = "bench-client-secret"  # noqa: S105 (a dummy for the local server)
REFRESH_TOKEN = "Atzr|bench-refresh-token"  # noqa: S105 (a dummy for the local server)
MARKETPLACE = "ATVPDKIKX0DER"
ORDER_ID = "902-3159896-1390916"
PATHS = {"sellers": "/sellers/v1/marketplaceParticipations",
         "order": f"/orders/v0/orders/{ORDER_ID}"}


class Spec:
    """What a worker was asked to measure."""

    def __init__(self, url: str, op: str) -> None:
        self.url = url.rstrip("/")
        self.op = op
        self.path = PATHS[op]
        self.token_url = self.url + "/auth/o2/token"
        self.host_port = self.url.split("://", 1)[1]


# The sellerkit client a factory built last, for the prototype rows to swap its transport.
_last_client: dict[str, Any] = {}

SyncCall = Callable[[], Any]
AsyncCall = Callable[[], Awaitable[Any]]
# A factory returns (call, close, note).
SyncFactory = Callable[[Spec], tuple[SyncCall, Callable[[], Any], str]]
AsyncFactory = Callable[[Spec], Awaitable[tuple[AsyncCall, Callable[[], Awaitable[Any]], str]]]


def _check(result: Any) -> None:
    """Each call must really have returned the server's answer (no silent errors)."""
    if result is None:
        raise AssertionError("the call returned nothing")


# --------------------------------------------------------------------------------------------
# sync clients


def sync_httpclient(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    import http.client

    host, port = spec.host_port.split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"x-amz-access-token": "Atza|bench-access-token", "accept": "application/json",
               "user-agent": "bench"}
    path = spec.path
    loads = json.loads

    def call() -> Any:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise AssertionError(resp.status)
        return loads(body)

    return call, conn.close, "floor: one keep-alive connection, fixed token, json.loads"


def sync_httpx(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    import httpx

    client = httpx.Client()
    url = spec.url + spec.path
    headers = {"x-amz-access-token": "Atza|bench-access-token", "accept": "application/json"}

    def call() -> Any:
        r = client.get(url, headers=headers)
        r.raise_for_status()
        return r.json()

    return call, client.close, f"httpx {httpx.__version__} Client, fixed token, r.json()"


def sync_httpx_tuned(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    """httpx with what a client library can cheaply do: a prebuilt URL and Headers, no env."""
    import httpx

    client = httpx.Client(trust_env=False)
    url = httpx.URL(spec.url + spec.path)
    headers = httpx.Headers({"x-amz-access-token": "Atza|bench-access-token",
                             "accept": "application/json"})

    def call() -> Any:
        r = client.request("GET", url, headers=headers)
        return json.loads(r.content)

    return call, client.close, "httpx Client(trust_env=False), prebuilt URL/Headers"


def sync_httpcore(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    import httpcore

    pool = httpcore.ConnectionPool()
    url = (spec.url + spec.path).encode()
    headers = [(b"host", spec.host_port.encode()),
               (b"x-amz-access-token", b"Atza|bench-access-token"),
               (b"accept", b"application/json")]

    def call() -> Any:
        r = pool.request(b"GET", url, headers=headers)
        return json.loads(r.content)

    return call, pool.close, f"httpcore {httpcore.__version__} ConnectionPool (httpx without httpx)"


def sync_urllib3(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    import urllib3

    host, port = spec.host_port.split(":")
    pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=10)
    headers = {"x-amz-access-token": "Atza|bench-access-token", "accept": "application/json"}
    path = spec.path

    def call() -> Any:
        r = pool.request("GET", path, headers=headers, retries=False)
        return json.loads(r.data)

    return call, pool.close, f"urllib3 {urllib3.__version__} HTTPConnectionPool"


def sync_sellerkit(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    from sellerkit import SellingPartner

    sp = SellingPartner(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        refresh_token=REFRESH_TOKEN, marketplace="US", endpoint=spec.url,
                        lwa_endpoint=spec.token_url, rate_limiter=False)
    _last_client["sellerkit"] = sp
    if spec.op == "sellers":
        res = sp.sellers_v1

        def call() -> Any:
            return res.get_marketplace_participations().payload
    else:
        orders = sp.orders_v0

        def call() -> Any:
            return orders.get_order(order_id=ORDER_ID).payload

    return call, sp.close, "rate_limiter=False (the limiter is measured by bench/quota.py)"


def sync_python_amazon_sp_api(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    from types import SimpleNamespace

    from sp_api.api import Orders, Sellers
    from sp_api.auth import AccessTokenClient

    class LocalTokenClient(AccessTokenClient):  # its documented hook: auth_token_client_class
        scheme = "http://"
        host = spec.host_port

    # `marketplace` is read only for .endpoint, .marketplace_id and .region.
    market = SimpleNamespace(endpoint=spec.url, marketplace_id=MARKETPLACE, region="us-east-1")
    creds = {"lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET}
    cls = Sellers if spec.op == "sellers" else Orders
    client = cls(marketplace=market, refresh_token=REFRESH_TOKEN, credentials=creds,
                 auth_token_client_class=LocalTokenClient)
    if spec.op == "sellers":
        def call() -> Any:
            return client.get_marketplace_participation().payload
    else:
        def call() -> Any:
            return client.get_order(ORDER_ID).payload
    note = ("marketplace= a stand-in object carrying the local endpoint; LWA URL via "
            "auth_token_client_class (no patching)")
    return call, client.close, note


def sync_amzn_sp_api(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    import logging

    from spapi import SPAPIClient, SPAPIConfig
    from spapi.api.orders_v0.orders_v0_api import OrdersV0Api
    from spapi.api.sellers_v1.sellers_api import SellersApi

    logging.getLogger().setLevel(logging.WARNING)  # it calls basicConfig(INFO) on import
    config = SPAPIConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                         refresh_token=REFRESH_TOKEN, region="NA")
    client = SPAPIClient(config, oauth_endpoint=spec.token_url, endpoint=spec.url)
    if spec.op == "sellers":
        api = SellersApi(client.api_client)

        def call() -> Any:
            return api.get_marketplace_participations()
    else:
        oapi = OrdersV0Api(client.api_client)

        def call() -> Any:
            return oapi.get_order(ORDER_ID)

    def close() -> None:
        client.api_client.rest_client.pool_manager.clear()

    return call, close, "SPAPIClient(oauth_endpoint=, endpoint=) (no patching)"


def _amzn_sp_auth(spec: Spec, asynchronous: bool) -> Any:
    from amzn_selling_partner.plugins.amazon_spapi import AsyncLWAAuth, LWAAuth, LWACredentials

    creds = LWACredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           refresh_token=REFRESH_TOKEN)
    cls = AsyncLWAAuth if asynchronous else LWAAuth
    return cls(creds, token_url=spec.token_url, base_url=spec.url)


_ASP_NOTE = ("its generated Client(base_url=, auth=LWAAuth(token_url=, base_url=)), the class "
             "SellingPartner extends (SellingPartner derives base_url from region only); "
             "throttle=False")


def sync_amzn_selling_partner(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    from amzn_selling_partner.sdk.client import Client

    client = Client(base_url=spec.url, auth=_amzn_sp_auth(spec, False), throttle=False)
    if spec.op == "sellers":
        res = client.sellers_v1

        def call() -> Any:
            return res.list_marketplace_participations()
    else:
        orders = client.orders_v0

        def call() -> Any:
            return orders.get_order(ORDER_ID)

    def close() -> None:
        client.close()
        client.http.auth.close()

    return call, close, _ASP_NOTE


def sync_sellerkit_proto(spec: Spec) -> tuple[SyncCall, Callable[[], Any], str]:
    from clients_proto import HttpClientTransport, swap

    call, close, _ = sync_sellerkit(spec)
    call()  # the LWA token comes through httpx, as it would anyway
    transport = HttpClientTransport()
    swap(_last_client["sellerkit"], transport)

    def close_all() -> None:
        transport.close()
        close()

    return call, close_all, ("PROTOTYPE: the same SellingPartner with its API calls sent by "
                             "bench/clients_proto.py HttpClientTransport (http.client pool)")


SYNC: dict[str, SyncFactory] = {
    "httpclient": sync_httpclient,
    "httpx": sync_httpx,
    "sellerkit": sync_sellerkit,
    "python-amazon-sp-api": sync_python_amazon_sp_api,
    "amzn-sp-api": sync_amzn_sp_api,
    "amzn-selling-partner": sync_amzn_selling_partner,
    # transport candidates
    "httpx-tuned": sync_httpx_tuned,
    "httpcore": sync_httpcore,
    "urllib3": sync_urllib3,
    "sellerkit-proto": sync_sellerkit_proto,
}


# --------------------------------------------------------------------------------------------
# async clients


async def async_httpx(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    import httpx

    client = httpx.AsyncClient()
    url = spec.url + spec.path
    headers = {"x-amz-access-token": "Atza|bench-access-token", "accept": "application/json"}

    async def call() -> Any:
        r = await client.get(url, headers=headers)
        r.raise_for_status()
        return r.json()

    return call, client.aclose, f"httpx {httpx.__version__} AsyncClient (pool of 100)"


async def async_httpcore(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    import httpcore

    pool = httpcore.AsyncConnectionPool(max_connections=100)
    url = (spec.url + spec.path).encode()
    headers = [(b"host", spec.host_port.encode()),
               (b"x-amz-access-token", b"Atza|bench-access-token"),
               (b"accept", b"application/json")]

    async def call() -> Any:
        r = await pool.request(b"GET", url, headers=headers)
        return json.loads(r.content)

    return call, pool.aclose, f"httpcore {httpcore.__version__} AsyncConnectionPool"


async def async_aiohttp(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    url = spec.url + spec.path
    headers = {"x-amz-access-token": "Atza|bench-access-token", "accept": "application/json"}

    async def call() -> Any:
        async with session.get(url, headers=headers) as r:
            return json.loads(await r.read())

    return call, session.close, f"aiohttp {aiohttp.__version__} ClientSession (limit 100)"


async def async_asyncio_raw(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    """The async floor: asyncio streams, one keep-alive connection per task slot, no parsing
    beyond the status line and Content-Length."""
    host, port = spec.host_port.split(":")
    request = (f"GET {spec.path} HTTP/1.1\r\nhost: {spec.host_port}\r\n"
               "x-amz-access-token: Atza|bench-access-token\r\naccept: application/json\r\n\r\n"
               ).encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def call() -> Any:
        conn = idle.pop() if idle else await asyncio.open_connection(host, int(port))
        reader, writer = conn
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        idle.append(conn)
        return json.loads(body)

    async def close() -> None:
        for _, w in idle:
            w.close()

    return call, close, "floor: asyncio streams, minimal HTTP/1.1"


async def async_sellerkit(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from sellerkit import AsyncSellingPartner

    sp = AsyncSellingPartner(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                             refresh_token=REFRESH_TOKEN, marketplace="US", endpoint=spec.url,
                             lwa_endpoint=spec.token_url, rate_limiter=False)
    _last_client["sellerkit"] = sp
    if spec.op == "sellers":
        res = sp.sellers_v1

        async def call() -> Any:
            return (await res.get_marketplace_participations()).payload
    else:
        orders = sp.orders_v0

        async def call() -> Any:
            return (await orders.get_order(order_id=ORDER_ID)).payload

    return call, sp.aclose, "rate_limiter=False (the limiter is measured by bench/quota.py)"


async def async_python_amazon_sp_api(spec: Spec
                                     ) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from types import SimpleNamespace

    from sp_api.asyncio.api import Orders, Sellers
    from sp_api.asyncio.auth import AccessTokenClient

    class LocalTokenClient(AccessTokenClient):
        scheme = "http://"
        host = spec.host_port

    market = SimpleNamespace(endpoint=spec.url, marketplace_id=MARKETPLACE, region="us-east-1")
    creds = {"lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET}
    cls = Sellers if spec.op == "sellers" else Orders
    client = cls(marketplace=market, refresh_token=REFRESH_TOKEN, credentials=creds,
                 auth_token_client_class=LocalTokenClient)
    if spec.op == "sellers":
        async def call() -> Any:
            return (await client.get_marketplace_participation()).payload
    else:
        async def call() -> Any:
            return (await client.get_order(ORDER_ID)).payload

    async def close() -> None:
        await client._transport.aclose()

    return call, close, "sp_api.asyncio; same endpoint/LWA hooks as its sync client"


async def async_amzn_selling_partner(spec: Spec
                                     ) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from amzn_selling_partner.sdk.client import AsyncClient

    client = AsyncClient(base_url=spec.url, auth=_amzn_sp_auth(spec, True), throttle=False)
    if spec.op == "sellers":
        res = client.sellers_v1

        async def call() -> Any:
            return await res.list_marketplace_participations()
    else:
        orders = client.orders_v0

        async def call() -> Any:
            return await orders.get_order(ORDER_ID)

    async def close() -> None:
        await client.aclose()
        await client.http.auth.aclose()

    return call, close, _ASP_NOTE


async def _async_sellerkit_swapped(spec: Spec, transport: Any, what: str
                                   ) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from clients_proto import swap

    call, close, _ = await async_sellerkit(spec)
    await call()  # the LWA token comes through httpx, as it would anyway
    swap(_last_client["sellerkit"], transport)

    async def close_all() -> None:
        await transport.aclose()
        await close()

    return call, close_all, ("PROTOTYPE: the same AsyncSellingPartner with its API calls sent "
                             f"by bench/clients_proto.py {what}")


async def async_sellerkit_proto(spec: Spec) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from clients_proto import StreamsTransport

    return await _async_sellerkit_swapped(spec, StreamsTransport(),
                                          "StreamsTransport (asyncio streams pool)")


async def async_sellerkit_aiohttp(spec: Spec
                                  ) -> tuple[AsyncCall, Callable[[], Awaitable[Any]], str]:
    from clients_proto import AiohttpTransport

    return await _async_sellerkit_swapped(spec, AiohttpTransport(),
                                          "AiohttpTransport (aiohttp ClientSession)")


ASYNC: dict[str, AsyncFactory] = {
    "httpx": async_httpx,
    "sellerkit": async_sellerkit,
    "python-amazon-sp-api": async_python_amazon_sp_api,
    "amzn-selling-partner": async_amzn_selling_partner,
    # transport candidates and the floor
    "asyncio-raw": async_asyncio_raw,
    "httpcore": async_httpcore,
    "aiohttp": async_aiohttp,
    "sellerkit-proto": async_sellerkit_proto,
    "sellerkit-aiohttp": async_sellerkit_aiohttp,
}

# amzn-sp-api has no asyncio API: its `async_req=True` runs the call on a
# multiprocessing.pool.ThreadPool (cpu_count threads). Measured as its "async" figure.
THREADED = {"amzn-sp-api"}


# --------------------------------------------------------------------------------------------
# timing


def time_sync(call: SyncCall, calls: int, repeats: int) -> tuple[list[float], list[float]]:
    for _ in range(max(20, calls // 10)):  # warm up: token fetch, connection, caches
        _check(call())
    rates, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            call()
        t1, c1 = time.perf_counter(), time.process_time()
        rates.append(calls / (t1 - t0))
        cpu.append((c1 - c0) / calls * 1e6)
    return rates, cpu


async def _run_batch(call: AsyncCall, calls: int, concurrency: int) -> None:
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            _check(await call())

    await asyncio.gather(*(worker() for _ in range(min(concurrency, calls))))


async def time_async(call: AsyncCall, calls: int, concurrency: int, repeats: int
                     ) -> tuple[list[float], list[float]]:
    await _run_batch(call, max(concurrency * 2, calls // 5), concurrency)  # warm up
    rates, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        await _run_batch(call, calls, concurrency)
        t1, c1 = time.perf_counter(), time.process_time()
        rates.append(calls / (t1 - t0))
        cpu.append((c1 - c0) / calls * 1e6)
    return rates, cpu


def time_threaded_amzn_sp_api(spec: Spec, calls: int, repeats: int
                              ) -> tuple[list[float], list[float], str]:
    import logging

    from spapi import SPAPIClient, SPAPIConfig
    from spapi.api.orders_v0.orders_v0_api import OrdersV0Api
    from spapi.api.sellers_v1.sellers_api import SellersApi

    logging.getLogger().setLevel(logging.WARNING)
    config = SPAPIConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                         refresh_token=REFRESH_TOKEN, region="NA")
    client = SPAPIClient(config, oauth_endpoint=spec.token_url, endpoint=spec.url)
    if spec.op == "sellers":
        api = SellersApi(client.api_client)

        def submit() -> Any:
            return api.get_marketplace_participations(async_req=True)
    else:
        oapi = OrdersV0Api(client.api_client)

        def submit() -> Any:
            return oapi.get_order(ORDER_ID, async_req=True)

    for r in [submit() for _ in range(max(20, calls // 5))]:
        _check(r.get())
    rates, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for r in [submit() for _ in range(calls)]:
            r.get()
        t1, c1 = time.perf_counter(), time.process_time()
        rates.append(calls / (t1 - t0))
        cpu.append((c1 - c0) / calls * 1e6)
    pool = client.api_client.pool
    threads = pool._processes  # noqa: SLF001
    pool.close()
    pool.join()
    return rates, cpu, (f"no asyncio API: async_req=True on its ThreadPool ({threads} threads, "
                        "urllib3 pool of cpu_count*5)")


def measure(client: str, mode: str, spec: Spec, calls: int, concurrency: int, repeats: int
            ) -> dict[str, Any]:
    out: dict[str, Any] = {"client": client, "mode": mode, "rates": [], "cpu_us": [],
                           "note": "", "error": None}
    try:
        if mode == "sync":
            call, close, note = SYNC[client](spec)
            try:
                out["rates"], out["cpu_us"] = time_sync(call, calls, repeats)
            finally:
                close()
        elif client in THREADED:
            out["rates"], out["cpu_us"], note = time_threaded_amzn_sp_api(spec, calls, repeats)
        else:
            async def run() -> tuple[list[float], list[float], str]:
                acall, aclose, note = await ASYNC[client](spec)
                try:
                    rates, cpu = await time_async(acall, calls, concurrency, repeats)
                finally:
                    await aclose()
                return rates, cpu, note

            out["rates"], out["cpu_us"], note = asyncio.run(run())
        out["note"] = note
    except Exception as exc:  # report why a client could not run, and go on with the others
        out["error"] = f"{type(exc).__name__}: {exc}"
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True)
    ap.add_argument("--mode", choices=["sync", "async"], required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--op", choices=sorted(PATHS), default="sellers")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--extra-path", action="append", default=[],
                    help="append to sys.path (the peers' venv, for aiohttp under sellerkit)")
    args = ap.parse_args(argv)
    sys.path.extend(args.extra_path)
    result = measure(args.client, args.mode, Spec(args.url, args.op), args.calls,
                     args.concurrency, args.repeats)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
