"""``sellerkit aws setup-notifications``: the AWS side of SP-API notifications, and the
destination that points Amazon at it.

What Amazon still requires (unlike the IAM user of ``aws_iam``): notifications are delivered to
an SQS queue or an EventBridge bus in *your* AWS account, and Amazon's notification principal
must be allowed to write to the queue. This module:

1. creates a **Standard** SQS queue (SP-API does not deliver to FIFO queues, so a ``.fifo``
   name is refused), optionally with a dead-letter queue (``NAME-dlq``, 14 days retention) and a
   redrive policy;
2. gives the queue a policy statement letting ``arn:aws:iam::437568002678:root`` call
   ``sqs:SendMessage`` and ``sqs:GetQueueAttributes`` on it (sp-api-facts §9). Statements the
   queue already has are kept; only the statement with sellerkit's Sid is added or replaced;
3. creates or reuses the SP-API destination for the queue ARN (grantless
   ``notifications_v1.getDestinations`` / ``createDestination``, through
   ``sp.notifications.ensure_destination``);
4. with ``event_bridge=ACCOUNT``: creates or reuses an EventBridge destination for that account
   and region, and associates the partner event source Amazon then creates
   (``aws.partner/sellingpartnerapi.amazon.com/ACCOUNT/APP_ID``) by creating an event bus of the
   same name (``CreateEventBus(Name=source, EventSourceName=source)``: ActivateEventSource does
   not work on ``aws.`` sources). If Amazon has not created the source yet the step is
   *pending*: run the command again later. Rules that route the events (to Lambda, SQS, ...)
   stay yours to write;
5. verifies: the queue attributes are read back and compared, a test message is sent and
   received (on a queue created by this run, or with ``test_message=True``; an existing queue
   may have consumers), and the destination is looked up in ``getDestinations``.

Every step is idempotent: a second run reports "exists, unchanged" (or "updated" when it had to
fix something) and creates nothing. ``dry_run=True`` makes no call at all, to AWS or Amazon: the
report holds the calls and the policy documents a run on a fresh account would make, with the
account id from ``account_id`` / ``event_bridge`` or the placeholder ``ACCOUNT_ID``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sellerkit.errors import ConfigurationError
from sellerkit.onboarding._aws import (
    AwsContext,
    AwsSetupError,
    Report,
    aws_call,
    error_code,
    explain,
)

__all__ = ["DELIVERY_ACTIONS", "DELIVERY_PRINCIPAL", "STATEMENT_ID", "check_queue_name",
           "queue_policy", "redrive_policy", "setup_notifications"]

COMMAND = "setup-notifications"
#: Amazon's notification principal (sp-api-facts §9, the notifications guide, step 1)
DELIVERY_PRINCIPAL = "arn:aws:iam::437568002678:root"
DELIVERY_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
STATEMENT_ID = "AllowSellingPartnerAPINotifications"
PLACEHOLDER_ACCOUNT = "ACCOUNT_ID"
DLQ_SUFFIX = "-dlq"
DLQ_RETENTION = 1_209_600  # 14 days, SQS's maximum: time to look at what failed
#: what every output of this command says first
NEEDED_STEP = ("Amazon requires this step: SP-API delivers notifications only to an SQS queue "
               "(or an EventBridge bus) in your AWS account that Amazon may write to.")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ACCOUNT = re.compile(r"\d{12}")


def check_queue_name(name: str) -> str:
    """``name`` if it can be a Standard SQS queue that SP-API delivers to."""
    name = (name or "").strip()
    if name.endswith(".fifo"):
        raise ConfigurationError(
            f"{name} is a FIFO queue name; SP-API delivers notifications only to Standard SQS "
            f"queues (a FIFO destination is refused or never receives anything): use a name "
            f"without .fifo, e.g. {name[:-5] or 'sp-notifications'}")
    if not _QUEUE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"--queue {name!r} is not a valid SQS queue name: 1 to 80 letters, digits, "
            "hyphens and underscores")
    return name


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def delivery_statement(arn: str) -> dict[str, Any]:
    """The statement that lets Amazon deliver notifications to the queue ``arn``."""
    return {"Sid": STATEMENT_ID, "Effect": "Allow", "Principal": {"AWS": DELIVERY_PRINCIPAL},
            "Action": list(DELIVERY_ACTIONS), "Resource": arn}


def queue_policy(arn: str, existing: str | None = None) -> dict[str, Any]:
    """The queue policy: ``existing`` (a policy JSON string) with sellerkit's statement added
    or replaced, or a policy holding only that statement."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if existing:
        try:
            parsed = json.loads(existing)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            doc = dict(parsed)
            statements = doc.get("Statement") or []
            if isinstance(statements, dict):
                statements = [statements]
            doc["Statement"] = [s for s in statements
                                if not (isinstance(s, dict) and s.get("Sid") == STATEMENT_ID)]
    doc["Statement"] = [*doc["Statement"], delivery_statement(arn)]
    return doc


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants_amazon(policy: str | None, arn: str) -> bool:
    """Whether the policy JSON already lets Amazon's principal send to ``arn`` (sellerkit's
    statement, or an equivalent one written by hand from Amazon's guide)."""
    try:
        doc = json.loads(policy or "")
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    for s in _as_list(doc.get("Statement") or []):
        if not isinstance(s, dict) or s.get("Effect") != "Allow" or s.get("Condition"):
            continue
        principal = s.get("Principal")
        principals = _as_list(principal.get("AWS") if isinstance(principal, dict) else principal)
        actions = set(_as_list(s.get("Action")))
        resources = _as_list(s.get("Resource"))
        if ((DELIVERY_PRINCIPAL in principals or "437568002678" in principals)
                and (set(DELIVERY_ACTIONS) <= actions or "sqs:*" in actions)
                and (arn in resources or "*" in resources)):
            return True
    return False


def redrive_policy(dlq_arn: str, max_receives: int) -> dict[str, Any]:
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}


def _same_redrive(current: str | None, wanted: dict[str, Any]) -> bool:
    try:
        doc = json.loads(current or "")
    except ValueError:
        return False
    return (isinstance(doc, dict) and doc.get("deadLetterTargetArn") == wanted[
        "deadLetterTargetArn"] and str(doc.get("maxReceiveCount")) == str(
        wanted["maxReceiveCount"]))


class _Queues:
    """SQS calls with their failures explained."""

    def __init__(self, aws: AwsContext) -> None:
        self.sqs = aws.client("sqs")

    def url(self, name: str) -> str | None:
        try:
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except Exception as exc:
            if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue",
                                   "QueueDoesNotExist"):
                return None
            explain(COMMAND, "sqs:GetQueueUrl", exc)  # access denied, no credentials ...
            raise

    def attributes(self, url: str) -> dict[str, str]:
        return dict(aws_call(COMMAND, "sqs:GetQueueAttributes", self.sqs.get_queue_attributes,
                             QueueUrl=url, AttributeNames=["All"])["Attributes"])

    def create(self, name: str, attributes: dict[str, str]) -> str:
        return str(aws_call(COMMAND, "sqs:CreateQueue", self.sqs.create_queue, QueueName=name,
                            Attributes=attributes)["QueueUrl"])

    def set(self, url: str, attributes: dict[str, str]) -> None:
        aws_call(COMMAND, "sqs:SetQueueAttributes", self.sqs.set_queue_attributes,
                 QueueUrl=url, Attributes=attributes)


def setup_notifications(aws: AwsContext, queue: str, *, dead_letter: bool = False,
                        max_receives: int = 5, event_bridge: str | None = None,
                        sp: Any = None, destination: bool = True,
                        destination_name: str | None = None, account_id: str | None = None,
                        test_message: bool | None = None, dry_run: bool = False,
                        receive_wait: int = 2) -> Report:
    """Set up (or check) the queue, its policies and the SP-API destination(s); see the module
    docstring. ``sp`` is a ``SellingPartner`` (needed unless ``destination=False`` or
    ``dry_run``); ``test_message`` None means "only on a queue this run created"."""
    name = check_queue_name(queue)
    if dead_letter and len(name) + len(DLQ_SUFFIX) > 80:
        raise ConfigurationError(f"--queue {name!r} is too long for a dead-letter queue named "
                                 f"{name}{DLQ_SUFFIX} (SQS allows 80 characters)")
    if not 1 <= max_receives <= 1000:
        raise ConfigurationError("--max-receives must be between 1 and 1000 (SQS's range)")
    for label, value in (("--event-bridge", event_bridge), ("--account-id", account_id)):
        if value is not None and not _ACCOUNT.fullmatch(value.strip()):
            raise ConfigurationError(f"{label} {value!r} is not a 12-digit AWS account id")
    if event_bridge and not destination:
        raise ConfigurationError("--event-bridge needs the SP-API destination (Amazon names the "
                                 "partner event source only when it is created); drop "
                                 "--no-destination")
    if destination and sp is None and not dry_run:
        raise ConfigurationError("setting up the SP-API destination needs SP-API credentials "
                                 "(client id and secret); pass --no-destination to set up "
                                 "only the queue")
    dest_name = destination_name or name
    report = Report(COMMAND, dry_run, headline=NEEDED_STEP)
    region = aws.region_name

    if dry_run:
        account = (account_id or event_bridge or PLACEHOLDER_ACCOUNT).strip()
        if account == PLACEHOLDER_ACCOUNT:
            report.notes.append("dry run: no call was made; ACCOUNT_ID stands for your AWS "
                                "account id (pass --account-id to fill it in)")
        else:
            report.notes.append("dry run: no call was made")
        report.add("sts:GetCallerIdentity", "", "would call", "the account id")
    else:
        account = aws.account_id()
        for label, value in (("--account-id", account_id), ("--event-bridge", event_bridge)):
            if value and value.strip() != account:
                raise ConfigurationError(
                    f"{label} {value.strip()} is not the account of these AWS credentials "
                    f"({account}); run with credentials of account {value.strip()} "
                    "(--aws-profile), or drop the option")
    arn = queue_arn(region, account, name)
    report.resources["queue_arn"] = arn
    queues = None if dry_run else _Queues(aws)

    # 1. the dead-letter queue
    redrive: dict[str, Any] | None = None
    if dead_letter:
        dlq = name + DLQ_SUFFIX
        dlq_arn = queue_arn(region, account, dlq)
        redrive = redrive_policy(dlq_arn, max_receives)
        report.resources["dead_letter_queue_arn"] = dlq_arn
        report.policies["redrive_policy"] = redrive
        dlq_attrs = {"MessageRetentionPeriod": str(DLQ_RETENTION)}
        if queues is None:
            report.add("sqs:CreateQueue", dlq, "would call", "unless it exists",
                       {"QueueName": dlq, "Attributes": dlq_attrs})
        elif queues.url(dlq) is None:
            queues.create(dlq, dlq_attrs)
            report.add("sqs:CreateQueue", dlq, "created", "dead-letter queue, 14 days retention")
        else:
            report.add("sqs:GetQueueUrl", dlq, "exists, unchanged", "dead-letter queue")

    # 2. the queue and its policy
    created = False
    if queues is None:
        policy = queue_policy(arn)
        report.policies["queue_policy"] = policy
        attrs = {"Policy": json.dumps(policy)}
        if redrive is not None:
            attrs["RedrivePolicy"] = json.dumps(redrive)
        report.add("sqs:CreateQueue", name, "would call",
                   "Standard queue; if it exists: sqs:SetQueueAttributes adds the statement "
                   f"{STATEMENT_ID} to its policy (other statements are kept)",
                   {"QueueName": name, "Attributes": attrs})
        report.resources["queue_url"] = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
    else:
        url = queues.url(name)
        if url is None:
            policy = queue_policy(arn)
            attrs = {"Policy": json.dumps(policy)}
            if redrive is not None:
                attrs["RedrivePolicy"] = json.dumps(redrive)
            url = queues.create(name, attrs)
            created = True
            report.add("sqs:CreateQueue", name, "created",
                       "Standard queue; policy lets Amazon (437568002678) send to it"
                       + ("; redrive to the dead-letter queue" if redrive else ""))
        else:
            current = queues.attributes(url)  # a name without .fifo is a Standard queue
            changes: dict[str, str] = {}
            fixed = []
            if _grants_amazon(current.get("Policy"), arn):
                policy = json.loads(current["Policy"])  # parsed by _grants_amazon already
            else:
                policy = queue_policy(arn, current.get("Policy"))
                changes["Policy"] = json.dumps(policy)
                fixed.append(f"added the statement {STATEMENT_ID} to the policy")
            if redrive is not None and not _same_redrive(current.get("RedrivePolicy"), redrive):
                changes["RedrivePolicy"] = json.dumps(redrive)
                fixed.append("set the redrive policy")
            if changes:
                queues.set(url, changes)
                report.add("sqs:SetQueueAttributes", name, "updated", "; ".join(fixed))
            else:
                report.add("sqs:GetQueueAttributes", name, "exists, unchanged",
                           "policy already lets Amazon send to it")
            if current.get("KmsMasterKeyId"):
                report.notes.append(
                    f"{name} is encrypted with the KMS key {current['KmsMasterKeyId']}: a "
                    "customer-managed key needs a key-policy grant for 437568002678 "
                    "(kms:GenerateDataKey, kms:Decrypt) or Amazon cannot deliver; SSE-SQS "
                    "needs nothing (whether SP-API needs the grant is unconfirmed)")
        report.policies["queue_policy"] = policy
        report.resources["queue_url"] = url
        _verify_queue(queues, url, arn, redrive, report)
        if test_message or (test_message is None and created):
            _round_trip(queues, url, name, report, receive_wait)
        else:
            report.add("sqs:SendMessage", name, "skipped",
                       "the queue existed: it may have consumers (pass --test-message to send "
                       "one anyway)")

    # 3. the SP-API destinations
    if destination:
        _destinations(sp, report, name=dest_name, arn=arn, region=region,
                      event_bridge=event_bridge, dry_run=dry_run)
    else:
        report.notes.append("no SP-API destination was set up (--no-destination); "
                            "'sellerkit notifications subscribe TYPE --sqs-arn "
                            f"{arn}' creates it when you subscribe")
    if event_bridge:
        _associate(aws, report, dry_run=dry_run)
    return report


def _verify_queue(queues: _Queues, url: str, arn: str, redrive: dict[str, Any] | None,
                  report: Report) -> None:
    back = queues.attributes(url)
    problems = []
    if back.get("QueueArn") and back["QueueArn"] != arn:
        problems.append(f"its ARN is {back['QueueArn']}, not {arn}")
    if not _grants_amazon(back.get("Policy"), arn):
        problems.append("its policy does not let Amazon send to it")
    if redrive is not None and not _same_redrive(back.get("RedrivePolicy"), redrive):
        problems.append("its redrive policy is not the one set")
    if problems:
        raise AwsSetupError(f"the queue {url} was set up but reading it back shows that "
                            f"{'; '.join(problems)}; run the command again, and check for "
                            "an SCP or another tool changing it")
    report.add("sqs:GetQueueAttributes", url.rstrip("/").rsplit("/", 1)[-1], "verified",
               "read back: Amazon may send to it" + ("; redrive policy set" if redrive else ""))


def _round_trip(queues: _Queues, url: str, name: str, report: Report, wait: int) -> None:
    """Send a marked test message, receive it back and delete it. Messages of others that the
    receive returns are made visible again at once."""
    nonce = uuid.uuid4().hex
    body = json.dumps({"sellerkit": "setup-notifications test message", "nonce": nonce})
    sent = aws_call(COMMAND, "sqs:SendMessage", queues.sqs.send_message, QueueUrl=url,
                    MessageBody=body)
    for _ in range(3):
        got = aws_call(COMMAND, "sqs:ReceiveMessage", queues.sqs.receive_message, QueueUrl=url,
                       MaxNumberOfMessages=10, WaitTimeSeconds=wait, VisibilityTimeout=30)
        for m in got.get("Messages", []):
            if m.get("MessageId") == sent["MessageId"] and nonce in m.get("Body", ""):
                aws_call(COMMAND, "sqs:DeleteMessage", queues.sqs.delete_message, QueueUrl=url,
                         ReceiptHandle=m["ReceiptHandle"])
                report.add("sqs:SendMessage", name, "verified",
                           "a test message was sent, received and deleted")
                return
            aws_call(COMMAND, "sqs:ChangeMessageVisibility",
                     queues.sqs.change_message_visibility, QueueUrl=url,
                     ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    report.add("sqs:SendMessage", name, "pending",
               "a test message was sent but not received back (another consumer may have "
               "taken it); it is marked 'sellerkit': 'setup-notifications test message'")


def _destinations(sp: Any, report: Report, *, name: str, arn: str, region: str,
                  event_bridge: str | None, dry_run: bool) -> None:
    wanted: list[tuple[str, dict[str, Any]]] = [(name, {"sqs": {"arn": arn}})]
    if event_bridge:
        wanted.append((f"{name}-eventbridge", {"eventBridge": {
            "region": region, "accountId": event_bridge.strip()}}))
    if dry_run:
        report.add("notifications_v1.getDestinations", "SP-API", "would call",
                   "grantless token, scope sellingpartnerapi::notifications")
        for dest_name, spec in wanted:
            report.add("notifications_v1.createDestination", dest_name, "would call",
                       "unless a destination for this resource exists",
                       {"name": dest_name, "resourceSpecification": spec})
        if event_bridge:
            report.resources["event_source"] = (
                f"aws.partner/sellingpartnerapi.amazon.com/{event_bridge.strip()}/"
                "APPLICATION_ID")
        return
    made = []
    for dest_name, spec in wanted:
        if "sqs" in spec:
            d = sp.notifications.ensure_destination(dest_name, sqs_arn=spec["sqs"]["arn"])
            report.resources["destination_id"] = d.destination_id
        else:
            eb = spec["eventBridge"]
            d = sp.notifications.ensure_destination(dest_name,
                                                    event_bridge=(eb["region"], eb["accountId"]))
            report.resources["eventbridge_destination_id"] = d.destination_id
            if d.event_source:
                report.resources["event_source"] = d.event_source
        made.append(d)
        report.add("notifications_v1.createDestination" if d.created
                   else "notifications_v1.getDestinations", d.name,
                   "created" if d.created else "exists, unchanged",
                   f"destination {d.destination_id}")
    listed = {d.destination_id for d in sp.notifications.destinations()}
    missing = [d.destination_id for d in made if d.destination_id not in listed]
    if missing:
        raise AwsSetupError(f"SP-API does not list the destination(s) {', '.join(missing)} "
                            "right after creating them; run the command again")
    report.add("notifications_v1.getDestinations", "SP-API", "verified",
               "listed: " + ", ".join(d.destination_id for d in made))


def _associate(aws: AwsContext, report: Report, *, dry_run: bool) -> None:
    source = report.resources.get("event_source", "")
    if dry_run:
        report.add("events:CreateEventBus", source, "would call",
                   "unless an event bus of that name exists; associates the partner event "
                   "source", {"Name": source, "EventSourceName": source})
        return
    if not source:
        raise AwsSetupError("SP-API did not name the partner event source of the EventBridge "
                            "destination; look for it under EventBridge > Partner event "
                            "sources and associate it in the console")
    events = aws.client("events")
    try:
        bus = aws_call(COMMAND, "events:DescribeEventBus", events.describe_event_bus,
                       Name=source)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    else:
        report.resources["event_bus_arn"] = str(bus.get("Arn", ""))
        report.add("events:DescribeEventBus", source, "exists, unchanged",
                   "the partner event source is associated with its event bus")
        return
    try:
        made = aws_call(COMMAND, "events:CreateEventBus", events.create_event_bus, Name=source,
                        EventSourceName=source)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        report.add("events:CreateEventBus", source, "pending",
                   f"Amazon has not created the partner event source in {aws.region_name} "
                   "yet; run this command again in a few minutes, or associate it in the "
                   "console (EventBridge > Partner event sources)")
        return
    report.resources["event_bus_arn"] = str(made.get("EventBusArn", ""))
    report.add("events:CreateEventBus", source, "created",
               "the partner event source is now associated with an event bus of its name; "
               "add rules to route the events")
