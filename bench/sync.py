"""``sync_orders`` end to end: the in-process emulator (rate limits off: this measures sellerkit,
not Amazon's quotas) through the client into a SQLite vault, for both Orders APIs.

    python3 bench/sync.py                    # 2,000 orders, Orders 2026-01-01 and v0
    python3 bench/sync.py --orders 500 --api v0 --json

Figures per API: orders stored per second (wall clock), pages, requests, and the seconds of a
second run over the same orders (the incremental case: the overlap re-read, nothing changed).
Orders 2026-01-01 costs one request per page of 100; v0 adds getOrderItems, getOrderBuyerInfo
and getOrderAddress per new or changed order, so at Amazon (0.5 requests/s each after a burst of
30) a v0 backfill is bound by those quotas, not by this code.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(api: str, orders: int) -> dict[str, Any]:
    from sellerkit import SellingPartner
    from sellerkit.emulator import Emulator, EmulatorConfig
    from sellerkit.sync import sync_orders
    from sellerkit.vault import Principal, Role, Vault

    emu = Emulator(EmulatorConfig(orders=orders, rate_limits=False, validate=False))
    cfg = emu.config
    admin = Principal("bench", Role.ADMIN)
    with tempfile.TemporaryDirectory() as tmp, \
            Vault.open(f"sqlite:///{tmp}/vault.sqlite3") as vault, \
            SellingPartner(client_id=cfg.client_id, client_secret=cfg.client_secret,
                           refresh_token=cfg.refresh_token, endpoint="http://127.0.0.1:8787",
                           lwa_endpoint="http://127.0.0.1:8787/auth/o2/token", region="NA",
                           transport=emu.sync_transport(), rate_limiter=False) as sp:
        kw: dict[str, Any] = {"actor": admin, "selling_partner_id": emu.seller_ids[0],
                              "region": "na", "api": api}
        t0 = time.perf_counter()
        first = sync_orders(vault, sp, since=datetime.now(UTC) - timedelta(days=400), **kw)
        t1 = time.perf_counter()
        second = sync_orders(vault, sp, **kw)
        t2 = time.perf_counter()
    return {"api": api, "orders": first.orders_new, "pages": first.pages,
            "requests": first.requests, "seconds": round(t1 - t0, 3),
            "orders_per_second": round(first.orders_new / (t1 - t0), 1),
            "incremental_seconds": round(t2 - t1, 3), "incremental_orders": second.orders_seen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--api", choices=["2026-01-01", "v0", "both"], default="both")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    apis = ["2026-01-01", "v0"] if args.api == "both" else [args.api]
    results = [run(api, args.orders) for api in apis]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"Orders {r['api']:>10}: {r['orders']} orders in {r['seconds']:.2f}s "
              f"({r['orders_per_second']:.0f} orders/s; {r['pages']} pages, {r['requests']} "
              f"requests); incremental re-run {r['incremental_seconds']:.2f}s "
              f"({r['incremental_orders']} orders re-read)")


if __name__ == "__main__":
    main()
