"""Fixtures for vault tests: a vault database on SQLite and, when configured, on PostgreSQL.

``vault_url`` is parametrised over both back ends. The PostgreSQL one is a fresh schema in the
database at ``$SELLERKIT_TEST_POSTGRES_URL`` (CI sets it), dropped after the test; without the
variable the PostgreSQL cases skip, saying so (in CI a skip fails the run).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

PG_ENV = "SELLERKIT_TEST_POSTGRES_URL"


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def sqlite_vault_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vault.sqlite3'}"


@pytest.fixture
def postgres_vault_url() -> Iterator[str]:
    base = _pg_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need ${PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text

    schema = "vt_" + secrets.token_hex(6)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def vault_url(request: pytest.FixtureRequest) -> str:
    """A vault database URL, once on SQLite and once on PostgreSQL."""
    name = "sqlite_vault_url" if request.param == "sqlite" else "postgres_vault_url"
    return str(request.getfixturevalue(name))
