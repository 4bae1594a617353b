"""Fixtures for the simulation tests: a simulation on a hand-moved clock, and a caller that
builds SimRequests from the catalog and checks every JSON answer against the operation's
response schema for its status (so each test is also a schema-conformance test)."""

from __future__ import annotations

from typing import Any

import pytest

from sellerkit.catalog import get_catalog
from sellerkit.emulator.simulation import RdtGrant, SimRequest, SimResponse, Simulation

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
APP = "amzn1.sp.solution.simtest"
BASE = "http://127.0.0.1:8787"
US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"
PII = RdtGrant(frozenset({"buyerInfo", "shippingAddress"}))


class Clock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_validators: dict[tuple[str, str], Any] = {}


def check_schema(key: str, resp: SimResponse) -> None:
    """Validate a JSON body against the op's response schema for its status."""
    import jsonschema

    op = get_catalog().operation(key)
    schema = op.responses.get(str(resp.status))
    if isinstance(resp.body, bytes):
        return
    if schema is None:
        assert str(resp.status) in op.responses, f"{key}: status {resp.status} not in the model"
        assert resp.body in (None, {}, b""), f"{key}: body without a schema: {resp.body!r}"
        return
    v = _validators.get((key, str(resp.status)))
    if v is None:
        full = {**schema, "definitions": get_catalog().schemas(op.api_key)}
        v = jsonschema.Draft4Validator(full)
        _validators[(key, str(resp.status))] = v
    errors = sorted(v.iter_errors(resp.body), key=lambda e: list(e.path))
    assert not errors, f"{key} {resp.status}: " + "; ".join(
        f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


class Caller:
    """``call("orders_v0.getOrders", MarketplaceIds=[US], ...)`` -> SimResponse."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def __call__(self, key: str, *, seller: str | None = None, rdt: RdtGrant | None = None,
                 body: Any = None, app: str = APP, **params: Any) -> SimResponse:
        op = get_catalog().operation(key)
        assert self.sim.handles(key), key
        req = SimRequest(operation=op, params=params, body=body, raw_body=b"",
                         content_type="application/json" if body is not None else None,
                         seller_id=self.sim.seller_ids[0] if seller is None else seller,
                         application_id=app, rdt=rdt, base_url=BASE)
        resp = self.sim.handle(req)
        check_schema(key, resp)
        return resp


@pytest.fixture
def sim_clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(sim_clock: Clock) -> Simulation:
    return Simulation(seed=7, orders=60, sellers=2, clock=sim_clock, report_seconds=3.0,
                      feed_seconds=3.0)


@pytest.fixture
def call(sim: Simulation) -> Caller:
    return Caller(sim)


def iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
