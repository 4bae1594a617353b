"""Audit log and log-in figures: appends per second (one transaction each, and many in one),
verification speed, and the cost of one argon2id password check.

    python3 bench/vault_audit.py                     # SQLite in a temporary directory
    python3 bench/vault_audit.py --entries 50000
    python3 bench/vault_audit.py --url postgresql://postgres@127.0.0.1:5432/test --key file:/tmp/k
    python3 bench/vault_audit.py --json

On PostgreSQL give a database the bench may fill (it writes audit entries; use a scratch one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="the vault URL [default: SQLite in a temporary directory]")
    ap.add_argument("--key", help="the key spec [default: a key file beside the SQLite vault]")
    ap.add_argument("--entries", type=int, default=20000, help="entries to append in batches")
    ap.add_argument("--single", type=int, default=500, help="entries appended one per transaction")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from sellerkit.vault import Vault
    from sellerkit.vault.users import default_hasher

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'vault.sqlite3'}"
        key = args.key or (f"file:{Path(tmp) / 'vault.key'}" if args.url is None else None)
        figures: dict[str, float] = {}
        with Vault.open(url, key=key) as v:
            v.audit.record("bench.start", actor="system")
            t = time.perf_counter()
            for i in range(args.single):
                v.audit.record("pii.read", actor="bench", target=f"order:{i}", purpose="bench")
            figures["appends_per_s_own_transaction"] = args.single / (time.perf_counter() - t)
            t = time.perf_counter()
            done = 0
            while done < args.entries:
                with v.write() as conn:
                    for _ in range(min(1000, args.entries - done)):
                        v.audit.record("pii.read", actor="bench", target=f"order:{done}",
                                       purpose="bench", details={"n": done}, conn=conn)
                        done += 1
            figures["appends_per_s_1000_per_transaction"] = done / (time.perf_counter() - t)
            t = time.perf_counter()
            result = v.audit.verify()
            elapsed = time.perf_counter() - t
            figures["verified_entries"] = result.checked
            figures["verify_entries_per_s"] = result.checked / elapsed
            figures["verify_ok"] = float(result.ok)
        hasher = default_hasher()
        hashed = hasher.hash("Bench-Password-1!")
        t = time.perf_counter()
        for _ in range(3):
            hasher.verify(hashed, "Bench-Password-1!")
        figures["argon2id_verify_ms"] = (time.perf_counter() - t) / 3 * 1000
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for k, val in figures.items():
            print(f"{k:40} {val:12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
