"""Helpers the governance tests (audit, users, monitor) share.

Opening a vault runs its migrations, which costs a second or two per database; the governance
tests instead open one vault per module and back end (:func:`gov_backend`, on SQLite and on the
PostgreSQL server) and empty the governance tables before each test (:func:`reset`), keeping the
key material. Each test gets a fresh :class:`Clock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, or_

from sellerkit.vault import Vault
from sellerkit.vault import schema as s
from tests.postgres import fresh_schema


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def open_vault(url: str, key_dir: Path, clock: Clock | None = None) -> Vault:
    """A vault at ``url`` with its key in a file under ``key_dir`` (the same key every time)."""
    return Vault.open(url, key=f"file:{key_dir / 'vault.key'}", clock=clock or Clock())


@dataclass
class Backend:
    url: str
    key_dir: Path
    vault: Vault


def gov_backend_factory(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    key_dir = tmp_path_factory.mktemp("gov")
    if request.param == "sqlite":
        url = f"sqlite:///{key_dir / 'vault.sqlite3'}"
        v = open_vault(url, key_dir)
        try:
            yield Backend(url, key_dir, v)
        finally:
            v.close()
        return
    with fresh_schema("vg_") as url:
        v = open_vault(url, key_dir)
        try:
            yield Backend(url, key_dir, v)
        finally:
            v.close()


_META_PREFIXES = ("audit.", "users.", "monitor.")


def reset(v: Vault, clock: Clock) -> Vault:
    """Empty what the governance parts write (the keys and vault secrets stay)."""
    with v.engine.begin() as conn:
        for table in (s.alerts, s.audit_events, s.api_keys, s.password_history, s.users,
                      s.purge_runs, s.order_items, s.order_buyers, s.order_addresses, s.orders,
                      s.legal_holds, s.sellers):
            conn.execute(delete(table))
        conn.execute(delete(s.data_keys).where(s.data_keys.c.purpose.in_(("user", "config"))))
        conn.execute(delete(s.vault_meta).where(
            or_(*(s.vault_meta.c.key.startswith(p) for p in _META_PREFIXES))))
    v.clock = clock
    for part in ("users", "monitor"):  # rebuilt on next use, with the test's settings
        v.__dict__.pop(part, None)
    return v
