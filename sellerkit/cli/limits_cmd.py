"""``sellerkit limits [--json] [--file PATH] [--redis URL]``: the rate limiter's buckets.

Without ``--redis`` it shows the snapshot the last run saved (clients save it when they close,
to ``sellerkit.ratelimit.default_snapshot_path()``); with ``--redis`` it reads the live, shared
buckets of a ``RedisRateLimiter``. Sellers and applications appear only as the short opaque
hashes the client keys buckets by, never as credentials.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["register", "render_table"]


def _short(value: str) -> str:
    return value[:6] if value else "-"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}/s"
    return f"{value:.3g}/s" if value >= 0.01 else f"1/{1 / value:.0f}s"


def render_table(doc: dict[str, Any], *, wide: bool = True) -> Any:
    """A rich Table of a snapshot document; ``wide`` adds seconds waited and refusals."""
    from rich import box
    from rich.table import Table

    saved = doc.get("saved_at")
    when = (_dt.datetime.fromtimestamp(saved, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if isinstance(saved, int | float) else "now")
    table = Table(title=f"rate-limit buckets ({doc.get('backend') or 'limiter'}, {when})",
                  caption="rate in requests/s (1/Ns: one per N seconds); tokens now/burst; "
                          "seller: hash prefix",
                  box=box.SIMPLE_HEAD)
    table.add_column("operation", min_width=10, ratio=1, overflow="fold")
    cols = ["layer", "seller", "rate", "tokens", "calls", "waits", "429s"]
    if wide:
        cols += ["learned", "waited", "refused"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("layer", "seller") else "right",
                         overflow="fold")
    for b in doc.get("buckets", []):
        layer = b.get("layer", "")
        api, _, op_id = str(b.get("operation", "")).rpartition(".")
        if layer == "report":
            api = str(b.get("detail", ""))  # the report type says more than the API here
        elif layer == "application":
            layer = "app"
        row = [f"{op_id}\n[dim]{api}[/dim]" if api else op_id, layer,
               _short(b.get("seller", "")), _rate(b.get("rate")),
               f"{b.get('tokens', 0):.4g}/{b.get('burst', '')}", str(b.get("acquired", 0)),
               str(b.get("waits", 0)),
               str(b.get("throttles", 0))]
        if wide:
            row += [_rate(b.get("learned_rate")), f"{b.get('wait_time', 0):.0f}s",
                    str(b.get("rejected", 0))]
        table.add_row(*row)
    return table


def register(app: typer.Typer) -> None:
    @app.command("limits")
    def limits(
        as_json: bool = typer.Option(False, "--json", help="Print the buckets as JSON"),
        file: Path | None = typer.Option(None, "--file",
                                         help="Snapshot file (default: the state directory)"),
        redis_url: str | None = typer.Option(None, "--redis",
                                             help="Read the live buckets from this Redis"),
        prefix: str = typer.Option("sellerkit:rl:", "--prefix",
                                   help="Key prefix of the Redis buckets"),
    ) -> None:
        """Show the rate limiter's buckets: rate, burst, tokens, waits, 429s."""
        from sellerkit.ratelimit import default_snapshot_path, read_snapshot

        if redis_url:
            from sellerkit.ratelimit.redis_backend import RedisRateLimiter

            limiter = RedisRateLimiter(redis_url, prefix=prefix)
            try:
                doc: dict[str, Any] | None = {
                    "version": 1, "saved_at": None, "backend": "RedisRateLimiter (live)",
                    "buckets": [s.to_dict() for s in limiter.snapshot()]}
            finally:
                limiter.close()
        else:
            path = file or default_snapshot_path()
            try:
                doc = read_snapshot(path)
            except ValueError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(2) from None
            if doc is None:
                if as_json:
                    sys.stdout.write(json.dumps({"version": 1, "buckets": []}) + "\n")
                    return
                typer.echo(f"no rate-limit snapshot yet at {path}; it is written when a client "
                           "closes (or by RateLimiter.save_snapshot())")
                return
        assert doc is not None
        if as_json:
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            return
        from rich.console import Console

        console = Console()
        console.print(render_table(doc, wide=console.width >= 120))
