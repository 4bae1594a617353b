"""A fresh PostgreSQL schema for a test: the real server of tests/conftest.py (skipped with a
reason on a machine without it, a failure in CI), dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from tests.conftest import POSTGRES_URL, _need


@contextmanager
def fresh_schema(prefix: str = "t_") -> Iterator[str]:
    """Create a schema of its own on the test server; yields a database URL whose search_path
    is that schema (every table a test creates lands there)."""
    base = _need(POSTGRES_URL, 5432, "PostgreSQL")
    from sqlalchemy import create_engine, text

    schema = prefix + secrets.token_hex(6)
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
