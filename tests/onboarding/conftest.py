"""An emulator on a loopback port for the onboarding tests, with real-looking credentials (so a
leak in any output would be caught), and settings that point at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from sellerkit.config import Settings, load_settings
from sellerkit.emulator import EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

CLIENT_ID = "amzn1.application-oa2-client.7f3c0e9a1b2d4c5e8f6a7b8c9d0e1f2a"
CLIENT_SECRET = "amzn1.oa2-cs.v1.9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877665544"
REFRESH_TOKEN = ("Atzr|IwEBIJx7Qm2vK9pL4sT8wY1zA3bC5dE7fG9hJ0kL2mN4pQ6rS8tU0vW2xY4zA6bC8dE0"
                 "fG2hJ4kL6mN8pQ0rS2tU4vW6xY8zA0bC2dE4fG6hJ8kL0mN2pQ4rS6tU8vW0xY2zA4")
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN)


def leaked(text: str) -> list[str]:
    """Pieces (16 characters) of the test secrets, after their public format prefix
    (``amzn1.oa2-cs.v1.``, ``Atzr|``), found in ``text``."""
    found = []
    for secret in SECRETS:
        skip = 16 if secret.startswith("amzn1.") else 5
        for start in range(skip, len(secret) - 16, 4):
            piece = secret[start:start + 16]
            if piece in text:
                found.append(piece)
                break
    return found


def base_config(**kw: Any) -> EmulatorConfig:
    return EmulatorConfig(rate_limits=False, orders=5, client_id=CLIENT_ID,
                          client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN, **kw)


class Served:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.emulator = server.emulator
        self.url = server.base_url

    def values(self, **over: Any) -> dict[str, Any]:
        values: dict[str, Any] = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                      refresh_token=REFRESH_TOKEN, endpoint=self.url,
                                      lwa_endpoint=self.url + "/auth/o2/token")
        values.update(over)
        return {k: v for k, v in values.items() if v is not None}

    def settings(self, **over: Any) -> Settings:
        return load_settings(config_file=os.devnull, env={}, **self.values(**over))


@pytest.fixture(scope="module")
def shared() -> Iterator[Served]:
    """One emulator for the tests that only switch its onboarding faults (reset after each)."""
    with EmulatorServer(base_config()) as server:
        yield Served(server)


@pytest.fixture
def served(shared: Served) -> Iterator[Served]:
    emu = shared.emulator
    saved = replace(emu.config)
    yield shared
    for name in ("lwa_fault", "clock_skew", "missing_roles", "rdt"):
        setattr(emu.config, name, getattr(saved, name))
    emu.set_faults(None)


@pytest.fixture
def fresh() -> Iterator[Served]:
    """An emulator of its own (notification destinations and subscriptions are state)."""
    with EmulatorServer(base_config()) as server:
        yield Served(server)
