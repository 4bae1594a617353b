"""``timeout`` is a deadline for the whole attempt, against a real loopback server that answers a
byte at a time (each byte resets a per-read socket timeout, so only a deadline ends the call).

Every path a user's call can take is covered, in both clients: the API request through the
keep-alive pools (slow body and slow headers), the LWA token request, the Restricted Data Token
request, a document download, a proxy, and a ``transport=`` httpx transport. The bounds are
generous (a 1 s timeout must end before 4 s; before this fix such calls ran as long as the
server kept sending) because the test host is shared and loaded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.errors import ReadTimeoutError, SellerkitError, TransportError

from .trickle import LWA_PATH, RDT_PATH, TrickleServer, trickle_server

TIMEOUT = 1.0
BOUND = 4.0  # generous: the host is loaded; without the deadline these calls run 30 s
ORDER_ID = "902-3159896-1390916"


def _client_kwargs(srv: TrickleServer, **more: Any) -> dict[str, Any]:
    kw: dict[str, Any] = dict(client_id="amzn1.application-oa2-client.test",
                              client_secret="secret", refresh_token="Atzr|r",
                              endpoint=srv.url, lwa_endpoint=srv.url + LWA_PATH,
                              rate_limiter=False, timeout=TIMEOUT, max_attempts=1)
    kw.update(more)
    return kw


# What a user does, as a sync and an async call of the same client method.
Action = Callable[[Any, TrickleServer], Any]


def _api(sp: Any, srv: TrickleServer) -> Any:
    return sp.sellers_v1.get_marketplace_participations()


def _restricted(sp: Any, srv: TrickleServer) -> Any:
    return sp.orders_v0.get_order_address(order_id=ORDER_ID)


def _download(sp: Any, srv: TrickleServer) -> Any:
    return sp.download(srv.url + "/doc/report-1?X-Amz-Signature=abc")


def _run_sync(srv: TrickleServer, action: Action, **more: Any) -> tuple[BaseException, float]:
    with SellingPartner(**_client_kwargs(srv, **more)) as sp:
        started = time.monotonic()
        with pytest.raises(SellerkitError) as info:
            action(sp, srv)
        return info.value, time.monotonic() - started


def _run_async(srv: TrickleServer, action: Action, **more: Any) -> tuple[BaseException, float]:
    async def run() -> tuple[BaseException, float]:
        async with AsyncSellingPartner(**_client_kwargs(srv, **more)) as sp:
            started = time.monotonic()
            with pytest.raises(SellerkitError) as info:
                coro: Awaitable[Any] = action(sp, srv)
                await coro
            return info.value, time.monotonic() - started

    return asyncio.run(run())


RUNNERS = {"sync": _run_sync, "async": _run_async}

CASES = {
    # name: (server modes, the call, what the error names)
    "api-slow-body": ({"/sellers/": "trickle"}, _api, "/sellers/v1"),
    "api-slow-headers": ({"/sellers/": "trickle-head"}, _api, "/sellers/v1"),
    "lwa-slow-body": ({LWA_PATH: "trickle"}, _api, "LWA"),
    "lwa-slow-headers": ({LWA_PATH: "trickle-head"}, _api, "LWA"),
    "rdt-slow-body": ({RDT_PATH: "trickle"}, _restricted, "restrictedDataToken"),
    "download-slow-body": ({"/doc/": "trickle"}, _download, "<document url>"),
    "download-slow-headers": ({"/doc/": "trickle-head"}, _download, "<document url>"),
}


@pytest.mark.parametrize("mode", RUNNERS)
@pytest.mark.parametrize("case", CASES)
def test_a_trickling_server_cannot_outlast_the_timeout(mode: str, case: str) -> None:
    modes, action, names = CASES[case]
    with trickle_server(interval=0.3) as srv:
        srv.modes.update(modes)
        err, elapsed = RUNNERS[mode](srv, action)
        assert any(m != "fast" for _, m in srv.seen)  # the slow answer really was served
    assert isinstance(err, ReadTimeoutError), repr(err)
    assert names in str(err)
    assert elapsed < BOUND, f"{case} ({mode}) took {elapsed:.1f} s with timeout={TIMEOUT}"


@pytest.mark.parametrize("mode", RUNNERS)
def test_a_per_call_timeout_is_the_deadline(mode: str) -> None:
    with trickle_server(interval=0.3) as srv:
        srv.modes["/sellers/"] = "trickle"

        def action(sp: Any, srv: TrickleServer) -> Any:
            return sp.sellers_v1.get_marketplace_participations(
                options=CallOptions(timeout=0.5))

        err, elapsed = RUNNERS[mode](srv, action, timeout=30.0)
    assert isinstance(err, ReadTimeoutError)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", RUNNERS)
def test_lwa_retries_stay_inside_the_timeout(mode: str) -> None:
    """A hung LWA with timeout=3: one clear timeout error near 3 s (it was 10.4 s: three
    attempts of 3 s each, and the backoff between them)."""
    with trickle_server() as srv:
        srv.modes[LWA_PATH] = "hang"
        err, elapsed = RUNNERS[mode](srv, _api, timeout=3.0)
        lwa_attempts = sum(1 for target, _ in srv.seen if LWA_PATH in target)
        api_requests = sum(1 for target, _ in srv.seen if "/sellers/" in target)
    assert isinstance(err, ReadTimeoutError)
    assert "LWA token request" in str(err) and "timeout" in str(err)
    assert lwa_attempts == 1 and api_requests == 0
    assert 2.5 <= elapsed < 3.0 + BOUND - TIMEOUT, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("mode", RUNNERS)
def test_through_a_proxy_the_timeout_holds(mode: str) -> None:
    """The loopback server stands in for a forward proxy: it gets the absolute-form requests
    (LWA answered at once) and trickles the API answer's headers."""
    with trickle_server(interval=0.3) as srv:
        srv.modes["/sellers/"] = "trickle-head"
        target = "http://127.0.0.1:9"  # never reached: everything goes to the proxy
        err, elapsed = RUNNERS[mode](srv, _api, proxy=srv.url, endpoint=target,
                                     lwa_endpoint=target + LWA_PATH)
        assert [t for t, _ in srv.seen] == [target + LWA_PATH,
                                            target + "/sellers/v1/marketplaceParticipations"]
    assert isinstance(err, ReadTimeoutError)
    assert elapsed < BOUND


def test_a_transport_given_is_bounded_by_the_timeout_too() -> None:
    """transport= (an httpx transport of the caller's) goes through httpx: the body is checked
    against the deadline chunk by chunk (sync), the whole request runs under it (async)."""
    with trickle_server(interval=0.3) as srv:
        srv.modes["/sellers/"] = "trickle"
        err, elapsed = _run_sync(srv, _api, transport=httpx.HTTPTransport())
        assert isinstance(err, ReadTimeoutError) and elapsed < BOUND
        srv.modes["/sellers/"] = "trickle-head"
        err, elapsed = _run_async(srv, _api, transport=httpx.AsyncHTTPTransport())
        assert isinstance(err, ReadTimeoutError) and elapsed < BOUND


@pytest.mark.parametrize("mode", RUNNERS)
def test_a_fast_server_is_unaffected(mode: str) -> None:
    """The deadline does not cut short what answers in time: token, RDT, call and download."""
    with trickle_server() as srv:
        kwargs = _client_kwargs(srv)
        if mode == "sync":
            with SellingPartner(**kwargs) as sp:
                assert sp.sellers_v1.get_marketplace_participations().status == 200
                assert sp.orders_v0.get_order_address(order_id=ORDER_ID).status == 200
                assert sp.download(srv.url + "/doc/1") == b'{"payload": {}}'
        else:
            async def run() -> None:
                async with AsyncSellingPartner(**kwargs) as sp:
                    assert (await sp.sellers_v1.get_marketplace_participations()).status == 200
                    assert (await sp.orders_v0.get_order_address(order_id=ORDER_ID)).status == 200
                    assert await sp.download(srv.url + "/doc/1") == b'{"payload": {}}'

            asyncio.run(run())
        assert [t.split("?")[0] for t, _ in srv.seen] == [
            LWA_PATH, "/sellers/v1/marketplaceParticipations", RDT_PATH,
            f"/orders/v0/orders/{ORDER_ID}/address", "/doc/1"]
    assert issubclass(ReadTimeoutError, TransportError)


def test_lwa_client_used_directly_keeps_the_deadline_and_waiters_keep_theirs() -> None:
    """``LwaClient.access_token(http, timeout=...)`` with the caller's own httpx.Client: a hung
    LWA ends the fetch at its timeout, and a second caller waiting for that same refresh gives
    up at its own, shorter timeout (it does not wait for the leader)."""
    import threading

    from sellerkit.auth import LwaClient

    with trickle_server() as srv:
        srv.modes[LWA_PATH] = "hang"
        lwa = LwaClient("amzn1.application-oa2-client.test", "secret",
                        endpoint=srv.url + LWA_PATH)
        outcome: dict[str, Any] = {}

        def leader() -> None:
            started = time.monotonic()
            with httpx.Client() as http:
                try:
                    lwa.access_token(http, refresh_token="Atzr|r", timeout=2.5)
                except SellerkitError as exc:
                    outcome["leader"] = (exc, time.monotonic() - started)

        t = threading.Thread(target=leader)
        t.start()
        while not srv.seen:  # the leader's request has arrived
            time.sleep(0.01)
        started = time.monotonic()
        with httpx.Client() as http, pytest.raises(ReadTimeoutError) as info:
            lwa.access_token(http, refresh_token="Atzr|r", timeout=0.5)
        waited = time.monotonic() - started
        t.join(timeout=30)
        assert len(srv.seen) == 1  # single flight: the waiter sent nothing
    assert "another caller's refresh" in str(info.value) and waited < BOUND - 1.0
    err, elapsed = outcome["leader"]
    assert isinstance(err, ReadTimeoutError) and 2.0 <= elapsed < 2.5 + BOUND - TIMEOUT
