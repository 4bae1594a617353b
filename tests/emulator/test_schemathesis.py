"""Spec-driven fuzzing of the emulator with schemathesis: requests generated from Amazon's own
model files (valid ones and deliberately invalid ones) for a set of APIs, sent with a seller's
access token through schemathesis' ASGI client. Whatever they hold, the emulator answers with
no 5xx (schemathesis' ``not_a_server_error`` check) and never crashes.

Kept short for CI: a few examples per operation and mode (``SELLERKIT_FUZZ_EXAMPLES`` raises
it), derandomized so a failure reproduces. Skips, saying why, without the model files
(``SELLERKIT_MODELS_DIR``, else ``../shared/sp-api-models`` beside the repository).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

from .conftest import ROOT

API_FILES = [
    "sellers-api-model/sellers.json",
    "orders-api-model/ordersV0.json",
    "catalog-items-api-model/catalogItems_2022-04-01.json",
    "listings-items-api-model/listingsItems_2021-08-01.json",
    "product-pricing-api-model/productPricingV0.json",
]
US = "ATVPDKIKX0DER"
EXAMPLES = int(os.environ.get("SELLERKIT_FUZZ_EXAMPLES", "5"))


def _models_dir() -> tuple[Path | None, str]:
    # read at import: the suite's autouse fixture clears SELLERKIT_* variables for each test
    given = os.environ.get("SELLERKIT_MODELS_DIR")
    base = Path(given) if given else ROOT.parent / "shared" / "sp-api-models"
    for candidate in (base / "models", base):
        if (candidate / API_FILES[0]).is_file():
            return candidate, ""
    where = f"SELLERKIT_MODELS_DIR={given}" if given else f"{base}"
    return None, (f"Amazon's model files are not at {where}; set SELLERKIT_MODELS_DIR to a "
                  "checkout of amzn/selling-partner-api-models (tools/fetch_models.py gets one)")


MODELS, SKIP_REASON = _models_dir()
pytestmark = pytest.mark.skipif(MODELS is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=20, seed=5))


@pytest.fixture(scope="module")
def anchors(emulator: Emulator) -> dict[str, str]:
    """Real values of the emulated seller (found through its API, with plain httpx), so that
    a third of the fuzzing gets past "no such order" and into the operations' logic."""
    import httpx

    seller = emulator.seller_ids[0]
    headers = {"x-amz-access-token": emulator.access_token()}
    with httpx.Client(transport=emulator.sync_transport(), base_url="http://e") as c:
        orders = c.get("/orders/v0/orders", headers=headers, params={
            "MarketplaceIds": US, "CreatedAfter": "2020-01-01T00:00:00Z"}).json()
        items = c.get(f"/listings/2021-08-01/items/{seller}", headers=headers,
                      params={"marketplaceIds": US}).json()
    return {"sellerid": seller, "marketplaceid": US, "marketplaceids": US,
            "orderid": orders["payload"]["Orders"][0]["AmazonOrderId"],
            "sku": items["items"][0]["sku"], "asin": items["items"][0]["summaries"][0]["asin"]}


def _anchored(raw: dict[str, Any], operation: Any, anchors: dict[str, str]
              ) -> dict[str, dict[str, str]]:
    """path_parameters / query of the operation's parameters that have a real value."""
    item = raw["paths"][operation.path]
    params = list(item.get("parameters") or []) + list(
        item[operation.method.lower()].get("parameters") or [])
    out: dict[str, dict[str, str]] = {"path_parameters": {}, "query": {}}
    for p in params:
        if "$ref" in p:
            p = raw.get("parameters", {}).get(p["$ref"].rsplit("/", 1)[-1], {})
        key = "".join(ch for ch in str(p.get("name", "")).lower() if ch.isalpha())
        where = {"path": "path_parameters", "query": "query"}.get(p.get("in", ""))
        if key in anchors and where:
            out[where][p["name"]] = anchors[key]
    return out


def _describe(case: Any, status: int | str, text: str) -> str:
    return (f"{case.method} {case.formatted_path} query={case.query!r} headers="
            f"{ {k: v for k, v in (case.headers or {}).items() if k != 'x-amz-access-token'} !r}"
            f" body={str(case.body)[:200]!r} -> {status} {text[:300]}")


@pytest.mark.parametrize("api_file", API_FILES)
def test_fuzzed_requests_get_no_5xx(api_file: str, emulator: Emulator,
                                    anchors: dict[str, str]) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error

    assert MODELS is not None
    raw = json.loads((MODELS / api_file).read_text(encoding="utf-8"))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = emulator.app
    token = emulator.access_token()
    failures: list[str] = []
    statuses: dict[int, int] = {}
    negative_runs = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"no operations in {api_file}"
    positive, negative = schemathesis.GenerationMode
    for operation in operations:
        fixed = _anchored(raw, operation, anchors)
        plans: list[tuple[Any, dict[str, dict[str, str]]]] = [(positive, {}), (negative, {})]
        if any(fixed.values()):
            plans.append((positive, {k: v for k, v in fixed.items() if v}))
        for mode, given_values in plans:

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), print_blob=False)
            @given(case=operation.as_strategy(generation_mode=mode, **given_values))
            def run(case: Any) -> None:
                try:
                    response = case.call(headers={"x-amz-access-token": token})
                except (ValueError, UnicodeError) as exc:
                    # the HTTP client refused to send it (a header requests cannot encode):
                    # nothing reached the emulator
                    if "header" in str(exc).lower() or isinstance(exc, UnicodeError):
                        return
                    failures.append(_describe(case, "exception", repr(exc)))
                    return
                except Exception as exc:  # noqa: BLE001 - the app raised: a crash, report it
                    failures.append(_describe(case, "exception", repr(exc)))
                    return
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except Exception:  # noqa: BLE001 - schemathesis' failure group
                    failures.append(_describe(case, response.status_code, response.text))

            try:
                run()
                negative_runs += mode is negative
            except Unsatisfiable:
                # no invalid request can be built (an operation without parameters or body)
                assert mode is negative, operation.label
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:15])
    # the fuzzing reached every operation, and invalid requests were refused with a 4xx
    assert sum(statuses.values()) >= len(operations), statuses
    if negative_runs:
        assert any(400 <= s < 500 for s in statuses), statuses
