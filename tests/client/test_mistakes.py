"""Issue 7, 8.5: every user mistake is a SellerkitError that says what to fix, raised before
anything is sent, on the sync and the async client alike."""

from __future__ import annotations

import asyncio
import inspect
import math
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.catalog import UnknownOperationError as CatalogUnknownOperationError
from sellerkit.client.retry import RetryPolicy
from sellerkit.errors import (
    ClientClosedError,
    ConfigurationError,
    SellerkitError,
    UnknownOperationError,
    ValidationError,
)

from .fake import BASE, LWA, FakeSPAPI, ok

CREDS = dict(client_id="amzn1.application-oa2-client.test",
             client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|refresh-secret")
DOC = "https://docs.example.com/doc-1?X-Amz-Signature=abc123&X-Amz-Credential=key"


def _run(value: Any) -> Any:
    """Await a coroutine (async client) or return a value (sync client)."""
    if inspect.isawaitable(value):
        async def wait() -> Any:
            return await value
        return asyncio.run(wait())
    return value


@pytest.fixture
def fake() -> FakeSPAPI:
    f = FakeSPAPI()
    f.on("GET", "/orders/v0/orders/1", ok({"payload": {"AmazonOrderId": "1"}}))
    return f


@pytest.fixture(params=["sync", "async"])
def sp(request: pytest.FixtureRequest, fake: FakeSPAPI) -> Iterator[Any]:
    fast = RetryPolicy(max_attempts=4, base=0.001, cap=0.002)
    if request.param == "sync":
        client: Any = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                     transport=fake.transport(), rate_limiter=False, retry=fast)
    else:
        client = AsyncSellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                     transport=fake.async_transport(), rate_limiter=False,
                                     retry=fast)
    yield client
    _run(client.close() if isinstance(client, SellingPartner) else client.aclose())


def fails(exc_type: type[SellerkitError], fn: Callable[[], Any], *needles: str
          ) -> SellerkitError:
    """``fn`` raises ``exc_type`` (a SellerkitError) whose message holds every needle; the
    error pickles."""
    with pytest.raises(SellerkitError) as info:
        _run(fn())
    err = info.value
    assert isinstance(err, exc_type), f"{type(err).__name__}: {err}"
    for needle in needles:
        assert needle in str(err), f"{needle!r} not in {str(err)!r}"
    assert str(pickle.loads(pickle.dumps(err))) == str(err)
    return err


def nothing_sent(fake: FakeSPAPI) -> None:
    assert fake.requests == [] and fake.lwa_requests == []


# ----------------------------------------------------------------------------------------------
# options


def test_options_as_a_dict_says_to_use_callOptions(sp: Any, fake: FakeSPAPI) -> None:
    fails(ConfigurationError, lambda: sp.orders_v0.get_order(order_id="1",
                                                             options={"timeout": 5}),
          "options=CallOptions(timeout=5)")
    fails(ConfigurationError, lambda: sp.call("orders_v0.getOrder", orderId="1",
                                              options={"timeout": 5}), "CallOptions(timeout=5)")
    fails(ConfigurationError, lambda: sp.request("GET", "/orders/v0/orders/1", options=5),
          "options must be a CallOptions")
    nothing_sent(fake)


@pytest.mark.parametrize(("kwargs", "needles"), [
    ({"timeout": "abc"}, ["timeout", "number of seconds", "'abc'"]),
    ({"timeout": 0}, ["timeout", "> 0"]),
    ({"timeout": -1.5}, ["timeout", "> 0"]),
    ({"timeout": math.nan}, ["timeout", "finite"]),
    ({"timeout": math.inf}, ["timeout", "finite"]),
    ({"timeout": True}, ["timeout", "number of seconds"]),
    ({"max_wait": -1}, ["max_wait", ">= 0"]),
    ({"max_wait": "60"}, ["max_wait", "number of seconds"]),
    ({"max_wait": math.nan}, ["max_wait", "finite"]),
    ({"max_attempts": "x"}, ["max_attempts", "whole number >= 1"]),
    ({"max_attempts": 0}, ["max_attempts", ">= 1"]),
    ({"max_attempts": 2.5}, ["max_attempts", "whole number"]),
    ({"headers": "x"}, ["headers must be a dict"]),
    ({"headers": {"x": 5}}, ["header 'x'", "str value", "str(5)"]),
    ({"headers": {"x": None}}, ["header 'x'", "leave the header out"]),
    ({"headers": {"x-a": "a\r\nX-Injected: 1"}}, ["line break"]),
    ({"headers": {"bad name": "v"}}, ["not a valid HTTP header name"]),
    ({"headers": {"x-a\n": "v"}}, ["not a valid HTTP header name"]),
    ({"headers": {"x-a": "\u20ac"}}, ["non-ASCII character"]),
    ({"headers": {"x-a": "caf\u00e9"}}, ["non-ASCII character"]),
    ({"headers": {"x-a": "a\x00b"}}, ["control character"]),
    ({"rdt": "no"}, ["rdt must be True or False"]),
    ({"rdt_data_elements": [1]}, ["rdt_data_elements"]),
    ({"rdt_data_elements": 5}, ["rdt_data_elements must be a list"]),
    ({"restricted_data_token": ""}, ["restricted_data_token"]),
])
def test_callOptions_checks_every_field_at_construction(kwargs: dict[str, Any],
                                                        needles: list[str]) -> None:
    fails(ConfigurationError, lambda: CallOptions(**kwargs), "invalid CallOptions", *needles)


def test_callOptions_valid_values_and_none() -> None:
    o = CallOptions(timeout=5, max_wait=0, max_attempts=1, headers={"x-a": "b"})
    assert (o.timeout, o.max_wait, o.max_attempts, o.headers) == (5.0, 0.0, 1, {"x-a": "b"})
    assert CallOptions(max_wait=math.inf).max_wait == math.inf  # wait as long as it takes
    assert CallOptions(timeout=None, max_wait=None, max_attempts=None) == CallOptions()


def test_rdt_data_elements_string_is_one_element_not_its_characters(
        sp: Any, fake: FakeSPAPI) -> None:
    o = CallOptions(rdt_data_elements="buyerInfo")
    assert o.rdt_data_elements == ("buyerInfo",)
    r = _run(sp.orders_v0.get_order(order_id="1", options=o))
    assert r.status == 200
    assert fake.rdt_requests[0]["restrictedResources"][0]["dataElements"] == ["buyerInfo"]


# ----------------------------------------------------------------------------------------------
# request()


def test_request_header_values_with_line_breaks_or_non_ascii(sp: Any, fake: FakeSPAPI
                                                              ) -> None:
    fails(ValidationError, lambda: sp.request("GET", "/orders/v0/orders/1",
                                              headers={"x-a": "a\nb"}), "line break")
    fails(ValidationError, lambda: sp.request("GET", "/orders/v0/orders/1",
                                              headers={"x-a": "\u20ac"}), "non-ASCII")
    fails(ValidationError, lambda: sp.request("GET", "/orders/v0/orders/1",
                                              headers={"x-a": "\u00e9"}), "non-ASCII")
    fails(ValidationError, lambda: sp.request("GET", "/orders/v0/orders/1",
                                              headers={"x\r\ny": "1"}), "header name")
    fails(ValidationError, lambda: sp.request("GET", "/x", headers={"a": None}),
          "header 'a'", "leave the header out")
    fails(ValidationError, lambda: sp.request("GET", "/x", headers="a: b"),
          "headers: must be a dict")
    nothing_sent(fake)


def test_request_json_and_params_mistakes(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.request("POST", "/x", json={1, 2}),
          "json: is not JSON-serializable", "set")
    fails(ValidationError, lambda: sp.request("POST", "/x", json={"a": object()}),
          "JSON-serializable")
    fails(ValidationError, lambda: sp.request("GET", "/x", params="a=b"),
          "params: must be a dict")
    fails(ValidationError, lambda: sp.request("GET", "/x", params={"a": {"b": 1}}),
          "a: must be a str, number")
    fails(ValidationError, lambda: sp.request("GET", "/x", params={"a": math.nan}),
          "finite")
    nothing_sent(fake)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_or_infinity_in_a_json_body_is_rejected_before_sending(
        sp: Any, fake: FakeSPAPI, value: float) -> None:
    fails(ValidationError, lambda: sp.request("POST", "/x", json={"price": value}),
          "NaN or infinity")
    fails(ValidationError, lambda: sp.feeds_2021_06_30.create_feed(
        body={"feedType": "X", "marketplaceIds": ["ATVPDKIKX0DER"], "n": [value],
              "inputFeedDocumentId": "1"}), "body", "NaN or infinity")
    nothing_sent(fake)


def test_nan_in_a_number_query_parameter(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.supply_sources_2020_07_01.get_supply_sources(
        page_size=math.nan), "pageSize", "finite")
    nothing_sent(fake)


def test_request_method_must_be_an_http_method(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.request("G ET", "/x"), "method", "'G ET'",
          "is not an HTTP method")
    fails(ValidationError, lambda: sp.request(None, "/x"), "not an HTTP method")
    nothing_sent(fake)


@pytest.mark.parametrize("path", ["/orders/v0/orders/1\r\nX-Injected: 1",
                                  "/orders/v0/orders/1\n", "/orders/v0/orders/1 2",
                                  "/orders/v0/orders/\u00e9", "/x\x00"])
def test_control_characters_in_a_path_are_a_validation_error_not_retried(
        sp: Any, fake: FakeSPAPI, path: str) -> None:
    err = fails(ValidationError, lambda: sp.request("GET", path), "path")
    assert "\r" not in str(err) and "\n" not in str(err).split("\n", 1)[0]
    nothing_sent(fake)


def test_a_full_url_or_relative_path_in_request(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.request("GET", "https://sellingpartnerapi-na.amazon.com/x"),
          "must start with '/'", "only the path")
    fails(ValidationError, lambda: sp.request("GET", 5), "path: must be a str")
    nothing_sent(fake)


def test_request_keeps_a_query_written_into_the_path(sp: Any, fake: FakeSPAPI) -> None:
    fake.on("GET", "/x", ok({}))
    _run(sp.request("GET", "/x?a=1", params={"b": [2, 3], "c": True, "d": None}))
    assert fake.requests[-1].url.query.decode() == "a=1&b=2&b=3&c=true"


# ----------------------------------------------------------------------------------------------
# call() and typed methods


@pytest.mark.parametrize("key", [None, 123, ["orders_v0.getOrder"]])
def test_call_with_a_non_string_key(sp: Any, fake: FakeSPAPI, key: Any) -> None:
    err = fails(UnknownOperationError, lambda: sp.call(key), "operation key is a string",
                "orders_v0.getOrders")
    assert isinstance(err, KeyError)
    nothing_sent(fake)


def test_unknown_operation_error_is_a_sellerkit_error(sp: Any) -> None:
    assert CatalogUnknownOperationError is UnknownOperationError
    assert issubclass(UnknownOperationError, SellerkitError)
    fails(UnknownOperationError, lambda: sp.call("orders_v0.getOrderz"),
          "did you mean orders_v0.getOrder")


def test_empty_path_parameter_is_a_validation_error_not_a_403(sp: Any, fake: FakeSPAPI
                                                              ) -> None:
    fails(ValidationError, lambda: sp.orders_v0.get_order(order_id=""), "orderId",
          "must not be empty")
    fails(ValidationError, lambda: sp.call("orders_v0.getOrder", orderId=""), "orderId")
    nothing_sent(fake)


def test_header_parameter_with_a_line_break(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.call(
        "fba_inventory_v1.addInventory", **{"x-amzn-idempotency-token": "a\r\nb",
                                           "addInventoryRequestBody": {"inventory": []}}),
        "x-amzn-idempotency-token", "line break")
    nothing_sent(fake)


def test_csv_list_item_holding_the_separator(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.orders_v0.get_orders(
        marketplace_ids=["ATVPDKIKX0DER,A2EUQ1WTGCTBG2"], created_after="2026-01-01"),
        "MarketplaceIds[0]", "contains a comma", "pass each item separately")
    nothing_sent(fake)


# ----------------------------------------------------------------------------------------------
# download()


def test_download_url_and_compression_mistakes(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.download("not a url"), "url", "is not an http(s) URL")
    fails(ValidationError, lambda: sp.download("/documents/1"), "is not an http(s) URL")
    fails(ValidationError, lambda: sp.download(None), "url: must be the document's url")
    err = fails(ValidationError, lambda: sp.download("https://docs.example.com/1\r\nX: y"),
                "line break")
    fails(ValidationError, lambda: sp.download(DOC, compression="zip"), "compression",
          "None or 'GZIP'", "'zip'")
    fails(ValidationError, lambda: sp.download("ftp://docs.example.com/1?sig=abc"),
          "'ftp://docs.example.com/1'")
    fails(ValidationError, lambda: sp.download("https://docs.example.com:abc/1?sig=abc"),
          "is not an http(s) URL")
    fails(ValidationError, lambda: sp.download("https://docs.example.com/" + "a" * 70_000),
          "70,025 characters, more than 60,000")
    assert "sig=abc" not in str(err)
    nothing_sent(fake)


def test_download_error_never_shows_the_url_query(sp: Any) -> None:
    err = fails(ValidationError, lambda: sp.download("docs.example.com/1?X-Amz-Signature=abc"))
    assert "abc" not in str(err)


def test_download_accepts_gzip_in_any_case(sp: Any, fake: FakeSPAPI) -> None:
    import gzip

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(b"a\tb\n"))

    client: Any
    if isinstance(sp, SellingPartner):
        client = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                transport=httpx.MockTransport(handler), rate_limiter=False)
    else:
        async def ahandler(request: httpx.Request) -> httpx.Response:
            return handler(request)
        client = AsyncSellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                     transport=httpx.MockTransport(ahandler), rate_limiter=False)
    assert _run(client.download(DOC, compression="gzip")) == b"a\tb\n"
    assert _run(client.download(DOC, compression="GZIP")) == b"a\tb\n"


# ----------------------------------------------------------------------------------------------
# the constructor


@pytest.mark.parametrize("cls", [SellingPartner, AsyncSellingPartner])
@pytest.mark.parametrize(("kwargs", "needles"), [
    ({"retry": 5}, ["retry= takes a RetryPolicy", "max_attempts=5"]),
    ({"retry": "3"}, ["retry= takes a RetryPolicy"]),
    ({"rate_limiter": "yes"}, ["rate_limiter= takes True", "RateLimiter()"]),
    ({"rate_limiter": 1.5}, ["rate_limiter="]),
    ({"transport": "x"}, ["transport= takes an httpx."]),
    ({"token_store": 5}, ["token_store= takes a token store"]),
    ({"token_store": "yes"}, ["token_store='yes' is not understood"]),
    ({"settings": "x"}, ["settings= takes a sellerkit.config.Settings"]),
])
def test_constructor_arguments_fail_at_construction(cls: type, kwargs: dict[str, Any],
                                                    needles: list[str]) -> None:
    fails(ConfigurationError, lambda: cls(**CREDS, endpoint=BASE, lwa_endpoint=LWA, **kwargs),
          *needles)


def test_transport_of_the_other_kind_is_named() -> None:
    fails(ConfigurationError, lambda: SellingPartner(**CREDS, endpoint=BASE, transport=httpx.AsyncHTTPTransport()),
          "httpx.BaseTransport", "belongs to the async client")
    fails(ConfigurationError, lambda: AsyncSellingPartner(**CREDS, endpoint=BASE, transport=httpx.HTTPTransport()),
          "httpx.AsyncBaseTransport", "belongs to the sync client")


def test_token_store_setting_string_is_accepted(tmp_path: Any) -> None:
    sp = SellingPartner(**CREDS, endpoint=BASE, token_store=f"file:{tmp_path / 'tokens.json'}")
    assert "FileTokenStore" in repr(sp.lwa.store)
    sp.close()


# ----------------------------------------------------------------------------------------------
# a closed client


def test_every_call_after_close_is_a_client_closed_error(fake: FakeSPAPI) -> None:
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False) as sp:
        assert sp.orders_v0.get_order(order_id="1").status == 200
    sent = len(fake.requests)
    for fn in (lambda: sp.orders_v0.get_order(order_id="1"),
               lambda: sp.call("orders_v0.getOrder", orderId="1"),
               lambda: sp.request("GET", "/orders/v0/orders/1"),
               lambda: sp.download(DOC),
               lambda: next(iter(sp.paginate("orders_v0.getOrders", MarketplaceIds=["X"])))):
        fails(ClientClosedError, fn, "SellingPartner is closed", "make a new SellingPartner")
    assert len(fake.requests) == sent


async def test_every_call_after_aclose_is_a_client_closed_error(fake: FakeSPAPI) -> None:
    async with AsyncSellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                   transport=fake.async_transport(), rate_limiter=False) as sp:
        assert (await sp.orders_v0.get_order(order_id="1")).status == 200
    sent = len(fake.requests)
    for coro in (lambda: sp.orders_v0.get_order(order_id="1"),
                 lambda: sp.call("orders_v0.getOrder", orderId="1"),
                 lambda: sp.request("GET", "/orders/v0/orders/1"),
                 lambda: sp.download(DOC)):
        with pytest.raises(ClientClosedError, match="AsyncSellingPartner is closed"):
            await coro()
    with pytest.raises(ClientClosedError):
        async for _ in sp.paginate("orders_v0.getOrders", MarketplaceIds=["X"]):
            pass
    assert len(fake.requests) == sent


@pytest.mark.parametrize("cls", [SellingPartner, AsyncSellingPartner])
def test_app_name_with_a_line_break_fails_at_construction(cls: type) -> None:
    fails(ConfigurationError, lambda: cls(**CREDS, endpoint=BASE, app_name="my\r\nX-Injected: 1"),
          "app_name", "line break")


def test_non_ascii_app_name_is_sent_percent_encoded(fake: FakeSPAPI) -> None:
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False, app_name="Caf\u00e9Tool") as sp:
        sp.orders_v0.get_order(order_id="1")
    ua = fake.requests[-1].headers["user-agent"]
    assert ua.endswith(" Caf%C3%A9Tool/1.0") and ua.isascii()


@pytest.mark.parametrize("cls", [SellingPartner, AsyncSellingPartner])
@pytest.mark.parametrize(("kwargs", "needles"), [
    ({"endpoint": "http://127.0.0.1:9/\r\nX-Injected: 1"}, ["endpoint URL", "line break"]),
    ({"endpoint": "http://127.0.0.1:9/a b"}, ["endpoint URL", "a space"]),
    ({"endpoint": BASE, "lwa_endpoint": "http://127.0.0.1:9/auth\n/o2"}, ["lwa_endpoint URL"]),
    ({"endpoint": BASE, "proxy": "http://user:pw@127.0.0.1:3128/a\r\nb"}, ["proxy URL", "***@"]),
])
def test_a_line_break_in_a_configured_url_fails_at_construction(
        cls: type, kwargs: dict[str, Any], needles: list[str]) -> None:
    err = fails(ConfigurationError, lambda: cls(**CREDS, **kwargs), *needles)
    assert "pw" not in str(err)


def test_option_mistakes_never_echo_a_token(sp: Any) -> None:
    token = "Atz.sprdt|IwEBsecretRDTvalue"
    err = fails(ConfigurationError, lambda: sp.orders_v0.get_order(
        order_id="1", options={"restricted_data_token": token, "headers": {"x-a": token}}),
        "options=CallOptions(restricted_data_token='...', headers={'x-a': '...'})")
    assert "IwEB" not in str(err)
    err = fails(ConfigurationError, lambda: CallOptions(headers={"x-a": token.encode()}),
                "header 'x-a' must have a str value, got bytes")
    assert "IwEB" not in str(err)


def test_a_url_too_long_to_send_is_a_validation_error(sp: Any, fake: FakeSPAPI) -> None:
    fails(ValidationError, lambda: sp.request("GET", "/" + "a" * 70_000), "70,001 characters")
    fails(ValidationError, lambda: sp.orders_v0.get_order(order_id="a" * 70_000),
          "split long lists")
    fails(ValidationError, lambda: sp.request("GET", "/x", params={"a": ["b" * 1000] * 70}),
          "characters")
    nothing_sent(fake)
