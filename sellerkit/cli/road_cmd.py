"""``sellerkit road [--profile NAME] [--json] [--check]`` and ``sellerkit road draft-profile
[--answers FILE] [-o FILE]``: the road to SP-API access, and the developer profile's drafts.

The logic is in ``sellerkit.onboarding.road``; the step texts in ``onboarding/data/road.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sellerkit.cli._options import ProfileOpt

__all__ = ["register"]

_MARKS = {"done": "[green]done[/green]", "implied": "[green]implied[/green]",
          "todo": "[yellow]todo[/yellow]", "warn": "[yellow]warn[/yellow]",
          "fail": "[bold red]fail[/bold red]", "unknown": "[cyan]portal[/cyan]"}


def register(app: typer.Typer) -> None:
    road_app = typer.Typer(help="The road to SP-API access, step by step.",
                           invoke_without_command=True, no_args_is_help=False)

    @road_app.callback(invoke_without_command=True)
    def road_cmd(
        ctx: typer.Context,
        profile: ProfileOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the steps as JSON.")
                           ] = False,
        check: Annotated[bool, typer.Option(
            "--check", help="Run sellerkit doctor first (calls LWA and SP-API) and use its "
                            "results; without it road makes no network call.")] = False,
    ) -> None:
        """The whole road (account, identity, developer profile, roles, app registration, LWA
        credentials, authorization, first call, notifications, secret expiry): each step's
        status as far as sellerkit can tell, and for portal steps where to go and what to
        enter."""
        if ctx.invoked_subcommand is not None:
            return
        from rich.console import Console
        from rich.markup import escape

        from sellerkit.onboarding.road import road

        steps = road(profile=profile, check=check)
        if as_json:
            doc = {"profile": profile, "checked": check,
                   "steps": [s.to_dict() for s in steps]}
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return
        console = Console(highlight=False, soft_wrap=True)
        console.print("[bold]sellerkit road[/bold]: from nothing to a first SP-API call")
        for n, step in enumerate(steps, 1):
            data = step.to_dict()
            console.print(f"{n:2}. {_MARKS.get(step.status, step.status)} "
                          f"[bold]{escape(step.title)}[/bold]: {escape(data['note'])}")
            if step.status not in ("done", "implied"):
                console.print(f"      {escape(step.what)}")
                if step.where:
                    console.print(f"      where: {escape(step.where)}")
                for item in step.enter:
                    console.print(f"      - {escape(item)}")
                if step.docs:
                    console.print(f"      [dim]{escape(step.docs)}[/dim]")

    @road_app.command("draft-profile")
    def draft_cmd(
        answers: Annotated[Path | None, typer.Option(
            "--answers", metavar="FILE",
            help="A TOML or JSON file of answers (business_name, use_case, roles, app_type, "
                 "website, features, role_reasons, security); wins over the profile's.")
        ] = None,
        evidence: Annotated[Path | None, typer.Option(
            "--evidence", metavar="PATH",
            help="The vault's evidence pack (evidence.json, or the directory sellerkit vault "
                 "evidence wrote): it answers the security questions it can.")] = None,
        output: Annotated[Path | None, typer.Option(
            "--output", "-o", metavar="FILE", help="Write the Markdown draft here.")] = None,
        profile: ProfileOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the drafts as JSON.")
                           ] = False,
    ) -> None:
        """Draft the developer profile's free-text answers (business and use case, each role's
        reason, the security controls) from init's answers; unknowns stay [TO FILL: ...]."""
        from sellerkit._files import write_private
        from sellerkit.onboarding.road import (
            draft_profile,
            load_answers,
            load_evidence,
            render_draft,
        )

        given = load_answers(answers) if answers is not None else None
        pack = load_evidence(evidence) if evidence is not None else None
        drafts = draft_profile(answers=given, profile=profile, evidence=pack)
        text = (json.dumps({"drafts": [d.to_dict() for d in drafts],
                            "blanks": sum(d.blanks for d in drafts)}, indent=2,
                           ensure_ascii=False) + "\n") if as_json else render_draft(drafts)
        if output is not None:
            write_private(output, text)
            typer.echo(f"wrote {output} ({sum(d.blanks for d in drafts)} blank(s) to fill)",
                       err=True)
        else:
            sys.stdout.write(text)

    app.add_typer(road_app, name="road")
