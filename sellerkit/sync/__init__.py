"""Incremental, resumable pulls of Amazon data into the vault (docs/sync.md).

    from sellerkit.sync import sync_orders
    summary = sync_orders(vault, sp, actor=user)

``sellerkit sync orders`` is the command-line face.
"""

from __future__ import annotations

from sellerkit.sync.orders import (
    API_2026,
    API_V0,
    DEFAULT_OVERLAP,
    DEFAULT_SINCE,
    LAG,
    SyncProgress,
    SyncSummary,
    SyncTakenOverError,
    sync_orders,
)

__all__ = [
    "API_2026",
    "API_V0",
    "DEFAULT_OVERLAP",
    "DEFAULT_SINCE",
    "LAG",
    "SyncProgress",
    "SyncSummary",
    "SyncTakenOverError",
    "sync_orders",
]
