"""Every static sandbox case of Amazon's models reproduces through the emulator (``--models``).

The cases are read from the model files here, independently of the emulator's loader. Each
request is built from its case; required parameters the case leaves out are filled with valid
values from the catalog (chosen so they do not collide with values that other cases of the same
operation match on), and the response must have the case's status and body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sellerkit.catalog import get_catalog
from sellerkit.emulator import Emulator, EmulatorConfig

from ..conftest import requires_models
from .conftest import MODELS
from .requests_util import NOTHING, build_request

pytestmark = requires_models

def _cases() -> list[tuple[str, str, int, dict[str, Any], Any]]:
    """(operation key, case id, status, parameters {name: value or NOTHING}, response)."""
    catalog = get_catalog()
    by_route = {(op.method, op.path): op for op in catalog}
    out = []
    for path in sorted(MODELS.rglob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8"))
        for route, item in (model.get("paths") or {}).items():
            for method, spec in item.items():
                if not isinstance(spec, dict) or "responses" not in spec:
                    continue
                op = by_route[(method.upper(), route)]
                for status, resp in spec["responses"].items():
                    sandbox = resp.get("x-amzn-api-sandbox") if isinstance(resp, dict) else None
                    for i, case in enumerate((sandbox or {}).get("static") or ()):
                        params: dict[str, Any] = {}
                        for name, pspec in ((case.get("request") or {}).get("parameters")
                                            or {}).items():
                            if not pspec:
                                params[name] = NOTHING
                            elif "value" in pspec:
                                params[name] = NOTHING if pspec["value"] is None \
                                    else pspec["value"]
                            else:
                                params[name] = pspec  # the body given without {"value": ...}
                        out.append((op.key, f"{op.key}-{status}-{i}", int(status), params,
                                    case.get("response")))
    return out


CASES = _cases() if MODELS.is_dir() else []


def _other_values(op_key: str) -> set[str]:
    values: set[str] = set()
    for key, _, _, params, _ in CASES:
        if key == op_key:
            for v in params.values():
                for x in v if isinstance(v, list) else [v]:
                    if isinstance(x, (str, int, float, bool)):
                        values.add(str(x))
    return values


@pytest.fixture(scope="module")
def sandbox_client() -> Iterator[tuple[Emulator, httpx.Client]]:
    emu = Emulator(EmulatorConfig(models=MODELS, rate_limits=False, orders=5))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield emu, c


def test_all_static_cases_are_found() -> None:
    assert len(CASES) == 913
    assert len({c[0] for c in CASES}) == 290


def test_every_static_case_reproduces(sandbox_client: tuple[Emulator, httpx.Client]) -> None:
    emu, client = sandbox_client
    catalog = get_catalog()
    seller = emu.access_token()
    grantless: dict[str, str] = {}
    failures = []
    for key, case_id, status, params, expected in CASES:
        op = catalog.operation(key)
        path, query, headers, body = build_request(op, params, _other_values(key))
        if op.grantless_scope:
            scope = op.grantless_scope
            token = grantless.get(scope) or grantless.setdefault(scope,
                                                                 emu.grantless_token(scope))
        elif op.restricted:  # the sandbox, too, wants an RDT for a restricted operation
            token = emu.token_for(op)
        else:
            token = seller
        headers["x-amz-access-token"] = token
        twins = [c for c in CASES if c[0] == key and c[1] != case_id and c[3] == params]
        if twins:
            # Amazon's models have a few cases no request can tell apart (same parameters,
            # different status); the emulator's header picks one by status
            headers["x-emulator-sandbox-status"] = str(status)
        content = None if body is NOTHING else json.dumps(body).encode()
        if content is not None:
            headers["content-type"] = "application/json"
        resp = client.request(op.method, path, params=query, headers=headers, content=content)
        if expected is None or expected == "" or status == 204:
            got_body: Any = resp.content.decode() or None
            want: Any = None
        else:
            try:
                got_body = resp.json()
            except ValueError:
                got_body = resp.text[:200]
            want = expected
        if resp.status_code != status or got_body != want:
            failures.append(f"{case_id}: got {resp.status_code} {str(got_body)[:200]}")
    assert not failures, f"{len(failures)} of {len(CASES)} cases differ:\n" + "\n".join(
        failures[:40])


def test_matching_rules(sandbox_client: tuple[Emulator, httpx.Client]) -> None:
    emu, client = sandbox_client
    headers = {"x-amz-access-token": emu.access_token()}
    # the most specific case wins over a catch-all; extra parameters do not matter
    r = client.get("/orders/v0/orders", headers=headers,
                   params={"CreatedAfter": "TEST_CASE_400", "MarketplaceIds": "ATVPDKIKX0DER",
                           "MaxResultsPerPage": "5"})
    case = next(c for c in CASES if c[0] == "orders_v0.getOrders"
                and c[3].get("CreatedAfter") == "TEST_CASE_400")
    assert (r.status_code, r.json()) == (case[2], case[4])
    # indistinguishable cases: the first in model order, unless the header picks one
    assert client.get("/sellers/v1/account", headers=headers).status_code == 200
    picked = client.get("/sellers/v1/account",
                        headers={**headers, "x-emulator-sandbox-status": "400"})
    assert picked.status_code == 400
    # no case matches: the request falls through to validation and the simulation
    r = client.get("/orders/v0/orders", headers=headers, params={"CreatedAfter": "yesterday"})
    assert r.status_code == 400 and r.json()["errors"][0]["details"] == "MarketplaceIds"
