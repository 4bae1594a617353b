"""The client's request pipeline, against a scripted SP-API (no sockets)."""

from __future__ import annotations

import json
import pickle
import random
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

import httpx
import pytest

from sellerkit import AsyncSellingPartner, CallOptions, SellingPartner
from sellerkit.client.retry import RetryPolicy
from sellerkit.errors import (
    ApiError,
    BadRequestError,
    ConfigurationError,
    ConnectionFailedError,
    ForbiddenError,
    NotFoundError,
    RequestTooLargeError,
    ServerError,
    ThrottledError,
    UnsupportedMediaTypeError,
    ValidationError,
)

from .fake import BASE, LWA, FakeSPAPI, err, ok

US = "ATVPDKIKX0DER"
CREDS = dict(client_id="amzn1.application-oa2-client.test",
             client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|refresh-secret")


def fast_retry(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, base=0.001, cap=0.002, rng=random.Random(1))


@pytest.fixture
def fake() -> FakeSPAPI:
    return FakeSPAPI()


@pytest.fixture
def sp(fake: FakeSPAPI) -> SellingPartner:
    return SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                          rate_limiter=False, retry=fast_retry())


def query(req: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(req.url.query.decode())


# ----------------------------------------------------------------------------------------------
# building requests


def test_typed_method_builds_the_wire_request(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/orders/v0/orders", ok({"payload": {"Orders": []}}))
    r = sp.orders_v0.get_orders(marketplace_ids=[US, "A2EUQ1WTGCTBG2"],
                                created_after=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                                order_statuses=["Unshipped", "Shipped"],
                                options=CallOptions(rdt=False))
    req = fake.requests[-1]
    q = query(req)
    assert q == {"MarketplaceIds": [f"{US},A2EUQ1WTGCTBG2"], "CreatedAfter": ["2026-01-02T03:04:05Z"],
                 "OrderStatuses": ["Unshipped,Shipped"]}
    assert req.headers["x-amz-access-token"] == "Atza|refresh_token-1"
    assert req.headers["user-agent"].startswith("sellerkit/")
    assert "(Language=Python/3." in req.headers["user-agent"]
    assert req.content == b""  # nothing injected: no body on a GET
    assert "content-type" not in req.headers
    assert r.status == 200 and r.request_id == "req-1" and r.payload == {"Orders": []}
    assert r.body == {"payload": {"Orders": []}} and r["Orders"] == [] and r.errors == []


def test_path_parameters_are_encoded(fake: FakeSPAPI, sp: SellingPartner) -> None:
    seen = []

    def capture(req: httpx.Request) -> httpx.Response:
        seen.append(req.url.raw_path.decode())
        return ok({"sku": "x"})

    fake.routes[("GET", "/listings/2021-08-01/items/A1SELLER/A/B C#1-é")] = capture
    sp.listings_items_2021_08_01.get_listings_item(seller_id="A1SELLER", sku="A/B C#1-é",
                                                   marketplace_ids=[US])
    raw = seen[0].split("?")[0]
    assert raw == "/listings/2021-08-01/items/A1SELLER/A%2FB%20C%231-%C3%A9"
    assert unquote(raw.rsplit("/", 1)[1]) == "A/B C#1-é"


def test_multi_collection_format_repeats_the_key() -> None:
    from sellerkit.catalog import get_catalog
    from sellerkit.client._base import build_query

    cat = get_catalog()
    op = next(o for o in cat if any(p.collection_format == "multi" for p in o.params))
    p = next(p for p in op.params if p.collection_format == "multi")
    q = build_query(op, {p.name: ["a", "b"]})
    assert q == f"{p.name}=a&{p.name}=b"


def test_validation_reports_every_problem_before_sending(fake: FakeSPAPI, sp: SellingPartner) -> None:
    with pytest.raises(ValidationError) as ei:
        sp.call("orders_v0.getOrders", MaxResultsPerPage="ten", Nonsense=1)
    text = str(ei.value)
    assert "MarketplaceIds: is required" in text
    assert "MaxResultsPerPage: must be an integer" in text
    assert "Nonsense: is not a parameter of orders_v0.getOrders" in text
    assert len(ei.value.problems) == 3
    with pytest.raises(ValidationError) as ei:
        sp.orders_2026_01_01.search_orders(fulfillment_statuses=["SHIPPED", "Bogus"],
                                           marketplace_ids=[US] * 51)  # type: ignore[list-item]
    assert [str(p) for p in ei.value.problems] == [
        "fulfillmentStatuses[1]: 'Bogus' is not one of: PENDING_AVAILABILITY, PENDING, "
        "UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, CANCELLED, UNFULFILLABLE",
        "marketplaceIds: takes at most 50 items, got 51"]
    assert fake.requests == [] and fake.lwa_requests == []


def test_typed_method_rejects_unknown_keyword(sp: SellingPartner) -> None:
    with pytest.raises(TypeError):
        sp.orders_v0.get_orders(marketplace_ids=[US], bogus=1)  # type: ignore[call-arg]


def test_body_is_json_and_only_when_given(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("POST", "/reports/2021-06-30/reports", ok({"reportId": "1"}, 202))
    sp.reports_2021_06_30.create_report(body={"reportType": "GET_X", "marketplaceIds": [US]})
    req = fake.requests[-1]
    assert json.loads(req.content) == {"reportType": "GET_X", "marketplaceIds": [US]}
    assert req.headers["content-type"].startswith("application/json")
    with pytest.raises(ValidationError, match="request body is required"):
        sp.call("reports_2021_06_30.createReport")


def test_alias_points_at_newest_version(fake: FakeSPAPI, sp: SellingPartner) -> None:
    assert sp.orders.api_key == "orders_2026_01_01"
    assert sp.reports.api_key == "reports_2021_06_30"
    with pytest.raises(AttributeError, match="no API 'nope'"):
        _ = sp.nope


def test_raw_request_escape_hatch(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    r = sp.request("GET", "/sellers/v1/marketplaceParticipations", params={"a": "1"})
    assert r.body == {"payload": []} and r.payload == []
    assert query(fake.requests[-1]) == {"a": ["1"]}


# ----------------------------------------------------------------------------------------------
# responses and errors


@pytest.mark.parametrize("status,cls", [
    (400, BadRequestError), (403, ForbiddenError), (404, NotFoundError),
    (413, RequestTooLargeError), (415, UnsupportedMediaTypeError), (429, ThrottledError),
    (500, ServerError), (503, ServerError), (418, ApiError),
])
def test_error_statuses_map_to_classes(fake: FakeSPAPI, status: int, cls: type) -> None:
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False, retry=fast_retry(1))
    fake.on("GET", "/sellers/v1/marketplaceParticipations",
            err(status, "SomeCode", "went wrong"))
    with pytest.raises(cls) as ei:
        sp.sellers_v1.get_marketplace_participations()
    e = ei.value
    assert (e.status, e.code, e.message, e.request_id) == (status, "SomeCode", "went wrong", "req-1")
    assert e.operation == "sellers_v1.getMarketplaceParticipations"
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is cls and again.code == "SomeCode" and again.body == e.body


def test_non_json_and_empty_error_bodies(fake: FakeSPAPI) -> None:
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False, retry=fast_retry(1))
    fake.on("GET", "/sellers/v1/marketplaceParticipations",
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(500, content=b""))
    with pytest.raises(ServerError, match="non-JSON error body: <html>Bad Gateway"):
        sp.sellers_v1.get_marketplace_participations()
    with pytest.raises(ServerError, match="no error body"):
        sp.sellers_v1.get_marketplace_participations()


def test_unknown_fields_and_enum_values_never_raise(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/orders/v0/orders/1", ok({"payload": {"AmazonOrderId": "1",
                                                          "OrderStatus": "BrandNewStatus",
                                                          "NewField": {"x": 1}}},
                                             headers={"x-amzn-RateLimit-Limit": "0.5"}))
    r = sp.orders_v0.get_order(order_id="1", options=CallOptions(rdt=False))
    assert r.payload["OrderStatus"] == "BrandNewStatus" == r["OrderStatus"]
    assert r.rate_limit == 0.5
    again = pickle.loads(pickle.dumps(r))
    assert again == r and again.body["payload"]["NewField"] == {"x": 1}
    assert again.payload["NewField"] == {"x": 1}


# ----------------------------------------------------------------------------------------------
# retries


def test_429_then_success_is_retried(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations",
            err(429, "QuotaExceeded"), err(503, "ServiceUnavailable"), ok({"payload": []}))
    assert sp.sellers_v1.get_marketplace_participations().status == 200
    assert len(fake.requests) == 3


def test_attempts_are_bounded(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations", err(500, "InternalFailure"))
    with pytest.raises(ServerError):
        sp.sellers_v1.get_marketplace_participations()
    assert len(fake.requests) == 4
    fake.requests.clear()
    with pytest.raises(ServerError):
        sp.sellers_v1.get_marketplace_participations(options=CallOptions(max_attempts=2))
    assert len(fake.requests) == 2


def test_post_is_not_retried_on_5xx_but_is_on_429(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("POST", "/reports/2021-06-30/reports", err(500, "InternalFailure"))
    with pytest.raises(ServerError):
        sp.reports_2021_06_30.create_report(body={"reportType": "X", "marketplaceIds": [US]})
    assert len(fake.requests) == 1
    fake.requests.clear()
    fake.on("POST", "/reports/2021-06-30/reports", err(429, "QuotaExceeded"),
            ok({"reportId": "9"}, 202))
    r = sp.reports_2021_06_30.create_report(body={"reportType": "X", "marketplaceIds": [US]})
    assert r["reportId"] == "9" and len(fake.requests) == 2


def test_400_is_never_retried(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations", err(400))
    with pytest.raises(BadRequestError):
        sp.sellers_v1.get_marketplace_participations()
    assert len(fake.requests) == 1


def test_connection_failures_become_transport_errors(fake: FakeSPAPI, sp: SellingPartner) -> None:
    def boom(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    fake.on("GET", "/sellers/v1/marketplaceParticipations", boom)
    with pytest.raises(ConnectionFailedError) as ei:
        sp.sellers_v1.get_marketplace_participations()
    assert "GET /sellers/v1/marketplaceParticipations" in str(ei.value)
    assert "Atza" not in str(ei.value)
    assert len(fake.requests) == 4


def test_retry_policy_math() -> None:
    from sellerkit.client.retry import Failure

    class Max:
        def random(self) -> float:
            return 1.0

    p = RetryPolicy(max_attempts=5, base=1.0, cap=8.0, max_retry_time=100.0, rng=Max())
    f = Failure(status=503)
    assert [p.delay(attempt=a, method="GET", failure=f, elapsed=0) for a in (1, 2, 3, 4, 5)] == \
        [1.0, 2.0, 4.0, 8.0, None]
    # the rate-limit header sets a floor of one token's refill time
    assert p.delay(attempt=1, method="GET", failure=Failure(429, rate_limit=0.2), elapsed=0) == 5.0
    assert p.delay(attempt=1, method="POST", failure=Failure(503), elapsed=0) is None
    assert p.delay(attempt=1, method="POST", failure=Failure(None, sent=False), elapsed=0) == 1.0
    assert p.delay(attempt=1, method="GET", failure=f, elapsed=99.5) is None  # over the time cap


# ----------------------------------------------------------------------------------------------
# auth choices


def test_restricted_operation_gets_an_rdt_once(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/orders/v0/orders/111-1/address", ok({"payload": {"AmazonOrderId": "111-1"}}))
    fake.on("GET", "/orders/v0/orders/222-2/address", ok({"payload": {"AmazonOrderId": "222-2"}}))
    sp.orders_v0.get_order_address(order_id="111-1")
    sp.orders_v0.get_order_address(order_id="222-2")
    assert fake.rdt_requests == [{"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}]
    assert [r.headers["x-amz-access-token"] for r in fake.requests] == ["Atz.sprdt|rdt-1"] * 2


def test_rdt_data_elements_and_explicit_rdt(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/orders/v0/orders", ok({"payload": {"Orders": []}}))
    sp.orders_v0.get_orders(marketplace_ids=[US], created_after="2026-01-01",
                            options=CallOptions(rdt_data_elements=["buyerInfo"]))
    assert fake.rdt_requests[-1]["restrictedResources"] == [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]
    sp.orders_v0.get_orders(marketplace_ids=[US], created_after="2026-01-01",
                            options=CallOptions(restricted_data_token="Atz.sprdt|mine"))
    assert fake.requests[-1].headers["x-amz-access-token"] == "Atz.sprdt|mine"
    assert len(fake.rdt_requests) == 1


def test_grantless_operation_uses_client_credentials(fake: FakeSPAPI) -> None:
    sp = SellingPartner(client_id="amzn1.application-oa2-client.test",
                        client_secret="amzn1.oa2-cs.v1.topsecret", endpoint=BASE,
                        lwa_endpoint=LWA, transport=fake.transport(), rate_limiter=False)
    fake.on("GET", "/notifications/v1/destinations", ok({"payload": []}))
    sp.notifications_v1.get_destinations()
    form = fake.lwa_requests[-1]
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == ["sellingpartnerapi::notifications"]
    with pytest.raises(ConfigurationError, match="needs their refresh token"):
        sp.sellers_v1.get_marketplace_participations()


def test_secrets_do_not_leak_into_reprs_or_errors(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations", err(403, "Unauthorized", "denied"))
    with pytest.raises(ForbiddenError) as ei:
        sp.sellers_v1.get_marketplace_participations()
    for text in (repr(sp), str(sp), repr(ei.value), str(ei.value), repr(sp.settings),
                 repr(CallOptions(restricted_data_token="Atz.sprdt|x"))):
        assert "topsecret" not in text and "refresh-secret" not in text
        assert "Atza|" not in text and "Atz.sprdt|x" not in text


def test_plain_http_only_on_loopback() -> None:
    with pytest.raises(ConfigurationError):
        SellingPartner(**CREDS, endpoint="http://example.com", rate_limiter=False)
    with pytest.raises(ConfigurationError):
        SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint="http://example.com/auth/o2/token",
                       rate_limiter=False)


def test_marketplace_implies_region() -> None:
    sp = SellingPartner(**CREDS, marketplace="DE", rate_limiter=False)
    assert sp.base_url == "https://sellingpartnerapi-eu.amazon.com"
    sp = SellingPartner(**CREDS, marketplace="JP", rate_limiter=False)
    assert sp.base_url == "https://sellingpartnerapi-fe.amazon.com"
    sp = SellingPartner(**CREDS, region="NA", sandbox=True, rate_limiter=False)
    assert sp.base_url == "https://sandbox.sellingpartnerapi-na.amazon.com"


def test_missing_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for k in ("SELLERKIT_CLIENT_ID", "LWA_APP_ID", "SELLERKIT_CLIENT_SECRET", "LWA_CLIENT_SECRET"):
        monkeypatch.delenv(k, raising=False)
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("SELLERKIT_CONFIG", str(tmp_path / "empty.toml"))
    with pytest.raises(ConfigurationError, match="client_id"):
        SellingPartner(endpoint=BASE, rate_limiter=False)


# ----------------------------------------------------------------------------------------------
# pagination


def test_paginate_repeats_filters_and_stops(fake: FakeSPAPI, sp: SellingPartner) -> None:
    pages = [ok({"orders": [{"orderId": "1"}, {"orderId": "2"}], "pagination": {"nextToken": "t1"}}),
             ok({"orders": [{"orderId": "3"}], "pagination": {"nextToken": "t2"}}),
             ok({"orders": [{"orderId": "4"}]})]
    fake.on("GET", "/orders/2026-01-01/orders", *pages)
    ids = [o["orderId"] for o in sp.paginate(sp.orders_2026_01_01.search_orders,
                                             created_after="2026-01-01T00:00:00Z",
                                             marketplace_ids=[US], items=True)]
    assert ids == ["1", "2", "3", "4"]
    qs = [query(r) for r in fake.requests]
    assert [q.get("paginationToken") for q in qs] == [None, ["t1"], ["t2"]]
    assert all(q["createdAfter"] == ["2026-01-01T00:00:00Z"] for q in qs)


def test_paginate_token_only_operations(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/reports/2021-06-30/reports",
            ok({"reports": [{"reportId": "1"}], "nextToken": "n1"}),
            ok({"reports": [{"reportId": "2"}]}))
    pages = list(sp.paginate("reports_2021_06_30.getReports", reportTypes=["GET_X"], pageSize=1))
    assert len(pages) == 2
    assert query(fake.requests[1]) == {"nextToken": ["n1"]}


def test_paginate_stops_on_a_repeated_token(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/orders/v0/orders",
            ok({"payload": {"Orders": [{"AmazonOrderId": "a"}], "NextToken": "same"}}))
    pages = list(sp.paginate("orders_v0.getOrders", MarketplaceIds=[US], CreatedAfter="2026-01-01",
                             options=CallOptions(rdt=False)))
    assert len(pages) == 2


def test_paginate_refuses_operations_without_tokens(sp: SellingPartner) -> None:
    with pytest.raises(ConfigurationError, match="does not paginate"):
        list(sp.paginate("sellers_v1.getMarketplaceParticipations"))


# ----------------------------------------------------------------------------------------------
# async mirror


async def test_async_client_same_surface(fake: FakeSPAPI) -> None:
    fake.on("GET", "/orders/2026-01-01/orders",
            ok({"orders": [{"orderId": "1"}], "pagination": {"nextToken": "t1"}}),
            ok({"orders": [{"orderId": "2"}]}))
    fake.on("GET", "/orders/v0/orders/9/address", ok({"payload": {"AmazonOrderId": "9"}}))
    async with AsyncSellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                                   transport=fake.async_transport(), rate_limiter=False) as sp:
        items = [o async for o in sp.paginate("orders_2026_01_01.searchOrders",
                                               createdAfter="2026-01-01T00:00:00Z", items=True)]
        assert [o["orderId"] for o in items] == ["1", "2"]
        r = await sp.orders_v0.get_order_address(order_id="9")
        assert r.payload == {"AmazonOrderId": "9"}
        assert fake.requests[-1].headers["x-amz-access-token"] == "Atz.sprdt|rdt-1"
        with pytest.raises(ValidationError):
            await sp.call("orders_v0.getOrders")


def test_sync_client_is_generated_from_async() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    rc = subprocess.run([sys.executable, "tools/unasync.py", "--check"], cwd=root,
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr


def test_every_operation_has_a_typed_method() -> None:
    import inspect

    from sellerkit.catalog import get_catalog
    from sellerkit.client._generated import resources

    cat = get_catalog()
    for op in cat:
        for table in (resources.SYNC_RESOURCES, resources.ASYNC_RESOURCES):
            cls = table[op.api_key]
            fn = getattr(cls, op.py_name)
            sig = inspect.signature(fn)
            for p in op.params:
                assert p.py_name in sig.parameters, (op.key, p.py_name)
                assert (sig.parameters[p.py_name].default is inspect.Parameter.empty) == p.required
    assert len(cat) == 370


def test_expired_token_403_refreshes_once_and_retries(fake: FakeSPAPI, sp: SellingPartner) -> None:
    fake.on("GET", "/sellers/v1/marketplaceParticipations",
            err(403, "Unauthorized", "Access to requested resource is denied.",),
            ok({"payload": []}))
    fake.routes[("GET", "/sellers/v1/marketplaceParticipations")][0] = lambda req: httpx.Response(
        403, json={"errors": [{"code": "Unauthorized", "message": "denied",
                               "details": "The access token you provided has expired."}]})
    assert sp.sellers_v1.get_marketplace_participations().status == 200
    tokens = [r.headers["x-amz-access-token"] for r in fake.requests]
    assert tokens == ["Atza|refresh_token-1", "Atza|refresh_token-2"]
    assert len(fake.lwa_requests) == 2
