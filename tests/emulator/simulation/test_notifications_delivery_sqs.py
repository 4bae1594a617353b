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
from tests.moto_server import CREDS, running_moto  # noqa: E402

from .test_notifications_delivery import run_feed, run_report, subscribe  # noqa: E402


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


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


def test_sellerkit_emulator_sqs_endpoint_flag(endpoint: str, tmp_path: Any) -> None:
    """``sellerkit emulator --sqs-endpoint URL`` as a user runs it: tokens from its LWA
    endpoint, a subscription, a report, and the notification on the moto queue."""
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from sellerkit.emulator.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
    )

    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    name = f"cli-{os.getpid()}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(root), COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "sellerkit.cli", "emulator", "--port", "0",
                             "--no-rate-limits", "--sqs-endpoint", endpoint], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner: list[str] = []
    try:
        assert proc.stdout is not None
        base = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            base = base or (m.group(1) if m else None)
            if "Ctrl-C" in line:
                break
        assert base, "".join(banner)
        assert any(f"SQS at {endpoint}" in b for b in banner), "".join(banner)
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(100):
                try:
                    http.get("/_emulator/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            creds = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
            grantless = http.post("/auth/o2/token", data={
                "grant_type": "client_credentials",
                "scope": "sellingpartnerapi::notifications", **creds}).json()["access_token"]
            token = http.post("/auth/o2/token", data={
                "grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
                **creds}).json()["access_token"]
            did = http.post("/notifications/v1/destinations",
                            headers={"x-amz-access-token": grantless},
                            json={"name": "q", "resourceSpecification": {"sqs": {
                                "arn": f"arn:aws:sqs:us-east-1:123456789012:{name}"}}}
                            ).json()["payload"]["destinationId"]
            assert http.post("/notifications/v1/subscriptions/REPORT_PROCESSING_FINISHED",
                             headers={"x-amz-access-token": token},
                             json={"payloadVersion": "2020-09-04", "destinationId": did}
                             ).status_code == 200
            rid = http.post("/reports/2021-06-30/reports", headers={"x-amz-access-token": token},
                            json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                  "marketplaceIds": ["ATVPDKIKX0DER"]}).json()["reportId"]
            got = receive(sqs, url, 1, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert [parse_notification(m).body["reportId"] for m in got] == [rid]


def test_a_bad_sqs_endpoint_flag_is_one_error_line() -> None:
    from typer.testing import CliRunner

    from sellerkit.cli.main import app

    result = CliRunner().invoke(app, ["emulator", "--port", "0", "--sqs-endpoint",
                                      "localhost:4566"])
    assert result.exit_code == 2
    assert "--sqs-endpoint must be an http:// or https:// URL" in result.stderr
