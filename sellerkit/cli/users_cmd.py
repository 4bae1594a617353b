"""``sellerkit users add|list|disable|enable|set-role|set-password|unlock|rotate-key|revoke-key|
totp|lockout``: the vault's users (see ``docs/vault-access.md``).

Every command takes ``--vault``, ``--key`` and ``--user`` (the admin acting). Passwords are read
with a hidden prompt at a terminal (``--password``) or from the first line of stdin
(``--password-stdin``, for scripts); they are never echoed or taken as arguments. A new API key
or TOTP URI is printed once (or written 0600 with ``--out``): it is not stored readable anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sellerkit.cli import UserError, print_json
from sellerkit.cli.vault_cmd import KeyOpt, UserOpt, VaultOpt, acting_user, open_vault

if TYPE_CHECKING:
    from sellerkit.vault.users import User

__all__ = ["read_password", "register", "users_app"]

users_app = typer.Typer(name="users", no_args_is_help=True,
                        help="Vault users: roles, passwords, API keys, second factor, lockout.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="The user id.")]
StdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin (scripts).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", metavar="PATH", help="Write the secret to this file (0600) instead of stdout.")]


def read_password(*, from_stdin: bool, prompt: bool) -> str | None:
    """The password from stdin (``--password-stdin``) or a hidden, confirmed prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin read an empty line: pipe the password in, "
                            "e.g. printf '%s\\n' \"$PW\" | sellerkit users ...")
        return password
    if not prompt:
        return None
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: use --password-stdin")
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


def _emit_secret(secret: str, out: Path | None, what: str) -> None:
    if out is not None:
        from sellerkit._files import write_private

        write_private(out, secret + "\n")
        typer.echo(f"{what} written to {out} (mode 0600)", err=True)
        return
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    typer.echo(f"store the {what} now: it is not shown again", err=True)


def _line(u: User) -> str:
    state = "disabled" if u.disabled else "locked" if u.locked else "active"
    return (f"{u.user_id}: {u.role.value} ({u.kind}), {state}; password "
            f"{'set' if u.has_password else 'none'}, TOTP {'on' if u.totp else 'off'}, "
            f"{u.api_keys} live API key(s)")


def _show(u: User, json_out: bool) -> None:
    if json_out:
        print_json(u.to_dict())
    else:
        typer.echo(_line(u))


@users_app.command("add")
def add(user_id: IdArg,
        role: Annotated[str, typer.Option(help="admin, analyst, fulfillment or auditor.")],
        kind: Annotated[str, typer.Option(help="person or service (API callers, jobs).")]
        = "person",
        password: Annotated[bool, typer.Option(
            "--password", help="Ask for a password (web log-ins) with a hidden prompt.")] = False,
        password_stdin: StdinOpt = False,
        vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
        json_out: JsonOpt = False) -> None:
    """Add a user. CLI users need no password: the CLI knows them by their OS login name."""
    pw = read_password(from_stdin=password_stdin, prompt=password)
    with open_vault(vault, key) as v:
        u = v.users.add(acting_user(v, user), user_id, role, password=pw, kind=kind)
    _show(u, json_out)


@users_app.command("list")
def list_users(keys: Annotated[bool, typer.Option("--keys", help="List the API keys too.")]
               = False,
               vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
               json_out: JsonOpt = False) -> None:
    """Every user with role, state and second factor (admins; auditors for access reviews)."""
    with open_vault(vault, key) as v:
        me = acting_user(v, user)
        rows = v.users.list(me)
        api = v.users.list_api_keys(me) if keys else []
    if json_out:
        doc: dict[str, object] = {"users": [u.to_dict() for u in rows]}
        if keys:
            doc["api_keys"] = api
        print_json(doc)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("user", "role", "kind", "state", "password", "TOTP", "API keys", "last log-in"):
        table.add_column(col)
    for u in rows:
        table.add_row(u.user_id, u.role.value, u.kind,
                      "disabled" if u.disabled else "locked" if u.locked else "active",
                      "set" if u.has_password else "-", "on" if u.totp else "-",
                      str(u.api_keys),
                      u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-")
    console = Console(highlight=False, soft_wrap=True)
    console.print(table)
    if keys:
        ktable = Table()
        for col in ("key id", "user", "state", "expires", "last used"):
            ktable.add_column(col)
        for k in api:
            ktable.add_row(str(k["key_id"]), str(k["user_id"]), str(k["state"]),
                           str(k["expires_at"])[:16], str(k["last_used_at"] or "-")[:16])
        console.print(ktable)


@users_app.command("disable")
def disable(user_id: IdArg, vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
            json_out: JsonOpt = False) -> None:
    """Disable a user: log-ins, API keys and CLI use refused; its API keys revoked."""
    with open_vault(vault, key) as v:
        u = v.users.disable(acting_user(v, user), user_id)
    _show(u, json_out)


@users_app.command("enable")
def enable(user_id: IdArg, vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
           json_out: JsonOpt = False) -> None:
    """Enable a disabled user again."""
    with open_vault(vault, key) as v:
        u = v.users.enable(acting_user(v, user), user_id)
    _show(u, json_out)


@users_app.command("set-role")
def set_role(user_id: IdArg,
             role: Annotated[str, typer.Argument(
                 metavar="ROLE", help="admin, analyst, fulfillment or auditor.")],
             vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
             json_out: JsonOpt = False) -> None:
    """Change a user's role."""
    with open_vault(vault, key) as v:
        u = v.users.set_role(acting_user(v, user), user_id, role)
    _show(u, json_out)


@users_app.command("set-password")
def set_password(user_id: IdArg, password_stdin: StdinOpt = False,
                 vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Set a password: 12+ characters, mixed case, a digit, a special, none of the last 10."""
    pw = read_password(from_stdin=password_stdin, prompt=True)
    assert pw is not None
    with open_vault(vault, key) as v:
        v.users.set_password(acting_user(v, user), user_id, pw)
    typer.echo(f"password of {user_id} set")


@users_app.command("unlock")
def unlock(user_id: IdArg, vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
           json_out: JsonOpt = False) -> None:
    """Unlock a user locked after 10 failed log-ins."""
    with open_vault(vault, key) as v:
        u = v.users.unlock(acting_user(v, user), user_id)
    _show(u, json_out)


@users_app.command("rotate-key")
def rotate_key(user_id: IdArg,
               grace_hours: Annotated[float, typer.Option(
                   help="Keep the old keys working this many hours [default: revoke at once].")]
               = 0,
               ttl_days: Annotated[int, typer.Option(help="Days the new key lives.")] = 90,
               out: OutOpt = None,
               vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Issue a new API key for the user and revoke its older keys (now, or after a grace)."""
    with open_vault(vault, key) as v:
        secret = v.users.rotate_api_key(acting_user(v, user), user_id, ttl_days=ttl_days,
                                        grace_hours=grace_hours)
    _emit_secret(secret, out, "API key")


@users_app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(metavar="KEY_ID",
                                                     help="From 'users list --keys'.")],
               vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Revoke one API key now."""
    with open_vault(vault, key) as v:
        v.users.revoke_api_key(acting_user(v, user), key_id)
    typer.echo(f"API key {key_id} revoked")


@users_app.command("totp")
def totp(user_id: IdArg,
         off: Annotated[bool, typer.Option("--off", help="Remove the second factor.")] = False,
         out: OutOpt = None,
         vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Turn on the TOTP second factor: prints the otpauth:// URI for an authenticator app."""
    with open_vault(vault, key) as v:
        me = acting_user(v, user)
        if off:
            v.users.disable_totp(me, user_id)
            typer.echo(f"second factor of {user_id} removed")
            return
        uri = v.users.enable_totp(me, user_id)
    _emit_secret(uri, out, "TOTP URI")


@users_app.command("lockout")
def lockout(minutes: Annotated[int | None, typer.Option(
                help="Locked accounts unlock after this many minutes.")] = None,
            admin_only: Annotated[bool, typer.Option(
                "--admin-only", help="Locked accounts stay locked until an admin unlocks them "
                                     "(the default).")] = False,
            vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Set how a lockout (after 10 failed log-ins) ends."""
    if (minutes is None) == (not admin_only):
        raise UserError("give one of --minutes N or --admin-only")
    with open_vault(vault, key) as v:
        v.users.set_lockout_minutes(acting_user(v, user), None if admin_only else minutes)
    typer.echo("locked accounts now stay locked until an admin unlocks them" if admin_only
               else f"locked accounts now unlock after {minutes} minutes")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
