"""``sellerkit demo``: run the client against a throwaway local emulator and summarize.

The work is in ``sellerkit.demo``; this module only registers the command.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        orders: Annotated[int, typer.Option(help="Orders the emulated seller has.")] = 300,
        seed: Annotated[int, typer.Option(help="Seed of the emulated data.")] = 0,
        rate_scale: Annotated[float, typer.Option(
            help="Speed the emulator's rate limits up by this factor.")] = 1000.0,
        page_size: Annotated[int, typer.Option(help="Orders per page (MaxResultsPerPage).")
                             ] = 25,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                           ] = False,
        vault: Annotated[str | None, typer.Option(
            "--vault", metavar="URL",
            help="Sync the orders into this vault (sqlite:///PATH or postgresql://...) "
                 "[default: a temporary one, deleted after]")] = None,
        key: Annotated[str | None, typer.Option(
            "--key", metavar="SPEC", help="The --vault's key: file:PATH, env:VARIABLE or "
                                          "kms:KEY_ID.")] = None,
    ) -> None:
        """Start the emulator, pull every order through the client (LWA, RDT, pagination,
        rate limits), fetch an orders report, submit a listings feed, receive the
        notifications they cause, sync the orders into a vault (PII encrypted), and print
        what it saw. No Amazon account needed."""
        from rich.console import Console

        from sellerkit.demo import render, run_demo
        from sellerkit.errors import ConfigurationError

        if rate_scale <= 0 or orders < 0 or not 1 <= page_size <= 100:
            raise ConfigurationError("--rate-scale must be positive, --orders at least 0 and "
                                     "--page-size between 1 and 100")
        if as_json:
            summary = run_demo(orders=orders, seed=seed, rate_scale=rate_scale,
                               page_size=page_size, vault_url=vault, vault_key=key)
            typer.echo(json.dumps(summary.to_dict(), indent=2))
            return
        console = Console()
        if not console.is_terminal:  # piped or captured: rich would assume 80 columns
            console = Console(width=110)
        # the spinner is a status line: stderr, so stdout holds only the summary
        with Console(stderr=True).status("starting the emulator, pulling orders, fetching a report, "
                                      "submitting a feed, syncing the vault..."):
            summary = run_demo(orders=orders, seed=seed, rate_scale=rate_scale,
                               page_size=page_size, vault_url=vault, vault_key=key)
        console.print(render(summary))
