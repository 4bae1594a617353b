"""What a reservation costs in each rate-limiter backend, and what a CLI process pays for the
shared SQLite state. Prints figures; asserts nothing.

    python3 bench/limiter_backends.py              # memory and sqlite
    python3 bench/limiter_backends.py --redis redis://127.0.0.1:6379/0
    python3 bench/limiter_backends.py --calls 5000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sellerkit.catalog import get_catalog
from sellerkit.ratelimit import LimitContext, RateLimiter
from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter


def per_call(limiter: Any, calls: int) -> float:
    """Microseconds per acquire + record, on a plan that never waits."""
    op = get_catalog().operation("orders_v0.getOrder")
    ctx = LimitContext(operation=op, seller="s", application="a", region="NA")
    t0 = time.perf_counter()
    for _ in range(calls):
        limiter.acquire(ctx, max_wait=0)
        limiter.record(ctx, status=200, rate_limit_header="1000000")
    return (time.perf_counter() - t0) / calls * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--redis", default=None, help="also measure a RedisRateLimiter at this URL")
    args = ap.parse_args()
    plans = {"orders_v0.getOrder": (1e6, 1_000_000)}
    with tempfile.TemporaryDirectory() as tmp:
        backends: dict[str, Any] = {
            "memory": lambda: RateLimiter(plans=plans, send_margin=None),
            "sqlite": lambda: SQLiteRateLimiter(Path(tmp) / "bench.sqlite3", plans=plans,
                                                send_margin=None),
        }
        if args.redis:
            from sellerkit.ratelimit import RedisRateLimiter

            backends["redis"] = lambda: RedisRateLimiter(args.redis, prefix="bench:",
                                                         plans=plans, send_margin=None)
        print(f"{'backend':8} {'us/call (acquire+record)':>26}  {'first call (open) ms':>20}")
        for name, make in backends.items():
            runs = []
            opens = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                lim = make()
                per_call(lim, 1)  # the first call opens the store (file, schema, pruning)
                opens.append((time.perf_counter() - t0) * 1000)
                runs.append(per_call(lim, args.calls))
                close = getattr(lim, "close", None)
                if close is not None:
                    close()
            print(f"{name:8} {statistics.median(runs):26.1f}  {statistics.median(opens):20.2f}")


if __name__ == "__main__":
    main()
