"""``sellerkit vault ...``: the vault's commands (the group other vault command modules join).

Options every vault command shares: ``--vault URL`` (``$SELLERKIT_VAULT_URL``), ``--key SPEC``
(``$SELLERKIT_VAULT_KEY``) and ``--user ID`` (``$SELLERKIT_USER``, default the OS login name):
the vault user the command acts as. :func:`open_vault` and :func:`acting_user` turn them into a
:class:`~sellerkit.vault.Vault` and a :class:`~sellerkit.vault.Principal`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sellerkit.cli import print_json

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


def open_vault(vault: str | None, key: str | None, *, create: bool = False) -> Vault:
    """The vault of ``--vault``/``--key``. A SQLite vault that does not exist yet is refused
    (only ``vault init`` creates one, with its first admin), unless ``create``."""
    from sellerkit.vault import Vault

    if not create:
        _refuse_missing(vault)
    return Vault.open(vault, key=key)


def acting_user(v: Vault, user: str | None) -> Principal:
    """The principal a CLI command acts as: ``--user`` or the OS login name, a vault user."""
    return v.users.cli_principal(user)


def register(app: typer.Typer) -> None:
    app.add_typer(vault_app, name="vault")


# -- vault init / status / rotate-key / show ------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _refuse_missing(vault: str | None) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from sellerkit.cli import UserError
    from sellerkit.vault import store

    raw = vault or store.default_vault_url()
    try:
        url = make_url(raw)
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database \
            and url.database != ":memory:" and not url.database.startswith("file:"):
        from pathlib import Path

        path = Path(url.database).expanduser()
        if not path.exists() or path.stat().st_size == 0:
            raise UserError(f"there is no vault at {path}: create it with 'sellerkit vault "
                            f"init' (or point --vault / $SELLERKIT_VAULT_URL at yours)")


def _where(v: Vault) -> str:
    return v.engine.url.render_as_string(hide_password=True)


def _counts(v: Vault) -> dict[str, int]:
    from sqlalchemy import func, select

    from sellerkit.vault import schema

    names = ("sellers", "connections", "orders", "order_items", "order_buyers",
             "order_addresses", "report_records", "feed_records", "users", "audit_events")
    with v.read() as conn:
        return {n: int(conn.execute(select(func.count()).select_from(
            schema.metadata.tables[n])).scalar_one()) for n in names}


def _kek_line(kek: dict[str, Any] | None) -> str:
    if not kek:
        return "none"
    return (f"{kek['provider']}:{kek['ref']} (fingerprint {kek['fingerprint']}, created "
            f"{kek['created_at'][:10]}, {kek['age_days']} days old)")


def _bootstrap(v: Vault) -> tuple[str | None, str]:
    """Make the OS login name the first admin of a vault without users."""
    import getpass

    from sqlalchemy import func, select

    from sellerkit.vault import schema

    login = getpass.getuser()
    with v.read() as conn:
        have = conn.execute(select(func.count()).select_from(schema.users)).scalar_one()
    if have:
        return None, (f"the vault already has {have} user(s); an admin adds more with "
                      f"'sellerkit users add ID --role ROLE'")
    v.users.bootstrap_admin(login)
    return login, f"{login} (your OS login name) is the vault's first admin"


@vault_app.command("init")
def init_cmd(vault: VaultOpt = None, key: KeyOpt = None, json_out: JsonOpt = False) -> None:
    """Create the vault (database, key file 0600) and make you its first admin."""
    v = open_vault(vault, key, create=True)
    try:
        admin, note = _bootstrap(v)
        desc = v.cipher.describe()
        out = {"vault": _where(v), "key": desc["kek"], "key_file":
               str(getattr(v.keys, "path", "")) or None, "admin": admin, "note": note}
    finally:
        v.close()
    if json_out:
        print_json(out)
        return
    typer.echo(f"vault:   {out['vault']}")
    typer.echo(f"key:     {_kek_line(out['key'])}")
    if out["key_file"]:
        typer.echo(f"         the key file is {out['key_file']} (mode 0600): back it up apart "
                   f"from the database; without it the data cannot be read")
    typer.echo(f"admin:   {note}")


@vault_app.command("status")
def status_cmd(vault: VaultOpt = None, key: KeyOpt = None, json_out: JsonOpt = False) -> None:
    """Where the vault is, its key (provider, fingerprint, age) and what it holds (counts, no
    PII)."""
    v = open_vault(vault, key)
    try:
        desc = v.cipher.describe()
        from sellerkit.vault import store

        out = {"vault": _where(v), "backend": v.engine.dialect.name,
               "schema_revision": store.schema_revision(v.engine),
               "encryption": desc["algorithm"], "key": desc["kek"],
               "retired_keys": desc["retired_keks"], "data_keys": desc["data_keys"],
               "counts": _counts(v)}
    finally:
        v.close()
    if json_out:
        print_json(out)
        return
    typer.echo(f"vault:      {out['vault']} ({out['backend']}, schema {out['schema_revision']})")
    typer.echo(f"encryption: {out['encryption']}, a data key per record")
    typer.echo(f"key:        {_kek_line(out['key'])}")
    for r in out["retired_keys"]:
        typer.echo(f"retired:    {r['provider']}:{r['ref']} (fingerprint {r['fingerprint']}, "
                   f"retired {str(r['retired_at'])[:10]})")
    dk = out["data_keys"]
    typer.echo(f"data keys:  {dk['live']} live, {dk['destroyed']} destroyed")
    typer.echo("holds:      " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                          for k, n in out["counts"].items()))


@vault_app.command("rotate-key")
def rotate_key_cmd(
        new_key: Annotated[str, typer.Option("--new-key", metavar="SPEC", help=(
            "The new key-encryption key: file:PATH (created 0600 if missing), env:VARIABLE or "
            "kms:KEY_ID"))],
        vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
        json_out: JsonOpt = False) -> None:
    """Re-wrap every data key and vault secret under a new key-encryption key (the vault stays
    in use meanwhile), then retire the old one."""
    v = open_vault(vault, key)
    try:
        actor = acting_user(v, user)
        report = v.cipher.rotate(actor, new_key)
    finally:
        v.close()
    if json_out:
        print_json(dataclasses.asdict(report))
        return
    typer.echo(f"rotated: {report.data_keys} data keys and {report.secrets} vault secrets "
               f"re-wrapped under {report.new_provider} (fingerprint {report.new_fingerprint}) "
               f"in {report.seconds:.1f} s")
    typer.echo(f"retired: the key with fingerprint {report.old_fingerprint}; the vault no longer "
               f"needs it")
    if not new_key.startswith("file:") or key:
        typer.echo(f"open the vault with --key {report.new_provider} (or set "
                   f"SELLERKIT_VAULT_KEY) from now on", err=True)


@vault_app.command("show")
def show_cmd(
        order_id: Annotated[str, typer.Argument(metavar="ORDER_ID", help="An Amazon order id.")],
        pii: Annotated[bool, typer.Option("--pii", help=(
            "Also decrypt the buyer, addresses and gift messages (needs a role that may read "
            "PII, and --purpose; audited)"))] = False,
        purpose: Annotated[str | None, typer.Option("--purpose", metavar="TEXT", help=(
            "Why you read the PII (recorded in the audit log)"))] = None,
        vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
        json_out: JsonOpt = False) -> None:
    """An order from the vault: clear fields and items; with --pii the decrypted PII."""
    from sellerkit.cli import UserError

    if purpose and not pii:
        raise UserError("--purpose goes with --pii: add --pii to read the buyer's data")
    if pii and not (purpose or "").strip():
        raise UserError("--pii needs --purpose TEXT: every PII read is audited with its purpose")
    v = open_vault(vault, key)
    try:
        actor = acting_user(v, user)
        order = v.orders.get(actor, order_id)
        if pii:
            order["pii"] = v.orders.read_pii(actor, order_id, purpose=str(purpose))
    finally:
        v.close()
    if json_out:
        print_json(order)
        return
    typer.echo(f"order {order['amazon_order_id']} ({order['api_version']}): {order['status']}, "
               f"{order['total_amount'] or '-'} {order['total_currency'] or ''}".rstrip())
    typer.echo(f"  marketplace {order['marketplace_id']}, {order['fulfillment_channel']}, "
               f"purchased {order['purchase_date']}, updated {order['last_update_date']}")
    for it in order["items"]:
        typer.echo(f"  item {it['order_item_id']}: {it['quantity_ordered']} x {it['seller_sku']} "
                   f"({it['asin']}) {it['price_amount'] or ''} {it['price_currency'] or ''}"
                   .rstrip())
    if order["pii_erased_at"]:
        typer.echo(f"  PII erased {order['pii_erased_at']}")
    if pii:
        p = order["pii"]
        b = p.get("buyer") or {}
        typer.echo(f"  buyer: {b.get('name') or '-'} <{b.get('email') or '-'}>")
        for kind, a in p["addresses"].items():
            parts = [a.get("name"), *a.get("lines", []), a.get("city"),
                     " ".join(str(x) for x in (a.get("region") or {}).values()),
                     a.get("postal_code"), a.get("country_code")]
            typer.echo(f"  {kind}: " + ", ".join(str(x) for x in parts if x))
        for iid, it in p["items"].items():
            if it.get("gift_message"):
                typer.echo(f"  gift message ({iid}): {it['gift_message']}")
