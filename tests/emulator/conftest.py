"""Fixtures for the emulator tests: an in-process emulator with limits off, an httpx client on it,
and seller / grantless tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig

from ..conftest import MODELS_ROOT

ROOT = Path(__file__).resolve().parents[2]
# Amazon's model files (see tests/conftest.py); a path that does not exist when they are absent
MODELS = (MODELS_ROOT or ROOT.parent / "shared" / "sp-api-models") / "models"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(EmulatorConfig(rate_limits=False, orders=20))


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.sync_transport(), base_url="http://emulator") as c:
        yield c


@pytest.fixture
def seller_headers(emulator: Emulator) -> dict[str, str]:
    return {"x-amz-access-token": emulator.access_token()}
