"""ApiResponse names what python-amazon-sp-api users expect: payload (the result), body (the whole
document), errors (the body's warnings)."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import pytest

from sellerkit import ApiResponse

HEADERS = {"X-Amzn-RequestId": "rid-1", "x-amzn-RateLimit-Limit": "0.0167"}


def resp(body: Any) -> ApiResponse[Any, Any]:
    return ApiResponse(200, HEADERS, body, operation="orders_v0.getOrders")


def test_payload_unwraps_a_v0_body() -> None:
    body = {"payload": {"Orders": [{"AmazonOrderId": "1"}], "NextToken": "t"}}
    r = resp(body)
    assert r.payload == {"Orders": [{"AmazonOrderId": "1"}], "NextToken": "t"}
    assert r.body is body
    assert r["Orders"] == [{"AmazonOrderId": "1"}]  # the migrant's first line
    assert r.get("NextToken") == "t" and r.get("payload") is None
    assert "Orders" in r and "payload" not in r
    assert list(r) == ["Orders", "NextToken"]
    assert r.errors == []


def test_payload_unwraps_beside_errors_and_pagination() -> None:
    warning = {"code": "Warning", "message": "partial result"}
    r = resp({"payload": {"inventorySummaries": []}, "errors": [warning],
              "pagination": {"nextToken": "n"}})
    assert r.payload == {"inventorySummaries": []}
    assert r.errors == [warning]
    assert r.body["pagination"] == {"nextToken": "n"}


@pytest.mark.parametrize("body", [
    {"orders": [{"orderId": "1"}], "pagination": {"nextToken": "n"}},  # Orders 2026-01-01
    {"payload": {"x": 1}, "otherField": 2},  # not a wrapper: a document with a payload field
    [{"a": 1}],
    None,
])
def test_payload_is_the_whole_body_when_nothing_wraps_it(body: Any) -> None:
    r = resp(body)
    assert r.payload is body and r.body is body


def test_mapping_access_on_a_non_object_payload() -> None:
    r = resp([1, 2])
    with pytest.raises(KeyError):
        r["x"]
    assert r.get("x", 5) == 5 and list(r) == [] and "x" not in r and r.errors == []


def test_data_is_a_deprecated_alias_of_payload() -> None:
    r = resp({"payload": {"Orders": []}})
    with pytest.warns(DeprecationWarning, match=r"\.payload"):
        assert r.data == {"Orders": []}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert r.payload == {"Orders": []}  # the new names do not warn
        assert r.body == {"payload": {"Orders": []}}


def test_pickles_with_body_and_payload() -> None:
    r = resp({"payload": {"AmazonOrderId": "1"}})
    again = pickle.loads(pickle.dumps(r))
    assert again == r
    assert again.payload == {"AmazonOrderId": "1"} and again.request_id == "rid-1"
    assert again.rate_limit == pytest.approx(0.0167)
