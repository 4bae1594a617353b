"""Issue 7, 8.6: LWA errors never carry a credential in any encoding, and an LWA 429 is throttling,
not a credentials problem."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from lwa_fake import CLIENT_ID, CLIENT_SECRET, ENDPOINT, SCOPE, FakeLwa, lwa_error, token_response

from sellerkit import AsyncSellingPartner, SellingPartner
from sellerkit._secret import Secret
from sellerkit.auth import LwaClient
from sellerkit.errors import (
    InvalidClientError,
    InvalidGrantError,
    LwaError,
    LwaThrottledError,
    lwa_error_from_response,
)

# Not shaped like Amazon's tokens on purpose: the scrub must not rely on the Atzr| prefix alone.
REFRESH = "rt-9f8e7d/6c+5b=4a|Zq x~y"
AMAZON_SHAPED = "Atzr|IwEBIA/secret+part=="


def spellings(secret: str) -> list[str]:
    """Every way a form or URL may carry ``secret``, and long prefixes of each (a cut-off echo)."""
    full = [secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
            quote_plus(secret, safe="/"), quote(quote(secret, safe=""), safe="")]
    return full + [f[:12] for f in full]


def assert_clean(exc: BaseException, *secrets: str) -> None:
    texts = [str(exc), repr(exc), pickle.dumps(exc).decode("latin-1"),
             repr(pickle.loads(pickle.dumps(exc)))]
    if isinstance(exc, LwaError):
        texts += [exc.error, exc.description]
    for secret in secrets:
        for form in spellings(secret):
            for text in texts:
                assert form not in text, f"{form!r} leaked into {text!r}"


def make(**kw: Any) -> LwaClient:
    async def no_sleep(_d: float) -> None:
        return None

    return LwaClient(CLIENT_ID, Secret(CLIENT_SECRET), endpoint=ENDPOINT, sleep=lambda _d: None,
                     async_sleep=no_sleep, random=lambda: 0.5, **kw)


ECHOES = {
    "raw": lambda form: f"bad refresh_token {form['refresh_token']}",
    "percent": lambda form: f"bad refresh_token {quote(form['refresh_token'], safe='')}",
    "lower-hex": lambda form: "bad " + "".join(
        c if c.isalnum() else f"%{ord(c):02x}" for c in form["refresh_token"]),
    "twice": lambda form: f"bad {quote(quote(form['refresh_token'], safe=''), safe='')}",
    "form": lambda form: f"could not parse {urlencode(form)}",
    "form-in-code": lambda form: "x",
}


@pytest.mark.parametrize("refresh", [REFRESH, AMAZON_SHAPED])
@pytest.mark.parametrize("echo", list(ECHOES))
def test_lwa_error_echoing_the_form_is_scrubbed_sync_and_async(refresh: str, echo: str) -> None:
    def script(_n: int, form: dict[str, str]) -> httpx.Response:
        if echo == "form-in-code":
            return httpx.Response(400, json={"error": urlencode(form),
                                             "error_description": quote_plus(refresh)})
        return lwa_error(400, "invalid_grant", ECHOES[echo](form))

    fake = FakeLwa(script)
    lwa = make()
    with fake.client() as http, pytest.raises(LwaError) as info:
        lwa.access_token(http, refresh_token=refresh)
    assert_clean(info.value, refresh, CLIENT_SECRET)
    if echo != "form-in-code":
        assert isinstance(info.value, InvalidGrantError)
        assert "**********" in info.value.description

    async def main() -> None:
        async with fake.async_client() as http:
            await make().access_token_async(http, refresh_token=refresh)

    with pytest.raises(LwaError) as ainfo:
        asyncio.run(main())
    assert_clean(ainfo.value, refresh, CLIENT_SECRET)


def test_a_secret_cut_off_by_the_length_limit_leaves_no_prefix() -> None:
    long_secret = "rt-" + "A1b2C3d4/+=" * 40  # 443 characters
    body = ('{"error": "invalid_grant", "error_description": "' + "x" * 300 +
            quote_plus(long_secret) + '"}').encode()
    err = lwa_error_from_response(400, body, (long_secret,))
    assert_clean(err, long_secret)
    assert err.description.startswith("x" * 300 + "**********")


def test_client_errors_through_the_client_carry_no_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client",
                                         "error_description": f"got {request.content.decode()}"})

    async def ahandler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return handler(request)

    kw: dict[str, Any] = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                              refresh_token=REFRESH, endpoint="http://127.0.0.1:9",
                              lwa_endpoint=ENDPOINT, rate_limiter=False)
    with SellingPartner(**kw, transport=httpx.MockTransport(handler)) as sp, \
            pytest.raises(InvalidClientError) as info:
        sp.orders_v0.get_order(order_id="1")
    assert_clean(info.value, REFRESH, CLIENT_SECRET)

    async def main() -> None:
        async with AsyncSellingPartner(**kw, transport=httpx.MockTransport(ahandler)) as asp:
            await asp.orders_v0.get_order(order_id="1")

    with pytest.raises(InvalidClientError) as ainfo:
        asyncio.run(main())
    assert_clean(ainfo.value, REFRESH, CLIENT_SECRET)


# ----------------------------------------------------------------------------------------------
# 429


@pytest.mark.parametrize("body", [b"", b'{"message": "Rate exceeded"}',
                                  b'{"error": "invalid_request", "error_description": "slow"}',
                                  b"<html>Too Many Requests</html>"])
def test_lwa_429_is_throttling_retried_then_reported_as_such(body: bytes) -> None:
    fake = FakeLwa(lambda _n, _f: httpx.Response(429, content=body))
    lwa = make()
    with fake.client() as http, pytest.raises(LwaThrottledError) as info:
        lwa.access_token(http, refresh_token=REFRESH)
    err = info.value
    assert fake.count == 3  # retried with backoff, like the other retryable LWA errors
    assert err.retryable and err.status == 429
    assert err.error != "unknown_error"
    assert "slow down" in str(err) and "check the LWA credentials" not in str(err)
    assert isinstance(pickle.loads(pickle.dumps(err)), LwaThrottledError)


async def test_async_lwa_429_then_success() -> None:
    fake = FakeLwa([httpx.Response(429), token_response(2, {})])
    async with fake.async_client() as http:
        assert await make().access_token_async(http, scope=SCOPE) == "Atza|token-2"
    assert fake.count == 2


def test_lwa_429_through_the_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": "", "error_description": ""})

    with SellingPartner(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH,
                        endpoint="http://127.0.0.1:9", lwa_endpoint=ENDPOINT, rate_limiter=False,
                        transport=httpx.MockTransport(handler)) as sp:
        sp.lwa.backoff = 0.001
        with pytest.raises(LwaThrottledError, match="throttling token requests: slow down"):
            sp.orders_v0.get_order(order_id="1")


def test_redact_masks_tokens_encoded_once_or_twice() -> None:
    from sellerkit._log import redact

    for text in ("Atzr|IwEBabc+/=", "Atzr%7CIwEBabc%2B", "Atzr%7cIwEBabc", "Atzr%257CIwEBabc"):
        assert "IwEBabc" not in redact(f"echo: {text} end"), text
