"""``sellerkit feeds submit|listings``: submit a feed and wait for its processing report.

``feeds submit FILE --type TYPE`` uploads the file as it is (bytes untouched) with the content
type of ``--content-type`` (default by feed type: JSON for JSON_*, tab-separated for flat
files, XML otherwise; ``; charset=`` of ``--charset`` is added when it names none).
``feeds listings FILE.jsonl`` reads one listings message per line
(``{sku, operationType, productType, attributes|patches}``), builds a JSON_LISTINGS_FEED,
validates every message against Amazon's schema and only then submits it.

Progress (upload, feed id, status changes) goes to stderr; the result summary goes to stdout
(a table, or one JSON object with ``--json``). Exit status 0 when the feed was processed (DONE,
even if some messages failed: the summary lists them), 1 when Amazon refused it (FATAL, an
API error), 2 for a mistake to fix here (a flag, a file, an invalid message). A CANCELLED feed
exits 1 as well.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sellerkit.errors import ConfigurationError

__all__ = ["register"]

_LABELS = {"profile": "--profile", "marketplace": "--marketplace", "region": "--region",
           "endpoint": "--endpoint", "lwa_endpoint": "--lwa-endpoint"}

feeds_app = typer.Typer(help="Submit feeds and read their processing reports.",
                        no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the result as one JSON object; errors become one JSON object on "
                   "stderr.")]
MarketplaceOpt = Annotated[str | None, typer.Option(
    "--marketplace", metavar="CODE", help="e.g. US, DE, JP (or a marketplace id); default: the "
                                          "configured marketplace.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", metavar="NAME",
                                                help="Config profile.")]
RegionOpt = Annotated[str | None, typer.Option("--region", metavar="REGION",
                                               help="NA, EU or FE.")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint", metavar="URL", help="Override the SP-API host (e.g. the emulator).")]
LwaOpt = Annotated[str | None, typer.Option("--lwa-endpoint", metavar="URL",
                                            help="Override the LWA token URL.")]
CharsetOpt = Annotated[str, typer.Option(
    "--charset", metavar="NAME", help="The charset declared for the upload.")]
PollOpt = Annotated[float | None, typer.Option(
    "--poll-timeout", metavar="SECONDS", min=0.001,
    help="Stop waiting after this long (the feed keeps running at Amazon).")]
IntervalOpt = Annotated[float, typer.Option(
    "--poll-interval", metavar="SECONDS", min=0.001,
    help="First wait between getFeed calls; it grows to 60 s.")]
LimiterOpt = Annotated[str, typer.Option(
    "--rate-limiter", metavar="BACKEND", envvar="SELLERKIT_RATE_LIMITER",
    help="sqlite (shared by consecutive commands), sqlite:PATH, memory, off or a Redis URL.")]


def register(app: typer.Typer) -> None:
    app.add_typer(feeds_app, name="feeds")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def _say(text: str, quiet: bool) -> None:
    if quiet:
        return
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def _progress(quiet: bool) -> Any:
    def show(event: str, info: dict[str, Any]) -> None:
        if event == "uploaded":
            _say(f"uploaded {info['bytes']:,} bytes", quiet)
        elif event == "created":
            _say(f"feed {info['feedId']} created; waiting for Amazon to process it", quiet)
        elif event == "status":
            _say(f"feed {info['feedId']}: {info['status']}", quiet)
    return show


def _run(send: Any, *, as_json: bool, profile: str | None, marketplace: str | None,
         region: str | None, endpoint: str | None, lwa_endpoint: str | None,
         rate_limiter: str) -> None:
    from sellerkit import SellingPartner
    from sellerkit.cli.call_cmd import _close_limiter, make_limiter
    from sellerkit.config import load_settings

    flags = dict(marketplace=marketplace, region=region, endpoint=endpoint,
                 lwa_endpoint=lwa_endpoint)
    given: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    settings = load_settings(profile=profile, labels=_LABELS, **given)
    mp = settings.marketplace_id
    if mp is None:
        raise ConfigurationError("no marketplace for the feed: pass --marketplace CODE (US, DE, "
                                 "...) or set SELLERKIT_MARKETPLACE")
    limiter, save = make_limiter(rate_limiter)
    try:
        use: Any = limiter if limiter is not None else False
        with SellingPartner(settings=settings, rate_limiter=use) as sp:
            result = send(sp, [mp])
    finally:
        _close_limiter(limiter, save)
    _print(result, as_json)
    if not result.accepted:
        raise typer.Exit(1)


def _print(result: Any, as_json: bool) -> None:
    summary = result.summary()
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    from rich.console import Console
    from rich.text import Text

    out = Console(soft_wrap=True, highlight=False)
    colour = "green" if result.ok else ("yellow" if result.accepted else "red")
    line = Text(f"feed {result.feed_id} {result.status}", style=f"bold {colour}")
    rep = result.report
    if rep is not None:
        line.append(f"  processed {rep.messages_processed}, accepted {rep.messages_accepted}, "
                    f"invalid {rep.messages_invalid}  ({rep.format} report)", style="")
    out.print(line)
    if result.applied:
        out.print(Text(f"applied: messages {_ids(result.applied)}"))
    for issue in rep.feed_errors if rep else []:
        out.print(Text(f"  {issue.describe()}", style="red"))
    for issues in result.failed.values():
        for issue in issues:
            out.print(Text(f"  {issue.describe()}", style="red"))
    for issue in rep.warnings if rep else []:
        out.print(Text(f"  {issue.describe()}", style="yellow"))


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > 20 else "")


@feeds_app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The feed document to upload.")],
    feed_type: Annotated[str, typer.Option("--type", metavar="TYPE",
                                           help="Feed type, e.g. POST_ORDER_FULFILLMENT_DATA.")],
    content_type: Annotated[str | None, typer.Option(
        "--content-type", metavar="TYPE",
        help="Media type of the upload (default by feed type).")] = None,
    charset: CharsetOpt = "UTF-8",
    seller_id: Annotated[str | None, typer.Option(
        "--seller-id", metavar="ID", envvar="SELLERKIT_SELLER_ID",
        help="For a JSON_LISTINGS_FEED without header.sellerId: your merchant token.")] = None,
    poll_interval: IntervalOpt = 5.0,
    poll_timeout: PollOpt = None,
    as_json: JsonOpt = False,
    marketplace: MarketplaceOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint: EndpointOpt = None,
    lwa_endpoint: LwaOpt = None,
    rate_limiter: LimiterOpt = "sqlite",
) -> None:
    """Upload FILE as a feed of --type and wait for its processing report."""
    data = _read(file)
    content: Any = data
    if feed_type == "JSON_LISTINGS_FEED":  # validated before upload, like `feeds listings`
        try:
            content = json.loads(data.decode(charset))
        except (ValueError, LookupError) as exc:
            raise ConfigurationError(f"{file} is not {charset} JSON: {exc}") from None
        if not isinstance(content, dict):
            raise ConfigurationError(f"{file} is not a JSON_LISTINGS_FEED document "
                                     "({header, messages})")

    def send(sp: Any, mps: list[str]) -> Any:
        return sp.feeds.submit(feed_type, content, mps, content_type=content_type,
                               charset=charset, seller_id=seller_id,
                               poll_interval=poll_interval, poll_timeout=poll_timeout,
                               progress=_progress(as_json))
    _run(send, as_json=as_json, profile=profile, marketplace=marketplace, region=region,
         endpoint=endpoint, lwa_endpoint=lwa_endpoint, rate_limiter=rate_limiter)


@feeds_app.command("listings")
def listings(
    file: Annotated[Path, typer.Argument(
        metavar="FILE.jsonl",
        help="One message per line: {sku, operationType, productType, attributes|patches}.")],
    seller_id: Annotated[str | None, typer.Option(
        "--seller-id", metavar="ID", envvar="SELLERKIT_SELLER_ID",
        help="Your merchant token (header.sellerId).")] = None,
    charset: CharsetOpt = "UTF-8",
    poll_interval: IntervalOpt = 5.0,
    poll_timeout: PollOpt = None,
    as_json: JsonOpt = False,
    marketplace: MarketplaceOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint: EndpointOpt = None,
    lwa_endpoint: LwaOpt = None,
    rate_limiter: LimiterOpt = "sqlite",
) -> None:
    """Build a JSON_LISTINGS_FEED from FILE.jsonl, validate every message, submit it."""
    from sellerkit.workflows.feeds import ListingsFeed, read_listings_messages

    try:
        text = _read(file).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{file} is not UTF-8 text (byte {exc.start})") from None
    feed = ListingsFeed(seller_id)
    for message in read_listings_messages(text.splitlines(), source=str(file)):
        feed.add(message)
    _say(f"{len(feed):,} messages read from {file}", as_json)
    feed.validate()  # every problem, before credentials or the network are involved
    _say("all messages valid", as_json)

    def send(sp: Any, mps: list[str]) -> Any:
        return sp.feeds.submit("JSON_LISTINGS_FEED", feed, mps, charset=charset,
                               poll_interval=poll_interval, poll_timeout=poll_timeout,
                               progress=_progress(as_json))
    _run(send, as_json=as_json, profile=profile, marketplace=marketplace, region=region,
         endpoint=endpoint, lwa_endpoint=lwa_endpoint, rate_limiter=rate_limiter)
