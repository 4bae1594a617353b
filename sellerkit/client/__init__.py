"""The SP-API clients: ``SellingPartner`` (sync) and ``AsyncSellingPartner`` (asyncio).

Both share one pure core (``_base.py``: settings, validation, serialization, token choice,
response interpretation); only the sending loop differs, and the sync loop is generated from the
async one (``tools/unasync.py``).

Names are imported on first use, so ``SellingPartner`` never loads asyncio and neither client
loads httpx (see ``bench/startup.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sellerkit.client._aclient import AsyncSellingPartner
    from sellerkit.client._client import SellingPartner
    from sellerkit.client.options import UNSET, CallOptions
    from sellerkit.client.response import ApiResponse

__all__ = ["ApiResponse", "AsyncSellingPartner", "CallOptions", "SellingPartner", "UNSET"]

_LAZY = {
    "SellingPartner": "sellerkit.client._client",
    "AsyncSellingPartner": "sellerkit.client._aclient",
    "CallOptions": "sellerkit.client.options",
    "UNSET": "sellerkit.client.options",
    "ApiResponse": "sellerkit.client.response",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sellerkit.client' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
