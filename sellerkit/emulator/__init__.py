"""A local SP-API: LWA, the consent page and all 370 operations, to build against before
Amazon approves an app, and to run tests and CI without the internet.

    from sellerkit.emulator import Emulator, EmulatorConfig, EmulatorServer

    emu = Emulator(EmulatorConfig(seed=1, rate_scale=100))
    transport = emu.sync_transport()            # in-process, for httpx / SellingPartner
    with EmulatorServer(emu.config) as server:  # real HTTP on a free loopback port
        print(server.base_url)

``sellerkit emulator`` serves the same app with uvicorn. See docs/emulator.md. Names are
imported lazily: Starlette and uvicorn load only when an emulator is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sellerkit.emulator.config import (
    DEFAULT_APPLICATION_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    EmulatorConfig,
)

if TYPE_CHECKING:
    from sellerkit.emulator.app import Emulator
    from sellerkit.emulator.server import EmulatorServer

__all__ = [
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
]

_LAZY = {"Emulator": "sellerkit.emulator.app", "EmulatorServer": "sellerkit.emulator.server"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sellerkit.emulator' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
