"""``sellerkit call KEY --param NAME=VALUE ... [--body FILE] [--json]``: call any operation.

Credentials and endpoint come from the usual configuration (arguments > environment > profile);
parameter values are parsed by the operation's catalog types (lists are comma-separated or the
option repeated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from sellerkit.errors import ApiError, ConfigurationError


def parse_params(op: Any, pairs: list[str]) -> dict[str, Any]:
    """Turn ``NAME=VALUE`` strings into wire-named values typed by the catalog."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--param {pair!r} is not NAME=VALUE")
        p = op.params_by_name.get(name) or op.params_by_py_name.get(name)
        if p is None:
            known = ", ".join(x.name for x in op.params if x.location != "body") or "none"
            raise ConfigurationError(f"{name!r} is not a parameter of {op.key} (known: {known})")
        if p.type == "array":
            items = [x for x in raw.split(",") if x != ""]
            item_type = (p.items or {}).get("type")
            values.setdefault(p.name, []).extend(_scalar(x, item_type, p.name) for x in items)
        else:
            values[p.name] = _scalar(raw, p.type, p.name)
    return values


def _scalar(text: str, typ: str | None, name: str) -> Any:
    try:
        if typ == "integer":
            return int(text)
        if typ == "number":
            return float(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a {typ}") from None
    if typ == "boolean":
        if text.lower() not in ("true", "false"):
            raise ConfigurationError(f"{name}={text!r} is not true or false")
        return text.lower() == "true"
    return text


def register(app: typer.Typer) -> None:
    @app.command("call")
    def call(
        key: str = typer.Argument(..., help="Operation key, e.g. orders_v0.getOrders"),
        param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE (repeatable)"),
        body: Path | None = typer.Option(None, "--body", help="JSON file with the request body"),
        as_json: bool = typer.Option(False, "--json", help="Print the response as JSON"),
        profile: str | None = typer.Option(None, "--profile", help="Config profile"),
        marketplace: str | None = typer.Option(None, "--marketplace", help="e.g. US, DE, JP"),
        region: str | None = typer.Option(None, "--region", help="NA, EU or FE"),
        endpoint: str | None = typer.Option(None, "--endpoint", help="Override the SP-API host"),
        lwa_endpoint: str | None = typer.Option(None, "--lwa-endpoint",
                                                help="Override the LWA token URL"),
        sandbox: bool = typer.Option(False, "--sandbox", help="Use Amazon's sandbox hosts"),
    ) -> None:
        """Call one SP-API operation and print the response."""
        from sellerkit import SellingPartner
        from sellerkit.catalog import get_catalog

        op = get_catalog().operation(key)
        values = parse_params(op, param)
        if body is not None:
            if op.body_param is None:
                raise ConfigurationError(f"{op.key} takes no request body")
            try:
                values[op.body_param.name] = json.loads(body.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ConfigurationError(f"cannot read --body {body}: {exc.strerror}") from None
            except ValueError as exc:
                raise ConfigurationError(f"--body {body} is not valid JSON: {exc}") from None
        kwargs: dict[str, Any] = {k: v for k, v in dict(
            profile=profile, marketplace=marketplace, region=region, endpoint=endpoint,
            lwa_endpoint=lwa_endpoint).items() if v is not None}
        if sandbox:
            kwargs["sandbox"] = True
        with SellingPartner(**kwargs) as sp:
            try:
                r = sp.call(op.key, **values)
            except ApiError as err:
                _print_error(err, as_json)
                raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(r.body, indent=2, ensure_ascii=False))
            return
        from rich.console import Console

        console = Console()
        console.print(f"[green]{r.status}[/green] {op.key}  request id {r.request_id}"
                      + (f"  rate limit {r.rate_limit}/s" if r.rate_limit is not None else ""))
        if r.body is not None:
            console.print_json(data=r.body)
        elif r.content:
            sys.stdout.write(r.content.decode("utf-8", "replace"))


def _print_error(err: ApiError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"status": err.status, "code": err.code, "message": err.message,
                               "details": err.details, "request_id": err.request_id,
                               "errors": err.errors}, indent=2))
    else:
        typer.secho(str(err), fg="red", err=True)


__all__ = ["parse_params", "register"]
