"""``sellerkit vault audit verify|show|retention|prune`` and ``sellerkit vault alerts
check|list|config``: the audit log and the alert rules (see ``docs/vault-access.md``).

Joins the ``vault`` group of :mod:`sellerkit.cli.vault_cmd` (listed after it in
``COMMAND_MODULES``). ``vault audit verify`` exits 1 when the chain fails verification, after
naming every problem; ``--json`` prints the whole result for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from sellerkit.cli import UserError, print_json
from sellerkit.cli.vault_cmd import KeyOpt, UserOpt, VaultOpt, acting_user, open_vault, vault_app
from sellerkit.cli.vault_retention_cmd import parse_time

__all__ = ["alerts_app", "audit_app", "register"]

audit_app = typer.Typer(name="audit", no_args_is_help=True,
                        help="The hash-chained audit log: verify it, read it, its retention.")
alerts_app = typer.Typer(name="alerts", no_args_is_help=True,
                         help="Alert rules over the audit log and purges; the webhook.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", metavar="TIME", help="Only from this time on (ISO 8601, e.g. 2026-05-01T09:30Z).")]




def _head(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    seq, _, mac = text.partition(":")
    if not seq.isdigit() or len(mac) != 64:
        raise UserError("--expect-head takes SEQ:MAC as 'verify --json' prints it under head, "
                        "e.g. 1234:3f9a...")
    return {"seq": int(seq), "mac": mac}


# -- audit ----------------------------------------------------------------------------------------

@audit_app.command("verify")
def verify(expect_head: Annotated[str | None, typer.Option(
               "--expect-head", metavar="SEQ:MAC",
               help="A head kept outside the vault (from an earlier verify): it must still be "
                    "in the chain.")] = None,
           vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
           json_out: JsonOpt = False) -> None:
    """Check the whole chain: names every entry edited, deleted, inserted or reordered."""
    head = _head(expect_head)
    with open_vault(vault, key) as v:
        result = v.audit.verify(acting_user(v, user), expect_head=head)
    if json_out:
        print_json(result.to_dict())
    elif result.ok:
        h = result.head
        typer.echo(f"audit chain OK: {result.checked} "
                   f"{'entry' if result.checked == 1 else 'entries'}"
                   + (f", head {h['seq']}:{h['mac']}" if h else ""))
    else:
        typer.echo(f"audit chain FAILED: {len(result.problems)} problem(s) in "
                   f"{result.checked} entries")
        for p in result.problems:
            where = f"#{p.seq}" if p.seq else "anchor"
            typer.echo(f"  {where:>8}  {p.kind:<9}  {p.message}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("show")
def show(action: Annotated[str | None, typer.Option(
             help="Only this action (a trailing * matches a prefix: 'login*').")] = None,
         of_user: Annotated[str | None, typer.Option(
             "--of", metavar="ID", help="Only entries by this user id.")] = None,
         since: SinceOpt = None,
         limit: Annotated[int, typer.Option(help="The newest N entries (0: all).")] = 50,
         vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
         json_out: JsonOpt = False) -> None:
    """Audit entries, oldest first (auditors and admins)."""
    with open_vault(vault, key) as v:
        events = v.audit.events(acting_user(v, user), action=action, since=parse_time(since, "--since"),
                                user=of_user, limit=limit or None)
    if json_out:
        print_json([e.to_dict() for e in events])
        return
    for e in events:
        parts = [f"#{e.seq}", e.at.strftime("%Y-%m-%dT%H:%M:%SZ"), e.actor or "-", e.action]
        if e.target:
            parts.append(e.target)
        if e.outcome != "ok":
            parts.append(f"[{e.outcome}]")
        if e.purpose:
            parts.append(f"purpose={e.purpose!r}")
        if e.details:
            import json

            parts.append(json.dumps(e.details, sort_keys=True, ensure_ascii=False))
        typer.echo("  ".join(parts))


@audit_app.command("retention")
def retention(months: Annotated[int | None, typer.Option(
                  help="Keep entries this many months (12 or more).")] = None,
              vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Show or set how long audit entries are kept (at least 12 months)."""
    with open_vault(vault, key) as v:
        me = acting_user(v, user)
        if months is not None:
            v.audit.set_retention(me, months)
        current = v.audit.retention_months()
    typer.echo(f"audit entries are kept {current} months")


@audit_app.command("prune")
def prune(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None) -> None:
    """Remove entries past the retention, behind a checkpoint (the chain must verify)."""
    with open_vault(vault, key) as v:
        n = v.audit.prune(acting_user(v, user))
    typer.echo(f"{n} audit entries older than the retention removed")


# -- alerts ---------------------------------------------------------------------------------------

def _alert_line(a: Any) -> str:
    state = ("delivered" if a.delivered_at else
             f"not delivered: {a.delivery_error}" if a.delivery_error else "")
    import json

    details = json.dumps(a.details, sort_keys=True) if a.details else ""
    return "  ".join(x for x in (f"#{a.id}", a.at.strftime("%Y-%m-%dT%H:%M:%SZ"), a.severity,
                                 a.rule, a.subject or "", details, state) if x)


@alerts_app.command("check")
def check(vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
          json_out: JsonOpt = False) -> None:
    """Run the alert rules now (a sync runs them after each run)."""
    from sellerkit.vault.roles import Permission, require

    with open_vault(vault, key) as v:
        me = acting_user(v, user)
        require(me, Permission.READ_AUDIT, what="run the alert rules")
        raised = v.monitor.check()
    if json_out:
        print_json([a.to_dict() for a in raised])
        return
    if not raised:
        typer.echo("no new alerts")
    for a in raised:
        typer.echo(_alert_line(a))


@alerts_app.command("list")
def list_alerts(since: SinceOpt = None,
                rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
                limit: Annotated[int, typer.Option(help="The newest N (0: all).")] = 50,
                vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
                json_out: JsonOpt = False) -> None:
    """Alerts raised so far, oldest first."""
    with open_vault(vault, key) as v:
        rows = v.monitor.alerts(acting_user(v, user), parse_time(since, "--since"), rule=rule,
                                limit=limit or None)
    if json_out:
        print_json([a.to_dict() for a in rows])
        return
    if not rows:
        typer.echo("no alerts")
    for a in rows:
        typer.echo(_alert_line(a))


@alerts_app.command("config")
def config(name: Annotated[str | None, typer.Argument(
               metavar="NAME", help="A threshold (pii_reads_max, ...) or webhook_url.")] = None,
           value: Annotated[str | None, typer.Argument(
               metavar="VALUE", help="The new value; for webhook_url '-' reads it from stdin "
                                     "(keep the URL out of your shell history), 'none' "
                                     "removes it.")] = None,
           vault: VaultOpt = None, key: KeyOpt = None, user: UserOpt = None,
           json_out: JsonOpt = False) -> None:
    """Show the alert settings, or set one."""
    with open_vault(vault, key) as v:
        me = acting_user(v, user)
        if name is not None:
            if value is None:
                raise UserError(f"give the new value: sellerkit vault alerts config {name} VALUE")
            new: str | None = value
            if name == "webhook_url" and value == "-":
                new = sys.stdin.readline().strip()
            if name == "webhook_url" and (new or "").lower() in ("", "none"):
                new = None
            v.monitor.configure(me, name, new)
        from sellerkit.vault.roles import Permission, require

        require(me, Permission.READ_AUDIT, what="read the alert settings")
        current = v.monitor.settings()
    if json_out:
        print_json(current)
        return
    for k, val in current.items():
        typer.echo(f"{k} = {'set (hidden)' if k == 'webhook' and val else val}")


def register(app: typer.Typer) -> None:
    vault_app.add_typer(audit_app, name="audit")
    vault_app.add_typer(alerts_app, name="alerts")
