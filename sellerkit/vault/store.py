"""Where the vault lives: the database engine, and the migrations that run on every open.

``SELLERKIT_VAULT_URL`` or an explicit URL picks the database; the default is a SQLite file,
``vault.sqlite3`` in the user data directory (``platformdirs.user_data_dir("sellerkit")``),
created 0600 and run in WAL mode. PostgreSQL takes a ``postgresql://`` URL and the extra
``postgres`` (psycopg 3).

:func:`migrate` brings the schema to the newest Alembic revision under a lock (an exclusive
SQLite transaction, a PostgreSQL advisory lock), so two processes opening the same new vault do
not race; a database from a newer sellerkit than this one is refused instead of touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

from sellerkit.errors import ConfigurationError, VaultError

__all__ = ["ENV_URL", "create_vault_engine", "default_vault_url", "migrate", "schema_revision",
           "write_transaction"]

ENV_URL = "SELLERKIT_VAULT_URL"
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision; tools/gen_vault_migration.py --check (CI) keeps it true.
HEAD = "0001"
_PG_LOCK_ID = 0x5E11E4  # the advisory lock migrations hold on PostgreSQL


def default_vault_url() -> str:
    """``$SELLERKIT_VAULT_URL``, else the SQLite file in the user data directory."""
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return env
    import platformdirs

    return f"sqlite:///{Path(platformdirs.user_data_dir('sellerkit')) / 'vault.sqlite3'}"


def _sqlite_path(url: Any) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).expanduser()


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives its WAL and shared-memory
    files the same mode as the database)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


def create_vault_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the vault at ``url`` (default :func:`default_vault_url`)."""
    raw = url or default_vault_url()
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(
            f"the vault URL is not a database URL: use sqlite:///PATH or "
            f"postgresql://USER@HOST/DB (set it with --vault or ${ENV_URL})") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "a PostgreSQL vault needs psycopg: pip install 'sellerkit[postgres]'") from None
        kwargs.setdefault("pool_pre_ping", True)
    elif backend == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            _create_private(path)
            parsed = parsed.set(database=str(path))
    else:
        raise ConfigurationError(
            f"the vault supports SQLite and PostgreSQL, not {backend!r}: use sqlite:///PATH or "
            f"postgresql://USER@HOST/DB")
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise ConfigurationError(f"no database driver for the vault URL: {exc}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions itself; let SQLAlchemy's BEGIN decide instead.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; safe in WAL mode
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front (busy_timeout then waits for it); a deferred
    # transaction that writes later can fail with "database is locked" without waiting.
    immediate = conn.get_execution_options().get("vault_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock at its start."""
    with engine.connect() as conn:
        conn = conn.execution_options(vault_write=True)
        with conn.begin():
            yield conn


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _at_head(engine: Engine) -> bool:
    """Whether the database is at :data:`HEAD` already: one query, no Alembic import (which,
    with its walk of the migration scripts, is most of the cost of opening a vault)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return False  # a new database: no version table yet
    return row is not None and row[0] == HEAD


def migrate(engine: Engine) -> str | None:
    """Upgrade the vault's schema to the newest revision; returns the revision it is at."""
    if _at_head(engine):
        return HEAD
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    known = {rev.revision for rev in script.walk_revisions()}
    try:
        with write_transaction(engine) as conn:
            if engine.dialect.name != "sqlite":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            from alembic.runtime.migration import MigrationContext

            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current not in known:
                raise VaultError(
                    f"this vault's schema (revision {current}) is newer than this sellerkit "
                    f"knows; upgrade sellerkit (pip install -U sellerkit) to open it")
            if current not in set(script.get_heads()):
                command.upgrade(_alembic_config(conn), "head")
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise VaultError(f"could not open the vault database: {exc.orig}") from None
