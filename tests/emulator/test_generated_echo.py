"""Generated responses (operations the simulation does not answer) are about the request that
was sent: the identifiers it supplied come back in the fields of the same meaning, codes come
from the real code lists, times parse, batch answers say 200 and match their requests, and the
same request gets the same answer. Requests are sent with plain httpx."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker

from sellerkit.catalog import Operation, get_catalog
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.app import RDT_OPERATION

from .requests_util import NOTHING, build_request

# Amazon's marketplace ids (sp-api-facts §4) and ISO 4217's active currency codes.
MARKETPLACE_IDS = {
    "A2EUQ1WTGCTBG2", "ATVPDKIKX0DER", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC", "A28R8C7NBKEWEA",
    "A1RKKUPIHCS9HS", "A1F83G8C2ARO7P", "A13V1IB3VIYZZH", "AMEN7PMS3EDWL", "A1805IZSGTT6HS",
    "A1PA6795UKMFR9", "APJ6JRA9NG5V4", "A2NODRKZP88ZB9", "AE08WJ6YKNBMC", "A1C3SOZRARQ6R3",
    "ARBP9OOSHTCHU", "A33AVAJ2PDY3EV", "A17E79C6D8DWNP", "A2VIGQ35RCS4UG", "A21TJRUUN4KGV",
    "A19VAU5U5O7RUS", "A39IBJ37TRP1C6", "A1VC38T7YXB528",
}
ISO_4217 = set("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())

# What the tests send for each kind of identifier.
SENT = {"asin": ["B0ECHOAS1N", "B0ECHOAS2N"], "sku": ["ECHO-SKU-1", "ECHO-SKU-2"],
        "orderId": ["902-3159896-1390916"], "marketplaceId": ["A1PA6795UKMFR9"],
        "sellerId": ["A3ECHOSELLER7Q"], "shipmentId": ["FBA15ECHO0001"]}
KINDS = {"asin": "asin", "asins": "asin", "sku": "sku", "skus": "sku", "sellersku": "sku",
         "sellerskus": "sku", "orderid": "orderId", "amazonorderid": "orderId",
         "orderids": "orderId", "amazonorderids": "orderId", "marketplaceid": "marketplaceId",
         "marketplaceids": "marketplaceId", "sellerid": "sellerId",
         "sellingpartnerid": "sellerId", "shipmentid": "shipmentId",
         "shipmentids": "shipmentId"}
SELLER = "A2SIMSELLER0001"  # the token's seller


def kind_of(name: str) -> str | None:
    return KINDS.get(re.sub(r"[^a-z]", "", name.lower()))


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every member of a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k}", str(k), v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _with_ids(body: Any) -> Any:
    """The body with every identifier-named string replaced by the value the tests send."""
    if isinstance(body, dict):
        out = {}
        for k, v in body.items():
            kind = kind_of(str(k))
            if kind and isinstance(v, str):
                out[k] = SENT[kind][0]
            elif kind and isinstance(v, list) and all(isinstance(x, str) for x in v):
                out[k] = SENT[kind][: max(1, len(v))]
            else:
                out[k] = _with_ids(v)
        return out
    if isinstance(body, list):
        return [_with_ids(v) for v in body]
    return body


def _params(op: Operation) -> dict[str, Any]:
    """The tests' identifiers for every identifier parameter whose constraints they meet."""
    params: dict[str, Any] = {}
    for p in op.params:
        kind = kind_of(p.name)
        if p.location not in ("path", "query") or not kind or p.enum:
            continue
        if p.type == "array":
            if Draft4Validator(p.items or {}).is_valid(SENT[kind][0]):
                params[p.name] = SENT[kind]
        elif Draft4Validator({"type": "string", **p.constraints}).is_valid(SENT[kind][0]):
            params[p.name] = SENT[kind][0]
    return params


class Sent:
    def __init__(self, op: Operation, path: str, query: list[tuple[str, str]], body: Any,
                 response: httpx.Response) -> None:
        self.op, self.path, self.query, self.body, self.response = op, path, query, body, response

    def supplied(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {"sellerId": {SELLER}}
        template = self.op.path.split("/")
        for seg, value in zip(template, self.path.split("/"), strict=False):
            if seg.startswith("{") and (kind := kind_of(seg[1:-1])):
                out.setdefault(kind, set()).add(value)
        for name, value in self.query:
            if kind := kind_of(name):
                out.setdefault(kind, set()).update(value.split(","))
        if self.body is not NOTHING:
            for _, key, v in _walk(self.body):
                if kind := kind_of(key):
                    values = v if isinstance(v, list) else [v]
                    out.setdefault(kind, set()).update(x for x in values if isinstance(x, str))
        return out


def _send(emu: Emulator, client: httpx.Client, op: Operation) -> Sent:
    path, query, headers, body = build_request(op, _params(op))
    headers["x-amz-access-token"] = emu.token_for(op)  # an RDT for restricted operations

    def go(b: Any) -> httpx.Response:
        content = None
        h = dict(headers)
        if b is not NOTHING:
            content = json.dumps(b).encode()
            h["content-type"] = "application/json"
        return client.request(op.method, path, params=query, headers=h, content=content)

    if body is not NOTHING:
        echoed = _with_ids(body)
        r = go(echoed)
        if r.status_code != 400:
            return Sent(op, path, query, echoed, r)
    return Sent(op, path, query, body, go(body))


@pytest.fixture(scope="module")
def emu_client() -> Iterator[tuple[Emulator, httpx.Client]]:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=3, seed=11))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield emu, c


def _generated_ops(emu: Emulator) -> list[Operation]:
    sim = emu.simulation
    return [op for op in get_catalog() if op.key != RDT_OPERATION
            and not (sim is not None and sim.handles(op.key))]


@pytest.fixture(scope="module")
def answers(emu_client: tuple[Emulator, httpx.Client]) -> list[Sent]:
    emu, client = emu_client
    return [_send(emu, client, op) for op in _generated_ops(emu)]


def test_every_generated_answer_is_a_success(answers: list[Sent]) -> None:
    assert len(answers) > 200
    bad = [f"{a.op.key}: {a.response.status_code} {a.response.text[:200]}" for a in answers
           if a.response.status_code >= 300]
    assert not bad, "\n".join(bad[:20])


def test_identifiers_of_the_request_come_back(answers: list[Sent]) -> None:
    problems: list[str] = []
    echoed: dict[str, int] = {}
    for a in answers:
        if not a.response.content:
            continue
        supplied = a.supplied()
        for where, key, value in _walk(a.response.json()):
            kind = kind_of(key)
            if kind is None:
                continue
            values = value if isinstance(value, list) else [value]
            for v in values:
                if not isinstance(v, str):
                    continue
                if kind == "marketplaceId" and v not in MARKETPLACE_IDS:
                    problems.append(f"{a.op.key} {where}: {v!r} is not a marketplace id")
                elif kind in supplied and v not in supplied[kind]:
                    problems.append(f"{a.op.key} {where}: {v!r}, the request sent "
                                    f"{sorted(supplied[kind])}")
                elif kind in supplied:
                    echoed[kind] = echoed.get(kind, 0) + 1
    assert not problems, "\n".join(problems[:40])
    # the check is not vacuous: every kind was echoed somewhere, most of them many times
    assert set(echoed) == set(SENT), echoed
    assert echoed["asin"] > 20 and echoed["marketplaceId"] > 100, echoed


def test_codes_and_times_are_real(answers: list[Sent]) -> None:
    problems: list[str] = []
    currencies = 0
    for a in answers:
        if not a.response.content:
            continue
        for where, key, value in _walk(a.response.json()):
            norm = key.lower()
            if isinstance(value, str) and (norm.endswith("currencycode") or norm == "currency"):
                currencies += 1
                if value not in ISO_4217:
                    problems.append(f"{a.op.key} {where}: currency {value!r}")
            if isinstance(value, str) and re.search(r"(Date|DateTime|Time|Timestamp)$", key) \
                    and re.match(r"\d{4}-", value):
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    problems.append(f"{a.op.key} {where}: time {value!r}")
            if key in ("PurchaseDate", "LatestShipDate", "LastUpdateDate") and \
                    isinstance(value, str):
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    problems.append(f"{a.op.key} {where}: {key} {value!r} is not ISO 8601")
    assert not problems, "\n".join(problems[:40])
    assert currencies > 200


def test_answers_validate_with_formats_checked(answers: list[Sent]) -> None:
    catalog = get_catalog()
    failures = []
    for a in answers:
        op = a.op
        status = op.success_status or min(s for s in op.responses if s.startswith("2"))
        schema = op.responses.get(status)
        if not schema or not a.response.content or a.response.status_code >= 300:
            continue
        validator = Draft4Validator({**schema, "definitions": catalog.schemas(op.api_key)},
                                    format_checker=FormatChecker(["date-time", "date"]))
        errors = list(validator.iter_errors(a.response.json()))
        if errors:
            failures.append(f"{op.key}: {errors[0].message[:200]} at {list(errors[0].path)}")
    assert not failures, "\n".join(failures[:30])


def test_batch_answers_are_200_and_each_is_about_its_request(answers: list[Sent]) -> None:
    batches = [a for a in answers if isinstance(a.body, dict) and "requests" in a.body
               and a.response.content and "responses" in a.response.json()]
    assert len(batches) >= 3, [a.op.key for a in batches]
    for a in batches:
        out = a.response.json()["responses"]
        assert len(out) == len(a.body["requests"]), a.op.key
        for _, key, value in _walk(out):
            if key == "statusCode":
                assert value == 200, a.op.key
            if key == "reasonPhrase":
                assert value == "OK", a.op.key


def test_pricing_answers_one_item_per_asin_in_the_marketplace_currency() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        h = {"x-amz-access-token": emu.access_token()}
        asins = ["B07ZPKBL9V", "B08N5WRWNW", "B09B8V1LZ3"]
        r = c.get("/products/pricing/v0/price", headers=h,
                  params={"MarketplaceId": "A1PA6795UKMFR9", "Asins": ",".join(asins),
                          "ItemType": "Asin"})
        assert r.status_code == 200, r.text
        payload = r.json()["payload"]
        assert [p["ASIN"] for p in payload] == asins
        assert payload[0]["status"] == "Success"
        codes = {v for _, k, v in _walk(payload) if k == "CurrencyCode"}
        assert codes == {"EUR"}, codes
        mps = {v for _, k, v in _walk(payload) if k == "MarketplaceId"}
        assert mps == {"A1PA6795UKMFR9"}

        body = {"requests": [
            {"uri": f"/products/pricing/v0/items/{asin}/offers", "method": "GET",
             "MarketplaceId": mp, "ItemCondition": cond}
            for asin, mp, cond in (("B07ZPKBL9V", "ATVPDKIKX0DER", "New"),
                                   ("B08N5WRWNW", "A1F83G8C2ARO7P", "Used"))]}
        r = c.post("/batches/products/pricing/v0/itemOffers", json=body, headers=h)
        assert r.status_code == 200, r.text
        first, second = r.json()["responses"]
        for item, asin, mp, cond, cur in ((first, "B07ZPKBL9V", "ATVPDKIKX0DER", "New", "USD"),
                                          (second, "B08N5WRWNW", "A1F83G8C2ARO7P", "Used",
                                           "GBP")):
            assert item["status"]["statusCode"] == 200
            assert item["body"]["payload"]["ASIN"] == asin
            assert item["body"]["payload"]["marketplaceId"] == mp
            assert item["body"]["payload"]["ItemCondition"] == cond
            assert item["request"]["MarketplaceId"] == mp
            assert item["request"]["ItemCondition"] == cond
            assert {v for _, k, v in _walk(item) if k == "CurrencyCode"} == {cur}

        order = "902-3159896-1390916"
        rdt = emu.restricted_token("GET", f"/orders/v0/orders/{order}/regulatedInfo")
        r = c.get(f"/orders/v0/orders/{order}/regulatedInfo", headers={"x-amz-access-token": rdt})
        assert r.status_code == 200 and r.json()["payload"]["AmazonOrderId"] == order


def test_the_same_request_gets_the_same_answer_and_another_request_another(
        emu_client: tuple[Emulator, httpx.Client], answers: list[Sent]) -> None:
    emu, client = emu_client
    ops = {a.op.key: a for a in answers}
    again = Emulator(EmulatorConfig(rate_limits=False, orders=3, seed=11))
    with httpx.Client(transport=again.sync_transport(), base_url="http://e") as fresh:
        for key in ("product_pricing_v0.getPricing", "product_pricing_v0.getItemOffersBatch",
                    "merchant_fulfillment_v0.getShipment", "fba_inbound_v1.getItemEligibilityPreview",
                    "product_fees_v0.getMyFeesEstimateForASIN"):
            a = ops[key]
            for target, e in ((client, emu), (fresh, again)):
                b = _send(e, target, a.op)
                assert b.response.content == a.response.content, key
    h = {"x-amz-access-token": emu.access_token()}
    one = client.get("/products/pricing/v0/items/B07ZPKBL9V/offers", headers=h,
                     params={"MarketplaceId": "ATVPDKIKX0DER", "ItemCondition": "New"})
    two = client.get("/products/pricing/v0/items/B08N5WRWNW/offers", headers=h,
                     params={"MarketplaceId": "ATVPDKIKX0DER", "ItemCondition": "New"})
    assert one.json()["payload"]["ASIN"] == "B07ZPKBL9V"
    assert two.json()["payload"]["ASIN"] == "B08N5WRWNW"
    assert one.content != two.content
