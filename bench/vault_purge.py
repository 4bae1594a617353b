"""How fast a retention purge crypto-shreds orders, on SQLite and PostgreSQL.

    python3 bench/vault_purge.py                        # 20,000 orders; SQLite, and PostgreSQL
                                                        # at $SELLERKIT_TEST_POSTGRES_URL
    python3 bench/vault_purge.py --orders 5000 --no-postgres --json

The orders are those of ``bench/vault.py`` (v0 orders with items, buyer info, an address, each
with its own data key), stored as a sync stores them; the clock is then moved past every order's
delivery + 30 days and one purge erases them all: their data keys destroyed, every ciphertext
column cleared, a purge run and an audit entry written, and (SQLite) the WAL truncated.

Figures: orders erased per second by wall clock and by the process's CPU time, and the dry run
(planning only) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LATER = datetime(2027, 3, 1, tzinfo=UTC)  # past every generated order's delivery + 30 days


def run(url: str, key: str, data: tuple[Any, ...], *, batch: int) -> dict[str, Any]:
    from sellerkit.vault import Vault
    from sellerkit.vault.roles import SYSTEM

    orders, items, buyers, addresses = data
    clock = {"now": datetime.now(UTC)}
    with Vault.open(url, key=key, clock=lambda: clock["now"]) as v:
        with v.write() as conn:
            sid = v.connections.ensure_seller(conn, "A2BENCH", "na")
        for i in range(0, len(orders), batch):
            part = orders[i:i + batch]
            ids = [o["AmazonOrderId"] for o in part]
            with v.write() as conn:
                v.orders.upsert_orders(conn, sid, "v0", part,
                                       items={k: items[k] for k in ids},
                                       buyers={k: buyers[k] for k in ids},
                                       addresses={k: addresses[k] for k in ids})
        clock["now"] = LATER
        wall0, cpu0 = time.perf_counter(), time.process_time()
        dry = v.retention.purge(SYSTEM, dry_run=True)
        dwall, dcpu = time.perf_counter() - wall0, time.process_time() - cpu0
        wall1, cpu1 = time.perf_counter(), time.process_time()
        report = v.retention.purge(SYSTEM, trigger="schedule")
        wall, cpu = time.perf_counter() - wall1, time.process_time() - cpu1
    erased = report.counts["orders_pii_erased"]
    assert erased == dry.counts["orders_pii_erased"] == len(orders), (erased, len(orders))
    return {"orders": len(orders), "erased": erased,
            "keys_destroyed": report.counts["data_keys_destroyed"],
            "purge_s": round(wall, 3), "purge_cpu_s": round(cpu, 3),
            "erased_per_s": round(erased / wall), "erased_per_cpu_s": round(erased / cpu),
            "dry_run_s": round(dwall, 3), "dry_run_cpu_s": round(dcpu, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--postgres", default=os.environ.get("SELLERKIT_TEST_POSTGRES_URL"))
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from vault import _drop, _pg_schema, payloads  # bench/vault.py

    data = payloads(args.orders)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                                f"file:{Path(tmp) / 'bench.key'}", data, batch=args.batch)
        if args.postgres and not args.no_postgres:
            url, handle = _pg_schema(args.postgres)
            try:
                results["postgresql"] = run(url, f"file:{Path(tmp) / 'pg.key'}", data,
                                            batch=args.batch)
            finally:
                _drop(handle)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for backend, r in results.items():
        print(f"{backend:10s} purge of {r['orders']:,} orders: {r['purge_s']:.2f} s "
              f"({r['erased_per_s']:,} orders/s wall, {r['erased_per_cpu_s']:,}/s CPU); "
              f"{r['keys_destroyed']:,} data keys destroyed; dry run {r['dry_run_s']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
