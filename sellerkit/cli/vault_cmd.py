"""``sellerkit vault ...``: the vault's commands (the group other vault command modules join).

Options every vault command shares: ``--vault URL`` (``$SELLERKIT_VAULT_URL``), ``--key SPEC``
(``$SELLERKIT_VAULT_KEY``) and ``--user ID`` (``$SELLERKIT_USER``, default the OS login name):
the vault user the command acts as.
"""

from __future__ import annotations

import typer

__all__ = ["register", "vault_app"]

vault_app = typer.Typer(
    name="vault", no_args_is_help=True,
    help="The vault: encrypted Amazon data, retention, audit, users, evidence.")


def register(app: typer.Typer) -> None:
    app.add_typer(vault_app, name="vault")
