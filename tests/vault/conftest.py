"""Fixtures for vault tests: a vault database on SQLite and, when configured, on PostgreSQL.

``vault_url`` is parametrised over both back ends. The PostgreSQL one is a fresh schema on the
test server (``$SELLERKIT_TEST_POSTGRES_URL``, default postgresql://postgres@127.0.0.1:5432/test),
dropped after the test; where the server is down the PostgreSQL cases skip, saying so (in CI a
skip fails the run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import fresh_schema


@pytest.fixture
def sqlite_vault_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vault.sqlite3'}"


@pytest.fixture
def postgres_vault_url() -> Iterator[str]:
    with fresh_schema("vt_") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def vault_url(request: pytest.FixtureRequest) -> str:
    """A vault database URL, once on SQLite and once on PostgreSQL."""
    name = "sqlite_vault_url" if request.param == "sqlite" else "postgres_vault_url"
    return str(request.getfixturevalue(name))
