"""The in-process sync transport hands over raw bytes: a gzip-encoded response is decoded once."""

from __future__ import annotations

import gzip

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sellerkit.emulator.transport import EmulatorAsyncTransport, EmulatorSyncTransport

BODY = b"sku\tqty\nA-1\t3\n" * 50


async def doc(request: Request) -> Response:
    return Response(gzip.compress(BODY), headers={"content-encoding": "gzip"},
                    media_type="text/tab-separated-values")

APP = Starlette(routes=[Route("/doc", doc)])


def test_sync_transport_decodes_gzip_once() -> None:
    transport = EmulatorSyncTransport(APP)
    try:
        with httpx.Client(transport=transport, base_url="http://emulator") as c:
            assert c.get("/doc").content == BODY
    finally:
        transport.close()


async def test_async_transport_decodes_gzip_once() -> None:
    async with httpx.AsyncClient(transport=EmulatorAsyncTransport(APP),
                                 base_url="http://emulator") as c:
        assert (await c.get("/doc")).content == BODY
