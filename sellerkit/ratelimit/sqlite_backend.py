"""The SQLite backend: buckets in a small database file, shared by the processes of one machine.

    from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter
    sp = SellingPartner(..., rate_limiter=SQLiteRateLimiter())

``sellerkit call`` uses it by default, so twenty-five quick ``sellerkit call`` processes draw
from one bucket per seller and operation instead of each starting with a full burst. The file is
``ratelimit.sqlite3`` in the user state directory (``platformdirs.user_state_dir("sellerkit")``,
or ``$SELLERKIT_STATE_DIR``), written 0600; it holds bucket counters and opaque credential
hashes, never a secret.

The rules are the in-process backend's (``RateLimiter``, itself ``_core.Bucket``): each
reservation or response loads the buckets it touches inside a ``BEGIN IMMEDIATE`` transaction
(one writer at a time across processes, readers never blocked thanks to WAL), applies the very
same code to them and writes them back before committing. Times are wall-clock seconds
(``time.time``), since a monotonic clock means nothing to the next process. Buckets unused for
``ttl`` seconds (a day by default) are deleted when a limiter opens the file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sellerkit.ratelimit._base import BucketState
from sellerkit.ratelimit._core import Bucket, LayerSpec
from sellerkit.ratelimit._memory import RateLimiter
from sellerkit.ratelimit.redis_backend import RateLimitBackendError

__all__ = ["DB_FILE_NAME", "SQLiteRateLimiter", "default_db_path"]

DB_FILE_NAME = "ratelimit.sqlite3"
_SCHEMA = 1
_BUCKET_FIELDS = tuple(f.name for f in dataclasses.fields(Bucket) if f.name != "spec")
_SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(LayerSpec))


def default_db_path() -> Path:
    """``ratelimit.sqlite3`` beside the limits snapshot, in the user state directory."""
    from sellerkit.ratelimit._state import default_snapshot_path

    return default_snapshot_path().parent / DB_FILE_NAME


class SQLiteRateLimiter(RateLimiter):
    """``RateLimiter`` with its buckets in a SQLite file, so consecutive and concurrent
    processes on one machine share them. ``path`` defaults to ``default_db_path()``;
    ``ttl`` is how long an unused bucket is kept (seconds). Other keywords as for
    ``RateLimiter``; ``clock`` must be wall-clock time shared by the processes (the default,
    ``time.time``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, ttl: float = 86_400.0,
                 clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.ttl = float(ttl)
        self._conn: sqlite3.Connection | None = None
        self._db_lock = threading.RLock()
        super().__init__(clock=clock, **kwargs)

    def __repr__(self) -> str:
        return f"<SQLiteRateLimiter path={str(self.path)!r}>"

    # -- the database ----------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> RateLimitBackendError:
        return RateLimitBackendError(
            f"the rate-limit state file {self.path} cannot be used ({type(exc).__name__}: "
            f"{exc}); it holds only rate-limit counters: delete it to start afresh, or choose "
            "another backend")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # create it 0600 before SQLite does (its -wal and -shm files copy the mode)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._fail(exc) from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
                conn.execute("CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, "
                             "spec TEXT NOT NULL, state TEXT NOT NULL, used REAL NOT NULL)")
                row = conn.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))
                elif row[0] != str(_SCHEMA):
                    raise sqlite3.DatabaseError(f"schema {row[0]}, expected {_SCHEMA}")
                conn.execute("DELETE FROM buckets WHERE used < ?", (self._clock() - self.ttl,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            conn.close()
            raise self._fail(exc) from None
        self._conn = conn
        return conn

    def _transaction(self, keys: Iterable[str] | None, write: bool,
                     work: Callable[[], Any]) -> Any:
        """Load the buckets ``keys`` (None: all) into the in-process table, run ``work`` on
        it (the ``RateLimiter`` code), and write them back in one transaction."""
        with self._db_lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    self._buckets = self._load(conn, keys)
                    result = work()
                    if write:
                        self._store(conn, self._buckets.values())
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                finally:
                    self._buckets = {}
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            return result

    def _load(self, conn: sqlite3.Connection, keys: Iterable[str] | None) -> dict[str, Bucket]:
        if keys is None:
            rows = conn.execute("SELECT key, spec, state FROM buckets").fetchall()
        else:
            wanted = list(dict.fromkeys(keys))
            if not wanted:
                return {}
            marks = ",".join("?" * len(wanted))
            query = f"SELECT key, spec, state FROM buckets WHERE key IN ({marks})"  # noqa: S608
            rows = conn.execute(query, wanted).fetchall()
        out: dict[str, Bucket] = {}
        for key, spec_text, state_text in rows:
            bucket = _decode(spec_text, state_text)
            if bucket is not None:  # rows of another sellerkit version start afresh
                out[key] = bucket
        return out

    def _store(self, conn: sqlite3.Connection, buckets: Iterable[Bucket]) -> None:
        now = self._clock()
        conn.executemany(
            "INSERT INTO buckets (key, spec, state, used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET spec=excluded.spec, state=excluded.state, "
            "used=excluded.used",
            [(b.spec.key, *_encode(b), now) for b in buckets])

    # -- backend hooks: the in-process rules, on rows loaded for the occasion ---------------

    def _reserve(self, specs: list[LayerSpec], budget: float
                 ) -> tuple[bool, float, int, list[float]]:
        result: tuple[bool, float, int, list[float]] = self._transaction(
            [s.key for s in specs], True, lambda: RateLimiter._reserve(self, specs, budget))
        return result

    async def _reserve_async(self, specs: list[LayerSpec], budget: float
                             ) -> tuple[bool, float, int, list[float]]:
        return await asyncio.to_thread(self._reserve, specs, budget)

    def _record(self, spec: LayerSpec, status: int, header: float | None, rnd: float
                ) -> tuple[float, float | None]:
        rates: tuple[float, float | None] = self._transaction(
            [spec.key], True, lambda: RateLimiter._record(self, spec, status, header, rnd))
        return rates

    async def _record_async(self, spec: LayerSpec, status: int, header: float | None,
                            rnd: float) -> tuple[float, float | None]:
        return await asyncio.to_thread(self._record, spec, status, header, rnd)

    def _states(self) -> list[BucketState]:
        states: list[BucketState] = self._transaction(
            None, False, lambda: RateLimiter._states(self))
        return states

    def last_used(self) -> float | None:
        """When a bucket last changed (wall-clock seconds), or None when there is none."""
        def run() -> float | None:
            assert self._conn is not None
            row = self._conn.execute("SELECT MAX(used) FROM buckets").fetchone()
            return None if row is None or row[0] is None else float(row[0])

        value: float | None = self._transaction([], False, run)
        return value

    def reset(self) -> int:
        """Delete every bucket (learned rates included); returns how many."""
        def run() -> int:
            assert self._conn is not None
            return int(self._conn.execute("DELETE FROM buckets").rowcount)

        return int(self._transaction([], True, run))

    def close(self) -> None:
        """Close the database connection (the file stays for the next process)."""
        with self._db_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SQLiteRateLimiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _encode(b: Bucket) -> tuple[str, str]:
    spec = {name: getattr(b.spec, name) for name in _SPEC_FIELDS}
    state = {name: _json_number(getattr(b, name)) for name in _BUCKET_FIELDS}
    return (json.dumps(spec, separators=(",", ":")),
            json.dumps(state, separators=(",", ":"), default=str))


def _decode(spec_text: str, state_text: str) -> Bucket | None:
    try:
        spec_doc = json.loads(spec_text)
        state_doc = json.loads(state_text)
        spec = LayerSpec(**{k: spec_doc[k] for k in _SPEC_FIELDS if k in spec_doc})
        fields: dict[str, Any] = {}
        for name in _BUCKET_FIELDS:
            if name not in state_doc:
                continue
            value = state_doc[name]
            if isinstance(value, dict) and set(value) == {"__float__"}:
                value = float(value["__float__"])
            fields[name] = value
        return Bucket(spec=spec, **fields)
    except (ValueError, TypeError, KeyError):
        return None
