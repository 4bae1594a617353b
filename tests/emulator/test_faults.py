"""Seeded fault injection: error statuses, dropped connections, latency."""

from __future__ import annotations

import time

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.faults import FaultSpecError, parse_faults
from sellerkit.errors import ConfigurationError

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


@pytest.mark.parametrize(("spec", "fragment"), [
    ("500", "kind:value"),
    ("500:abc", "probability"),
    ("500:1.5", "outside"),
    ("teapot:0.1", "unknown kind"),
    ("200:0.1", "unknown kind"),
    ("latency:fast", "duration"),
    ("latency:50ms-10ms", "backwards"),
    ("500:0.6,503:0.6", "more than 1"),
    ("500:0.1,500:0.2", "twice"),
])
def test_bad_specs_are_clear_errors(spec: str, fragment: str) -> None:
    with pytest.raises(FaultSpecError, match=fragment) as info:
        parse_faults(spec)
    assert isinstance(info.value, ConfigurationError)


def test_spec_parses() -> None:
    plan = parse_faults("500:0.05,503:2%,429:0.05,reset:0.01,latency:20ms")
    assert plan.outcomes == [("500", 0.05), ("503", 0.02), ("429", 0.05), ("reset", 0.01)]
    assert plan.latency == (0.02, 0.02)
    assert parse_faults("latency:1s-2s").latency == (1.0, 2.0)
    assert not parse_faults(None).active


def test_same_seed_same_sequence() -> None:
    def sequence(seed: int) -> list[object]:
        plan = parse_faults("500:0.2,503:0.1,reset:0.1,latency:0ms-10ms", seed=seed)
        return [plan.draw() for _ in range(200)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)
    kinds = {(f.status, f.reset) for f in sequence(1)}  # type: ignore[attr-defined]
    assert {(500, False), (503, False), (None, True), (None, False)} <= kinds


def _statuses(emu: Emulator, n: int) -> list[object]:
    headers = {"x-amz-access-token": emu.access_token()}
    out: list[object] = []
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        for _ in range(n):
            try:
                r = c.get(PARTICIPATIONS, headers=headers)
                out.append(r.status_code)
                if r.status_code >= 500:
                    assert r.json()["errors"][0]["code"] in ("InternalFailure",
                                                             "ServiceUnavailable")
                    assert r.headers["x-amzn-RequestId"]
                if r.status_code == 429:
                    assert r.json()["errors"][0]["code"] == "QuotaExceeded"
            except httpx.ReadError:
                out.append("reset")
    return out


def test_in_process_faults_are_reproducible() -> None:
    spec = "500:0.1,503:0.1,429:0.1,reset:0.1"
    a = _statuses(Emulator(EmulatorConfig(rate_limits=False, faults=spec, seed=5)), 100)
    b = _statuses(Emulator(EmulatorConfig(rate_limits=False, faults=spec, seed=5)), 100)
    assert a == b
    assert {200, 500, 503, 429, "reset"} <= set(a)
    assert 40 <= a.count(200) <= 80


def test_set_faults_per_test() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False))
    assert set(_statuses(emu, 5)) == {200}
    emu.set_faults("503:1")
    assert set(_statuses(emu, 5)) == {503}
    emu.set_faults("reset:1")
    assert set(_statuses(emu, 3)) == {"reset"}
    emu.set_faults(None)
    assert set(_statuses(emu, 3)) == {200}
    with pytest.raises(FaultSpecError):
        emu.set_faults("oops")


def test_latency_delays_requests() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, faults="latency:30ms"))
    start = time.perf_counter()
    assert _statuses(emu, 3) == [200, 200, 200]
    assert time.perf_counter() - start >= 0.09


async def test_async_transport_reset_is_read_error() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, faults="reset:1"))
    async with httpx.AsyncClient(transport=emu.async_transport(), base_url="http://e") as c:
        with pytest.raises(httpx.ReadError):
            await c.get(PARTICIPATIONS, headers={"x-amz-access-token": emu.access_token()})
