"""``sellerkit operations`` and ``sellerkit marketplaces``: what the toolkit knows, as tables or
JSON. The catalog is loaded inside the commands, not at import, to keep ``--help`` fast.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sellerkit.catalog import Catalog, Operation

__all__ = ["marketplace_rows", "marketplaces_table", "operations_table", "register",
           "select_operations"]

_JSON_HELP = "Print a JSON array instead of a table."


def _normalise(name: str) -> str:
    # Accept what people type: ordersV0, orders-v0, Orders_V0, catalogItems, catalog-items.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return snake.replace("-", "_").lower()


def select_operations(catalog: Catalog, api: str | None) -> list[Operation]:
    """The operations of ``api`` (an API name such as ``orders``, covering every version, or an
    api_key such as ``orders_v0``), or all of them. Unknown names raise ``typer.BadParameter``
    listing the closest names."""
    ops = list(catalog)
    if api is None:
        return ops
    wanted = _normalise(api)
    by_key = [op for op in ops if op.api_key == wanted]
    if by_key:
        return by_key
    by_api = [op for op in ops if op.api == wanted]
    if by_api:
        return by_api
    names = sorted({op.api for op in ops} | {op.api_key for op in ops})
    close = difflib.get_close_matches(wanted, names, n=4, cutoff=0.6)
    if not close:  # "inventory" should still find fba_inventory, ...
        close = [n for n in names if wanted in n][:4]
    hint = f"did you mean {', '.join(close)}?" if close else "see `sellerkit operations` for names"
    raise typer.BadParameter(f"unknown API {api!r}; {hint}", param_hint="'--api'")


def _rate(op: Operation) -> str:
    if op.rate is None:
        return "n/a" if op.plan == "placeholder" else "?"
    return f"{op.rate:g}"


def _flags(op: Operation) -> str:
    flags = []
    if op.restricted:
        flags.append("restricted")
    if op.grantless_scope:
        flags.append("grantless")
    if op.deprecated:
        flags.append("deprecated")
    if op.sandbox_only:
        flags.append("sandbox-only")
    return ", ".join(flags)


def marketplace_rows() -> list[dict[str, Any]]:
    """One record per marketplace, as ``sellerkit marketplaces --json`` prints them."""
    from sellerkit.regions import MARKETPLACES, REGIONS

    rows = []
    for m in MARKETPLACES.values():
        region = REGIONS[m.region]
        rows.append({
            "id": m.id,
            "country_code": m.country_code,
            "aliases": ["GB"] if m.country_code == "UK" else [],
            "country": m.country,
            "region": m.region,
            "endpoint": region.host,
            "sandbox_endpoint": region.sandbox_host,
            "aws_region": region.aws_region,
        })
    return rows


def operations_table(ops: list[Operation], width: int) -> Any:
    """The ``operations`` table for a terminal ``width`` columns wide. Keys and paths break only
    between their parts (after ``.``, ``_`` or ``/``, before a camelCase word) and numbers
    never wrap; when the request does not fit beside the operation, it goes below it."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from sellerkit.cli._text import break_identifier

    table = Table(title=f"{len(ops)} operation{'s' if len(ops) != 1 else ''}",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    key_width = max([len(op.key) for op in ops] + [len("operation")])
    request_width = max([len(op.method) + 1 + len(op.path) for op in ops] + [0])
    notes_width = max([len(w) for op in ops for w in _flags(op).split()] + [len("notes")])
    numbers = 6 + 5 + notes_width + 3 * 2  # rate/s, burst, notes and the gaps before them
    side_by_side = key_width + 2 + request_width + numbers <= width
    stack_width = max(16, width - numbers - 2)
    if side_by_side:
        table.add_column("operation", no_wrap=True)
        table.add_column("request", no_wrap=True)
    else:
        table.add_column("operation / request", no_wrap=True)
    table.add_column("rate/s", justify="right", no_wrap=True)
    table.add_column("burst", justify="right", no_wrap=True)
    table.add_column("notes", min_width=notes_width)
    for op in ops:
        request = f"{op.method} {op.path}"
        cells = [_rate(op), "" if op.burst is None else str(op.burst), _flags(op)]
        if side_by_side:
            table.add_row(op.key, request, *cells)
        else:
            name = Text(break_identifier(op.key, stack_width))
            name.append("\n" + break_identifier(request, stack_width), style="dim")
            table.add_row(name, *cells)
    return table


def marketplaces_table(rows: list[dict[str, Any]], width: int) -> Any:
    """The ``marketplaces`` table; under 100 columns the endpoint column gives way (it follows
    from the region; see ``region_endpoints``)."""
    from rich import box
    from rich.table import Table

    wide = width >= 100
    table = Table(title=f"{len(rows)} marketplaces", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ["id", "code", "country", "region"] + (["endpoint"] if wide else [])
    for column in columns:
        table.add_column(column, no_wrap=column != "country")
    for r in rows:
        code = r["country_code"] + "".join(f" / {a}" for a in r["aliases"])
        cells = [r["id"], code, r["country"], r["region"]]
        if wide:
            cells.append(r["endpoint"])
        table.add_row(*cells)
    return table


def region_endpoints(rows: list[dict[str, Any]]) -> list[str]:
    """One ``NA  sellingpartnerapi-na.amazon.com`` line per region, for narrow terminals."""
    return list(dict.fromkeys(f"{r['region']}  {r['endpoint']}" for r in rows))


def register(app: typer.Typer) -> None:
    """Add ``operations`` and ``marketplaces`` to ``app``."""

    @app.command("operations")
    def operations(
        api: Annotated[str | None, typer.Option(
            "--api", metavar="NAME",
            help="Only this API (orders: every version) or API version (orders_v0).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """List SP-API operations with their default rate limits (requests/second and burst)."""
        from sellerkit.catalog import get_catalog

        ops = select_operations(get_catalog(), api)
        if as_json:
            from sellerkit.cli import print_json

            print_json([op.summary() for op in ops])
            return
        from rich.console import Console

        console = Console()
        console.print(operations_table(ops, console.width))
        console.print("[dim]rate/s and burst are Amazon's published defaults; '?' = no usage plan "
                      "published, 'n/a' = placeholder.[/dim]")

    @app.command("marketplaces")
    def marketplaces(
        as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """List marketplaces: id, country, region and the endpoint that serves them."""
        rows = marketplace_rows()
        if as_json:
            from sellerkit.cli import print_json

            print_json(rows)
            return
        from rich.console import Console

        console = Console()
        console.print(marketplaces_table(rows, console.width))
        if console.width < 100:
            console.print("endpoints by region:\n  " + "\n  ".join(region_endpoints(rows)),
                          highlight=False)
        console.print("[dim]Use a code (case-insensitive) or id for --marketplace / "
                      "SELLERKIT_MARKETPLACE, and in any marketplace id parameter.[/dim]")
