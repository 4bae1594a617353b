"""``sellerkit call KEY --param NAME=VALUE ... [--body FILE] [--json] [--paginate]``: call any
operation.

Credentials and endpoint come from the usual configuration (flags > environment > profile);
parameter values are parsed by the operation's catalog types (lists are comma-separated or the
option repeated). Marketplace codes (``US``, ``DE``) work wherever a marketplace id does.

Rate limits are shared between consecutive ``sellerkit call`` processes through a SQLite file in
the user state directory (``--rate-limiter`` / ``SELLERKIT_RATE_LIMITER`` choose another
backend), so a loop of calls paces itself instead of drawing 429s.

Output: the response body goes to stdout (pretty JSON, or indented JSON with ``--json``; one
JSON document per line with ``--paginate``); the status line (HTTP status, request id) goes to
stderr, so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sellerkit.cli._options import EndpointOpt, LwaEndpointOpt, ProfileOpt, RateLimiterOpt, RegionOpt
from sellerkit.errors import ConfigurationError

if TYPE_CHECKING:
    from sellerkit.ratelimit import LimiterBase

__all__ = ["make_limiter", "parse_params", "register"]

_TYPE_WORDS = {"integer": "an integer", "number": "a number", "boolean": "true or false"}

#: The flags of ``call`` that set client settings, for messages (see sellerkit.cli._errors).
_LABELS = {"profile": "--profile", "marketplace": "--marketplace", "region": "--region",
           "endpoint": "--endpoint", "lwa_endpoint": "--lwa-endpoint", "sandbox": "--sandbox"}


def parse_params(op: Any, pairs: list[str]) -> dict[str, Any]:
    """Turn ``NAME=VALUE`` strings into wire-named values typed by the catalog."""
    from sellerkit.catalog.validation import did_you_mean

    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--param {pair!r} is not NAME=VALUE")
        p = op.params_by_name.get(name) or op.params_by_py_name.get(name)
        if p is None or p.location == "body":
            known = ", ".join(x.name for x in op.params if x.location != "body") or "none"
            body = " (the request body goes in --body FILE)" if p is not None else ""
            raise ConfigurationError(f"{name!r} is not a parameter of {op.key}{body}"
                                     f"{did_you_mean(name, op)}; known: {known}")
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
        raise ConfigurationError(
            f"--param {name}={text!r} is not {_TYPE_WORDS.get(typ or '', typ)}") from None
    if typ == "boolean":
        if text.lower() not in ("true", "false"):
            raise ConfigurationError(f"--param {name}={text!r} is not true or false")
        return text.lower() == "true"
    return text


def make_limiter(spec: str) -> tuple[LimiterBase | None, bool]:
    """The rate limiter ``--rate-limiter SPEC`` asks for, and whether the CLI must save its
    snapshot itself (only the in-process one). ``sqlite`` (default), ``sqlite:PATH``,
    ``memory``, ``off`` or a Redis URL."""
    text = spec.strip()
    low = text.lower()
    if low in ("", "sqlite"):
        from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter

        return SQLiteRateLimiter(), False
    if low.startswith("sqlite:"):
        from sellerkit.ratelimit.sqlite_backend import SQLiteRateLimiter

        return SQLiteRateLimiter(text[len("sqlite:"):]), False
    if low == "memory":
        from sellerkit.ratelimit import RateLimiter

        return RateLimiter(), True
    if low in ("off", "none"):
        return None, False
    if low.startswith(("redis://", "rediss://", "unix://")):
        try:
            from sellerkit.ratelimit.redis_backend import RedisRateLimiter

            return RedisRateLimiter(text), False
        except ImportError:
            raise ConfigurationError("--rate-limiter redis://... needs the redis package: "
                                     "pip install 'sellerkit[redis]'") from None
    raise ConfigurationError(
        f"--rate-limiter {spec!r} is not understood; use sqlite (the default, shared by "
        "consecutive commands), sqlite:PATH, memory, off or a Redis URL (redis://host:6379/0)")


def _close_limiter(limiter: Any, save: bool) -> None:
    if limiter is None:
        return
    if save and limiter.snapshot():  # a call that failed before any request keeps the old one
        try:
            limiter.save_snapshot()
        except OSError:
            pass
    close = getattr(limiter, "close", None)
    if close is not None:
        close()


def _document(r: Any) -> Any:
    """The whole JSON document of a response."""
    return r.body


def _split_elements(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [x.strip() for v in values for x in v.split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command("call")
    def call(
        key: Annotated[str, typer.Argument(metavar="KEY",
                                           help="Operation key, e.g. orders_v0.getOrders")],
        param: Annotated[list[str] | None, typer.Option(
            "--param", "-p", metavar="NAME=VALUE",
            help="A parameter (repeatable; lists comma-separated; marketplace codes such as "
                 "US work for marketplace ids).")] = None,
        body: Annotated[Path | None, typer.Option(
            "--body", metavar="FILE", help="JSON file with the request body.")] = None,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print the body as JSON; errors become one JSON object on stderr."
        )] = False,
        paginate: Annotated[bool, typer.Option(
            "--paginate", help="Follow next tokens; print each item as one JSON line.")] = False,
        pages: Annotated[bool, typer.Option(
            "--pages", help="With --paginate: print each whole page as one JSON line.")
        ] = False,
        items: Annotated[str | None, typer.Option(
            "--items", metavar="FIELD",
            help="With --paginate: the list field that holds the items (when not obvious).")
        ] = None,
        timeout: Annotated[float | None, typer.Option(
            "--timeout", metavar="SECONDS", min=0.001,
            help="Bound each HTTP attempt (connect, send, read).")] = None,
        max_wait: Annotated[float | None, typer.Option(
            "--max-wait", metavar="SECONDS", min=0,
            help="Bound the wait for rate-limit capacity (0: fail fast; default: wait as long "
                 "as the quota requires).")] = None,
        rdt_elements: Annotated[list[str] | None, typer.Option(
            "--rdt-elements", metavar="NAMES",
            help="Data elements for the Restricted Data Token, e.g. buyerInfo,shippingAddress.")
        ] = None,
        no_rdt: Annotated[bool, typer.Option(
            "--no-rdt", help="Call a restricted operation without an RDT (no buyer data).")
        ] = False,
        profile: ProfileOpt = None,
        marketplace: Annotated[str | None, typer.Option(
            "--marketplace", metavar="CODE", help="e.g. US, DE, JP (or a marketplace id).")
        ] = None,
        region: RegionOpt = None,
        endpoint: EndpointOpt = None,
        lwa_endpoint: LwaEndpointOpt = None,
        sandbox: Annotated[bool, typer.Option(
            "--sandbox", help="Use Amazon's sandbox hosts.")] = False,
        rate_limiter: RateLimiterOpt = "sqlite",
    ) -> None:
        """Call one SP-API operation and print the response."""
        from sellerkit import SellingPartner
        from sellerkit.catalog import get_catalog
        from sellerkit.client.options import CallOptions
        from sellerkit.config import load_settings

        op = get_catalog().operation(key)
        values = parse_params(op, param or [])
        if body is not None:
            if op.body_param is None:
                raise ConfigurationError(f"{op.key} takes no request body; drop --body")
            try:
                values[op.body_param.name] = json.loads(body.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ConfigurationError(f"cannot read --body {body}: {exc.strerror}") from None
            except ValueError as exc:
                raise ConfigurationError(f"--body {body} is not valid JSON: {exc}") from None
        if (pages or items) and not paginate:
            raise ConfigurationError("--pages and --items go with --paginate")
        if pages and items:
            raise ConfigurationError("--pages prints whole pages; drop --items, or --pages")
        if paginate and op.pagination is None:
            raise ConfigurationError(f"{op.key} does not paginate; drop --paginate")
        elements = _split_elements(rdt_elements)
        if no_rdt and elements is not None:
            raise ConfigurationError("--no-rdt and --rdt-elements exclude each other")
        opts: dict[str, Any] = {}
        if timeout is not None:
            opts["timeout"] = timeout
        if max_wait is not None:
            opts["max_wait"] = max_wait
        if elements is not None:
            opts["rdt_data_elements"] = elements
        if no_rdt:
            opts["rdt"] = False
        options = CallOptions(**opts)

        given: dict[str, Any] = {
            k: v for k, v in dict(marketplace=marketplace, region=region, endpoint=endpoint,
                                  lwa_endpoint=lwa_endpoint).items() if v is not None}
        if sandbox:
            given["sandbox"] = True
        settings = load_settings(profile=profile, labels=_LABELS, **given)
        limiter, save = make_limiter(rate_limiter)
        try:
            use: Any = limiter if limiter is not None else False
            with SellingPartner(settings=settings, rate_limiter=use) as sp:
                if paginate:
                    _run_paginated(sp, op, values, options, pages=pages, items=items,
                                   quiet=as_json)
                    return
                r = sp.call(op.key, options=options, **values)
        finally:
            _close_limiter(limiter, save)
        _print_response(r, op.key, as_json)


def _status(text: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def _print_response(r: Any, key: str, as_json: bool) -> None:
    doc = _document(r)
    if not as_json:
        _status(f"[green]{r.status}[/green] {key}  request id {r.request_id}"
                + (f"  rate limit {r.rate_limit:g}/s" if r.rate_limit is not None else ""))
    if doc is not None:
        if as_json:
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            from rich.console import Console

            Console(soft_wrap=True).print_json(data=doc)
    elif r.content:
        sys.stdout.write(r.content.decode("utf-8", "replace"))
    sys.stdout.flush()


def _run_paginated(sp: Any, op: Any, values: dict[str, Any], options: Any, *, pages: bool,
                   items: str | None, quiet: bool) -> None:
    """JSON Lines on stdout, flushed per line: what was fetched stays printed if a later page
    fails."""
    count = 0
    mode: bool | str = False if pages else (items or True)
    for entry in sp.paginate(op.key, items=mode, options=options, **values):
        doc = _document(entry) if pages else entry
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        count += 1
    if not quiet:
        _status(f"[green]done[/green] {op.key}: {count} {'page' if pages else 'item'}"
                f"{'' if count == 1 else 's'}")

