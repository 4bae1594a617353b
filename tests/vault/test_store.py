"""The vault's database: created private, migrated on open, refused when newer than the code."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from sellerkit.errors import ConfigurationError, VaultError
from sellerkit.vault import store
from sellerkit.vault.schema import metadata


def test_migrate_builds_every_table_and_is_idempotent(vault_url: str) -> None:
    engine = store.create_vault_engine(vault_url)
    try:
        assert store.schema_revision(engine) is None
        head = store.migrate(engine)
        assert head is not None and store.migrate(engine) == head
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "vault.sqlite3"
    engine = store.create_vault_engine(f"sqlite:///{path}")
    store.migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_vault_from_a_newer_sellerkit_is_refused(sqlite_vault_url: str) -> None:
    engine = store.create_vault_engine(sqlite_vault_url)
    store.migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(VaultError, match="newer than this sellerkit"):
        store.migrate(engine)
    engine.dispose()


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x"])
def test_bad_urls_say_what_works(url: str) -> None:
    with pytest.raises(ConfigurationError, match="sqlite:///PATH"):
        store.create_vault_engine(url)
