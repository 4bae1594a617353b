"""The vault's ingest and decrypting-read speed, on SQLite and PostgreSQL.

    python3 bench/vault.py                         # 100,000 orders, read 10,000; SQLite, and
                                                   # PostgreSQL at $SELLERKIT_TEST_POSTGRES_URL
    python3 bench/vault.py --orders 20000 --read 2000 --postgres postgresql://u@host/db
    python3 bench/vault.py --no-postgres --json

Each order is a v0 ``Order`` with its items (getOrderItems, with gift messages), buyer info
(getOrderBuyerInfo) and address (getOrderAddress), rendered by the emulator with a distinct
buyer each: every one gets its own data key and about a dozen AES-256-GCM fields. Orders go in
as a sync stores them: ``vault.orders.upsert_orders`` in transactions of ``--batch`` orders.
Then ``read_pii_many`` decrypts ``--read`` random orders (one audited read).

Figures: orders per second by wall clock and by the process's own CPU time (on SQLite the
database work runs in-process, so CPU time is what one core spends; other load on the machine
disturbs it much less than wall time). The target: >= 10,000 orders/s into SQLite on one core.
PostgreSQL gets a fresh schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 10_000  # orders/s into SQLite on one core


def payloads(count: int, templates: int = 2000, seed: int = 5) -> tuple[
        list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]],
        dict[str, dict[str, Any]]]:
    """``count`` distinct v0 orders: emulator-rendered templates, each copy with its own order
    id, item ids and buyer."""
    from tests.vault._orders_data import emulator_orders, v0_payloads

    recs = emulator_orders(min(count, templates), seed=seed, canaries=False)
    t_orders, t_items, t_buyers, t_addresses = v0_payloads(recs)
    rng = random.Random(seed)
    orders: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {}
    buyers: dict[str, dict[str, Any]] = {}
    addresses: dict[str, dict[str, Any]] = {}
    for n in range(count):
        t = t_orders[n % len(t_orders)]
        tid = t["AmazonOrderId"]
        oid = f"{900 + n // 10**7:03d}-{n // 10**7 % 10**7:07d}-{n % 10**7:07d}"
        name = f"Buyer{n:07d} {rng.choice(('Smith', 'Jones', 'Garcia', 'Chen'))}"
        email = f"b{n:07d}x{rng.randrange(10**6):06d}@marketplace.amazon.example"
        ship = {**t_addresses[tid]["ShippingAddress"], "Name": name,
                "AddressLine1": f"{n % 9999 + 1} Bench Street", "Phone": f"+1 555 {n:07d}"}
        orders.append({**t, "AmazonOrderId": oid, "BuyerInfo": {"BuyerEmail": email,
                                                               "BuyerName": name},
                       "ShippingAddress": ship})
        items[oid] = [{**it, "OrderItemId": f"{n:09d}{k:02d}",
                       **({"BuyerInfo": {**it["BuyerInfo"], "GiftMessageText":
                                         f"Happy birthday {name}!"}} if "BuyerInfo" in it
                          else {})}
                      for k, it in enumerate(t_items[tid])]
        buyers[oid] = {"AmazonOrderId": oid, "BuyerEmail": email, "BuyerName": name}
        addresses[oid] = {"AmazonOrderId": oid, "ShippingAddress": ship}
    return orders, items, buyers, addresses


def run(url: str, key: str, data: tuple[Any, ...], *, batch: int, reads: int) -> dict[str, Any]:
    from sellerkit.vault import Vault
    from sellerkit.vault.roles import SYSTEM

    orders, items, buyers, addresses = data
    with Vault.open(url, key=key) as v:
        with v.write() as conn:
            sid = v.connections.ensure_seller(conn, "A2BENCH", "na")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        inserted = 0
        for i in range(0, len(orders), batch):
            part = orders[i:i + batch]
            ids = [o["AmazonOrderId"] for o in part]
            with v.write() as conn:
                st = v.orders.upsert_orders(conn, sid, "v0", part,
                                            items={k: items[k] for k in ids},
                                            buyers={k: buyers[k] for k in ids},
                                            addresses={k: addresses[k] for k in ids})
            inserted += st.inserted
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        n_items = sum(len(items[o["AmazonOrderId"]]) for o in orders)

        # the same orders again: a re-sync that changes nothing
        wall1, cpu1 = time.perf_counter(), time.process_time()
        part = orders[:min(len(orders), 10 * batch)]
        ids = [o["AmazonOrderId"] for o in part]
        with v.write() as conn:
            again = v.orders.upsert_orders(conn, sid, "v0", part,
                                           items={k: items[k] for k in ids},
                                           buyers={k: buyers[k] for k in ids},
                                           addresses={k: addresses[k] for k in ids})
        rewall, recpu = time.perf_counter() - wall1, time.process_time() - cpu1

        pick = random.Random(1).sample([o["AmazonOrderId"] for o in orders],
                                       min(reads, len(orders)))
        v.cipher._cache.clear()  # a cold read: every data key unwrapped from the database
        wall2, cpu2 = time.perf_counter(), time.process_time()
        got = v.orders.read_pii_many(SYSTEM, pick, purpose="benchmark")
        rwall, rcpu = time.perf_counter() - wall2, time.process_time() - cpu2
        assert len(got) == len(pick) and all(p["buyer"]["email"] for p in got.values())
    return {
        "orders": len(orders), "items": n_items, "inserted": inserted, "batch": batch,
        "ingest_s": round(wall, 3), "ingest_cpu_s": round(cpu, 3),
        "orders_per_s": round(len(orders) / wall), "orders_per_cpu_s": round(len(orders) / cpu),
        "unchanged_orders": again.unchanged,
        "unchanged_per_s": round(len(part) / rewall), "unchanged_per_cpu_s": round(len(part)
                                                                                  / recpu),
        "read": len(pick), "read_s": round(rwall, 3), "read_cpu_s": round(rcpu, 3),
        "reads_per_s": round(len(pick) / rwall),
    }


def _calibrate(order: dict[str, Any]) -> float:
    """CPU microseconds of one json.dumps of an order: a yardstick of this machine's speed
    (and of how much the machine's other load slows one core), to compare runs by."""
    cpu = time.process_time()
    for _ in range(2000):
        json.dumps(order)
    return round((time.process_time() - cpu) / 2000 * 1e6, 1)


def _pg_schema(base: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    schema = "bench_" + secrets.token_hex(5)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", (admin, schema)


def _drop(handle: Any) -> None:
    from sqlalchemy import text

    admin, schema = handle
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--read", type=int, default=10_000, help="orders to decrypt afterwards")
    ap.add_argument("--batch", type=int, default=1000, help="orders per transaction")
    ap.add_argument("--postgres", metavar="URL",
                    default=os.environ.get("SELLERKIT_TEST_POSTGRES_URL"),
                    help="PostgreSQL to bench [default: $SELLERKIT_TEST_POSTGRES_URL]")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--json", action="store_true", help="one JSON document")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = payloads(args.orders)
    gen_s = time.perf_counter() - t0
    results: dict[str, Any] = {"load_average": [round(x, 2) for x in os.getloadavg()],
                               "cpus": os.cpu_count(), "generate_s": round(gen_s, 2),
                               "json_dumps_us": _calibrate(data[0][0])}
    with tempfile.TemporaryDirectory(prefix="sellerkit-vault-bench-") as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'vault.sqlite3'}",
                                f"file:{Path(tmp) / 'vault.key'}", data, batch=args.batch,
                                reads=args.read)
        results["sqlite"]["file_mb"] = round((Path(tmp) / "vault.sqlite3").stat().st_size / 1e6,
                                             1)
        if args.postgres and not args.no_postgres:
            url, handle = _pg_schema(args.postgres)
            try:
                results["postgresql"] = run(url, f"file:{Path(tmp) / 'pg.key'}", data,
                                            batch=args.batch, reads=args.read)
            finally:
                _drop(handle)
    results["target_orders_per_cpu_s"] = TARGET
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"vault bench: {args.orders} v0 orders with items, buyer info and address "
          f"(encrypted), batches of {args.batch}; load average {results['load_average']} "
          f"on {results['cpus']} CPUs; json.dumps of one order: {results['json_dumps_us']} us "
          f"CPU")
    print(f"{'backend':<11} {'ingest/s':>9} {'per CPU s':>10} {'resync/s':>9} "
          f"{'read/s':>8} {'ingest':>8} {'read':>7}")
    for name in ("sqlite", "postgresql"):
        r = results.get(name)
        if r is None:
            continue
        print(f"{name:<11} {r['orders_per_s']:>9} {r['orders_per_cpu_s']:>10} "
              f"{r['unchanged_per_s']:>9} {r['reads_per_s']:>8} {r['ingest_s']:>7.1f}s "
              f"{r['read_s']:>6.2f}s")
    s = results["sqlite"]
    verdict = "meets" if s["orders_per_cpu_s"] >= TARGET else "misses"
    print(f"target: >= {TARGET} orders/s into SQLite on one core: {verdict} it "
          f"({s['orders_per_cpu_s']} per CPU second, {s['items']} items, "
          f"{s['file_mb']} MB); read = decrypting read_pii_many of {s['read']} orders, cold")
    if "postgresql" not in results:
        print("postgresql: skipped (no --postgres URL and no $SELLERKIT_TEST_POSTGRES_URL)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
