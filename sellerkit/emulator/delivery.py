"""Delivery of the simulation's notifications: ``emulator.notifications``.

The simulation posts every notification it produces (an order changes status, a report or a
feed finishes, or another simulation calls ``simulation.notifications.notify``) to an
in-memory outbox, as the envelope Amazon would send, next to the destination it is for.
From there:

- Python reads it: ``emulator.notifications.delivered()`` (records), ``.messages()`` (just the
  envelopes), ``.wait(count, ...)`` (until that many have arrived);
- HTTP reads it: ``GET /_emulator/notifications?after=<seq>&destinationId=&notificationType=
  &wait=<seconds>`` answers ``{"notifications": [...], "last": <seq>}``;
- with ``EmulatorConfig(sqs_endpoint=URL)`` (``sellerkit emulator --sqs-endpoint URL``) each
  notification for an SQS destination is also sent, with boto3, to the queue the destination's
  ARN names (its last part) on that endpoint (moto, ElasticMQ, LocalStack...). A background
  thread does it, so an API call never waits for SQS, and a failure (no such queue, endpoint
  down) is logged and counted (``failures``), never raised. boto3 is given fixed dummy
  credentials, so the user's real AWS credentials never go to the local endpoint.

EventBridge destinations are not delivered anywhere but the in-process outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["NotificationDelivery"]

log = logging.getLogger("sellerkit.emulator")

# boto3 talks to a local SQS look-alike: these are no one's credentials
_DUMMY_KEY = "emulator"
_DUMMY_SECRET = "emulator"  # noqa: S105 - not a secret


def _matches(rec: dict[str, Any], destination_id: str | None,
             types: frozenset[str] | None) -> bool:
    return ((destination_id is None or rec["destinationId"] == destination_id)
            and (types is None or rec["notificationType"] in types))


def _types(notification_types: str | Iterable[str] | None) -> frozenset[str] | None:
    if notification_types is None:
        return None
    if isinstance(notification_types, str):
        return frozenset({notification_types})
    return frozenset(notification_types)


class NotificationDelivery:
    """The notifications of one emulator (``Emulator.notifications``)."""

    def __init__(self, simulation: Any, *, sqs_endpoint: str | None = None,
                 interval: float = 0.25) -> None:
        self._sim = simulation
        self.sqs_endpoint = sqs_endpoint
        self.interval = interval
        self.sent = 0  # messages SQS accepted
        self.failures = 0  # messages that could not be sent to SQS
        self._pump_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Any] = {}
        self._queue_urls: dict[tuple[str, str], str] = {}
        # what a saved state already held was delivered by an earlier emulator
        self._cursor = self.last_seq()
        if sqs_endpoint is not None and simulation is not None:
            try:
                import boto3  # noqa: F401
            except ImportError:
                from sellerkit.errors import ConfigurationError

                raise ConfigurationError(
                    "delivering notifications to SQS (--sqs-endpoint) needs boto3: "
                    "pip install 'sellerkit[aws]'") from None
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="sellerkit-emulator-notifications")
            self._thread.start()

    # ------------------------------------------------------------------ reading

    def delivered(self, destination_id: str | None = None, *, after: int = 0,
                  notification_types: str | Iterable[str] | None = None
                  ) -> list[dict[str, Any]]:
        """Notifications so far, oldest first: ``{"seq", "destinationId", "resource",
        "subscriptionId", "notificationType", "eventTime", "message"}`` (``message`` is the
        envelope). ``after`` is the last ``seq`` already seen; the filters are optional."""
        if self._sim is None:
            return []
        types = _types(notification_types)
        return [r for r in self._sim.notifications(destination_id, after=after)
                if _matches(r, None, types)]

    def messages(self, destination_id: str | None = None, *, after: int = 0,
                 notification_types: str | Iterable[str] | None = None
                 ) -> list[dict[str, Any]]:
        """Just the envelopes of ``delivered()``."""
        return [r["message"] for r in self.delivered(destination_id, after=after,
                                                     notification_types=notification_types)]

    def wait(self, count: int = 1, *, destination_id: str | None = None, after: int = 0,
             notification_types: str | Iterable[str] | None = None,
             timeout: float = 10.0) -> list[dict[str, Any]]:
        """``delivered()`` once at least ``count`` records match, or what there is when
        ``timeout`` seconds have passed (check the length)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.delivered(destination_id, after=after,
                                 notification_types=notification_types)
            if len(got) >= count or time.monotonic() >= deadline:
                return got
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def last_seq(self) -> int:
        """The ``seq`` of the newest notification (0 when there is none)."""
        if self._sim is None or not hasattr(self._sim, "last_notification_seq"):
            return 0
        return int(self._sim.last_notification_seq())

    # ------------------------------------------------------------------ SQS

    def kick(self) -> None:
        """Something may have happened: let the SQS sender look now (cheap, non-blocking)."""
        if self._thread is not None:
            self._wake.set()

    def pump(self) -> int:
        """Send the notifications not sent yet to SQS; returns how many SQS accepted. Only
        with ``sqs_endpoint``; the background thread calls it, tests may too."""
        if self.sqs_endpoint is None or self._sim is None:
            return 0
        with self._pump_lock:
            sent = 0
            for rec in self._sim.notifications(after=self._cursor):
                self._cursor = max(self._cursor, int(rec["seq"]))
                arn = (rec.get("resource") or {}).get("sqs", {}).get("arn")
                if arn and self._send(arn, rec):
                    sent += 1
            return sent

    def _send(self, arn: str, rec: dict[str, Any]) -> bool:
        import json

        parts = arn.split(":")
        region, name = (parts[3], parts[-1]) if len(parts) >= 6 else ("us-east-1", parts[-1])
        try:
            client = self._client(region)
            url = self._queue_urls.get((region, name))
            if url is None:
                url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
                self._queue_urls[(region, name)] = url
            client.send_message(QueueUrl=url, MessageBody=json.dumps(rec["message"]))
        except Exception as exc:  # noqa: BLE001 - logged; delivery never breaks the emulator
            self.failures += 1
            self._queue_urls.pop((region, name), None)
            log.warning("emulator: could not deliver the %s notification to SQS queue %r at "
                        "%s: %s", rec["notificationType"], name, self.sqs_endpoint,
                        _describe(exc))
            return False
        self.sent += 1
        return True

    def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "sqs", endpoint_url=self.sqs_endpoint, region_name=region,
                aws_access_key_id=_DUMMY_KEY, aws_secret_access_key=_DUMMY_SECRET,
                config=Config(retries={"max_attempts": 2, "mode": "standard"},
                              connect_timeout=2, read_timeout=10))
            self._clients[region] = client
        return client

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.pump()
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                log.warning("emulator: notification delivery failed: %s", _describe(exc))
            self._wake.wait(self.interval)
            self._wake.clear()

    def close(self) -> None:
        """Stop the SQS sender after a last round (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=15)
        try:
            self.pump()
        except Exception as exc:  # noqa: BLE001
            log.warning("emulator: notification delivery failed: %s", _describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
