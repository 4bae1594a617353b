"""The SQS consumer against moto in server mode on loopback (boto3 with an endpoint URL and
dummy credentials; never AWS)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from sellerkit.errors import ConfigurationError  # noqa: E402
from sellerkit.workflows.notification_consumer import SqsConsumer, load_handler  # noqa: E402
from tests.moto_server import CREDS, running_moto  # noqa: E402


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def sqs(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, **CREDS)


_n = iter(range(10**6))


def queue(sqs: Any, visibility: int = 30) -> str:
    name = f"q{next(_n)}-{os.getpid()}"
    return str(sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility)})["QueueUrl"])


def envelope(nid: str, order: str = "111-1") -> str:
    return json.dumps({
        "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0", "EventTime": "2026-01-01T10:00:00Z",
        "NotificationMetadata": {"ApplicationId": "app", "SubscriptionId": "s",
                                 "PublishTime": "2026-01-01T10:00:01Z", "NotificationId": nid},
        "Payload": {"OrderChangeNotification": {"AmazonOrderId": order}}})


def depth(sqs: Any, url: str) -> int:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def test_success_deletes_and_duplicates_are_not_handled_twice(sqs: Any) -> None:
    url = queue(sqs)
    for nid, order in [("n-1", "111-1"), ("n-2", "111-2"), ("n-1", "111-1")]:
        sqs.send_message(QueueUrl=url, MessageBody=envelope(nid, order))
    seen: list[str] = []
    c = SqsConsumer(url, lambda n: seen.append(n.body["AmazonOrderId"]), sqs=sqs, wait_time=1,
                    batch_size=1)
    stats = c.run(exit_when_empty=True)
    assert sorted(seen) == ["111-1", "111-2"]
    assert stats.handled == 2 and stats.duplicates == 1 and stats.received == 3
    assert depth(sqs, url) == 0


def test_a_failing_handler_leaves_the_message_then_it_is_retried(sqs: Any) -> None:
    url = queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody=envelope("n-retry"))
    calls: list[int] = []

    def flaky(n: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database down")

    c = SqsConsumer(url, flaky, sqs=sqs, wait_time=1, retry_delay=0)
    assert c.poll_once() == 1
    assert c.stats.failed == 1 and depth(sqs, url) == 1  # still queued
    assert "database down" in c.stats.errors[0]
    c.run(exit_when_empty=True)
    assert len(calls) == 2 and c.stats.handled == 1 and depth(sqs, url) == 0


def test_visibility_is_extended_while_the_handler_runs(sqs: Any) -> None:
    url = queue(sqs, visibility=6)  # extended every 2 s: 4 s of slack on a loaded host
    sqs.send_message(QueueUrl=url, MessageBody=envelope("n-slow"))
    other = boto3.client("sqs", endpoint_url=sqs.meta.endpoint_url, **CREDS)
    peeked: list[int] = []

    def slow(n: Any) -> None:
        started = time.monotonic()
        # wait past the original visibility timeout, and for a few extensions
        deadline = started + 120
        while (time.monotonic() - started < 8 or c.stats.extensions < 3) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        r = other.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        peeked.append(len(r.get("Messages") or []))

    c = SqsConsumer(url, slow, sqs=sqs, wait_time=1)
    assert c.visibility_timeout == 6  # read from the queue
    assert c.poll_once() == 1
    assert c.stats.extensions >= 3
    assert peeked == [0]  # nobody else saw it while it was being handled
    assert c.stats.handled == 1 and depth(sqs, url) == 0


def test_poison_messages_go_to_the_dead_letter_queue(sqs: Any) -> None:
    url, dlq = queue(sqs), queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody=envelope("n-poison"))
    sqs.send_message(QueueUrl=url, MessageBody='{"not": "a notification"}')

    def broken(n: Any) -> None:
        raise ValueError("cannot handle")

    c = SqsConsumer(url, broken, sqs=sqs, wait_time=1, retry_delay=0, max_receives=2,
                    dead_letter_queue_url=dlq)
    c.run(exit_when_empty=True)
    assert c.stats.failed == 2 and c.stats.unparseable == 1 and c.stats.dead_lettered == 2
    assert depth(sqs, url) == 0
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"])["Messages"]
    reasons = sorted(m["MessageAttributes"]["sellerkit-reason"]["StringValue"] for m in moved)
    assert reasons[0].startswith("not a notification") and "received 3 times" in reasons[1]
    assert {m["Body"] for m in moved} >= {envelope("n-poison")}


def test_without_a_dead_letter_queue_poison_is_left_for_the_redrive_policy(sqs: Any) -> None:
    url = queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="plain text")
    c = SqsConsumer(url, lambda n: None, sqs=sqs, wait_time=1)
    assert c.poll_once() == 1
    assert c.stats.unparseable == 1 and depth(sqs, url) == 1


def test_configuration_mistakes() -> None:
    with pytest.raises(ConfigurationError, match="not an SQS queue URL"):
        SqsConsumer("arn:aws:sqs:us-east-1:1:q", print, sqs=object())
    with pytest.raises(ConfigurationError, match="0 to 20"):
        SqsConsumer("http://x/q", print, sqs=object(), wait_time=30, visibility_timeout=5)
    with pytest.raises(ConfigurationError, match="not module:function"):
        load_handler("json")
    with pytest.raises(ConfigurationError, match="cannot import"):
        load_handler("no_such_module_here:f")
    with pytest.raises(ConfigurationError, match="has no nope"):
        load_handler("json:nope")
    assert load_handler("json:dumps") is json.dumps


def test_sqs_failures_are_one_clear_error(sqs: Any, endpoint: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from sellerkit.workflows.notification_consumer import SqsError

    with pytest.raises(SqsError, match="SQS answered .*NonExistentQueue"):
        SqsConsumer(f"{endpoint}/123456789012/no-such-queue", print, sqs=sqs)
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="no AWS credentials"):
        SqsConsumer(queue(sqs), print, endpoint_url=endpoint, region_name="us-east-1")


# the CLI ----------------------------------------------------------------------------------

RECORDED: list[str] = []


def record(n: Any) -> None:
    """A --handler for the CLI test."""
    RECORDED.append(n.notification_id)


def _cli(args: list[str], endpoint: str, tmp_path: Path) -> Any:
    from typer.testing import CliRunner

    from sellerkit.cli.main import app

    env: dict[str, str | None] = {k: None for k in os.environ
                                  if k.startswith(("AWS_", "SELLERKIT_"))
                                  and not k.startswith("SELLERKIT_TEST_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, SELLERKIT_CONFIG=os.devnull,
               SELLERKIT_STATE_DIR=str(tmp_path))
    return CliRunner().invoke(app, ["notifications", "listen", *args, "--endpoint-url",
                                    endpoint], env=env)


def test_cli_listen(sqs: Any, endpoint: str, tmp_path: Path) -> None:
    url = queue(sqs)
    for nid in ("c-1", "c-2", "c-1"):
        sqs.send_message(QueueUrl=url, MessageBody=envelope(nid))
    r = _cli(["--queue-url", url, "--wait", "1", "--exit-when-empty"], endpoint, tmp_path)
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["notification_id"] for x in lines] == ["c-1", "c-2"]
    assert "handled 2" in r.stderr and "duplicates 1" in r.stderr

    RECORDED.clear()
    sqs.send_message(QueueUrl=url, MessageBody=envelope("c-3"))
    r = _cli(["--queue-url", url, "--wait", "1", "--exit-when-empty", "--json", "--handler",
              f"{__name__}:record"], endpoint, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert RECORDED == ["c-3"]
    assert json.loads(r.stdout)["handled"] == 1
    bad = _cli(["--queue-url", url, "--handler", "nope"], endpoint, tmp_path)
    assert bad.exit_code == 2 and "module:function" in bad.stderr


def test_stop_event_ends_run(sqs: Any) -> None:
    url = queue(sqs)
    stop = threading.Event()
    c = SqsConsumer(url, lambda n: stop.set(), sqs=sqs, wait_time=1)
    sqs.send_message(QueueUrl=url, MessageBody=envelope("s-1"))
    c.run(stop=stop)
    assert stop.is_set() and c.stats.handled == 1
