"""``sellerkit aws setup-notifications|setup-iam``: the AWS side of SP-API (boto3, the extra
``aws``; docs/aws.md).

- ``setup-notifications --queue NAME [--dead-letter] [--event-bridge ACCOUNT] [--dry-run]``:
  what Amazon still requires for notifications: a Standard SQS queue Amazon may write to, the
  SP-API destination for it and, with ``--event-bridge``, an EventBridge destination with its
  partner event source associated (``sellerkit.onboarding.aws_notifications``).
- ``setup-iam --user NAME [--role NAME] [--dry-run]``: the old guide's IAM user (and role) and
  an access key stored in the sellerkit profile; Amazon no longer needs it
  (``sellerkit.onboarding.aws_iam``).

Both are idempotent (a second run says "exists, unchanged"), ``--dry-run`` prints the calls and
policy documents and makes no call, ``--json`` prints the report as JSON. AWS credentials come
from boto3's chain (environment, ``--aws-profile``); ``--aws-endpoint`` (or
``SELLERKIT_AWS_ENDPOINT``) points every AWS call elsewhere (https, or http on loopback only).
Exit status 1 when a step is left pending (run again later), 2 for a mistake to fix.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

__all__ = ["register"]

AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Print the calls and policies; make no call and change nothing.")]
Profile = Annotated[str | None, typer.Option(
    "--profile", metavar="NAME", help="sellerkit profile (default: SELLERKIT_PROFILE or "
    "'default').")]
AwsProfile = Annotated[str | None, typer.Option(
    "--aws-profile", metavar="NAME", help="AWS named profile for boto3 (default: AWS_PROFILE / "
    "boto3's chain).")]
AwsRegion = Annotated[str | None, typer.Option(
    "--aws-region", metavar="REGION", help="AWS region, e.g. us-east-1 (default: boto3's).")]
AwsEndpoint = Annotated[str | None, typer.Option(
    "--aws-endpoint", metavar="URL", envvar="SELLERKIT_AWS_ENDPOINT",
    help="Send AWS calls here (https, or http on loopback, e.g. a local moto).")]
AccountId = Annotated[str | None, typer.Option(
    "--account-id", metavar="ID", help="Your 12-digit AWS account id: fills in --dry-run's "
    "ARNs; a real run checks it against the credentials.")]


def _print_report(report: Any, as_json: bool) -> None:
    from sellerkit.onboarding._aws import policy_json

    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    out: list[str] = [report.headline] if report.headline else []
    if report.dry_run:
        out.append("dry run: the calls a run would make (none was made):")
    width = max((len(s.status) for s in report.steps), default=0)
    for s in report.steps:
        line = f"  {s.status:<{width}}  {s.call}  {s.target}".rstrip()
        if s.detail:
            line += f"  ({s.detail})"
        out.append(line)
        if report.dry_run and s.params:
            out.append("      " + json.dumps(s.params, ensure_ascii=False))
    if report.dry_run and report.policies:  # a real run's are in --json
        out.append("")
        for name, doc in report.policies.items():
            out.append(f"{name}:")
            out.append(policy_json(doc))
    if report.resources:
        out.append("")
        for key, value in report.resources.items():
            out.append(f"{key}: {value}")
    if report.notes:
        out.append("")
        out.extend(f"note: {n}" for n in report.notes)
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


def _finish(report: Any, as_json: bool) -> None:
    _print_report(report, as_json)
    if report.pending:
        if not as_json:
            sys.stderr.write(f"{len(report.pending)} step(s) pending: run the command again "
                             "later\n")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from sellerkit.cli.main import SellerkitGroup

    group = typer.Typer(name="aws", no_args_is_help=True, cls=SellerkitGroup,
                        help="Set up the AWS side: notification queues (needed) and the old "
                             "IAM user (no longer needed).")
    app.add_typer(group, name="aws")

    @group.command("setup-notifications")
    def setup_notifications(
        queue: Annotated[str, typer.Option(
            "--queue", metavar="NAME", help="The Standard SQS queue to create or check.")],
        dead_letter: Annotated[bool, typer.Option(
            "--dead-letter", help="Also a dead-letter queue NAME-dlq with a redrive policy.")
        ] = False,
        max_receives: Annotated[int, typer.Option(
            "--max-receives", metavar="N", min=1, max=1000,
            help="With --dead-letter: receives before a message moves there.")] = 5,
        event_bridge: Annotated[str | None, typer.Option(
            "--event-bridge", metavar="ACCOUNT",
            help="Also an EventBridge destination for this AWS account, and associate its "
                 "partner event source.")] = None,
        no_destination: Annotated[bool, typer.Option(
            "--no-destination", help="Set up the queue only, not the SP-API destination.")
        ] = False,
        destination_name: Annotated[str | None, typer.Option(
            "--destination-name", metavar="NAME",
            help="Name of a new SP-API destination (default: the queue name).")] = None,
        test_message: Annotated[bool | None, typer.Option(
            "--test-message/--no-test-message",
            help="Send and receive a test message (default: only on a queue this run "
                 "creates).")] = None,
        account_id: AccountId = None, dry_run: DryRun = False, as_json: AsJson = False,
        profile: Profile = None, aws_profile: AwsProfile = None, aws_region: AwsRegion = None,
        aws_endpoint: AwsEndpoint = None,
        endpoint: Annotated[str | None, typer.Option(
            "--endpoint", metavar="URL", help="Override the SP-API host (e.g. the emulator).")
        ] = None,
        lwa_endpoint: Annotated[str | None, typer.Option(
            "--lwa-endpoint", metavar="URL", help="Override the LWA token URL.")] = None,
        region: Annotated[str | None, typer.Option(
            "--region", metavar="REGION", help="SP-API region: NA, EU or FE.")] = None,
        rate_limiter: Annotated[str, typer.Option(
            "--rate-limiter", metavar="BACKEND", envvar="SELLERKIT_RATE_LIMITER",
            help="sqlite, sqlite:PATH, memory, off or a Redis URL.")] = "sqlite",
    ) -> None:
        """Create (or check) the SQS queue Amazon delivers notifications to, and its SP-API
        destination. Idempotent."""
        from sellerkit.onboarding._aws import AwsContext
        from sellerkit.onboarding.aws_notifications import check_queue_name
        from sellerkit.onboarding.aws_notifications import setup_notifications as run

        check_queue_name(queue)  # a FIFO name is refused before anything else is needed
        aws = AwsContext("setup-notifications", region=aws_region, aws_profile=aws_profile,
                         endpoint=aws_endpoint)
        kwargs: dict[str, Any] = dict(
            dead_letter=dead_letter, max_receives=max_receives, event_bridge=event_bridge,
            destination=not no_destination, destination_name=destination_name,
            account_id=account_id, test_message=test_message, dry_run=dry_run)
        if dry_run or no_destination:
            report = run(aws, queue, **kwargs)
        else:
            from sellerkit.cli._errors import cli_message
            from sellerkit.cli.notifications_cmd import _Client
            from sellerkit.errors import ConfigurationError

            client = _Client(profile=profile, endpoint=endpoint, lwa_endpoint=lwa_endpoint,
                             region=region, rate_limiter=rate_limiter)
            try:
                sp = client.__enter__()
            except ConfigurationError as exc:
                if {"client_id", "client_secret"} & set(exc.missing):
                    raise ConfigurationError(
                        f"{cli_message(exc)}; or pass --no-destination to set up the queue "
                        "only (the SP-API destination needs the app's LWA credentials)"
                    ) from None
                raise
            try:
                report = run(aws, queue, sp=sp, **kwargs)
            finally:
                client.__exit__(None, None, None)
        _finish(report, as_json)

    @group.command("setup-iam")
    def setup_iam(
        user: Annotated[str, typer.Option(
            "--user", metavar="NAME", help="The IAM user to create or check.")],
        role: Annotated[str | None, typer.Option(
            "--role", metavar="NAME",
            help="The old guide's role variant: a role the user assumes.")] = None,
        account_id: AccountId = None, dry_run: DryRun = False, as_json: AsJson = False,
        profile: Profile = None, aws_profile: AwsProfile = None, aws_region: AwsRegion = None,
        aws_endpoint: AwsEndpoint = None,
    ) -> None:
        """The old guide's IAM user (Amazon no longer needs it): user, ExecuteSPAPI policy,
        access key stored in the profile. Idempotent."""
        import os

        from sellerkit.onboarding._aws import AwsContext
        from sellerkit.onboarding.aws_iam import setup_iam as run

        aws = AwsContext("setup-iam", region=aws_region, aws_profile=aws_profile,
                         endpoint=aws_endpoint)
        name = profile or os.environ.get("SELLERKIT_PROFILE") or "default"
        report = run(aws, user, role=role, profile=name, account_id=account_id,
                     dry_run=dry_run)
        _finish(report, as_json)
