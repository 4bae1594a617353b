"""Issue 7, 8 (fuzzing): property tests on the client's validation, serialization and paging.

Whatever a caller passes, preparing a request either builds one that can go on the wire or raises
a SellerkitError; values that are valid survive the trip to the server's parser unchanged. Kept
short for CI: modest example counts, no deadline (the host is shared);
``SELLERKIT_FUZZ_EXAMPLES=2000`` runs them deeper.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sellerkit import CallOptions, SellingPartner
from sellerkit.catalog import get_catalog
from sellerkit.catalog.validation import check_params, parse_wire
from sellerkit.client._aclient import _next_values
from sellerkit.client._base import (
    Prepared,
    build_path,
    build_query,
    check_download,
    encode_path_value,
    prepare,
    prepare_raw,
)
from sellerkit.errors import ConfigurationError, SellerkitError, ValidationError

# SELLERKIT_FUZZ_EXAMPLES=2000 for a deeper run on a developer machine.
_N = int(os.environ.get("SELLERKIT_FUZZ_EXAMPLES", "60"))
FAST = settings(max_examples=_N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=max(10, _N // 3), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

CATALOG = get_catalog()
OPS = sorted(CATALOG, key=lambda o: o.key)

# Text as users and servers produce it, plus the troublemakers: CR/LF, NUL, lone surrogates,
# non-ASCII, URL metacharacters.
weird_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("\r\n\0 /?#%&=+,|\t.\u20ac\u00e9\ud800a"), max_size=12),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), weird_text,
                    st.binary(max_size=10),
                    st.datetimes(timezones=st.just(UTC)) | st.datetimes(), st.dates(),
                    st.just(object()), st.just(math.nan), st.just(math.inf))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5), inner, max_size=3),
    st.frozensets(st.integers(), max_size=3)), max_leaves=8)


def _typed(typ: str | None, items: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    if typ == "integer":
        return st.integers()
    if typ == "number":
        return st.floats() | st.integers()
    if typ == "boolean":
        return st.booleans()
    if typ == "array":
        return st.lists(_typed((items or {}).get("type")), max_size=4)
    if typ == "object" or typ is None:
        return st.dictionaries(weird_text, weird_text | st.floats() | st.integers(), max_size=3)
    return weird_text | st.datetimes() | st.dates()


def _sendable(prepared: Prepared) -> None:
    """What the wire needs: an HTTP method, a printable-ASCII path and query, printable-ASCII
    header values, a JSON body that parses back without NaN; and httpx builds the request."""
    assert prepared.method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    target = prepared.url("https://sellingpartnerapi-na.amazon.com")
    assert all(0x21 <= ord(c) <= 0x7E for c in target), target
    for name, value in prepared.headers.items():
        assert isinstance(name, str) and isinstance(value, str)
        assert all(0x20 <= ord(c) <= 0x7E or c == "\t" for c in value), value
    httpx.Request(prepared.method, target, headers=prepared.headers, content=prepared.content)
    ctype = prepared.headers.get("content-type", "")
    if prepared.content is not None and "json" in ctype and prepared.content[:1] in b"{[":
        json.loads(prepared.content, parse_constant=lambda c: (_ for _ in ()).throw(
            AssertionError(f"{c} in a JSON body")))


@FAST
@given(op=st.sampled_from(OPS), data=st.data())
def test_prepare_builds_a_sendable_request_or_raises_a_validation_error(op: Any, data: Any
                                                                        ) -> None:
    vals: dict[str, Any] = {}
    for p in op.params:  # mostly the right type, so validation passes and serialization runs
        if data.draw(st.booleans()):
            vals[p.name] = data.draw(st.one_of(_typed(p.type, p.items), values)
                                     if data.draw(st.integers(0, 4)) == 0 else
                                     _typed(p.type, p.items))
    vals.update(data.draw(st.dictionaries(st.text(max_size=8), values, max_size=2)))
    try:
        prepared = prepare(op, vals)
    except ValidationError as exc:
        assert exc.problems and str(exc)
        return
    _sendable(prepared)


@FAST
@given(op=st.sampled_from([o for o in OPS if any(p.location == "path" for p in o.params)]),
       data=st.data())
def test_valid_text_values_always_prepare(op: Any, data: Any) -> None:
    """Well-typed values are never refused for their characters (path and header params aside,
    which are checked for what HTTP cannot carry)."""
    vals = {p.name: data.draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=1,
                                      max_size=15))
            for p in op.params if p.location == "path" and p.type in (None, "string")
            and not p.enum and not p.constraints}
    if not vals:
        return
    problems = [p for p in check_params(op, vals) if p.param in vals]
    assert problems == [], problems


@FAST
@given(kwargs=st.fixed_dictionaries({}, optional={
    "timeout": values, "max_wait": values, "max_attempts": values, "rdt": values,
    "rdt_data_elements": values, "restricted_data_token": values,
    "headers": values | st.dictionaries(weird_text, values, max_size=3)}))
def test_call_options_accept_or_raise_a_configuration_error(kwargs: dict[str, Any]) -> None:
    try:
        o = CallOptions(**kwargs)
    except ConfigurationError as exc:
        assert str(exc).startswith("invalid CallOptions: ")
        return
    for name in ("timeout", "max_wait"):
        v = getattr(o, name)
        assert not v or (isinstance(v, float) and v >= 0 and not math.isnan(v))
    prepared = prepare_raw(CATALOG, "GET", "/x", None, None, None, o)
    _sendable(prepared)


@FAST
@given(method=values | st.sampled_from(["GET", "post", "G ET", "GET\r\n"]),
       path=values | st.builds(lambda s: "/" + s, weird_text),
       params=values | st.dictionaries(weird_text, values, max_size=4),
       body=values, headers=values | st.dictionaries(weird_text, values, max_size=3))
def test_raw_request_arguments_prepare_or_raise_a_validation_error(
        method: Any, path: Any, params: Any, body: Any, headers: Any) -> None:
    try:
        prepared = prepare_raw(CATALOG, method, path, params, body, headers, CallOptions())
    except ValidationError as exc:
        assert exc.problems
        assert "\r" not in exc.operation and "\n" not in exc.operation
        return
    _sendable(prepared)


@FAST
@given(url=values | st.builds(lambda a, b: f"https://h.example/{a}?sig={b}", weird_text,
                              st.text(alphabet="abcdef0123456789", min_size=8, max_size=12)),
       compression=values | st.sampled_from(["gzip", "GZIP", "zip"]))
def test_download_arguments_check_never_leaks_the_query(url: Any, compression: Any) -> None:
    try:
        assert check_download(url, compression) in (None, "GZIP")
    except ValidationError as exc:
        if isinstance(url, str) and "?sig=" in url:
            assert all(url.rsplit("?sig=", 1)[1] not in str(p) for p in exc.problems
                       if p.param == "url")


# ----------------------------------------------------------------------------------------------
# round trips


segment_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20)


@FAST
@given(value=segment_text)
def test_a_path_value_is_one_segment_that_decodes_back(value: str) -> None:
    encoded = encode_path_value(value)
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert encoded not in (".", "..")
    assert all(0x21 <= ord(c) <= 0x7E for c in encoded)
    assert unquote(encoded) == value


@FAST
@given(order_id=segment_text)
def test_path_round_trip_through_the_catalog_router(order_id: str) -> None:
    op = CATALOG.operation("orders_v0.getOrderItems")
    path = build_path(op, {"orderId": order_id})
    segments = path.split("/")
    assert segments[:5] == ["", "orders", "v0", "orders", segments[4]]
    assert segments[5:] == ["orderItems"]
    assert unquote(segments[4]) == order_id


csv_item = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=","), max_size=12)


@FAST
@given(items=st.lists(csv_item, min_size=1, max_size=6), statuses=st.lists(
    st.sampled_from(["Pending", "Unshipped", "Shipped", "Canceled"]), min_size=1, max_size=3))
def test_csv_query_arrays_round_trip_to_the_servers_parser(items: list[str],
                                                          statuses: list[str]) -> None:
    op = CATALOG.operation("orders_v0.getOrders")
    vals = {"MarketplaceIds": items, "OrderStatuses": statuses, "CreatedAfter": "2026-01-01"}
    assert [p for p in check_params(op, vals) if p.param.startswith("MarketplaceIds[")] == []
    query = build_query(op, vals)
    parsed, problems = parse_wire(op, parse_qs(query, keep_blank_values=True), {}, {})
    assert problems == []
    assert parsed["MarketplaceIds"] == items and parsed["OrderStatuses"] == statuses


@FAST
@given(items=st.lists(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10),
                      min_size=1, max_size=5))
def test_multi_query_arrays_round_trip(items: list[str]) -> None:
    op = CATALOG.operation("fulfillment_inbound_2024_03_20.listPrepDetails")
    vals = {"marketplaceId": "ATVPDKIKX0DER", "mskus": items}
    query = build_query(op, vals)
    parsed, problems = parse_wire(op, parse_qs(query, keep_blank_values=True), {}, {})
    assert problems == [] and parsed["mskus"] == items


@FAST
@given(when=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1),
                         timezones=st.just(UTC)), day=st.dates())
def test_datetimes_serialize_as_iso8601_utc(when: datetime, day: date) -> None:
    op = CATALOG.operation("orders_v0.getOrders")
    q = parse_qs(build_query(op, {"MarketplaceIds": ["X"], "CreatedAfter": when,
                                  "CreatedBefore": day}))
    assert q["CreatedAfter"] == [when.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert q["CreatedBefore"] == [day.isoformat()]


# ----------------------------------------------------------------------------------------------
# pagination tokens

token_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40) | \
    st.text(alphabet="ABCabc019+/=", min_size=1, max_size=60)


@FAST
@given(payload=values)
def test_token_from_any_payload_is_a_string_or_none(payload: Any) -> None:
    for op in (o for o in OPS if o.pagination is not None):
        token = op.pagination.token_from(payload)  # type: ignore[union-attr]
        assert token is None or (isinstance(token, str) and token)


@FAST
@given(token=token_text, key=st.sampled_from(sorted(o.key for o in OPS if o.pagination)))
def test_next_token_reaches_the_server_unchanged(token: str, key: str) -> None:
    op = CATALOG.operation(key)
    assert op.pagination is not None
    start = {p.name: "v" for p in op.params if p.location == "path"}
    nxt = _next_values(op, start, token)
    assert nxt[op.pagination.request] == token
    param = op.params_by_name.get(op.pagination.request)
    if param is None or param.location != "query":
        return
    try:
        prepared = prepare(op, nxt)
    except ValidationError as exc:  # other required parameters: fine, but not the token's fault
        assert all(not p.param.startswith(op.pagination.request) for p in exc.problems), exc
        return
    got = parse_qs(prepared.query, keep_blank_values=True)[op.pagination.request]
    assert got == [token]


@SLOW
@given(tokens=st.lists(token_text, min_size=1, max_size=5, unique=True))
def test_paginate_follows_any_tokens_to_the_last_page(tokens: list[str]) -> None:
    """A server whose next tokens hold anything (Amazon's hold +, / and =): every page is fetched
    once, and each request carries exactly the token of the page before."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/o2/token":
            return httpx.Response(200, json={"access_token": "Atza|t", "expires_in": 3600})
        q = parse_qs(request.url.query.decode(), keep_blank_values=True)
        sent = q.get("NextToken", [None])[0]
        seen.append(sent)
        i = 0 if sent is None else tokens.index(sent) + 1
        payload: dict[str, Any] = {"Orders": [{"AmazonOrderId": str(i)}]}
        if i < len(tokens):
            payload["NextToken"] = tokens[i]
        return httpx.Response(200, json={"payload": payload})

    with SellingPartner(client_id="c", client_secret="s", refresh_token="Atzr|r",
                        endpoint="http://127.0.0.1:9", lwa_endpoint="http://127.0.0.1:9/auth/o2/token",
                        transport=httpx.MockTransport(handler), rate_limiter=False) as sp:
        orders = list(sp.paginate("orders_v0.getOrders", items=True, MarketplaceIds=["X"],
                                  CreatedAfter="2026-01-01",
                                  options=CallOptions(rdt=False)))
    assert [o["AmazonOrderId"] for o in orders] == [str(i) for i in range(len(tokens) + 1)]
    assert seen == [None, *tokens]



def _ok_handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/auth/o2/token":
        return httpx.Response(200, json={"access_token": "Atza|t", "expires_in": 3600})
    if request.url.path.startswith("/tokens/"):
        return httpx.Response(200, json={"restrictedDataToken": "Atz.sprdt|r", "expiresIn": 3600})
    return httpx.Response(200, json={"payload": {}})


@pytest.fixture(scope="module")
def fuzz_sp() -> Iterator[SellingPartner]:
    with SellingPartner(client_id="c", client_secret="s", refresh_token="Atzr|r",
                        endpoint="http://127.0.0.1:9",
                        lwa_endpoint="http://127.0.0.1:9/auth/o2/token",
                        transport=httpx.MockTransport(_ok_handler), rate_limiter=False) as sp:
        yield sp


@FAST
@given(op=st.sampled_from(OPS), data=st.data())
def test_a_whole_call_returns_a_response_or_raises_a_sellerkit_error(
        fuzz_sp: SellingPartner, op: Any, data: Any) -> None:
    """Through the client (auth, RDTs, headers, the httpx transport), not only prepare()."""
    vals: dict[str, Any] = {}
    for p in op.params:
        if data.draw(st.booleans()):
            vals[p.name] = data.draw(_typed(p.type, p.items) | values)
    options = data.draw(st.none() | st.builds(CallOptions, rdt=st.booleans(),
                                              max_attempts=st.just(1)))
    try:
        r = fuzz_sp.call(op.key, options=options, **vals)
    except SellerkitError as exc:
        assert str(exc)
        return
    assert r.status == 200
