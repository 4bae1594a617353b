"""``sellerkit doctor [--profile NAME] [--json] [--queue ARN_OR_URL]``: the onboarding checklist.

The checks are in ``sellerkit.onboarding.doctor``; this module prints them. Exit status 0 when no
check failed, 1 when one did (2 stays "usage error", as for every command).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from sellerkit.cli._options import EndpointOpt, LwaEndpointOpt, ProfileOpt, RegionOpt

__all__ = ["register"]

_MARKS = {"pass": ("[green]PASS[/green]", "PASS"), "warn": ("[yellow]WARN[/yellow]", "WARN"),
          "fail": ("[bold red]FAIL[/bold red]", "FAIL"), "skip": ("[dim]SKIP[/dim]", "SKIP")}


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        profile: ProfileOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the checklist as JSON.")
                           ] = False,
        queue: Annotated[list[str] | None, typer.Option(
            "--queue", metavar="ARN_OR_URL",
            help="An SQS queue to check besides the destinations Amazon lists (repeatable; "
                 "also SELLERKIT_SQS_QUEUE).")] = None,
        max_skew: Annotated[float, typer.Option(
            "--max-skew", metavar="SECONDS", min=1,
            help="Warn when the clock is off by more than this.")] = 60.0,
        region: RegionOpt = None,
        endpoint: EndpointOpt = None,
        lwa_endpoint: LwaEndpointOpt = None,
    ) -> None:
        """Check the road to a first SP-API call: profile, LWA, clock, network, first call,
        roles, RDTs, notifications, SigV4 leftovers, secret expiry; each failure with its fix."""
        import os

        from rich.console import Console
        from rich.markup import escape

        from sellerkit.config import load_settings
        from sellerkit.errors import ConfigurationError
        from sellerkit.onboarding.doctor import run_doctor

        given: dict[str, Any] = {k: v for k, v in dict(region=region, endpoint=endpoint,
                                       lwa_endpoint=lwa_endpoint).items() if v is not None}
        labels = {"profile": "--profile", "region": "--region", "endpoint": "--endpoint",
                  "lwa_endpoint": "--lwa-endpoint"}
        try:
            settings = load_settings(profile=profile, labels=labels, **given)
        except ConfigurationError:
            settings = None  # the profile check reports it, with the fix
        queues = tuple(queue or ())
        env_queue = os.environ.get("SELLERKIT_SQS_QUEUE", "").strip()
        if env_queue and env_queue not in queues:
            queues += (env_queue,)
        report = run_doctor(profile=profile, settings=settings, queues=queues,
                            max_skew=max_skew)
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            console = Console(highlight=False, soft_wrap=True)
            console.print(f"[bold]sellerkit doctor[/bold] (profile {report.profile or 'default'})")
            for n, check in enumerate(report.checks, 1):
                data = check.to_dict()
                console.print(f"{_MARKS[check.status][0]} {n:2}. {escape(data['title'])}")
                console.print(f"         {escape(data['message'])}")
                if data["fix"] and check.status in ("warn", "fail"):
                    console.print(f"         [bold]fix:[/bold] {escape(data['fix'])}")
            c = report.counts()
            console.print(f"{c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, "
                          f"{c['skip']} skipped")
        sys.stdout.flush()
        if not report.ok:
            raise typer.Exit(1)
