"""Fixtures for the sync tests: the vault databases of tests/vault (SQLite, and PostgreSQL at
``$SELLERKIT_TEST_POSTGRES_URL``), a clock the emulator and the sync share, and an in-process
emulator whose orders stand still unless a test changes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync._emu import Clock, settle
from tests.vault.conftest import postgres_vault_url, sqlite_vault_url, vault_url

__all__ = ["postgres_vault_url", "sqlite_vault_url", "vault_url"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault_key(tmp_path: Path) -> str:
    return f"file:{tmp_path / 'vault.key'}"


@pytest.fixture
def emu(clock: Clock) -> Iterator[object]:
    from sellerkit.emulator import Emulator, EmulatorConfig

    # Amazon's rate plans, sped up 1000 times (searchOrders: 5.6/s, burst 20): limits on
    emulator = Emulator(EmulatorConfig(seed=7, orders=60, rate_scale=1000, clock=clock))
    settle(emulator)
    yield emulator
