"""End to end through a real SQS-compatible server: moto in server mode on loopback (dummy
credentials, a free port). The emulator, configured with the server's URL, sends each
notification to the queue its destination's ARN names; boto3 receives it and sellerkit's
parser reads it, as a consumer of Amazon's queue would."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from sellerkit.emulator import Emulator, EmulatorConfig  # noqa: E402
from sellerkit.workflows.notification_types import parse_notification  # noqa: E402

from .test_notifications_delivery import run_feed, run_report, subscribe  # noqa: E402

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
         "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def receive(sqs: Any, url: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def test_report_and_feed_notifications_arrive_on_the_sqs_queue(endpoint: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    name = f"sp-notifications-{os.getpid()}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=2, report_seconds=0.2,
                                  feed_seconds=0.2, sqs_endpoint=endpoint))
    try:
        with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as http:
            subscribe(http, emu, ("REPORT_PROCESSING_FINISHED", "2020-09-04"),
                      ("FEED_PROCESSING_FINISHED", "2020-09-04"), arn=arn)
            rid = run_report(http, emu)
            fid = run_feed(http, emu)
            # no more API calls: the emulator's own sender notices both finish
            messages = receive(sqs, url, 2)
    finally:
        emu.close()
    assert len(messages) == 2, messages
    parsed = {n.type: n for n in (parse_notification(m) for m in messages)}
    assert set(parsed) == {"REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED"}
    assert parsed["REPORT_PROCESSING_FINISHED"].body["reportId"] == rid
    assert parsed["FEED_PROCESSING_FINISHED"].body["feedId"] == fid
    assert parsed["FEED_PROCESSING_FINISHED"].body["processingStatus"] == "DONE"
    # the message body is the envelope itself, exactly as the in-process queue holds it
    bodies = sorted((json.loads(m["Body"]) for m in messages),
                    key=lambda b: b["notificationType"])
    assert bodies == sorted(emu.notifications.messages(), key=lambda b: b["notificationType"])
    assert all(n.via == "sqs" for n in parsed.values())
    assert emu.notifications.sent == 2 and emu.notifications.failures == 0


def test_a_missing_queue_is_logged_and_others_still_get_theirs(endpoint: str,
                                                              caplog: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    name = f"present-{os.getpid()}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=5, seed=2, report_seconds=0.2,
                                  feed_seconds=0.2, sqs_endpoint=endpoint))
    try:
        with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as http:
            subscribe(http, emu, ("REPORT_PROCESSING_FINISHED", "2020-09-04"),
                      arn="arn:aws:sqs:us-east-1:123456789012:no-such-queue")
            subscribe(http, emu, ("FEED_PROCESSING_FINISHED", "2020-09-04"),
                      arn=f"arn:aws:sqs:us-east-1:123456789012:{name}")
            run_report(http, emu)  # accepted: 202, whatever SQS says later
            fid = run_feed(http, emu)
            got = receive(sqs, url, 1)
    finally:
        emu.close()
    assert [parse_notification(m).body["feedId"] for m in got] == [fid]
    assert emu.notifications.failures == 1 and emu.notifications.sent == 1
    assert "no-such-queue" in caplog.text
    assert len(emu.notifications.delivered()) == 2  # both are still readable in-process
