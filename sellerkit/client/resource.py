"""Base classes of the generated per-API resources (``sp.orders_v0`` and friends).

A generated method only maps its keyword arguments to wire names and hands over to the client's
single pipeline; see ``sellerkit/client/_generated/resources.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sellerkit.client.options import CallOptions

if TYPE_CHECKING:
    from sellerkit.client._aclient import AsyncSellingPartner
    from sellerkit.client._client import SellingPartner
    from sellerkit.client.response import ApiResponse


class SyncResource:
    api_key: str = ""

    def __init__(self, client: SellingPartner) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_key}>"

    def _invoke(self, key: str, values: Mapping[str, Any], options: CallOptions | None
                ) -> ApiResponse:
        return self._client._invoke(key, values, options)


class AsyncResource:
    api_key: str = ""

    def __init__(self, client: AsyncSellingPartner) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_key}>"

    async def _invoke(self, key: str, values: Mapping[str, Any], options: CallOptions | None
                      ) -> ApiResponse:
        return await self._client._invoke(key, values, options)
