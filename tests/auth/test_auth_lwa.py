"""LwaClient against a fake LWA endpoint: grants, caching, single-flight, retries, errors, secrecy."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from lwa_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    ENDPOINT,
    REFRESH,
    SCOPE,
    FakeClock,
    FakeLwa,
    lwa_error,
    token_response,
)

from sellerkit._secret import Secret
from sellerkit.auth import CachedToken, FileTokenStore, LwaClient, MemoryTokenStore, TokenGrant
from sellerkit.errors import (
    ConfigurationError,
    ConnectionFailedError,
    ConnectTimeoutError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    LwaError,
    LwaServerError,
    ReadTimeoutError,
    UnauthorizedClientError,
)

SECRETS = (CLIENT_SECRET, REFRESH)


def make(clock: FakeClock | None = None, **kw: object) -> tuple[LwaClient, list[float]]:
    sleeps: list[float] = []

    async def async_sleep(d: float) -> None:
        sleeps.append(d)

    client = LwaClient(CLIENT_ID, Secret(CLIENT_SECRET), endpoint=ENDPOINT,
                       clock=clock or FakeClock(), sleep=sleeps.append, async_sleep=async_sleep,
                       random=lambda: 0.5, **kw)  # type: ignore[arg-type]
    return client, sleeps


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- the request itself ---------------------------------------------------------------------------

def test_refresh_token_grant_posts_the_documented_form() -> None:
    fake = FakeLwa()
    lwa, _ = make(user_agent="MyTool/1.0 (Language=Python)")
    with fake.client() as http:
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
    req = fake.requests[0]
    assert req.method == "POST" and str(req.url) == ENDPOINT
    assert req.headers["content-type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert req.headers["user-agent"] == "MyTool/1.0 (Language=Python)"
    assert fake.forms[0] == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                             "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def test_client_credentials_grant_sends_scope_and_no_refresh_token() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    with fake.client() as http:
        lwa.access_token(http, scope=SCOPE)
    assert fake.forms[0] == {"grant_type": "client_credentials", "scope": SCOPE,
                             "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def test_default_user_agent_names_sellerkit_and_python() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    with fake.client() as http:
        lwa.access_token(http, scope=SCOPE)
    assert fake.requests[0].headers["user-agent"].startswith("sellerkit/")
    assert "Language=Python/" in fake.requests[0].headers["user-agent"]


@pytest.mark.parametrize("kwargs", [{}, {"refresh_token": REFRESH, "scope": SCOPE},
                                    {"refresh_token": ""}, {"scope": " "}])
def test_exactly_one_of_refresh_token_or_scope(kwargs: dict[str, str]) -> None:
    lwa, _ = make()
    with FakeLwa().client() as http, pytest.raises(ConfigurationError):
        lwa.access_token(http, **kwargs)


def test_empty_credentials_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="client id"):
        LwaClient("", CLIENT_SECRET)
    with pytest.raises(ConfigurationError, match="client secret"):
        LwaClient(CLIENT_ID, "")
    with pytest.raises(ConfigurationError, match="client secret"):
        LwaClient(CLIENT_ID, Secret(""))


# -- caching and expiry ---------------------------------------------------------------------------

def test_token_is_cached_per_credential_set() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    with fake.client() as http:
        a = lwa.access_token(http, refresh_token=REFRESH)
        assert lwa.access_token(http, refresh_token=Secret(REFRESH)) == a  # str and Secret agree
        b = lwa.access_token(http, refresh_token="Atzr|another-seller")
        c = lwa.access_token(http, scope=SCOPE)
        assert lwa.access_token(http, scope=SCOPE) == c
    assert len({a, b, c}) == 3
    assert fake.count == 3


def test_refresh_happens_refresh_margin_seconds_before_expiry() -> None:
    clock = FakeClock()
    fake = FakeLwa()
    lwa, _ = make(clock, refresh_margin=60)
    with fake.client() as http:
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
        clock.advance(3600 - 60 - 1)
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
        clock.advance(2)  # now inside the last 60 s
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-2"
        clock.advance(1000)
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-2"
    assert fake.count == 2


def test_expires_in_from_the_response_is_honoured() -> None:
    clock = FakeClock()
    fake = FakeLwa(lambda n, form: token_response(n, form, expires_in=600))
    lwa, _ = make(clock)
    with fake.client() as http:
        lwa.access_token(http, scope=SCOPE)
        clock.advance(539)
        lwa.access_token(http, scope=SCOPE)
        assert fake.count == 1
        clock.advance(2)
        lwa.access_token(http, scope=SCOPE)
    assert fake.count == 2


def test_during_a_refresh_others_keep_using_the_still_valid_token() -> None:
    clock = FakeClock()
    release = threading.Event()
    entered = threading.Event()

    def script(n: int, form: dict[str, str]) -> httpx.Response:
        if n == 2:
            entered.set()
            assert release.wait(5)
        return token_response(n, form)

    fake = FakeLwa(script)
    lwa, _ = make(clock)
    with fake.client() as http:
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
        clock.advance(3600 - 30)  # in the refresh window, but the token still works for 30 s
        with ThreadPoolExecutor(1) as pool:
            leader = pool.submit(lwa.access_token, http, refresh_token=REFRESH)
            assert entered.wait(5)
            # The refresh is stuck in flight: this caller must not wait for it.
            assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-1"
            release.set()
            assert leader.result(5) == "Atza|token-2"
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-2"
    assert fake.count == 2


def test_invalidate_drops_the_token() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    with fake.client() as http:
        first = lwa.access_token(http, refresh_token=REFRESH)
        assert lwa.invalidate(refresh_token=REFRESH) is True
        second = lwa.access_token(http, refresh_token=REFRESH)
        assert second != first
        # A late 403 for the old token must not throw away the new one.
        assert lwa.invalidate(refresh_token=REFRESH, token=first) is False
        assert lwa.access_token(http, refresh_token=REFRESH) == second
        assert lwa.invalidate(refresh_token=REFRESH, token=second) is True
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-3"
    assert lwa.invalidate(scope=SCOPE) is False


def test_cache_key_is_a_hash_that_never_contains_the_refresh_token() -> None:
    lwa, _ = make()
    key = lwa.cache_key(refresh_token=REFRESH)
    assert len(key) == 64 and int(key, 16) >= 0
    assert REFRESH not in key
    assert key == lwa.cache_key(refresh_token=Secret(REFRESH))
    assert key != lwa.cache_key(scope=SCOPE)
    other_app = LwaClient("amzn1.application-oa2-client.other", CLIENT_SECRET, endpoint=ENDPOINT)
    assert key != other_app.cache_key(refresh_token=REFRESH)
    other_endpoint = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint="http://127.0.0.1:1/t")
    assert key != other_endpoint.cache_key(refresh_token=REFRESH)
    material = "\x1f".join(("sellerkit-lwa-v1", ENDPOINT, CLIENT_ID, "refresh_token", REFRESH))
    assert key == hashlib.sha256(material.encode()).hexdigest()


def test_store_shares_tokens_between_clients(tmp_path: object) -> None:
    from pathlib import Path

    store = FileTokenStore(Path(str(tmp_path)) / "tokens.json")
    fake = FakeLwa()
    one, _ = make(store=store)
    two, _ = make(store=store)  # e.g. another worker process
    with fake.client() as http:
        token = one.access_token(http, refresh_token=REFRESH)
        assert two.access_token(http, refresh_token=REFRESH) == token
    assert fake.count == 1
    text = (Path(str(tmp_path)) / "tokens.json").read_text()
    assert_no_secret(text)


def test_a_failing_store_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(MemoryTokenStore):
        def get(self, key: str) -> CachedToken | None:
            raise OSError("disk on fire")

        def set(self, key: str, token: CachedToken) -> None:
            raise OSError("disk on fire")

    fake = FakeLwa()
    lwa, _ = make(store=Broken())
    with fake.client() as http, caplog.at_level(logging.WARNING, "sellerkit.auth"):
        assert lwa.access_token(http, scope=SCOPE) == "Atza|token-1"
        assert lwa.access_token(http, scope=SCOPE) == "Atza|token-1"  # in-process copy
    assert fake.count == 1
    assert "continuing without it" in caplog.text


# -- single-flight --------------------------------------------------------------------------------

def test_single_flight_20_threads_one_request() -> None:
    fake = FakeLwa(delay=0.05)
    lwa, _ = make()
    barrier = threading.Barrier(20)

    def worker(http: httpx.Client) -> str:
        barrier.wait()
        return lwa.access_token(http, refresh_token=REFRESH)

    with fake.client() as http, ThreadPoolExecutor(20) as pool:
        tokens = list(pool.map(lambda _: worker(http), range(20)))
    assert fake.count == 1
    assert set(tokens) == {"Atza|token-1"}


def test_single_flight_threads_share_the_leaders_error() -> None:
    fake = FakeLwa(lambda n, f: lwa_error(400, "invalid_grant", "revoked"), delay=0.05)
    lwa, _ = make()
    barrier = threading.Barrier(10)

    def worker(http: httpx.Client) -> BaseException | None:
        barrier.wait()
        try:
            lwa.access_token(http, refresh_token=REFRESH)
        except InvalidGrantError as exc:
            return exc
        return None

    with fake.client() as http, ThreadPoolExecutor(10) as pool:
        errors = list(pool.map(lambda _: worker(http), range(10)))
    assert all(isinstance(e, InvalidGrantError) for e in errors)
    assert fake.count == 1
    assert len({id(e) for e in errors}) == 10  # each thread raised its own copy


async def test_single_flight_50_tasks_one_request() -> None:
    fake = FakeLwa(delay=0.05)
    lwa, _ = make()
    async with fake.async_client() as http:
        tokens = await asyncio.gather(*(lwa.access_token_async(http, refresh_token=REFRESH)
                                        for _ in range(50)))
    assert fake.count == 1
    assert set(tokens) == {"Atza|token-1"}


def test_single_flight_across_event_loops_in_threads() -> None:
    fake = FakeLwa(delay=0.1)
    lwa, _ = make()
    barrier = threading.Barrier(4)

    async def many() -> set[str]:
        async with fake.async_client() as http:
            barrier.wait()
            got = await asyncio.gather(*(lwa.access_token_async(http, scope=SCOPE)
                                         for _ in range(10)))
        return set(got)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: asyncio.run(many()), range(4)))
    assert fake.count == 1
    assert set().union(*results) == {"Atza|token-1"}


def test_sync_and_async_callers_share_one_flight() -> None:
    fake = FakeLwa(delay=0.1)
    lwa, _ = make()
    barrier = threading.Barrier(2)

    async def async_side() -> str:
        async with fake.async_client() as http:
            barrier.wait()
            return await lwa.access_token_async(http, refresh_token=REFRESH)

    def sync_side() -> str:
        with fake.client() as http:
            barrier.wait()
            return lwa.access_token(http, refresh_token=REFRESH)

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(lambda: asyncio.run(async_side()))
        b = pool.submit(sync_side)
        assert a.result(5) == b.result(5) == "Atza|token-1"
    assert fake.count == 1


async def test_cancelled_leader_hands_over_to_a_waiter() -> None:
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        fake_count.append(1)
        if len(fake_count) == 1:
            started.set()
            await asyncio.sleep(30)  # the first request hangs until its task is cancelled
        return token_response(len(fake_count), {})

    fake_count: list[int] = []
    lwa, _ = make()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        leader = asyncio.create_task(lwa.access_token_async(http, refresh_token=REFRESH))
        await started.wait()
        waiter = asyncio.create_task(lwa.access_token_async(http, refresh_token=REFRESH))
        await asyncio.sleep(0.01)
        leader.cancel()
        assert await asyncio.wait_for(waiter, 5) == "Atza|token-2"
        with pytest.raises(asyncio.CancelledError):
            await leader
    assert len(fake_count) == 2


async def test_cancelling_a_waiter_does_not_disturb_the_flight() -> None:
    fake = FakeLwa(delay=0.1)
    lwa, _ = make()
    async with fake.async_client() as http:
        leader = asyncio.create_task(lwa.access_token_async(http, scope=SCOPE))
        await asyncio.sleep(0.02)
        doomed = asyncio.create_task(lwa.access_token_async(http, scope=SCOPE))
        patient = asyncio.create_task(lwa.access_token_async(http, scope=SCOPE))
        await asyncio.sleep(0.02)
        doomed.cancel()
        assert await leader == await patient == "Atza|token-1"
    assert fake.count == 1


# -- errors and retries ---------------------------------------------------------------------------

ERROR_CASES = [
    ("invalid_grant", 400, InvalidGrantError, "authorize the app again"),
    ("invalid_client", 401, InvalidClientError, "client secret"),
    ("unauthorized_client", 400, UnauthorizedClientError, "grantless"),
    ("access_denied", 400, UnauthorizedClientError, "grantless"),
    ("invalid_scope", 400, InvalidScopeError, "scope"),
    ("invalid_request", 400, InvalidRequestError, "malformed"),
]


@pytest.mark.parametrize(("code", "status", "exc_type", "hint"), ERROR_CASES)
def test_lwa_error_codes_map_to_exceptions_and_are_not_retried(
        code: str, status: int, exc_type: type[LwaError], hint: str) -> None:
    fake = FakeLwa(lambda n, f: lwa_error(status, code, f"The request has a {code} problem"))
    lwa, sleeps = make()
    with fake.client() as http, pytest.raises(exc_type) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    exc = info.value
    assert fake.count == 1 and sleeps == []
    assert exc.error == code and exc.status == status
    assert code in str(exc) and hint in str(exc)
    assert_no_secret(str(exc), repr(exc), repr(pickle.loads(pickle.dumps(exc))))


@pytest.mark.parametrize(("code", "status"), [("server_error", 500),
                                              ("temporarily_unavailable", 503)])
def test_server_errors_are_retried_three_times_then_raised(code: str, status: int) -> None:
    fake = FakeLwa(lambda n, f: lwa_error(status, code))
    lwa, sleeps = make()
    with fake.client() as http, pytest.raises(LwaServerError) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    assert fake.count == 3
    assert sleeps == [0.375, 0.75]  # 0.5 * 2**n, half fixed and half jitter (random() = 0.5)
    assert_no_secret(str(info.value))


def test_server_error_then_success() -> None:
    fake = FakeLwa([lwa_error(500, "server_error"), httpx.Response(502, text="<html>bad gw"),
                    token_response(3, {})])
    lwa, sleeps = make()
    with fake.client() as http:
        assert lwa.access_token(http, refresh_token=REFRESH) == "Atza|token-3"
    assert fake.count == 3 and len(sleeps) == 2


async def test_async_server_error_then_success_uses_async_sleep() -> None:
    fake = FakeLwa([lwa_error(503, "temporarily_unavailable"), token_response(2, {})])
    lwa, sleeps = make()
    async with fake.async_client() as http:
        assert await lwa.access_token_async(http, scope=SCOPE) == "Atza|token-2"
    assert fake.count == 2 and sleeps == [0.375]


def test_throttled_token_request_is_retried() -> None:
    fake = FakeLwa([httpx.Response(429, json={"error": "slow_down"}), token_response(2, {})])
    lwa, _ = make()
    with fake.client() as http:
        assert lwa.access_token(http, scope=SCOPE) == "Atza|token-2"
    assert fake.count == 2


def test_jitter_spreads_retries() -> None:
    fake = FakeLwa(lambda n, f: lwa_error(500, "server_error"))
    sleeps: list[float] = []
    lwa = LwaClient(CLIENT_ID, CLIENT_SECRET, endpoint=ENDPOINT, sleep=sleeps.append,
                    random=iter([0.0, 1.0]).__next__)
    with fake.client() as http, pytest.raises(LwaServerError):
        lwa.access_token(http, scope=SCOPE)
    assert sleeps == [0.25, 1.0]


@pytest.mark.parametrize(("raised", "expected"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), ConnectionFailedError),
    (httpx.ConnectTimeout("timed out"), ConnectTimeoutError),
    (httpx.ReadTimeout("timed out"), ReadTimeoutError),
    (httpx.RemoteProtocolError("peer closed connection"), ConnectionFailedError),
])
def test_transport_errors_are_retried_then_mapped(raised: Exception,
                                                  expected: type[Exception]) -> None:
    fake = FakeLwa([raised])
    lwa, sleeps = make()
    with fake.client() as http, pytest.raises(expected) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    assert fake.count == 3 and len(sleeps) == 2
    assert ENDPOINT in str(info.value) and type(raised).__name__ in str(info.value)
    assert info.value.__cause__ is None  # the httpx error (which holds the request) is not chained


def test_transport_error_messages_never_carry_the_form_body() -> None:
    leaky = httpx.ConnectError(f"failed sending client_secret={CLIENT_SECRET}&"
                               f"refresh_token={REFRESH}")
    fake = FakeLwa([leaky])
    lwa, _ = make()
    with fake.client() as http, pytest.raises(ConnectionFailedError) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    assert_no_secret(str(info.value), repr(info.value))


def test_error_description_echoing_a_secret_is_scrubbed() -> None:
    fake = FakeLwa(lambda n, f: lwa_error(400, "invalid_grant", f"bad token {REFRESH}"))
    lwa, _ = make()
    with fake.client() as http, pytest.raises(InvalidGrantError) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    assert_no_secret(str(info.value), info.value.description)


def test_a_200_without_access_token_is_an_error() -> None:
    fake = FakeLwa([httpx.Response(200, text="<html>captive portal</html>")])
    lwa, _ = make()
    with fake.client() as http, pytest.raises(LwaError, match="invalid_response"):
        lwa.access_token(http, scope=SCOPE)
    assert fake.count == 1


# -- authorization_code ---------------------------------------------------------------------------

def test_exchange_authorization_code_returns_and_caches_the_grant() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    with fake.client() as http:
        grant = lwa.exchange_authorization_code(http, "ANcode123", "https://app.example/cb")
        assert fake.forms[0] == {"grant_type": "authorization_code", "code": "ANcode123",
                                 "redirect_uri": "https://app.example/cb",
                                 "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        assert isinstance(grant, TokenGrant)
        assert isinstance(grant.refresh_token, Secret)
        assert grant.refresh_token.reveal() == "Atzr|new-refresh-1"
        assert grant.expires_in == 3600 and grant.token_type == "bearer"
        assert "Atzr|new-refresh-1" not in repr(grant) and "Atza|token-1" not in repr(grant)
        # The first API call for the new seller needs no extra token request.
        assert lwa.access_token(http, refresh_token=grant.refresh_token) == "Atza|token-1"
    assert fake.count == 1


async def test_exchange_authorization_code_async() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    async with fake.async_client() as http:
        grant = await lwa.exchange_authorization_code_async(http, "ANcode", "https://a/cb")
    assert grant.refresh_token is not None and grant.access_token == "Atza|token-1"


def test_authorization_code_is_not_retried_once_lwa_may_have_seen_it() -> None:
    fake = FakeLwa(lambda n, f: lwa_error(500, "server_error"))
    lwa, _ = make()
    with fake.client() as http, pytest.raises(LwaServerError):
        lwa.exchange_authorization_code(http, "ANcode", "https://a/cb")
    assert fake.count == 1


def test_authorization_code_is_retried_when_nothing_was_sent() -> None:
    fake = FakeLwa([httpx.ConnectError("refused"), token_response(2, {"grant_type":
                                                                      "authorization_code"})])
    lwa, _ = make()
    with fake.client() as http:
        grant = lwa.exchange_authorization_code(http, "ANcode", "https://a/cb")
    assert fake.count == 2 and grant.access_token == "Atza|token-2"


def test_authorization_code_response_without_refresh_token_is_an_error() -> None:
    fake = FakeLwa([httpx.Response(200, json={"access_token": "Atza|x", "expires_in": 3600})])
    lwa, _ = make()
    with fake.client() as http, pytest.raises(LwaError, match="refresh_token"):
        lwa.exchange_authorization_code(http, "ANcode", "https://a/cb")


# -- nothing secret in reprs and logs -------------------------------------------------------------

def test_reprs_hide_secrets() -> None:
    lwa = LwaClient(CLIENT_ID, CLIENT_SECRET)  # a plain str secret is wrapped too
    assert CLIENT_ID in repr(lwa)
    assert_no_secret(repr(lwa), str(lwa), repr(lwa.client_secret))
    token = CachedToken("Atza|very-secret-access", 1.0)
    assert "very-secret-access" not in repr(token) and "very-secret-access" not in str(token)


def test_debug_log_names_grant_status_and_duration_but_no_token(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeLwa([lwa_error(500, "server_error"), token_response(2, {})])
    lwa, _ = make()
    with fake.client() as http, caplog.at_level(logging.DEBUG, "sellerkit.auth"):
        token = lwa.access_token(http, refresh_token=REFRESH)
    messages = [r.getMessage() for r in caplog.records]
    assert any("refresh_token grant: HTTP 200 in" in m and "ms" in m for m in messages)
    assert any("retrying" in m for m in messages)
    assert_no_secret(caplog.text)
    assert token not in caplog.text


def test_rotated_client_secret_is_used_for_the_next_request() -> None:
    fake = FakeLwa()
    lwa, _ = make()
    lwa.rotate_client_secret("amzn1.oa2-cs.v1.NEW")
    with fake.client() as http:
        lwa.access_token(http, scope=SCOPE)
    assert fake.forms[0]["client_secret"] == "amzn1.oa2-cs.v1.NEW"


def test_sync_call_inside_a_running_loop_does_not_deadlock_on_an_async_leader() -> None:
    """A blocking access_token() on the loop thread cannot wait for that loop's own task."""
    fake = FakeLwa(delay=0.2)
    lwa, _ = make()
    outcome: list[object] = []

    async def scenario() -> None:
        async with fake.async_client() as ahttp:
            leader = asyncio.create_task(lwa.access_token_async(ahttp, scope=SCOPE))
            await asyncio.sleep(0.05)  # the leader's request is in flight
            with fake.client() as http:
                outcome.append(lwa.access_token(http, scope=SCOPE))  # blocks the loop
            outcome.append(await leader)

    thread = threading.Thread(target=lambda: asyncio.run(scenario()), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "deadlocked"
    assert len(outcome) == 2 and fake.count == 2


def test_public_names_and_lazy_heavy_imports() -> None:
    import subprocess
    import sys

    import sellerkit.auth as auth

    for name in auth.__all__:
        assert getattr(auth, name) is not None
    code = ("import sys, sellerkit.auth; "
            "print(sorted(m for m in ('botocore', 'boto3', 'redis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_short_lived_tokens_refresh_at_half_life_not_on_every_call() -> None:
    clock = FakeClock()
    fake = FakeLwa(lambda n, form: token_response(n, form, expires_in=30))  # e.g. an emulator
    lwa, _ = make(clock, refresh_margin=60)
    with fake.client() as http:
        lwa.access_token(http, scope=SCOPE)
        clock.advance(14)
        assert lwa.access_token(http, scope=SCOPE) == "Atza|token-1"
        clock.advance(2)
        assert lwa.access_token(http, scope=SCOPE) == "Atza|token-2"
    assert fake.count == 2
