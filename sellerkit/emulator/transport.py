"""httpx transports that run the emulator app in-process (the test seam of the clients).

* :class:`EmulatorAsyncTransport` wraps ``httpx.ASGITransport``: the app runs in the caller's
  event loop.
* :class:`EmulatorSyncTransport` runs the app on a private event loop in a daemon thread (an
  anyio blocking portal, as Starlette's TestClient does) and blocks for each response. One loop
  serves every thread that shares the transport; ``close()`` stops it.

A ``reset`` fault surfaces as ``httpx.ReadError``, the error a dropped connection gives.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from sellerkit.emulator.app import ConnectionDropped

__all__ = ["EmulatorAsyncTransport", "EmulatorSyncTransport"]

_CLIENT = ("127.0.0.1", 40000)


class EmulatorAsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, client=_CLIENT)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.ReadError("the server dropped the connection", request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


class EmulatorSyncTransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = EmulatorAsyncTransport(app)
        self._lock = threading.Lock()
        self._portal: Any = None
        self._thread: threading.Thread | None = None

    def _get_portal(self) -> Any:
        portal = self._portal
        if portal is not None:
            return portal
        with self._lock:
            if self._portal is None:
                import anyio
                from anyio.from_thread import BlockingPortal

                ready = threading.Event()
                box: dict[str, Any] = {}

                async def main() -> None:
                    async with BlockingPortal() as p:
                        box["portal"] = p
                        ready.set()
                        await p.sleep_until_stopped()

                def run() -> None:
                    try:
                        anyio.run(main)
                    finally:
                        ready.set()

                # a daemon thread: a transport nobody closed must not keep the process alive
                thread = threading.Thread(target=run, name="sellerkit-emulator-loop", daemon=True)
                thread.start()
                ready.wait()
                if "portal" not in box:
                    raise RuntimeError("the emulator event loop did not start")
                self._portal = box["portal"]
                self._thread = thread
            return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        clone = httpx.Request(request.method, request.url, headers=request.headers, content=body,
                              extensions=request.extensions)

        async def call() -> tuple[int, Any, bytes, Any]:
            resp = await self._inner.handle_async_request(clone)
            # raw bytes: the response keeps its Content-Encoding header, so the caller's
            # httpx decodes it once (aread() would decode here and again there)
            content = b"".join([chunk async for chunk in resp.aiter_raw()])
            await resp.aclose()
            return resp.status_code, resp.headers.raw, content, resp.extensions

        try:
            status, headers, content, ext = self._get_portal().call(call)
        except httpx.ReadError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        return httpx.Response(status, headers=headers, content=content, extensions=ext,
                              request=request)

    def close(self) -> None:
        with self._lock:
            portal, self._portal = self._portal, None
            thread, self._thread = self._thread, None
        if portal is not None:
            try:
                portal.call(portal.stop)
            except RuntimeError:  # the loop is already gone
                pass
        if thread is not None:
            thread.join(timeout=5)
