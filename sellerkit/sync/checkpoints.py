"""Sync checkpoints: how far a stream of a seller has been pulled, in the vault's own tables.

One ``sync_checkpoints`` row per (seller, stream, scope). ``high_water`` is the last-updated
time up to which everything is stored; ``cursor`` is the window in flight (its bounds, the
page token to ask for next, the pages done and the id of the run that owns it), or NULL between
runs. Both are written in the transaction that stores a page, so what the vault holds and where
the next run starts never disagree, whatever moment a process dies at.

A run owns the cursor it writes (``cursor["run"]``). A second run of the same stream takes the
cursor over; the first notices at its next commit (:class:`SyncTakenOverError`) and stops
without writing, so two runs never interleave their pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sellerkit.errors import VaultError
from sellerkit.vault.schema import sync_checkpoints

__all__ = ["Checkpoint", "SyncTakenOverError", "load", "merge_stats", "owned_by", "save"]


class SyncTakenOverError(VaultError):
    """Another run of the same sync took the checkpoint over while this one ran."""


@dataclass
class Checkpoint:
    seller_id: int
    stream: str
    scope: str
    high_water: datetime | None = None
    cursor: dict[str, Any] | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    exists: bool = False


def load(conn: Connection, seller_id: int, stream: str, scope: str, *,
         for_update: bool = False) -> Checkpoint:
    """The checkpoint of a stream (an empty one when the stream never ran). ``for_update``
    locks the row on PostgreSQL (SQLite's write transaction already serialises writers)."""
    q = select(sync_checkpoints).where(sync_checkpoints.c.seller_id == seller_id,
                                       sync_checkpoints.c.stream == stream,
                                       sync_checkpoints.c.scope == scope)
    if for_update and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None:
        return Checkpoint(seller_id, stream, scope)
    return Checkpoint(seller_id, stream, scope, high_water=row["high_water"],
                      cursor=dict(row["cursor"]) if row["cursor"] else None,
                      stats=dict(row["stats"] or {}), exists=True)


def save(conn: Connection, cp: Checkpoint, now: datetime) -> None:
    values: dict[str, Any] = {"high_water": cp.high_water, "cursor": cp.cursor,
                              "stats": dict(cp.stats), "updated_at": now}
    if cp.exists:
        conn.execute(update(sync_checkpoints).where(
            sync_checkpoints.c.seller_id == cp.seller_id,
            sync_checkpoints.c.stream == cp.stream,
            sync_checkpoints.c.scope == cp.scope).values(**values))
    else:
        conn.execute(insert(sync_checkpoints).values(
            seller_id=cp.seller_id, stream=cp.stream, scope=cp.scope, **values))
        cp.exists = True


def owned_by(cp: Checkpoint, run_id: str) -> bool:
    return cp.cursor is not None and cp.cursor.get("run") == run_id


def merge_stats(total: Mapping[str, Any], add: Mapping[str, int]) -> dict[str, Any]:
    out = dict(total)
    for k, v in add.items():
        out[k] = int(out.get(k, 0) or 0) + int(v)
    return out
