"""Restricted Data Token helpers: request body, response parsing, path choice and the cache."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from sellerkit.auth import (
    RDT_PATH,
    RdtCache,
    RdtResponseError,
    parse_rdt_response,
    rdt_request_body,
    restricted_path,
)
from sellerkit.catalog import get_catalog
from tests.conftest import models_file

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


# -- request body ---------------------------------------------------------------------------------

def test_body_for_orders_names_the_data_elements_sorted_and_unique() -> None:
    body = rdt_request_body("get", "/orders/v0/orders/123-1234567-1234567",
                            ["shippingAddress", "buyerInfo", "buyerInfo"])
    assert body == {"restrictedResources": [{
        "method": "GET", "path": "/orders/v0/orders/123-1234567-1234567",
        "dataElements": ["buyerInfo", "shippingAddress"]}]}


def test_body_omits_empty_data_elements_and_adds_target_application() -> None:
    body = rdt_request_body("GET", "/mfn/v0/shipments/{shipmentId}", [],
                            target_application="amzn1.sp.solution.delegatee")
    assert body == {"restrictedResources": [{"method": "GET",
                                             "path": "/mfn/v0/shipments/{shipmentId}"}],
                    "targetApplication": "amzn1.sp.solution.delegatee"}
    assert "dataElements" not in rdt_request_body("GET", "/x", None)["restrictedResources"][0]


def test_body_drops_the_query_string_and_rejects_nonsense() -> None:
    body = rdt_request_body("GET", "/orders/v0/orders?MarketplaceIds=X", ["buyerInfo"])
    assert body["restrictedResources"][0]["path"] == "/orders/v0/orders"
    with pytest.raises(ValueError, match="method"):
        rdt_request_body("FETCH", "/x")
    with pytest.raises(ValueError, match="starts with"):
        rdt_request_body("GET", "orders/v0/orders")


def test_body_validates_against_the_tokens_api_model() -> None:
    import jsonschema

    model = json.loads(models_file("models/tokens-api-model/tokens_2021-03-01.json").read_text())
    schema = {**model["definitions"]["CreateRestrictedDataTokenRequest"],
              "definitions": model["definitions"]}
    for body in (rdt_request_body("GET", "/orders/v0/orders/1", ["buyerInfo"]),
                 rdt_request_body("GET", "/mfn/v0/shipments/{shipmentId}",
                                  target_application="amzn1.app")):
        jsonschema.validate(body, schema)
    assert model["paths"][RDT_PATH]["post"]["operationId"] == "createRestrictedDataToken"


# -- response -------------------------------------------------------------------------------------

def test_parse_response() -> None:
    assert parse_rdt_response({"restrictedDataToken": "Atz.sprdt|abc", "expiresIn": 3600}) == \
        ("Atz.sprdt|abc", 3600)
    assert parse_rdt_response({"payload": {"restrictedDataToken": "t", "expiresIn": "900"}}) == \
        ("t", 900)
    assert parse_rdt_response({"restrictedDataToken": "t"}) == ("t", 3600)


@pytest.mark.parametrize("payload", [None, [], {"expiresIn": 3600},
                                     {"restrictedDataToken": ""},
                                     {"restrictedDataToken": "t", "expiresIn": "soon"},
                                     {"restrictedDataToken": "t", "expiresIn": None}])
def test_parse_response_rejects_unusable_answers(payload: object) -> None:
    with pytest.raises(RdtResponseError):
        parse_rdt_response(payload)


# -- restricted_path ------------------------------------------------------------------------------

def test_restricted_path_defaults_to_the_concrete_path() -> None:
    template = "/orders/v0/orders/{orderId}/address"
    concrete = "/orders/v0/orders/902-3159896-1390916/address"
    assert restricted_path(template, concrete, generic=False) == concrete
    assert restricted_path(template, concrete + "?x=1", False) == concrete
    assert restricted_path(template, concrete, generic=True) == template
    with pytest.raises(ValueError, match="does not match"):
        restricted_path(template, "/orders/v0/orders/902-3159896-1390916/orderItems", False)
    with pytest.raises(ValueError):
        restricted_path(template, "/orders/v0/orders/a/b/address", False)


def test_restricted_path_works_for_every_restricted_operation_in_the_catalog() -> None:
    restricted = [op for op in get_catalog() if op.restricted]
    assert len(restricted) >= 10
    for op in restricted:
        concrete = re.sub(r"\{[^}]+\}", "A1-B2.c_3", op.path)
        assert restricted_path(op.path, concrete) == concrete, op.key
        if op.key == "reports_2021_06_30.getReportDocument":
            with pytest.raises(ValueError, match="specific"):
                restricted_path(op.path, concrete, generic=True)
        else:
            assert restricted_path(op.path, concrete, generic=True) == op.path
        body = rdt_request_body(op.method, concrete, op.restricted_data_elements)
        assert body["restrictedResources"][0]["method"] == op.method.upper()


# -- cache ----------------------------------------------------------------------------------------

def test_cache_keys_on_method_path_and_element_set() -> None:
    cache = RdtCache()
    cache.put("get", "/orders/v0/orders/1", ["buyerInfo", "shippingAddress"], "T1", 3600)
    assert cache.get("GET", "/orders/v0/orders/1", ("shippingAddress", "buyerInfo")) == "T1"
    assert cache.get("GET", "/orders/v0/orders/1?a=b", {"buyerInfo", "shippingAddress"}) == "T1"
    assert cache.get("GET", "/orders/v0/orders/1", ["buyerInfo"]) is None
    assert cache.get("GET", "/orders/v0/orders/2", ["buyerInfo", "shippingAddress"]) is None
    assert cache.get("POST", "/orders/v0/orders/1", ["buyerInfo", "shippingAddress"]) is None
    cache.put("GET", "/mfn/v0/shipments/{shipmentId}", None, "T2", 3600)
    assert cache.get("GET", "/mfn/v0/shipments/{shipmentId}", []) == "T2"
    cache.invalidate("GET", "/mfn/v0/shipments/{shipmentId}")
    assert cache.get("GET", "/mfn/v0/shipments/{shipmentId}") is None


def test_cache_entries_expire_margin_seconds_early() -> None:
    clock = Clock()
    cache = RdtCache(clock=clock, margin=60)
    cache.put("GET", "/p", [], "T", 3600)
    clock.now += 3600 - 61
    assert cache.get("GET", "/p", []) == "T"
    clock.now += 1
    assert cache.get("GET", "/p", []) is None
    assert len(cache) == 0  # the expired entry is gone, not just hidden


def test_cache_is_bounded_least_recently_used_first() -> None:
    clock = Clock()
    cache = RdtCache(clock=clock, max_entries=3)
    for i in range(3):
        cache.put("GET", f"/p/{i}", [], f"T{i}", 3600)
    assert cache.get("GET", "/p/0", []) == "T0"  # touch: /p/1 is now the oldest
    cache.put("GET", "/p/3", [], "T3", 3600)
    assert len(cache) == 3
    assert cache.get("GET", "/p/1", []) is None
    assert cache.get("GET", "/p/0", []) == "T0"


def test_cache_evicts_expired_entries_before_live_ones() -> None:
    clock = Clock()
    cache = RdtCache(clock=clock, max_entries=2, margin=0)
    cache.put("GET", "/short", [], "S", 10)
    cache.put("GET", "/long", [], "L", 3600)
    clock.now += 20
    cache.put("GET", "/new", [], "N", 3600)
    assert cache.get("GET", "/long", []) == "L" and cache.get("GET", "/new", []) == "N"


def test_cache_is_thread_safe() -> None:
    cache = RdtCache(max_entries=500)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(300):
                cache.put("GET", f"/p/{n}/{i}", ["buyerInfo"], f"T{n}-{i}", 3600)
                got = cache.get("GET", f"/p/{n}/{i}", ["buyerInfo"])
                assert got in (f"T{n}-{i}", None)  # None only if evicted meanwhile
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) == 500


def test_cache_repr_shows_no_tokens() -> None:
    cache = RdtCache()
    cache.put("GET", "/p", [], "Atz.sprdt|SECRET", 3600)
    assert "SECRET" not in repr(cache) and "1 tokens" in repr(cache)
