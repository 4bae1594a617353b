"""A scripted Login with Amazon token endpoint, as httpx MockTransport handlers (no sockets)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx

ENDPOINT = "http://127.0.0.1:9/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"
CLIENT_SECRET = "amzn1.oa2-cs.v1.TOPSECRETclientsecretvalue"
REFRESH = "Atzr|IwEBIREFRESHTOKENsecretvalue"
SCOPE = "sellingpartnerapi::notifications"

Script = Callable[[int, dict[str, str]], httpx.Response]


def token_response(n: int, form: dict[str, str], expires_in: int = 3600) -> httpx.Response:
    body: dict[str, object] = {"access_token": f"Atza|token-{n}", "token_type": "bearer",
                               "expires_in": expires_in}
    if form.get("grant_type") == "authorization_code":
        body["refresh_token"] = f"Atzr|new-refresh-{n}"
    return httpx.Response(200, json=body)


def lwa_error(status: int, code: str, description: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": code, "error_description": description})


class FakeLwa:
    """Counts token requests; answers from ``script`` (default: a fresh token every time).

    ``delay`` seconds of sleep widen race windows so single-flight is really tested.
    """

    def __init__(self, script: Script | list[httpx.Response | Exception] | None = None,
                 delay: float = 0.0) -> None:
        self.requests: list[httpx.Request] = []
        self.forms: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.script = script
        self.delay = delay

    @property
    def count(self) -> int:
        return len(self.requests)

    def _record(self, request: httpx.Request) -> tuple[int, dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        with self._lock:
            self.requests.append(request)
            self.forms.append(form)
            return len(self.requests), form

    def _answer(self, n: int, form: dict[str, str]) -> httpx.Response:
        if self.script is None:
            return token_response(n, form)
        if isinstance(self.script, list):
            item = self.script[min(n, len(self.script)) - 1]
            if isinstance(item, Exception):
                raise item
            return item
        return self.script(n, form)

    def handler(self, request: httpx.Request) -> httpx.Response:
        n, form = self._record(request)
        if self.delay:
            time.sleep(self.delay)
        return self._answer(n, form)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        n, form = self._record(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._answer(n, form)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.async_handler))


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
