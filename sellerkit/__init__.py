"""sellerkit: Amazon's Selling Partner API made easy to reach, correct, fast and safe.

    from sellerkit import SellingPartner
    sp = SellingPartner(client_id=..., client_secret=..., refresh_token=..., marketplace="US")
    orders = sp.orders_v0.get_orders(marketplace_ids=["ATVPDKIKX0DER"], created_after="2026-01-01")

Names are imported lazily so ``import sellerkit`` stays fast and has no side effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sellerkit._version import __version__

if TYPE_CHECKING:
    from sellerkit.client import AsyncSellingPartner, SellingPartner
    from sellerkit.client.options import CallOptions
    from sellerkit.client.response import ApiResponse
    from sellerkit.errors import SellerkitError

__all__ = [
    "ApiResponse",
    "AsyncSellingPartner",
    "CallOptions",
    "SellerkitError",
    "SellingPartner",
    "__version__",
]

_LAZY = {
    "SellingPartner": "sellerkit.client",
    "AsyncSellingPartner": "sellerkit.client",
    "CallOptions": "sellerkit.client.options",
    "ApiResponse": "sellerkit.client.response",
    "SellerkitError": "sellerkit.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sellerkit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
