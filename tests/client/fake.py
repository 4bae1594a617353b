"""A scripted SP-API + LWA server for client tests, as an httpx handler (no sockets)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx

Responder = Callable[[httpx.Request], httpx.Response]

LWA = "http://127.0.0.1:9/auth/o2/token"
BASE = "http://127.0.0.1:9"


def ok(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    h = {"x-amzn-RequestId": "req-1", "content-type": "application/json"}
    h.update(headers or {})
    return httpx.Response(status, json=payload, headers=h)


def err(status: int, code: str = "InvalidInput", message: str = "bad",
        headers: dict[str, str] | None = None) -> httpx.Response:
    return ok({"errors": [{"code": code, "message": message, "details": ""}]}, status, headers)


class FakeSPAPI:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Responder] | Responder] = {}
        self.requests: list[httpx.Request] = []
        self.lwa_requests: list[dict[str, list[str]]] = []
        self.rdt_requests: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self.token_counter = 0

    def on(self, method: str, path: str, *responders: Responder | httpx.Response) -> None:
        fns = [r if callable(r) else (lambda _req, r=r: r) for r in responders]
        self.routes[(method, path)] = fns if len(fns) > 1 else fns[0]

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if request.url.path == "/auth/o2/token":
                form = parse_qs(request.content.decode())
                self.lwa_requests.append(form)
                self.token_counter += 1
                kind = form["grant_type"][0]
                return httpx.Response(200, json={
                    "access_token": f"Atza|{kind}-{self.token_counter}",
                    "token_type": "bearer", "expires_in": 3600})
            if request.url.path == "/tokens/2021-03-01/restrictedDataToken":
                body = json.loads(request.content)
                self.rdt_requests.append(body)
                return ok({"restrictedDataToken": f"Atz.sprdt|rdt-{len(self.rdt_requests)}",
                           "expiresIn": 3600})
            self.requests.append(request)
            route = self.routes.get((request.method, request.url.path))
        if route is None:
            return err(404, "NotFound", f"no route {request.method} {request.url.path}")
        if isinstance(route, list):
            fn = route.pop(0) if len(route) > 1 else route[0]
        else:
            fn = route
        return fn(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def async_transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            await request.aread()
            return self.handler(request)

        return httpx.MockTransport(handle)
