"""``sellerkit secrets rotate|watch``: rotate the LWA client secret through SQS, and record the
expiry notices Amazon sends (``sellerkit.onboarding.rotate``).

- ``rotate [--profile NAME] --queue-url URL [--wait SECONDS] [--json]``: rotate, wait for the
  new secret on the queue, store it (OS keyring or the 0600 config file), verify it with LWA,
  report both expiries. Exit status 1 when the secret did not arrive or LWA refused it.
- ``watch --queue-url URL [--once] [--json]``: consume the queue: expiry notices are recorded
  for ``doctor`` and ``road``; a new secret (a rotation started in the portal) is stored.

The queue is the one registered in the Solution Provider Portal under Notification Preferences
(Application Client New Secret / Secret Expiry). boto3 is needed: ``pip install
'sellerkit[aws]'``. ``--sqs-endpoint`` points boto3 at a local SQS (moto) for the emulator.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

__all__ = ["register"]

QueueUrl = Annotated[str, typer.Option("--queue-url", metavar="URL",
                                       help="The SQS queue the notifications go to.")]
SqsEndpoint = Annotated[str | None, typer.Option(
    "--sqs-endpoint", metavar="URL", help="A local SQS endpoint (e.g. moto) instead of AWS.")]
AwsRegion = Annotated[str | None, typer.Option(
    "--aws-region", metavar="REGION", help="AWS region of the queue (default: from its URL).")]
SecretsMode = Annotated[str, typer.Option(
    "--secrets", metavar="WHERE",
    help="Where the new secret goes: auto (where the profile keeps it), keyring or file.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _say(text: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(text, markup=False)


def _when(t: datetime | None) -> str:
    if t is None:
        return "unknown"
    days = (t - datetime.now(UTC)).total_seconds() / 86400
    return f"{t:%Y-%m-%d %H:%M} UTC (in {days:.1f} days)"


def register(app: typer.Typer) -> None:
    from sellerkit.cli.main import SellerkitGroup

    group = typer.Typer(name="secrets", no_args_is_help=True, cls=SellerkitGroup,
                        help="Rotate the LWA client secret; record its expiry notices.")
    app.add_typer(group, name="secrets")

    @group.command("rotate")
    def rotate_cmd(
        queue_url: QueueUrl,
        profile: Annotated[str | None, typer.Option("--profile", metavar="NAME",
                                                    help="Config profile.")] = None,
        wait: Annotated[float, typer.Option("--wait", metavar="SECONDS",
                                            help="How long to wait for the new secret.")
                        ] = 300.0,
        sqs_endpoint: SqsEndpoint = None, aws_region: AwsRegion = None,
        secrets: SecretsMode = "auto", as_json: AsJson = False,
    ) -> None:
        """Rotate the client secret, store the new one from SQS, verify it with LWA."""
        from sellerkit.onboarding.rotate import rotate_client_secret

        result = rotate_client_secret(profile, queue_url, wait=wait, sqs_endpoint=sqs_endpoint,
                                      aws_region=aws_region, secrets_mode=secrets,
                                      status=(lambda s: None) if as_json else _say)
        if as_json:
            sys.stdout.write(json.dumps({
                "profile": result.profile, "client_id": result.client_id,
                "stored": result.storage.kind, "where": result.storage.where,
                "verified": result.verified, "verify_error": result.verify_error,
                "new_secret_expires_at": result.new_expires_at.isoformat()
                if result.new_expires_at else None,
                "old_secret_expires_at": result.old_expires_at.isoformat()
                if result.old_expires_at else None,
                "expiry_notices_recorded": result.expiry_notices,
                "notes": list(result.notes)}, indent=2) + "\n")
        else:
            _say(f"new client secret stored {result.storage.describe()}")
            if result.verified:
                _say("verified: LWA issued a token with the new secret")
            else:
                _say(f"LWA refused the new secret: {result.verify_error}")
            _say(f"the new secret expires {_when(result.new_expires_at)}")
            _say(f"the old secret stops working {_when(result.old_expires_at)}: update every "
                 "other place that holds it before then")
            for note in result.notes:
                _say(f"note: {note}")
        if not result.verified:
            raise typer.Exit(1)

    @group.command("watch")
    def watch_cmd(
        queue_url: QueueUrl,
        once: Annotated[bool, typer.Option("--once", help="Stop when the queue is empty.")
                        ] = False,
        sqs_endpoint: SqsEndpoint = None, aws_region: AwsRegion = None,
        secrets: SecretsMode = "auto", as_json: AsJson = False,
    ) -> None:
        """Record client secret expiry notices (and store new secrets) from the queue."""
        from sellerkit.onboarding.rotate import watch

        stats: Any
        try:
            stats = watch(queue_url, once=once, sqs_endpoint=sqs_endpoint,
                          aws_region=aws_region, secrets_mode=secrets,
                          status=(lambda s: None) if as_json else _say)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        if as_json:
            sys.stdout.write(json.dumps({
                "received": stats.received, "expiry_recorded": stats.expiry_recorded,
                "secrets_stored": stats.secrets_stored, "stale": stats.stale,
                "left_on_queue": stats.left, "events": stats.events}, indent=2) + "\n")
        else:
            _say(f"{stats.received} received: {stats.expiry_recorded} expiry notices recorded, "
                 f"{stats.secrets_stored} new secrets stored, {stats.stale} stale, "
                 f"{stats.left} left on the queue")
