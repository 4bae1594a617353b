"""``sellerkit incident open|list|notified|close|draft``: security incidents and the 24-hour
notice to Amazon (see :mod:`sellerkit.vault.incidents`).

The incident contact comes from the vault settings:
``sellerkit vault config set incident_contact "Name <email>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sellerkit.cli import print_json
from sellerkit.cli.vault_cmd import KeyOpt, UserOpt, VaultOpt, acting_user, open_vault
from sellerkit.cli.vault_retention_cmd import JsonOpt, parse_time

__all__ = ["incident_app", "register"]

incident_app = typer.Typer(
    name="incident", no_args_is_help=True,
    help="Security incidents: record them, track the 24-hour notice to Amazon, draft it.")

IdArg = Annotated[int, typer.Argument(metavar="ID", help="The incident id (see incident list).")]


@incident_app.command("open")
def open_(title: Annotated[str, typer.Argument(help="What happened, in a few words.")],
          detected_at: Annotated[str | None, typer.Option(
              help="When it was detected (ISO time with zone) [default: now].")] = None,
          severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "high",
          description: Annotated[str | None, typer.Option(help="More detail (no PII).")] = None,
          vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
          json_out: JsonOpt = False) -> None:
    """Record an incident; Amazon must be told within 24 hours of its detection."""
    when = parse_time(detected_at, "--detected-at")
    with open_vault(vault, key) as v:
        inc = v.incidents.open(acting_user(v, user), title, detected_at=when, severity=severity,
                               description=description)
        now = v.now()
        contact = v.incidents.contact()
    if json_out:
        print_json(inc.as_dict(now))
        return
    typer.echo(f"incident {inc.id} opened; notify Amazon by "
               f"{inc.deadline_at.isoformat(timespec='minutes')} ({inc.deadline_text(now)})")
    typer.echo(f"draft the notice: sellerkit incident draft {inc.id}")
    if contact is None:
        typer.echo("no incident contact is set: sellerkit vault config set incident_contact "
                   "\"Name <email>\"")


@incident_app.command("list")
def list_(open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
          vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
          json_out: JsonOpt = False) -> None:
    """The incidents, with the time left to notify Amazon (or how overdue)."""
    with open_vault(vault, key) as v:
        found = v.incidents.list(acting_user(v, user), include_closed=not open_only)
        now = v.now()
    if json_out:
        print_json([i.as_dict(now) for i in found])
        return
    if not found:
        typer.echo("no incidents")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="incidents")
    for col in ("id", "severity", "status", "detected", "notice", "title"):
        table.add_column(col, overflow="fold")
    for i in found:
        notice = "closed" if i.status == "closed" and i.notified_at is None else i.deadline_text(now)
        table.add_row(str(i.id), i.severity, i.status,
                      i.detected_at.isoformat(timespec="minutes"), notice, i.title)
    Console(highlight=False, soft_wrap=True).print(table)


@incident_app.command("notified")
def notified(incident_id: IdArg,
             at: Annotated[str | None, typer.Option(help="When Amazon was notified "
                                                    "[default: now].")] = None,
             vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Record that Amazon was notified (stops the deadline clock)."""
    when = parse_time(at, "--at")
    with open_vault(vault, key) as v:
        inc = v.incidents.mark_notified(acting_user(v, user), incident_id, at=when)
        now = v.now()
    typer.echo(f"incident {inc.id}: {inc.deadline_text(now)}")


@incident_app.command("close")
def close(incident_id: IdArg,
          resolution: Annotated[str, typer.Option(help="What was done.")],
          vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Close an incident with its resolution."""
    with open_vault(vault, key) as v:
        inc = v.incidents.close(acting_user(v, user), incident_id, resolution)
    typer.echo(f"incident {inc.id} closed"
               + ("" if inc.notified_at else " (Amazon's notification is not recorded: "
                  "sellerkit incident notified ID records it)"))


@incident_app.command("draft")
def draft(incident_id: IdArg,
          out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the draft here "
                                                   "[default: stdout].")] = None,
          vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Draft the notification to Amazon (review it, fill the [OPERATOR] parts, send it)."""
    with open_vault(vault, key) as v:
        text = v.incidents.draft_notification(incident_id, actor=acting_user(v, user))
    if out is None:
        typer.echo(text, nl=False)
    else:
        from sellerkit._files import write_private

        write_private(out, text)
        typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
