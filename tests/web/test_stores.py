"""The used-state and session stores on both vault back ends (SQLite, PostgreSQL): a state
works once across processes, sessions expire when idle and at their lifetime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sellerkit.vault import store
from sellerkit.web.connect import MemoryStateStore, SqlStateStore
from sellerkit.web.security import MemorySessionStore, SqlSessionStore
from tests.postgres import fresh_schema


class _Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
        eng = store.create_vault_engine(url)
        store.migrate(eng)
        yield eng
        eng.dispose()
        return
    with fresh_schema("web_") as url:
        eng = store.create_vault_engine(url)
        try:
            store.migrate(eng)
            yield eng
        finally:
            eng.dispose()


def test_a_state_nonce_is_spent_once_for_every_process(engine: Any) -> None:
    clock = _Clock()
    a, b = SqlStateStore(engine, clock), SqlStateStore(engine, clock)  # two workers
    assert a.consume("nonce-1", clock.t + 600)
    assert not b.consume("nonce-1", clock.t + 600)
    assert not a.consume("nonce-1", clock.t + 600)
    assert b.consume("nonce-2", clock.t + 600)
    clock.t += 3600  # expired rows are cleaned up as new states are spent
    assert a.consume("nonce-3", clock.t + 600)
    from sqlalchemy import func, select

    from sellerkit.vault.schema import web_states

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(web_states)).scalar_one() == 1


@pytest.mark.parametrize("kind", ["sql", "memory"])
def test_sessions_expire(engine: Any, kind: str) -> None:
    clock = _Clock()

    def make() -> Any:
        if kind == "sql":
            return SqlSessionStore(engine, idle=1800, lifetime=7200, clock=clock)
        return MemorySessionStore(idle=1800, lifetime=7200, clock=clock)

    sessions = make()
    sid = sessions.create("alice")
    assert sessions.get(sid).user_id == "alice"
    assert sessions.get("not-a-session") is None
    for _ in range(4):  # activity keeps it alive (4 x 1700 s < 7200 s)...
        clock.t += 1700
        assert sessions.get(sid) is not None
    clock.t += 1700  # ...up to its lifetime
    assert sessions.get(sid) is None
    sid = sessions.create("alice")
    clock.t += 1801
    assert sessions.get(sid) is None  # idle
    sid, other = sessions.create("alice"), sessions.create("bob")
    sessions.delete_user("alice")
    assert sessions.get(sid) is None and sessions.get(other) is not None
    sessions.delete(other)
    assert sessions.get(other) is None
    if kind == "sql":  # the table holds hashes of the ids, never the ids
        from sqlalchemy import select

        from sellerkit.vault.schema import web_sessions

        new = sessions.create("carol")
        with engine.connect() as conn:
            stored = [r.id_hash for r in conn.execute(select(web_sessions))]
        assert new not in stored and len(stored[0]) == 64


def test_memory_state_store() -> None:
    clock = _Clock()
    s = MemoryStateStore(clock)
    assert s.consume("n", clock.t + 10) and not s.consume("n", clock.t + 10)
