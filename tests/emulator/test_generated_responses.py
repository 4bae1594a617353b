"""Operations the simulation does not answer get a generated response that conforms to the
operation's success schema, the same for the same seed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from jsonschema import Draft4Validator

from sellerkit.catalog import get_catalog
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.app import RDT_OPERATION

from .requests_util import NOTHING, build_request


@pytest.fixture(scope="module")
def emu_client() -> Iterator[tuple[Emulator, httpx.Client]]:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=7))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as c:
        yield emu, c


def _send(emu: Emulator, client: httpx.Client, key: str) -> httpx.Response:
    op = get_catalog().operation(key)
    path, query, headers, body = build_request(op, {})
    headers["x-amz-access-token"] = emu.token_for(op)  # an RDT for restricted operations
    content = None
    if body is not NOTHING:
        content = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    return client.request(op.method, path, params=query, headers=headers, content=content)


def test_generated_responses_conform(emu_client: tuple[Emulator, httpx.Client]) -> None:
    emu, client = emu_client
    catalog = get_catalog()
    sim = emu.simulation
    generated = [op for op in catalog if op.key != RDT_OPERATION
                 and not (sim is not None and sim.handles(op.key))]
    assert len(generated) > 200
    failures = []
    for op in generated:
        resp = _send(emu, client, op.key)
        status = op.success_status or min(s for s in op.responses if s.startswith("2"))
        if resp.status_code != int(status):
            failures.append(f"{op.key}: HTTP {resp.status_code} {resp.text[:300]}")
            continue
        assert resp.headers["x-amzn-RequestId"]
        assert resp.headers["x-amzn-RateLimit-Limit"]
        if resp.status_code == 204 or op.responses[status] is None:  # no body declared
            assert resp.content == b""
            continue
        schema = {**op.responses[status], "definitions": catalog.schemas(op.api_key)}
        errors = list(Draft4Validator(schema).iter_errors(resp.json()))
        if errors:
            failures.append(f"{op.key}: {errors[0].message[:200]} at {list(errors[0].path)}")
    assert not failures, "\n".join(failures[:30])


def test_generated_responses_depend_on_the_seed_only() -> None:
    key = "fba_inbound_v1.getItemEligibilityPreview"
    bodies = []
    for seed in (3, 3, 4):
        emu = Emulator(EmulatorConfig(rate_limits=False, orders=1, seed=seed))
        with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as client:
            resp = _send(emu, client, key)
            assert resp.status_code == 200, resp.text
            bodies.append(resp.json())
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]
