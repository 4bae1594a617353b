"""``sellerkit notifications destinations|subscribe|parse``: notification destinations,
idempotent subscriptions, and reading a notification message.

- ``destinations [--json]`` lists the application's destinations (grantless).
- ``subscribe TYPE --destination ID | --sqs-arn ARN [--payload-version V] [--replace]
  [--json]`` subscribes through ``sp.notifications.ensure_subscription``: run it twice and the
  second run reports the existing subscription. With ``--sqs-arn`` the destination for that
  queue is reused or created first (``--name`` labels a new one).
- ``listen --queue-url URL [--handler module:function]`` consumes an SQS queue
  (``sellerkit.workflows.notification_consumer``): long polling, delete after the handler
  succeeds, visibility extended while it runs, de-duplication by notification id, poison
  messages to ``--dead-letter-queue-url`` after ``--max-receives``. Without ``--handler`` each
  notification is printed as one JSON line. Ctrl-C stops it; the counts go to stderr.
- ``parse FILE [--json] [--lenient]`` reads a notification (``-`` for stdin): an envelope in
  either casing, an SQS message, an EventBridge event; a file of JSON Lines gives one result per
  line.

Results go to stdout, status lines to stderr; with ``--json`` stdout is JSON and stderr holds
only an error object, if any (docs/cli.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

_LABELS = {"profile": "--profile", "marketplace": "--marketplace", "region": "--region",
           "endpoint": "--endpoint", "lwa_endpoint": "--lwa-endpoint", "sandbox": "--sandbox"}

Profile = Annotated[str | None, typer.Option("--profile", metavar="NAME", help="Config profile.")]
Region = Annotated[str | None, typer.Option("--region", metavar="REGION", help="NA, EU or FE.")]
Marketplace = Annotated[str | None, typer.Option(
    "--marketplace", metavar="CODE", help="e.g. US, DE, JP (or a marketplace id).")]
Endpoint = Annotated[str | None, typer.Option(
    "--endpoint", metavar="URL", help="Override the SP-API host (e.g. the emulator).")]
LwaEndpoint = Annotated[str | None, typer.Option(
    "--lwa-endpoint", metavar="URL", help="Override the LWA token URL.")]
Sandbox = Annotated[bool, typer.Option("--sandbox", help="Use Amazon's sandbox hosts.")]
Limiter = Annotated[str, typer.Option(
    "--rate-limiter", metavar="BACKEND", envvar="SELLERKIT_RATE_LIMITER",
    help="sqlite (shared by consecutive commands), sqlite:PATH, memory, off or a Redis URL.")]
AsJson = Annotated[bool, typer.Option(
    "--json", help="Print JSON; errors become one JSON object on stderr.")]


def _status(text: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


class _Client:
    """A SellingPartner from the usual configuration, with the CLI's shared rate limiter."""

    def __init__(self, **given: Any) -> None:
        self.given = {k: v for k, v in given.items() if k != "rate_limiter" and v not in (
            None, False)}
        self.spec = given.get("rate_limiter") or "sqlite"

    def __enter__(self) -> Any:
        from sellerkit import SellingPartner
        from sellerkit.cli.call_cmd import make_limiter
        from sellerkit.config import load_settings

        profile = self.given.pop("profile", None)
        settings = load_settings(profile=profile, labels=_LABELS, **self.given)
        self.limiter, self.save = make_limiter(self.spec)
        use: Any = self.limiter if self.limiter is not None else False
        self.sp = SellingPartner(settings=settings, rate_limiter=use)
        return self.sp

    def __exit__(self, *exc: object) -> None:
        from sellerkit.cli.call_cmd import _close_limiter

        try:
            self.sp.close()
        finally:
            _close_limiter(self.limiter, self.save)


def _write_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _read(path: str) -> str:
    from sellerkit.errors import ConfigurationError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def _documents(text: str, path: str) -> list[Any]:
    """One JSON document, or JSON Lines (one per non-empty line)."""
    from sellerkit.workflows.notification_types import NotificationParseError

    try:
        return [json.loads(text)]
    except ValueError as whole:
        lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise NotificationParseError(f"{path} is not valid JSON: {whole}") from None
        docs = []
        for i, line in lines:
            try:
                docs.append(json.loads(line))
            except ValueError as exc:
                raise NotificationParseError(
                    f"{path} line {i} is not valid JSON: {exc}") from None
        return docs


def register(app: typer.Typer) -> None:
    # the root's group class: bare on/off flags in help (defined before main registers us)
    from sellerkit.cli.main import SellerkitGroup

    group = typer.Typer(name="notifications", no_args_is_help=True, cls=SellerkitGroup,
                        help="Notification destinations, subscriptions and messages.")
    app.add_typer(group, name="notifications")

    @group.command("destinations")
    def destinations(as_json: AsJson = False, profile: Profile = None,
                     marketplace: Marketplace = None, region: Region = None,
                     endpoint: Endpoint = None, lwa_endpoint: LwaEndpoint = None,
                     sandbox: Sandbox = False, rate_limiter: Limiter = "sqlite") -> None:
        """List the application's notification destinations."""
        with _Client(profile=profile, marketplace=marketplace, region=region, endpoint=endpoint,
                     lwa_endpoint=lwa_endpoint, sandbox=sandbox,
                     rate_limiter=rate_limiter) as sp:
            found = sp.notifications.destinations()
        if as_json:
            _write_json([{k: v for k, v in d.to_dict().items() if k != "created"}
                         for d in found])
            return
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("destination id", "name", "kind", "resource"):
            table.add_column(col, overflow="fold")
        for d in found:
            table.add_row(d.destination_id, d.name, d.kind, d.arn or d.event_source or "")
        Console(soft_wrap=True).print(table)
        _status(f"{len(found)} destination{'' if len(found) == 1 else 's'}")

    @group.command("subscribe")
    def subscribe(
        notification_type: Annotated[str, typer.Argument(
            metavar="TYPE", help="The notification type, e.g. ORDER_CHANGE.")],
        destination: Annotated[str | None, typer.Option(
            "--destination", metavar="ID", help="An existing destination id.")] = None,
        sqs_arn: Annotated[str | None, typer.Option(
            "--sqs-arn", metavar="ARN",
            help="An SQS queue ARN: its destination is reused, or created first.")] = None,
        name: Annotated[str, typer.Option(
            "--name", metavar="NAME", help="With --sqs-arn: the name of a new destination.")
        ] = "sellerkit",
        payload_version: Annotated[str | None, typer.Option(
            "--payload-version", metavar="VERSION",
            help="Default: the newest sellerkit knows for the type.")] = None,
        replace: Annotated[bool, typer.Option(
            "--replace", help="Move an existing subscription on another destination here.")
        ] = False,
        as_json: AsJson = False, profile: Profile = None, marketplace: Marketplace = None,
        region: Region = None, endpoint: Endpoint = None, lwa_endpoint: LwaEndpoint = None,
        sandbox: Sandbox = False, rate_limiter: Limiter = "sqlite",
    ) -> None:
        """Subscribe to a notification type (idempotent: an existing subscription is reported)."""
        from sellerkit.errors import ConfigurationError

        if (destination is None) == (sqs_arn is None):
            raise ConfigurationError("pass exactly one of --destination ID and --sqs-arn ARN")
        with _Client(profile=profile, marketplace=marketplace, region=region, endpoint=endpoint,
                     lwa_endpoint=lwa_endpoint, sandbox=sandbox,
                     rate_limiter=rate_limiter) as sp:
            target: Any = destination
            dest_doc = None
            if sqs_arn is not None:
                target = sp.notifications.ensure_destination(name, sqs_arn=sqs_arn)
                dest_doc = target.to_dict()
                if not as_json:
                    _status(f"destination {target.destination_id} "
                            f"({'created' if target.created else 'existing'}) for {sqs_arn}")
            sub = sp.notifications.ensure_subscription(
                notification_type, target, payload_version=payload_version, replace=replace)
        if as_json:
            doc = sub.to_dict()
            if dest_doc is not None:
                doc["destination"] = dest_doc
            _write_json(doc)
            return
        _status(f"[green]{'subscribed' if sub.created else 'already subscribed'}[/green] "
                f"{sub.notification_type} (payload version {sub.payload_version})")
        sys.stdout.write(f"{sub.subscription_id}\n")
        sys.stdout.flush()

    @group.command("parse")
    def parse(
        file: Annotated[str, typer.Argument(
            metavar="FILE", help="A notification message (JSON), or - for stdin.")],
        lenient: Annotated[bool, typer.Option(
            "--lenient", help="Accept payloads that lack keys Amazon's schema requires.")
        ] = False,
        as_json: AsJson = False,
    ) -> None:
        """Parse a notification: an envelope, an SQS message or an EventBridge event."""
        from sellerkit.workflows.notification_types import parse_notification

        docs = _documents(_read(file), file)
        parsed = [parse_notification(d, strict=not lenient) for d in docs]
        if as_json:
            out = [n.to_dict() for n in parsed]
            _write_json(out[0] if len(out) == 1 and len(docs) == 1 else out)
            return
        from rich.console import Console

        console = Console(soft_wrap=True)
        for n in parsed:
            when = n.event_time.isoformat() if n.event_time else "-"
            known = "" if n.known else "  (no model: read generically)"
            console.print(f"[bold]{n.type}[/bold] payload {n.payload_version or '-'}  "
                          f"event {when}  id {n.notification_id or '-'}  via {n.via}{known}",
                          highlight=False)
            console.print_json(data=n.to_dict()["payload"])  # secrets redacted

    @group.command("listen")
    def listen(
        queue_url: Annotated[str, typer.Option(
            "--queue-url", metavar="URL", help="The SQS queue URL.")],
        handler: Annotated[str | None, typer.Option(
            "--handler", metavar="MODULE:FUNCTION",
            help="Called with each parsed Notification; default: print it as a JSON line.")
        ] = None,
        endpoint_url: Annotated[str | None, typer.Option(
            "--endpoint-url", metavar="URL", help="Another SQS endpoint (e.g. a local one).")
        ] = None,
        aws_region: Annotated[str | None, typer.Option(
            "--aws-region", metavar="REGION", help="The queue's AWS region (default: from the "
            "queue URL, or boto3's configuration).")] = None,
        wait: Annotated[int, typer.Option(
            "--wait", metavar="SECONDS", min=0, max=20, help="Long-poll wait per receive.")
        ] = 20,
        max_receives: Annotated[int, typer.Option(
            "--max-receives", metavar="N", min=1,
            help="With --dead-letter-queue-url: move a message there after N receives.")] = 5,
        dead_letter_queue_url: Annotated[str | None, typer.Option(
            "--dead-letter-queue-url", metavar="URL",
            help="Where poison messages go (default: leave them to the queue's redrive "
                 "policy).")] = None,
        retry_delay: Annotated[int | None, typer.Option(
            "--retry-delay", metavar="SECONDS", min=0,
            help="After a handler failure, make the message visible again after this long "
                 "(default: the queue's visibility timeout).")] = None,
        max_messages: Annotated[int | None, typer.Option(
            "--max-messages", metavar="N", min=1, help="Stop after receiving N messages.")
        ] = None,
        exit_when_empty: Annotated[bool, typer.Option(
            "--exit-when-empty", help="Stop when a receive comes back empty.")] = False,
        lenient: Annotated[bool, typer.Option(
            "--lenient", help="Accept payloads that lack keys Amazon's schema requires.")
        ] = False,
        as_json: AsJson = False,
    ) -> None:
        """Consume SP-API notifications from an SQS queue."""
        from sellerkit.workflows.notification_consumer import (
            SqsConsumer,
            load_handler,
            print_handler,
        )

        fn = load_handler(handler) if handler else print_handler
        consumer = SqsConsumer(queue_url, fn, endpoint_url=endpoint_url, region_name=aws_region,
                               wait_time=wait, max_receives=max_receives,
                               dead_letter_queue_url=dead_letter_queue_url,
                               retry_delay=retry_delay, strict=not lenient)
        if not as_json:
            _status(f"listening on {queue_url} (Ctrl-C stops)")
        try:
            consumer.run(max_messages=max_messages, exit_when_empty=exit_when_empty)
        except KeyboardInterrupt:
            pass
        stats = consumer.stats.to_dict()
        if as_json:
            if handler:  # stdout is the handler's; with the default handler it holds the lines
                _write_json(stats)
            return
        _status(", ".join(f"{k} {v}" for k, v in stats.items()))
