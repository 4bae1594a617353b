"""Generate or check the vault's Alembic migrations from ``sellerkit/vault/schema.py``.

    python3 tools/gen_vault_migration.py "add a column"   # a new revision for the schema change
    python3 tools/gen_vault_migration.py --check           # CI: the migrations build the schema

``--check`` migrates an empty SQLite database to the newest revision and compares it with the
metadata (Alembic's autogenerate diff): any difference means a schema change without a
migration, and fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("message", nargs="?", help="what the new revision changes")
    ap.add_argument("--check", action="store_true", help="fail when schema and migrations differ")
    args = ap.parse_args(argv)
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from sellerkit.vault import store
    from sellerkit.vault.schema import metadata

    with tempfile.TemporaryDirectory() as tmp:
        engine = store.create_vault_engine(f"sqlite:///{tmp}/check.sqlite3")
        script = ScriptDirectory.from_config(store._alembic_config(None))
        if script.get_current_head() is not None:
            store.migrate(engine)
        with engine.begin() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}), metadata)
            if args.check:
                engine.dispose()
                if store.HEAD != script.get_current_head():
                    print(f"sellerkit/vault/store.py HEAD is {store.HEAD!r} but the newest "
                          f"migration is {script.get_current_head()!r}: update HEAD",
                          file=sys.stderr)
                    return 1
                if diff:
                    print("the vault schema differs from its migrations; run "
                          "python3 tools/gen_vault_migration.py MESSAGE:", file=sys.stderr)
                    for d in diff:
                        print(f"  {d}", file=sys.stderr)
                    return 1
                print("vault migrations: up to date")
                return 0
            if not diff:
                print("nothing to generate: the migrations already build the schema")
                return 0
            if not args.message:
                ap.error("a message is needed for a new revision")
            n = len(list(script.walk_revisions())) + 1
            cfg = store._alembic_config(conn)
            command.revision(cfg, message=args.message, autogenerate=True, rev_id=f"{n:04d}")
            print(f"now set HEAD = '{n:04d}' in sellerkit/vault/store.py")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
