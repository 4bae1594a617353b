"""Alembic's environment for the vault: always run through ``sellerkit.vault.store`` with a connection."""

from __future__ import annotations

from alembic import context

from sellerkit.vault.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise SystemExit("run vault migrations through sellerkit (sellerkit vault init / Vault.open)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
