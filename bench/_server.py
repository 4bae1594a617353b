"""A small, fast HTTP/1.1 server that plays SP-API and LWA for the client benchmarks.

It runs in its own process (``python3 bench/_server.py``), so it never shares the GIL with the
clients being measured. It speaks just enough HTTP/1.1 for them: keep-alive, ``Content-Length``
bodies, no chunked uploads. It answers:

- ``POST /auth/o2/token``: an LWA access token (``expires_in`` 3600);
- ``POST /tokens/2021-03-01/restrictedDataToken``: a Restricted Data Token;
- ``GET /sellers/v1/marketplaceParticipations`` and ``GET /orders/v0/orders/{id}``: a small fixed
  JSON body with ``x-amzn-RequestId`` and ``x-amzn-RateLimit-Limit``;
- anything else: a 404 in SP-API's error shape.

Loopback only. It stops by itself: when its parent closes its stdin (or dies), or after
``--max-seconds``. Its ceiling is measured by the ``httpclient`` floor in ``bench/clients.py``.

``start_server()`` starts it from another process and yields its base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

HOST = "127.0.0.1"

TOKEN_BODY = json.dumps({
    "access_token": "Atza|bench-access-token",
    "refresh_token": "Atzr|bench-refresh-token",
    "token_type": "bearer",
    "expires_in": 3600,
}).encode()

RDT_BODY = json.dumps({"restrictedDataToken": "Atz.sprdt|bench-rdt", "expiresIn": 3600}).encode()

PARTICIPATIONS_BODY = json.dumps({"payload": [{
    "marketplace": {"id": "ATVPDKIKX0DER", "name": "Amazon.com", "countryCode": "US",
                    "defaultCurrencyCode": "USD", "defaultLanguageCode": "en_US",
                    "domainName": "www.amazon.com"},
    "participation": {"isParticipating": True, "hasSuspendedListings": False},
    "storeName": "Bench Store",
}]}).encode()

ORDER_BODY_TEMPLATE = {"payload": {
    "AmazonOrderId": "", "PurchaseDate": "2026-01-02T03:04:05Z",
    "LastUpdateDate": "2026-01-03T03:04:05Z", "OrderStatus": "Shipped",
    "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.com",
    "OrderTotal": {"CurrencyCode": "USD", "Amount": "19.99"},
    "NumberOfItemsShipped": 1, "NumberOfItemsUnshipped": 0,
    "PaymentMethod": "Other", "MarketplaceId": "ATVPDKIKX0DER",
    "OrderType": "StandardOrder", "IsBusinessOrder": False, "IsPrime": False,
    "IsPremiumOrder": False, "IsGlobalExpressEnabled": False,
    "IsReplacementOrder": False, "IsSoldByAB": False, "IsISPU": False,
    "IsAccessPointOrder": False, "HasRegulatedItems": False,
}}

NOT_FOUND_BODY = json.dumps({"errors": [{"code": "NotFound", "message": "no such resource"}]}
                            ).encode()


def _response(status: str, body: bytes, request_id: str, rate: str | None) -> bytes:
    head = [f"HTTP/1.1 {status}", "content-type: application/json",
            f"content-length: {len(body)}", f"x-amzn-RequestId: {request_id}"]
    if rate is not None:
        head.append(f"x-amzn-RateLimit-Limit: {rate}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Counter:
    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.requests = 0


class BenchProtocol(asyncio.Protocol):
    """One keep-alive connection. Requests may arrive pipelined or split across reads."""

    def __init__(self, counter: _Counter) -> None:
        self.counter = counter
        self.buf = b""
        self.transport: asyncio.WriteTransport | None = None
        self.order_cache: dict[bytes, bytes] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf = self.buf + data if self.buf else data
        out: list[bytes] = []
        close = False
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end]
            length = 0
            lower = head.lower()
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                length = int(lower[i + 17:j if j >= 0 else len(lower)].strip())
            if len(self.buf) < end + 4 + length:
                break
            self.buf = self.buf[end + 4 + length:]
            line_end = head.find(b"\r\n")
            request_line = head[:line_end if line_end >= 0 else len(head)]
            if b"\r\nconnection: close" in lower:
                close = True
            out.append(self.answer(request_line))
            if close:
                break
        if out and self.transport is not None:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])
            if close:
                self.transport.close()

    def answer(self, request_line: bytes) -> bytes:
        self.counter.requests += 1
        rid = f"bench-{next(self.counter.ids)}"
        parts = request_line.split(b" ")
        method = parts[0] if parts else b""
        target = parts[1] if len(parts) > 1 else b"/"
        path = target.split(b"?", 1)[0]
        if method == b"POST" and path == b"/auth/o2/token":
            return _response("200 OK", TOKEN_BODY, rid, None)
        if method == b"POST" and path == b"/tokens/2021-03-01/restrictedDataToken":
            return _response("200 OK", RDT_BODY, rid, "1.0")
        if method == b"GET" and path == b"/sellers/v1/marketplaceParticipations":
            return _response("200 OK", PARTICIPATIONS_BODY, rid, "0.016")
        if method == b"GET" and path.startswith(b"/orders/v0/orders/") and path.count(b"/") == 4:
            order_id = path.rsplit(b"/", 1)[1]
            body = self.order_cache.get(order_id)
            if body is None:
                doc = json.loads(json.dumps(ORDER_BODY_TEMPLATE))
                doc["payload"]["AmazonOrderId"] = order_id.decode("ascii", "replace")
                body = json.dumps(doc).encode()
                self.order_cache[order_id] = body
            return _response("200 OK", body, rid, "0.5")
        return _response("404 Not Found", NOT_FOUND_BODY, rid, None)


async def serve(port: int, max_seconds: float, ready: threading.Event | None = None) -> None:
    loop = asyncio.get_running_loop()
    counter = _Counter()
    server = await loop.create_server(lambda: BenchProtocol(counter), HOST, port, backlog=1024,
                                      reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    stop: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not stop.done():
            stop.set_result(None)

    def watch_stdin() -> None:
        # The parent keeps our stdin open; EOF means it finished (or died): stop.
        try:
            while sys.stdin.buffer.read(1):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(finish)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.call_later(max_seconds, finish)
    async with server:
        await stop
    print(f"SERVED {counter.requests}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def start_server(max_seconds: float = 900.0, python: str | None = None) -> Iterator[str]:
    """Start the bench server in a child process; yield ``http://127.0.0.1:<port>``.

    ``python``: the interpreter to run it with (one with uvloop makes it faster)."""
    proc = subprocess.Popen(
        [python or sys.executable, os.path.abspath(__file__), "--port", "0",
         "--max-seconds", str(max_seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"bench server did not start (said {line!r})")
        yield f"http://{HOST}:{int(line.split()[1])}"
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=900.0,
                    help="stop after this long whatever happens (default 900)")
    args = ap.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.max_seconds))
    else:
        uvloop.run(serve(args.port, args.max_seconds))


if __name__ == "__main__":
    main()
