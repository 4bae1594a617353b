"""``sellerkit limits [--json] [--file PATH | --db PATH | --redis URL]``: the rate limiter's
buckets.

Without options it shows the most recent of two records: the SQLite state that consecutive
``sellerkit call`` processes share (``sellerkit.ratelimit.sqlite_backend.default_db_path()``,
live: tokens are as of now) and the snapshot a Python client saved when it closed
(``sellerkit.ratelimit.default_snapshot_path()``). ``--file``, ``--db`` and ``--redis`` read one
source: a snapshot file, a SQLite state, the live buckets of a ``RedisRateLimiter``. Sellers
and applications appear only as the short opaque hashes the client keys buckets by, never as
credentials.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

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


def render_table(doc: dict[str, Any], *, wide: bool = True, width: int | None = None) -> Any:
    """A rich Table of a snapshot document; ``wide`` adds seconds waited and refusals.

    With ``width`` (the terminal's columns) and not ``wide``, layer and seller move under the
    operation, and names break only between their parts, so nothing is cut mid-word and no
    number wraps in 80 columns."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from sellerkit.cli._text import break_identifier

    saved = doc.get("saved_at")
    when = (_dt.datetime.fromtimestamp(saved, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if isinstance(saved, int | float) else "now")
    stacked = width is not None and not wide
    table = Table(title=f"rate-limit buckets ({doc.get('backend') or 'limiter'}, {when})",
                  caption="rate in requests/s (1/Ns: one per N seconds); tokens now/burst; "
                          "seller: hash prefix",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    cols = ["rate", "tokens", "calls", "waits", "429s"]
    if not stacked:
        cols = ["layer", "seller", *cols]
    if wide:
        cols += ["learned", "waited", "refused"]
    rows: list[tuple[str, str, str, list[str]]] = []
    for b in doc.get("buckets", []):
        layer = b.get("layer", "")
        api, _, op_id = str(b.get("operation", "")).rpartition(".")
        if layer == "report":
            api = str(b.get("detail", ""))  # the report type says more than the API here
        elif layer == "application":
            layer = "app"
        shown = {"layer": layer, "seller": _short(b.get("seller", "")),
                 "rate": _rate(b.get("rate")),
                 "tokens": f"{b.get('tokens', 0):.4g}/{b.get('burst', '')}",
                 "calls": str(b.get("acquired", 0)), "waits": str(b.get("waits", 0)),
                 "429s": str(b.get("throttles", 0)),
                 "learned": _rate(b.get("learned_rate")),
                 "waited": f"{b.get('wait_time', 0):.0f}s", "refused": str(b.get("rejected", 0))}
        who = {"seller": f"seller {shown['seller']}", "app": "application-wide",
               "report": "application-wide report quota"}.get(layer, layer)
        rows.append((op_id, api, who, [shown[c] for c in cols]))
    numbers = sum(max([len(c)] + [len(r[3][i]) for r in rows]) + 2 for i, c in enumerate(cols))
    name_width = max(16, (width or 200) - numbers - 2)
    table.add_column("operation", no_wrap=True)
    for col in cols:
        table.add_column(col, justify="left" if col in ("layer", "seller") else "right",
                         no_wrap=True)
    for op_id, api, who, cells in rows:
        name = Text(break_identifier(op_id, name_width))
        if api:
            name.append("\n" + break_identifier(api, name_width), style="dim")
        if stacked:
            name.append("\n" + who, style="dim")
        table.add_row(name, *cells)
    return table


def _read_file(path: Path, *, named: bool) -> dict[str, Any] | None:
    """The snapshot at ``path``, or None when there is none; unreadable files are user errors
    that say which file and what to do."""
    from sellerkit.errors import ConfigurationError
    from sellerkit.ratelimit import read_snapshot

    what = "--file" if named else "the limits snapshot"
    fix = ("pass a snapshot written by sellerkit (RateLimiter.save_snapshot() or a client's "
           "close()), or leave --file out" if named else
           "it is rewritten when a client closes; delete it if it is damaged")
    try:
        doc = read_snapshot(path)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{what} {path} is not JSON ({exc.msg} at line {exc.lineno}, "
                                 f"column {exc.colno}); {fix}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{what} {path} is not a text file; {fix}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{what} {path} is a directory; name the snapshot file "
                                 "(limits.json) itself") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError as exc:  # valid JSON, but not a snapshot
        raise ConfigurationError(f"{exc}; {fix}") from None
    if doc is None and named:
        raise ConfigurationError(f"--file {path} does not exist")
    return doc


def _read_db(path: Path) -> dict[str, Any] | None:
    """The live buckets of the SQLite state the CLI shares between commands, or None."""
    if not path.is_file():
        return None
    from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter

    with SQLiteRateLimiter(path) as limiter:
        buckets = [s.to_dict() for s in limiter.snapshot()]
        used = limiter.last_used()
    if not buckets:
        return None
    return {"version": 1, "saved_at": used, "backend": "SQLiteRateLimiter (shared)",
            "source": str(path), "buckets": buckets}


def register(app: typer.Typer) -> None:
    @app.command("limits")
    def limits(
        as_json: Annotated[bool, typer.Option("--json", help="Print the buckets as JSON.")
                           ] = False,
        file: Annotated[Path | None, typer.Option(
            "--file", metavar="PATH", help="Read this snapshot file (RateLimiter.save_snapshot()).")
        ] = None,
        db: Annotated[Path | None, typer.Option(
            "--db", metavar="PATH",
            help="Read this SQLite state (default: the one `sellerkit call` shares).")] = None,
        redis_url: Annotated[str | None, typer.Option(
            "--redis", metavar="URL", help="Read the live buckets from this Redis.")] = None,
        prefix: Annotated[str, typer.Option(
            "--prefix", help="Key prefix of the Redis buckets.")] = "sellerkit:rl:",
    ) -> None:
        """Show the rate limiter's buckets: rate, burst, tokens, waits, 429s.

        Without options: the most recent of the state `sellerkit call` shares between commands
        and the snapshot a Python client saved when it closed."""
        from sellerkit.errors import ConfigurationError
        from sellerkit.ratelimit import default_snapshot_path
        from sellerkit.ratelimit.sqlite_backend import default_db_path

        if sum(x is not None for x in (file, db, redis_url)) > 1:
            raise ConfigurationError("--file, --db and --redis each name one source; pick one")
        doc: dict[str, Any] | None
        where: str
        if redis_url:
            from sellerkit.ratelimit.redis_backend import RedisRateLimiter

            limiter = RedisRateLimiter(redis_url, prefix=prefix)
            try:
                doc = {"version": 1, "saved_at": None, "backend": "RedisRateLimiter (live)",
                       "buckets": [s.to_dict() for s in limiter.snapshot()]}
            finally:
                limiter.close()
            where = f"Redis under {prefix!r}"
        elif db is not None:
            if not db.is_file():
                raise ConfigurationError(f"--db {db} does not exist")
            doc, where = _read_db(db), str(db)
        elif file is not None:
            doc, where = _read_file(file, named=True), str(file)
        else:
            snap_path, db_path = default_snapshot_path(), default_db_path()
            shared = _read_db(db_path)
            snap = _read_file(snap_path, named=False)
            candidates = [d for d in (shared, snap) if d is not None]
            doc = max(candidates, key=lambda d: float(d.get("saved_at") or 0.0),
                      default=None)
            where = f"{db_path} or {snap_path}"
        if doc is None:
            if as_json:
                sys.stdout.write(json.dumps({"version": 1, "buckets": []}) + "\n")
                return
            typer.echo(f"no rate-limit snapshot yet ({where}); `sellerkit call` records it as it "
                       "goes, a Python client saves it when it closes (or "
                       "RateLimiter.save_snapshot())", err=True)
            return
        if as_json:
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            return
        from rich.console import Console

        console = Console()
        console.print(render_table(doc, wide=console.width >= 120, width=console.width))
