"""An SQS consumer for SP-API notifications (boto3; ``pip install 'sellerkit[aws]'``).

    from sellerkit.workflows.notification_consumer import SqsConsumer

    def handle(n):                       # a parsed Notification
        print(n.type, n.notification_id)

    SqsConsumer(queue_url, handle).run()

What it guarantees:

- **Long polling**: ``ReceiveMessage`` with ``WaitTimeSeconds`` (20 by default, the maximum).
- **Delete after success only**: a message is deleted once its handler has returned. A handler
  that raises leaves it on the queue; it comes back after the visibility timeout (or after
  ``retry_delay`` seconds, when given), so delivery is at least once.
- **Visibility extended while a handler runs**: a heartbeat thread calls
  ``ChangeMessageVisibility`` every third of the visibility timeout, so a slow handler does not
  let the message reappear to another consumer.
- **De-duplication by notification id**: Amazon, and SQS itself, may deliver a notification
  more than once; a notification whose id was handled already (among the last ``dedupe_size``)
  is deleted without calling the handler again. The memory is per process: handlers that must
  be idempotent across processes should also record the id themselves.
- **Poison messages**: with ``dead_letter_queue_url`` a message received more than
  ``max_receives`` times (``ApproximateReceiveCount``), or one that is not a notification at
  all, is copied to that queue and deleted from this one. Without it, sellerkit leaves poison
  messages to the queue's own redrive policy (``RedrivePolicy.maxReceiveCount``), which is the
  better place for it when you control the queue; a message that cannot be parsed is then left
  in place (and logged) for the redrive policy to move.

Only loopback endpoints are used in sellerkit's tests (moto in server mode).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sellerkit.errors import ConfigurationError, SellerkitError

__all__ = ["ConsumerStats", "SqsConsumer", "SqsError", "load_handler", "print_handler"]

log = logging.getLogger("sellerkit.notifications")

Handler = Callable[[Any], object]


@dataclass
class ConsumerStats:
    """What a consumer did: messages received, handled (and deleted), duplicates deleted
    unhandled, handler failures (left on the queue), moved to the dead-letter queue,
    unparseable messages, visibility extensions."""

    received: int = 0
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    dead_lettered: int = 0
    unparseable: int = 0
    extensions: int = 0
    errors: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def load_handler(spec: str) -> Handler:
    """``module:function`` (``package.module:object.method`` too) as a callable."""
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"--handler {spec!r} is not module:function")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"--handler {spec!r}: cannot import {module_name}: {exc}"
                                 ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"--handler {spec!r}: {module_name} has no {attr}") from None
    if not callable(obj):
        raise ConfigurationError(f"--handler {spec!r} is not callable")
    return obj


def _boto3_client(endpoint_url: str | None, region_name: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise ConfigurationError("the SQS consumer needs boto3: pip install 'sellerkit[aws]'"
                                 ) from None
    # a session of its own: boto3's default session keeps the first credentials it resolved
    # for the life of the process, so a consumer made later would miss a change of them
    return boto3.session.Session().client("sqs", endpoint_url=endpoint_url,
                                          region_name=region_name)


def _region_of(queue_url: str) -> str | None:
    # https://sqs.us-east-1.amazonaws.com/123456789012/name
    host = queue_url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else None


class SqsError(SellerkitError):
    """SQS refused or could not be reached (no such queue, access denied, no connection); the
    message says which. Missing credentials or region are a ConfigurationError instead."""

    exit_code = 1  # the CLI's status for "the other side refused" (docs/cli.md)


def _sqs_call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """``fn(**kwargs)`` with boto3's failures as one clear :class:`SqsError`."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        name = type(exc).__name__
        if name == "NoCredentialsError":
            raise ConfigurationError(f"{what}: no AWS credentials (set AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)") from None
        if name == "NoRegionError":
            raise ConfigurationError(f"{what}: no AWS region (pass --aws-region / region_name=, or set "
                           "AWS_DEFAULT_REGION)") from None
        if name in ("EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError",
                    "ReadTimeoutError"):
            raise SqsError(f"{what}: cannot reach SQS: {exc}") from None
        err = getattr(exc, "response", None)
        if isinstance(err, dict) and "Error" in err:
            code = err["Error"].get("Code", "")
            raise SqsError(f"{what}: SQS answered {code}: {err['Error'].get('Message', '')}"
                           ) from None
        raise


class _Heartbeat:
    """Extends one message's visibility until stopped."""

    def __init__(self, consumer: SqsConsumer, receipt: str) -> None:
        self.consumer, self.receipt = consumer, receipt
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sellerkit-sqs-heartbeat",
                                       daemon=True)

    def _run(self) -> None:
        c = self.consumer
        interval = max(0.2, c.visibility_timeout / 3)
        while not self.stop.wait(interval):
            try:
                c.sqs.change_message_visibility(QueueUrl=c.queue_url, ReceiptHandle=self.receipt,
                                                VisibilityTimeout=c.visibility_timeout)
                c.stats.extensions += 1
            except Exception as exc:  # noqa: BLE001 - a failed extension must not kill the handler
                log.warning("could not extend the visibility of a message: %s", exc)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


class SqsConsumer:
    """Receive SP-API notifications from an SQS queue and hand each to ``handler``.

    ``sqs`` is a boto3 SQS client (default: ``boto3.client("sqs", endpoint_url=...,
    region_name=...)``, credentials from boto3's usual chain). ``visibility_timeout`` defaults
    to the queue's own (``GetQueueAttributes``). ``strict`` is passed to
    :func:`~sellerkit.workflows.notification_types.parse_notification`."""

    def __init__(self, queue_url: str, handler: Handler, *, sqs: Any = None,
                 endpoint_url: str | None = None, region_name: str | None = None,
                 wait_time: int = 20, batch_size: int = 10,
                 visibility_timeout: int | None = None, retry_delay: int | None = None,
                 max_receives: int = 5, dead_letter_queue_url: str | None = None,
                 dedupe_size: int = 10_000, strict: bool = True) -> None:
        if not queue_url or not queue_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"queue URL {queue_url!r} is not an SQS queue URL "
                                     "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; an ARN "
                                     "is not a URL)")
        if not 0 <= wait_time <= 20:
            raise ConfigurationError("wait_time is 0 to 20 seconds (SQS long polling)")
        if not 1 <= batch_size <= 10:
            raise ConfigurationError("batch_size is 1 to 10 messages")
        if max_receives < 1:
            raise ConfigurationError("max_receives is at least 1")
        self.queue_url = queue_url
        self.handler = handler
        self.sqs = sqs if sqs is not None else _boto3_client(
            endpoint_url, region_name or _region_of(queue_url))
        self.wait_time, self.batch_size = wait_time, batch_size
        self.retry_delay = retry_delay
        self.max_receives = max_receives
        self.dead_letter_queue_url = dead_letter_queue_url
        self.strict = strict
        self.stats = ConsumerStats()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_size = dedupe_size
        if visibility_timeout is None:
            attrs = _sqs_call(f"reading {queue_url}", self.sqs.get_queue_attributes,
                              QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])
            visibility_timeout = int(attrs.get("Attributes", {}).get("VisibilityTimeout", 30))
        self.visibility_timeout = max(1, int(visibility_timeout))

    # one round ----------------------------------------------------------------------------

    def poll_once(self) -> int:
        """One long-poll receive; handles what came and returns the number of messages."""
        r = _sqs_call(f"receiving from {self.queue_url}", self.sqs.receive_message,
                      QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                      WaitTimeSeconds=self.wait_time,
                      MessageSystemAttributeNames=["ApproximateReceiveCount"])
        messages = r.get("Messages") or []
        for m in messages:
            self.stats.received += 1
            self._one(m)
        return len(messages)

    def run(self, *, stop: threading.Event | None = None, max_messages: int | None = None,
            exit_when_empty: bool = False) -> ConsumerStats:
        """Poll until ``stop`` is set, ``max_messages`` were received, or (with
        ``exit_when_empty``) a receive comes back empty."""
        while stop is None or not stop.is_set():
            got = self.poll_once()
            if exit_when_empty and got == 0:
                break
            if max_messages is not None and self.stats.received >= max_messages:
                break
        return self.stats

    # one message --------------------------------------------------------------------------

    def _delete(self, m: dict[str, Any]) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def _dead_letter(self, m: dict[str, Any], reason: str) -> bool:
        if self.dead_letter_queue_url is None:
            return False
        self.sqs.send_message(QueueUrl=self.dead_letter_queue_url, MessageBody=m.get("Body", ""),
                              MessageAttributes={
                                  "sellerkit-reason": {"DataType": "String",
                                                       "StringValue": reason[:1000]},
                                  "sellerkit-source-message-id": {
                                      "DataType": "String",
                                      "StringValue": str(m.get("MessageId", "?"))}})
        self._delete(m)
        self.stats.dead_lettered += 1
        return True

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self._dedupe_size:
            self._seen.popitem(last=False)

    def _one(self, m: dict[str, Any]) -> None:
        from sellerkit.workflows.notification_types import (
            NotificationParseError,
            parse_notification,
        )

        mid = str(m.get("MessageId", "?"))
        try:
            n = parse_notification(m, strict=self.strict)
        except NotificationParseError as exc:
            self.stats.unparseable += 1
            self.stats.errors.append(f"{mid}: {exc}")
            if not self._dead_letter(m, f"not a notification: {exc}"):
                log.warning("SQS message %s is not a notification (left for the queue's "
                            "redrive policy): %s", mid, exc)
            return
        key = n.notification_id or f"message:{mid}"
        if key in self._seen:
            self.stats.duplicates += 1
            self._delete(m)
            return
        count = int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
        if count > self.max_receives and self._dead_letter(
                m, f"received {count} times (max_receives={self.max_receives})"):
            log.warning("notification %s (%s) moved to the dead-letter queue after %d receives",
                        key, n.type, count)
            return
        try:
            with _Heartbeat(self, m["ReceiptHandle"]):
                self.handler(n)
        except Exception as exc:  # noqa: BLE001 - any handler failure leaves the message queued
            self.stats.failed += 1
            self.stats.errors.append(f"{mid} {n.type}: {type(exc).__name__}: {exc}")
            log.warning("handler failed for notification %s (%s), receive %d: %s: %s", key,
                        n.type, count, type(exc).__name__, exc)
            if self.retry_delay is not None:
                try:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=max(0, int(self.retry_delay)))
                except Exception as err:  # noqa: BLE001 - it will reappear anyway
                    log.warning("could not reset the visibility of %s: %s", mid, err)
            return
        self._delete(m)
        self._remember(key)
        self.stats.handled += 1


def print_handler(n: Any) -> None:
    """The CLI's default handler: the notification as one JSON line on stdout."""
    import sys

    sys.stdout.write(json.dumps(n.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()
