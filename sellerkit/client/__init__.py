"""The SP-API clients: ``SellingPartner`` (sync) and ``AsyncSellingPartner`` (asyncio).

Both share one pure core (``_base.py``: settings, validation, serialization, token choice,
response interpretation); only the sending loop differs, and the sync loop is generated from the
async one (``tools/unasync.py``).
"""

from sellerkit.client._aclient import AsyncSellingPartner
from sellerkit.client._client import SellingPartner
from sellerkit.client.options import UNSET, CallOptions
from sellerkit.client.response import ApiResponse

__all__ = ["ApiResponse", "AsyncSellingPartner", "CallOptions", "SellingPartner", "UNSET"]
