"""``sellerkit notifications destinations|subscribe|parse`` against an emulator on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit.emulator import EmulatorConfig, EmulatorServer

SQS = "arn:aws:sqs:us-east-1:123456789012:sp-cli"
ORDER = {"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
         "EventTime": "2026-01-01T10:00:00Z", "NotificationMetadata": {
             "ApplicationId": "app", "SubscriptionId": "s", "PublishTime":
             "2026-01-01T10:00:01Z", "NotificationId": "id-1"},
         "Payload": {"OrderChangeNotification": {"AmazonOrderId": "111-1"}}}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=5, seed=2)) as s:
        yield s


class Run:
    def __init__(self, server: EmulatorServer | None, state: Path) -> None:
        self.server, self.state = server, state

    def __call__(self, *args: str, stdin: str | None = None) -> Any:
        from sellerkit.cli.main import app

        env: dict[str, str | None] = {k: None for k in os.environ
                                      if k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))
                                      and not k.startswith("SELLERKIT_TEST_")}
        env.update(SELLERKIT_CONFIG=os.devnull, SELLERKIT_STATE_DIR=str(self.state),
                   COLUMNS="120")
        if self.server is not None:
            emu = self.server.emulator
            env.update(SELLERKIT_CLIENT_ID=emu.config.client_id,
                       SELLERKIT_CLIENT_SECRET=emu.config.client_secret,
                       SELLERKIT_REFRESH_TOKEN=emu.refresh_token(0),
                       SELLERKIT_ENDPOINT=self.server.base_url,
                       SELLERKIT_LWA_ENDPOINT=self.server.base_url + "/auth/o2/token",
                       SELLERKIT_MARKETPLACE="US")
        return CliRunner().invoke(app, list(args), env=env, input=stdin)


@pytest.fixture
def run(server: EmulatorServer, tmp_path: Path) -> Run:
    return Run(server, tmp_path)


def test_subscribe_twice_then_list(run: Run) -> None:
    first = run("notifications", "subscribe", "ORDER_CHANGE", "--sqs-arn", SQS, "--json")
    assert first.exit_code == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["created"] and doc["notificationType"] == "ORDER_CHANGE"
    assert doc["destination"]["resource"] == {"sqs": {"arn": SQS}}
    assert first.stderr == ""
    second = run("notifications", "subscribe", "ORDER_CHANGE", "--destination",
                 doc["destinationId"])
    assert second.exit_code == 0, second.stderr
    assert second.stdout.strip() == doc["subscriptionId"]
    assert "already subscribed ORDER_CHANGE" in second.stderr
    listed = run("notifications", "destinations", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [d["destinationId"] for d in json.loads(listed.stdout)] == [doc["destinationId"]]
    table = run("notifications", "destinations")
    assert SQS in table.stdout and doc["destinationId"] in table.stdout
    assert "1 destination" in table.stderr


def test_subscribe_mistakes_are_one_line_and_exit_2(run: Run) -> None:
    both = run("notifications", "subscribe", "ORDER_CHANGE")
    assert both.exit_code == 2 and "exactly one of --destination" in both.stderr
    wrong = run("notifications", "subscribe", "LISTINGS_ITEM_STATUS_CHANGE", "--sqs-arn", SQS,
                "--json")
    assert wrong.exit_code == 2 and wrong.stdout == ""
    err = json.loads(wrong.stderr)["error"]
    assert err["type"] == "ConfigurationError"
    assert "EventBridge destinations only" in err["message"]


def test_parse(tmp_path: Path) -> None:
    run = Run(None, tmp_path)
    path = tmp_path / "n.json"
    path.write_text(json.dumps({"MessageId": "m", "ReceiptHandle": "r",
                                "Body": json.dumps(ORDER)}))
    r = run("notifications", "parse", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "ORDER_CHANGE" and doc["via"] == "sqs" and doc["known"]
    assert doc["event_time"] == "2026-01-01T10:00:00+00:00"
    plain = run("notifications", "parse", str(path))
    assert plain.exit_code == 0 and "ORDER_CHANGE" in plain.stdout and "111-1" in plain.stdout
    lines = tmp_path / "n.jsonl"
    lines.write_text(json.dumps(ORDER) + "\n\n" + json.dumps(ORDER) + "\n")
    many = run("notifications", "parse", str(lines), "--json")
    assert many.exit_code == 0 and len(json.loads(many.stdout)) == 2
    stdin = run("notifications", "parse", "-", "--json", stdin=json.dumps(ORDER))
    assert json.loads(stdin.stdout)["notification_id"] == "id-1"
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = run("notifications", "parse", str(bad))
    assert r.exit_code == 2 and "no NotificationType" in r.stderr and r.stdout == ""
    missing = run("notifications", "parse", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({**ORDER, "Payload": {"Other": {}}}))
    assert run("notifications", "parse", str(strict)).exit_code == 2
    assert run("notifications", "parse", str(strict), "--lenient").exit_code == 0
