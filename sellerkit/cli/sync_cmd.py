"""``sellerkit sync orders``: pull a seller's orders into the vault, incrementally (docs/sync.md).

``--seller ID`` syncs a seller whose connection is stored in the vault
(``SellingPartner.for_seller``: the refresh token from the vault, the app's client id and secret
from the profile). Without it, the profile's own refresh token is used (a self-authorized
seller) and the seller is keyed in the vault as ``profile:NAME`` (the profile's name,
``default`` when none is named), since Amazon has no call that tells an app the selling partner
id of its own token.

A progress bar on stderr shows the window being read (rate-limit waits show in it); ``--json``
prints the run's summary on stdout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sellerkit.cli._options import ProfileOpt, RateLimiterOpt, RegionOpt
from sellerkit.cli.vault_cmd import KeyOpt, UserOpt, VaultOpt
from sellerkit.errors import ConfigurationError

if TYPE_CHECKING:
    from sellerkit.sync import SyncProgress, SyncSummary

__all__ = ["register", "self_seller_key", "sync_app"]

sync_app = typer.Typer(name="sync", no_args_is_help=True,
                       help="Pull Amazon data into the vault, incrementally and resumably.")

_DURATION = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def self_seller_key(profile_name: str | None) -> str:
    """How the vault keys the seller of a profile's own refresh token."""
    return f"profile:{profile_name or 'default'}"


def _duration(text: str, flag: str) -> Any:
    from datetime import timedelta

    t = text.strip().lower()
    if len(t) >= 2 and t[-1] in _DURATION and t[:-1].isdigit():
        return timedelta(seconds=int(t[:-1]) * _DURATION[t[-1]])
    raise ConfigurationError(f"{flag} {text!r} is not a duration such as 10m, 1h or 2d")


@contextlib.contextmanager
def _progress_bar(quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr, and the rate-limit waits shown in it. Yields the
    callback for ``sync_orders`` (None when there is no terminal to draw on)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from sellerkit.cli._status import LOGGER_NAME, WaitStatusHandler, format_wait

    console = Console(stderr=True, highlight=False)
    if quiet or not console.is_terminal:
        # no bar off a terminal: the wait lines of the group's handler stay as they are
        yield None
        return
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TaskProgressColumn(), TextColumn("{task.fields[counts]}"),
                        TimeElapsedColumn(), console=console, transient=True)
    task = progress.add_task("orders: starting", total=1.0, counts="")

    class _InBar(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            wait = getattr(record, "sellerkit_wait", None)
            if format_wait(wait) is not None:  # a wait record: the short form fits the bar
                assert isinstance(wait, dict)
                progress.update(task, description=format_wait(
                    {"seconds": wait["seconds"], "operation": wait.get("operation")}))

    logger = logging.getLogger(LOGGER_NAME)
    # while the bar is drawn, the waits go into it instead of the group's status line
    moved = [h for h in logger.handlers if isinstance(h, WaitStatusHandler)]
    for h in moved:
        logger.removeHandler(h)
    inbar = _InBar(logging.INFO)
    logger.addHandler(inbar)

    def update(p: SyncProgress) -> None:
        progress.update(task, completed=p.fraction,
                        description=f"orders updated until {p.covered_until:%Y-%m-%d %H:%M}",
                        counts=f"{p.pages} pages, {p.orders} orders")

    try:
        with progress:
            yield update
    finally:
        logger.removeHandler(inbar)
        for h in moved:
            logger.addHandler(h)


def _print_summary(s: SyncSummary) -> None:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    state = "done" if s.completed else "stopped"
    out.print(f"sync {state}: seller {s.selling_partner_id} ({s.region.upper()}), Orders "
              f"{s.api}, orders updated {s.window_start} .. {s.window_end}"
              f"{' (resumed)' if s.resumed else ''}", markup=False)
    out.print(f"orders: {s.orders_new} new, {s.orders_updated} updated, {s.orders_unchanged} "
              f"unchanged; {s.items} items, {s.buyers} buyers, {s.addresses} addresses",
              markup=False)
    out.print(f"{s.pages} pages, {s.requests} requests, {s.throttled_waits} rate-limit waits "
              f"({s.throttled_wait_seconds:.1f} s), {s.throttled_responses} throttled, "
              f"{s.seconds:.1f} s", markup=False)
    if s.purged is not None:
        done = {k: v for k, v in s.purged.items() if v}
        out.print("retention purge: " + (", ".join(f"{k.replace('_', ' ')} {v}"
                                                    for k, v in done.items())
                                         or "nothing past its date"), markup=False)
    if s.alerts:
        out.print(f"{s.alerts} alert(s) raised: see sellerkit vault alerts", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")

    @sync_app.command("orders")
    def orders(
        since: Annotated[str | None, typer.Option(
            "--since", metavar="WHEN",
            help="First run: orders updated since (30d, 12h, 2w ago, or an ISO date); later "
                 "runs carry on from their checkpoint [default: 30d]")] = None,
        seller: Annotated[str | None, typer.Option(
            "--seller", metavar="ID",
            help="A seller connected in the vault (its selling partner id); default: the "
                 "profile's own refresh token")] = None,
        api: Annotated[str, typer.Option(
            "--api", metavar="VERSION", help="Orders API: 2026-01-01 or v0.")] = "2026-01-01",
        marketplace: Annotated[list[str] | None, typer.Option(
            "--marketplace", metavar="CODE",
            help="Only these marketplaces (repeatable; v0 default: all the seller's)")] = None,
        overlap: Annotated[str, typer.Option(
            "--overlap", metavar="DURATION",
            help="Re-read this far before the last run's end (Amazon's search is eventually "
                 "consistent).")] = "10m",
        page_size: Annotated[int, typer.Option(
            "--page-size", metavar="N", help="Orders per page (1-100).")] = 100,
        no_pii: Annotated[bool, typer.Option(
            "--no-pii", help="v0: skip the buyer info and address calls (no RDTs).")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                           ] = False,
        profile: ProfileOpt = None,
        region: RegionOpt = None,
        vault: VaultOpt = None,
        key: KeyOpt = None,
        user: UserOpt = None,
        rate_limiter: RateLimiterOpt = "sqlite",
    ) -> None:
        """Pull the orders updated since the last run (items, buyer info, addresses) into the
        vault. Each page is stored with the checkpoint in one transaction: a run killed at
        any point resumes where it stopped."""
        from sellerkit.cli.call_cmd import _close_limiter, make_limiter
        from sellerkit.cli.reports_cmd import parse_since
        from sellerkit.cli.vault_cmd import acting_user, open_vault
        from sellerkit.regions import get_marketplace
        from sellerkit.sync import API_2026, API_V0, sync_orders

        if api not in (API_2026, API_V0):
            raise ConfigurationError(f"--api {api!r}: use 2026-01-01 or v0")
        if not 1 <= page_size <= 100:
            raise ConfigurationError("--page-size must be between 1 and 100")
        start = parse_since(since, "--since") if since else None
        gap = _duration(overlap, "--overlap")
        mps = [get_marketplace(m).id for m in marketplace or []]
        limiter, save = make_limiter(rate_limiter)
        v = open_vault(vault, key)
        try:
            actor = acting_user(v, user)
            sp = _client(v, actor, seller, profile, region,
                         limiter if limiter is not None else False)
            with sp, _progress_bar(as_json) as bar:
                summary = sync_orders(v, sp, actor=actor, api=api, since=start, overlap=gap,
                                      marketplace_ids=mps or None, page_size=page_size,
                                      pii=not no_pii, progress=bar)
        finally:
            _close_limiter(limiter, save)
            v.close()
        if as_json:
            sys.stdout.write(json.dumps(summary.to_dict(), default=str) + "\n")
        else:
            _print_summary(summary)


def _client(v: Any, actor: Any, seller: str | None, profile: str | None, region: str | None,
            limiter: Any) -> Any:
    from sellerkit import SellingPartner
    from sellerkit.config import load_settings

    labels = {"profile": "--profile", "region": "--region"}
    if seller:
        reg = region or load_settings(profile=profile, labels=labels).resolve_endpoint(
        ).region_name
        return SellingPartner.for_seller(seller, reg, vault=v, profile=profile, actor=actor,
                                         rate_limiter=limiter)
    settings = load_settings(profile=profile, labels=labels, region=region)
    if settings.refresh_token is None:
        raise ConfigurationError(
            "no refresh token: pass --seller ID for a seller connected in the vault, or give "
            "the profile a refresh_token (a self-authorized seller)")
    sp = SellingPartner(settings=settings, rate_limiter=limiter)
    sp.selling_partner_id = self_seller_key(settings.profile)
    return sp
