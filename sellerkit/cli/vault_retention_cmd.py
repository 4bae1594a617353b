"""``sellerkit vault purge|retention|hold|holds|release|inventory|export|decrypt-export|evidence|
config``: retention, the data inventory, encrypted exports, the evidence pack, vault settings.

Joins the ``vault`` group of :mod:`sellerkit.cli.vault_cmd` (listed after it in
``COMMAND_MODULES``); every command takes ``--vault``, ``--key`` and ``--user``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sellerkit.cli import UserError, print_json
from sellerkit.cli.vault_cmd import KeyOpt, UserOpt, VaultOpt, acting_user, open_vault, vault_app

__all__ = ["config_app", "parse_time", "register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

config_app = typer.Typer(name="config", no_args_is_help=True,
                         help="Vault settings: the incident contact, the PII retention days.")


def parse_time(text: str | None, what: str) -> datetime | None:
    """An ISO 8601 time with its zone (``2026-05-01T09:30Z``); a bare date is midnight UTC."""
    if text is None:
        return None
    raw = text.strip()
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(f"{what} {text!r} is not an ISO 8601 time: write e.g. "
                        f"2026-05-01T09:30Z or 2026-05-01") from None
    if when.tzinfo is None:
        if len(raw) == 10:  # a date alone
            return when.replace(tzinfo=UTC)
        raise UserError(f"{what} {text!r} has no time zone: add Z (UTC) or an offset, "
                        f"e.g. 2026-05-01T09:30Z")
    return when.astimezone(UTC)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _counts_table(title: str, counts: dict[str, int]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("kind")
    table.add_column("count", justify="right")
    for k, v in counts.items():
        table.add_row(k.replace("_", " "), str(v))
    return table


# -- retention ------------------------------------------------------------------------------------

def purge(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
          dry_run: Annotated[bool, typer.Option("--dry-run",
                                                help="Count what would go; change nothing.")] = False,
          trigger: Annotated[str, typer.Option(help="What started the run (cli, schedule).")] = "cli",
          json_out: JsonOpt = False) -> None:
    """Erase PII past its retention (crypto-shredding) and delete non-PII data past 18 months."""
    with open_vault(vault, key) as v:
        report = v.retention.purge(acting_user(v, user), trigger=trigger, dry_run=dry_run)
    if json_out:
        print_json(report.as_dict())
        return
    title = ("purge (dry run: nothing changed)" if dry_run
             else f"purge run {report.run_id} under policy {report.policy_version}")
    _console().print(_counts_table(title, report.counts))


def retention(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
              json_out: JsonOpt = False) -> None:
    """The retention policy in force, the last purge, and what is overdue."""
    with open_vault(vault, key) as v:
        st = v.retention.status(acting_user(v, user))
    if json_out:
        print_json(st.as_dict())
        return
    p = st.policy
    lines = [
        f"policy {p.version} (effective {p.effective.isoformat()})",
        f"  PII: erased {st.pii_days} days after delivery (fallback: ship date, else purchase "
        f"+ {st.delivery_bound_days} days)",
        f"  non-PII Amazon data: deleted after {p.non_pii_months} months"
        if p.non_pii_months else "  non-PII Amazon data: no limit in this version",
        f"  security logs: kept at least {p.security_log_days} days",
        f"orders with PII: {st.orders_with_pii}; erased: {st.orders_erased}; "
        f"overdue now: {st.overdue}; held: {st.held_orders} ({st.active_holds} active hold(s))",
        "last purge: " + (f"{st.last_run['finished_at']} ({st.last_run['trigger']}, "
                          f"by {st.last_run['actor']})" if st.last_run else "never"),
    ]
    typer.echo("\n".join(lines))


def hold(scope: Annotated[str, typer.Option(help="order, seller or all.")],
         target: Annotated[str | None, typer.Option(
             help="The Amazon order id (scope order) or selling partner id (scope seller).")] = None,
         reason: Annotated[str | None, typer.Option(
             help="The legal reason (required to keep PII more than 30 days).")] = None,
         retain_days: Annotated[int | None, typer.Option(
             help="Keep the held orders' PII this many days after delivery "
                  "[default: until released].")] = None,
         vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
         json_out: JsonOpt = False) -> None:
    """Place a legal hold: keep records past the retention policy, with a recorded reason."""
    with open_vault(vault, key) as v:
        h = v.retention.hold(acting_user(v, user), scope, target, reason, retain_days)
    if json_out:
        print_json(h.as_dict())
        return
    span = f"{h.retain_days} days after delivery" if h.retain_days else "until released"
    typer.echo(f"legal hold {h.id}: {h.scope} {h.target or ''} kept {span}".replace("  ", " "))


def holds(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
          all_: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
          json_out: JsonOpt = False) -> None:
    """List the legal holds."""
    with open_vault(vault, key) as v:
        found = v.retention.holds(acting_user(v, user), include_released=all_)
    if json_out:
        print_json([h.as_dict() for h in found])
        return
    if not found:
        typer.echo("no legal holds")
        return
    from rich.table import Table

    table = Table(title="legal holds")
    for col in ("id", "scope", "target", "retain", "reason", "by", "placed", "released"):
        table.add_column(col)
    for h in found:
        table.add_row(str(h.id), h.scope, h.target or "", f"{h.retain_days}d" if h.retain_days
                      else "until released", h.reason, h.created_by,
                      h.created_at.strftime("%Y-%m-%d"),
                      h.released_at.strftime("%Y-%m-%d") if h.released_at else "")
    _console().print(table)


def release(hold_id: Annotated[int, typer.Argument(help="The hold's id (see vault holds).")],
            vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Release a legal hold: its records fall back under the retention policy."""
    with open_vault(vault, key) as v:
        v.retention.release(acting_user(v, user), hold_id)
    typer.echo(f"legal hold {hold_id} released; the next purge applies the policy to its records")


# -- inventory and exports ------------------------------------------------------------------------

def inventory(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
              json_out: JsonOpt = False) -> None:
    """Every place Amazon data lives: database, key files, exports, report files."""
    with open_vault(vault, key) as v:
        items = v.inventory.list(acting_user(v, user))
    if json_out:
        print_json([i.as_dict() for i in items])
        return
    from rich.table import Table

    table = Table(title="data inventory")
    for col in ("kind", "location", "status", "PII", "mode", "problems"):
        table.add_column(col, overflow="fold")
    for i in items:
        table.add_row(i.kind, i.location, i.status + (f" ({i.encryption})" if i.encryption else ""),
                      "yes" if i.contains_pii else "no", i.mode or "",
                      "; ".join(i.problems))
    _console().print(table)


def export(out: Annotated[Path, typer.Option("--out", "-o", help="The export file to write.")],
           what: Annotated[str, typer.Option(help="What to export: orders.")] = "orders",
           pii: Annotated[bool, typer.Option("--pii", help="Include buyer PII "
                                             "(needs --purpose).")] = False,
           purpose: Annotated[str | None, typer.Option(help="Why PII is exported.")] = None,
           since: Annotated[str | None, typer.Option(help="Orders since (ISO time).")] = None,
           limit: Annotated[int | None, typer.Option(help="At most this many records.")] = None,
           vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
           json_out: JsonOpt = False) -> None:
    """Write an encrypted export (AES-256-GCM, a vault data key) and record it."""
    start = parse_time(since, "--since")
    with open_vault(vault, key) as v:
        res = v.inventory.export(acting_user(v, user), what, out=out, pii=pii, purpose=purpose,
                                 since=start, limit=limit)
    doc = {"path": str(res.path), "what": res.what, "records": res.records, "pii": res.pii,
           "inventory_id": res.inventory_id}
    if json_out:
        print_json(doc)
        return
    typer.echo(f"wrote {res.path}: {res.records} {res.what} records, encrypted"
               + (", with PII" if res.pii else "")
               + "; read it back with: sellerkit vault decrypt-export " + str(res.path))


def decrypt_export(
        file: Annotated[Path, typer.Argument(help="The export file.")],
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the JSON here "
                                                 "(0600) [default: stdout, non-PII only].")] = None,
        purpose: Annotated[str | None, typer.Option(help="Why (for exports with PII).")] = None,
        vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Decrypt an export made by `sellerkit vault export` (permission-checked, audited)."""
    import json

    from sellerkit._files import write_private
    from sellerkit.vault.inventory import read_export_header

    if read_export_header(file).get("pii") and out is None:
        raise UserError("this export holds PII: give --out FILE (written 0600) instead of "
                        "printing it")
    with open_vault(vault, key) as v:
        _, payload = v.inventory.decrypt_export(acting_user(v, user), file, purpose=purpose)
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        write_private(out, text)
        typer.echo(f"wrote {out}")


def evidence(out: Annotated[Path | None, typer.Option("--out", "-o", help="The directory "
                                                     "[default: ./sellerkit-evidence-DATE].")] = None,
             vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Export the evidence pack: answers to Amazon's security questions from this deployment."""
    from sellerkit.vault.evidence import write_pack

    with open_vault(vault, key) as v:
        target = out or Path(f"sellerkit-evidence-{v.now():%Y%m%d}")
        paths = write_pack(v, acting_user(v, user), target)
    for p in paths:
        typer.echo(f"wrote {p}")


# -- settings -------------------------------------------------------------------------------------

@config_app.command("get")
def config_get(key_name: Annotated[str, typer.Argument(metavar="KEY")],
               vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Print one setting (empty when unset)."""
    from sellerkit.vault.settings import get_setting, show_setting

    with open_vault(vault, key) as v:
        acting_user(v, user)
        with v.read() as c:
            value = get_setting(c, key_name)
    typer.echo(show_setting(key_name, value))


@config_app.command("set")
def config_set(key_name: Annotated[str, typer.Argument(metavar="KEY")],
               value: Annotated[str, typer.Argument(metavar="VALUE")],
               vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Change a setting (audited)."""
    from sellerkit.vault.settings import set_setting, show_setting

    with open_vault(vault, key) as v:
        stored = set_setting(v, acting_user(v, user), key_name, value)
    typer.echo(f"{key_name} = {show_setting(key_name, stored)}")


@config_app.command("list")
def config_list(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
                json_out: JsonOpt = False) -> None:
    """Every setting, its value and what it is for."""
    from sellerkit.vault.settings import SETTINGS, get_setting, show_setting

    with open_vault(vault, key) as v:
        acting_user(v, user)
        with v.read() as c:
            values = {k: get_setting(c, k) for k in SETTINGS}
    if json_out:
        print_json({k: {"value": show_setting(k, val) or None, "help": SETTINGS[k].help}
                    for k, val in values.items()})
        return
    for k, val in values.items():
        typer.echo(f"{k} = {show_setting(k, val) or '(unset)'}    # {SETTINGS[k].help}")


def register(app: typer.Typer) -> None:
    vault_app.command("purge")(purge)
    vault_app.command("retention")(retention)
    vault_app.command("hold")(hold)
    vault_app.command("holds")(holds)
    vault_app.command("release")(release)
    vault_app.command("inventory")(inventory)
    vault_app.command("export")(export)
    vault_app.command("decrypt-export")(decrypt_export)
    vault_app.command("evidence")(evidence)
    vault_app.add_typer(config_app, name="config")
