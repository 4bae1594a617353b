"""The SQLite backend: one set of buckets for every process on the machine, with the in-process
backend's rules (same scenarios give the same answers), atomic takes across processes, a private
file, and clear errors for a damaged one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sellerkit.errors import SellerkitError
from sellerkit.ratelimit import RateLimiter
from sellerkit.ratelimit.redis_backend import RateLimitBackendError
from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter, default_db_path
from tests.ratelimit.helpers import FakeClock, Rnd, ctx

ROOT = Path(__file__).resolve().parents[2]
GET_ORDERS = "orders_v0.getOrders"


def make(path: Path, clock: FakeClock, **kw: object) -> SQLiteRateLimiter:
    kw.setdefault("margin", 0)
    return SQLiteRateLimiter(path, clock=clock, sleep=clock.sleep, random=Rnd(), **kw)  # type: ignore[arg-type]


def test_default_path_is_in_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path / "st"))
    assert default_db_path() == tmp_path / "st" / "ratelimit.sqlite3"
    with SQLiteRateLimiter() as lim:
        lim.acquire(ctx(GET_ORDERS), max_wait=0)
    assert (tmp_path / "st" / "ratelimit.sqlite3").is_file()


def test_two_limiters_on_one_file_share_the_buckets(tmp_path: Path) -> None:
    clock = FakeClock()
    db = tmp_path / "rl.sqlite3"
    c = ctx(GET_ORDERS)
    first = make(db, clock)
    for _ in range(15):
        first.acquire(c, max_wait=0)
    first.close()
    second = make(db, clock)  # a new process would open the file the same way
    for _ in range(5):
        second.acquire(c, max_wait=0)
    with pytest.raises(SellerkitError, match="per-seller limit of orders_v0.getOrders"):
        second.acquire(c, max_wait=0)  # the burst of 20 is spent, across both
    (state,) = second.snapshot()
    assert state.acquired == 20 and state.rejected == 1 and state.tokens < 1
    second.close()


def test_same_answers_as_the_in_process_backend(tmp_path: Path) -> None:
    """A scenario with waits, a learned rate and a 429 ends in the same state in both."""
    results = []
    for backend in ("memory", "sqlite"):
        clock = FakeClock()
        kw = dict(sleep=clock.sleep, random=Rnd(0.5))
        lim = (RateLimiter(clock=clock, **kw) if backend == "memory"  # type: ignore[arg-type]
               else SQLiteRateLimiter(tmp_path / "same.sqlite3", clock=clock, **kw))  # type: ignore[arg-type]
        c = ctx(GET_ORDERS)
        waited = []
        for i in range(30):
            waited.append(round(lim.acquire(c, max_wait=None), 6))
            lim.record(c, status=200, rate_limit_header="0.5")
            if i == 25:
                lim.record(c, status=429, rate_limit_header=None)
        (state,) = lim.snapshot()
        results.append((waited, state.rate, state.learned_rate, state.throttles, state.tokens,
                        state.waits, round(state.wait_time, 3)))
    assert results[0] == results[1]
    assert results[0][3] == 1 and results[0][5] > 0  # the scenario did throttle and wait


def test_learning_survives_the_process(tmp_path: Path) -> None:
    clock = FakeClock()
    db = tmp_path / "learn.sqlite3"
    c = ctx(GET_ORDERS)
    for _ in range(3):  # three processes, one call each, agreeing on 0.5/s
        lim = make(db, clock)
        lim.acquire(c, max_wait=0)
        lim.record(c, status=200, rate_limit_header="0.5")
        lim.close()
    lim = make(db, clock)
    (state,) = lim.snapshot()
    assert state.learned_rate == 0.5 and state.rate == 0.5 and state.acquired == 3
    lim.close()


_TAKER = """
import sys
from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter
from sellerkit.errors import SellerkitError
from tests.ratelimit.helpers import ctx
lim = SQLiteRateLimiter(sys.argv[1], plans={"orders_v0.getOrders": (0.0001, 20)}, margin=0)
ok = 0
for _ in range(10):
    try:
        lim.acquire(ctx("orders_v0.getOrders"), max_wait=0)
        ok += 1
    except SellerkitError:
        pass
print(ok)
"""


def test_concurrent_processes_never_take_the_same_token(tmp_path: Path) -> None:
    db = tmp_path / "race.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", _TAKER, str(db)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env=env) for _ in range(4)]
    granted = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert sum(granted) == 20  # 40 attempts, a burst of 20, one token per 10,000 s
    with SQLiteRateLimiter(db, plans={GET_ORDERS: (0.0001, 20)}) as lim:
        (state,) = lim.snapshot()
    assert state.acquired == 20 and state.rejected == 20


def test_file_is_private(tmp_path: Path) -> None:
    db = tmp_path / "dir" / "p.sqlite3"
    with SQLiteRateLimiter(db) as lim:
        lim.acquire(ctx(GET_ORDERS), max_wait=0)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700


def test_unused_buckets_expire(tmp_path: Path) -> None:
    clock = FakeClock()
    db = tmp_path / "ttl.sqlite3"
    lim = make(db, clock, ttl=100)
    lim.acquire(ctx(GET_ORDERS), max_wait=0)
    lim.close()
    clock.advance(101)
    lim = make(db, clock, ttl=100)
    assert lim.snapshot() == []
    lim.close()


def test_a_damaged_file_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "bad.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    lim = SQLiteRateLimiter(db)
    with pytest.raises(RateLimitBackendError) as info:
        lim.acquire(ctx(GET_ORDERS), max_wait=0)
    assert str(db) in str(info.value) and "delete it" in str(info.value)


def test_reset_and_async(tmp_path: Path) -> None:
    import asyncio

    db = tmp_path / "a.sqlite3"
    with SQLiteRateLimiter(db) as lim:
        async def run() -> float:
            waited = await lim.acquire_async(ctx(GET_ORDERS), max_wait=0)
            await lim.record_async(ctx(GET_ORDERS), status=200, rate_limit_header="0.0167")
            return waited

        assert asyncio.run(run()) == 0
        (state,) = lim.snapshot()
        assert state.acquired == 1 and state.last_header == 0.0167
        assert lim.reset() == 1
        assert lim.snapshot() == []
