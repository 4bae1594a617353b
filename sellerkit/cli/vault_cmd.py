"""``sellerkit vault ...``: the vault's commands (the group other vault command modules join).

Options every vault command shares: ``--vault URL`` (``$SELLERKIT_VAULT_URL``), ``--key SPEC``
(``$SELLERKIT_VAULT_KEY``) and ``--user ID`` (``$SELLERKIT_USER``, default the OS login name):
the vault user the command acts as. :func:`open_vault` and :func:`acting_user` turn them into a
:class:`~sellerkit.vault.Vault` and a :class:`~sellerkit.vault.Principal`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sellerkit.vault import Principal, Vault

__all__ = ["KeyOpt", "UserOpt", "VaultOpt", "acting_user", "open_vault", "register", "vault_app"]

vault_app = typer.Typer(
    name="vault", no_args_is_help=True,
    help="The vault: encrypted Amazon data, retention, audit, users, evidence.")

VaultOpt = Annotated[str | None, typer.Option(
    "--vault", envvar="SELLERKIT_VAULT_URL", show_envvar=True, metavar="URL",
    help="The vault database: sqlite:///PATH or postgresql://... "
         "[default: vault.sqlite3 in the user data dir]")]
KeyOpt = Annotated[str | None, typer.Option(
    "--key", envvar="SELLERKIT_VAULT_KEY", show_envvar=True, metavar="SPEC",
    help="The key-encryption key: file:PATH, env:VARIABLE or kms:KEY_ID "
         "[default: the key file beside the vault]")]
UserOpt = Annotated[str | None, typer.Option(
    "--user", envvar="SELLERKIT_USER", show_envvar=True, metavar="ID",
    help="The vault user to act as [default: your OS login name]")]


def open_vault(vault: str | None, key: str | None) -> Vault:
    from sellerkit.vault import Vault

    return Vault.open(vault, key=key)


def acting_user(v: Vault, user: str | None) -> Principal:
    """The principal a CLI command acts as: ``--user`` or the OS login name, a vault user."""
    return v.users.cli_principal(user)


def register(app: typer.Typer) -> None:
    app.add_typer(vault_app, name="vault")
