"""Client secret rotation against the emulator and a real SQS server (moto in server mode on
loopback): the emulator implements rotateApplicationClientSecret as Amazon documents it
(sp-api-facts.md §12) and delivers both notifications to the queue "registered in the console";
`sellerkit secrets rotate` stores and verifies the new secret, `secrets watch` records expiry
notices for doctor and road. No command prints a secret."""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.server import EmulatorServer
from sellerkit.onboarding.state import read_secret_expiry, record_secret_expiry
from tests.moto_server import running_moto

from . import keyring_memory
from .keyring_memory import MemoryKeyring

# the shared fixtures (a config file of the test's own; an in-memory keyring or none)
config_file = keyring_memory.config_file
memory_keyring = keyring_memory.memory_keyring
no_keyring = keyring_memory.no_keyring

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

runner = CliRunner()
DAY = 86400.0


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; these keep boto3 away from a developer's real ones
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def queue(sqs_endpoint: str, aws_env: None, request: pytest.FixtureRequest) -> dict[str, Any]:
    sqs = boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")
    name = f"secrets-{abs(hash(request.node.name)) % 10**8}-{time.monotonic_ns() % 10**6}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return {"sqs": sqs, "url": url, "arn": arn}


def _init(server: EmulatorServer, profile: str = "default") -> None:
    cfg = server.emulator.config
    result = runner.invoke(app, ["init", "--profile", profile, "--marketplace", "US",
                                 "--client-id", cfg.client_id, "--client-secret",
                                 cfg.client_secret, "--refresh-token", cfg.refresh_token,
                                 "--endpoint", server.base_url, "--skip-doctor"])
    assert result.exit_code == 0, result.stderr


def _lwa(base_url: str, client_id: str, secret: str) -> int:
    return httpx.post(base_url + "/auth/o2/token", data={
        "grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications",
        "client_id": client_id, "client_secret": secret}, timeout=10).status_code


def _no_secret(out: str, *secrets: str) -> None:
    for s in secrets:
        assert s not in out and s[16:40] not in out, out


def test_rotate_end_to_end_with_the_secret_in_the_file(queue: dict[str, Any], sqs_endpoint: str,
                                                       config_file: Path, no_keyring: None
                                                       ) -> None:
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint,
                         secret_queue_arn=queue["arn"])
    with EmulatorServer(cfg) as server:
        _init(server)
        old = cfg.client_secret
        result = runner.invoke(app, ["secrets", "rotate", "--queue-url", queue["url"],
                                     "--sqs-endpoint", sqs_endpoint, "--wait", "30"])
        out = result.stdout + result.stderr
        assert result.exit_code == 0, out
        new = tomllib.loads(config_file.read_text())["profiles"]["default"]["client_secret"]
        assert new != old and new.startswith("amzn1.oa2-cs.v1.")
        _no_secret(out, old, new)
        assert "verified: LWA issued a token with the new secret" in out
        assert "the old secret stops working" in out and "(in 7.0 days)" in out
        assert "the new secret expires" in out and "(in 180.0 days)" in out
        # the emulator's LWA takes both until the old one expires
        assert _lwa(server.base_url, cfg.client_id, new) == 200
        assert _lwa(server.base_url, cfg.client_id, old) == 200
        assert _lwa(server.base_url, cfg.client_id, old + "x") == 401
    recorded = read_secret_expiry("default")
    assert recorded is not None and recorded.source == "secrets rotate"
    assert abs((recorded.expires_at - datetime.now(UTC)) - timedelta(days=180)) < timedelta(
        minutes=5)
    # the message with the secret was deleted from the queue
    left = queue["sqs"].receive_message(QueueUrl=queue["url"], WaitTimeSeconds=0)
    assert not left.get("Messages")


def test_rotate_keeps_the_new_secret_in_the_keyring(queue: dict[str, Any], sqs_endpoint: str,
                                                    config_file: Path,
                                                    memory_keyring: MemoryKeyring) -> None:
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint,
                         secret_queue_arn=queue["arn"])
    with EmulatorServer(cfg) as server:
        _init(server, "kr")
        result = runner.invoke(app, ["secrets", "rotate", "--profile", "kr", "--queue-url",
                                     queue["url"], "--sqs-endpoint", sqs_endpoint, "--json"])
        assert result.exit_code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["stored"] == "keyring" and doc["verified"] is True
        new = memory_keyring.entries[("sellerkit", "kr/client_secret")]
        assert new != cfg.client_secret
        assert new not in result.stdout + result.stderr
        table = tomllib.loads(config_file.read_text())["profiles"]["kr"]
        assert table["client_secret"] == "keyring:sellerkit/kr/client_secret"
        old = datetime.fromisoformat(doc["old_secret_expires_at"])
        assert timedelta(days=6.9) < old - datetime.now(UTC) < timedelta(days=7.1)


def test_expiry_notices_reach_the_queue_and_watch_records_them(
        queue: dict[str, Any], sqs_endpoint: str, config_file: Path, no_keyring: None) -> None:
    expires = time.time() + 30 * DAY  # inside the 90-day notice window: sent at start
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint,
                         secret_queue_arn=queue["arn"], client_secret_expires_at=expires)
    with EmulatorServer(cfg) as server:
        _init(server, "a")
        _init(server, "b")  # the same app in two profiles: both learn the date
        # something else on the same queue stays there for its own consumer
        queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=json.dumps({
            "notificationType": "REPORT_PROCESSING_FINISHED", "payloadVersion": "2020-09-04",
            "eventTime": "2026-01-01T00:00:00Z", "payload": {}}))
        deadline = time.monotonic() + 20
        while server.emulator.notifications.sent < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = runner.invoke(app, ["secrets", "watch", "--queue-url", queue["url"],
                                     "--sqs-endpoint", sqs_endpoint, "--once", "--json"])
        assert result.exit_code == 0, result.stderr
        stats = json.loads(result.stdout)
    assert stats["expiry_recorded"] == 2 and stats["left_on_queue"] == 1, stats
    for profile in ("a", "b"):
        got = read_secret_expiry(profile)
        assert got is not None and got.source == "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
        assert abs(got.expires_at.timestamp() - expires) < 2
    left = queue["sqs"].receive_message(QueueUrl=queue["url"], WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"])["notificationType"] for m in left] == [
        "REPORT_PROCESSING_FINISHED"]


def test_watch_picks_up_a_secret_rotated_elsewhere(queue: dict[str, Any], sqs_endpoint: str,
                                                   config_file: Path,
                                                   memory_keyring: MemoryKeyring) -> None:
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint,
                         secret_queue_arn=queue["arn"])
    with EmulatorServer(cfg) as server:
        _init(server, "shop")
        # rotated in the portal (here: straight at the emulator), not by sellerkit
        token = server.emulator.grantless_token("sellingpartnerapi::client_credential:rotation")
        assert httpx.post(server.base_url + "/applications/2023-11-30/clientSecret",
                          headers={"x-amz-access-token": token}).status_code == 204
        deadline = time.monotonic() + 20
        while server.emulator.notifications.sent < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = runner.invoke(app, ["secrets", "watch", "--queue-url", queue["url"],
                                     "--sqs-endpoint", sqs_endpoint, "--once"])
        out = result.stdout + result.stderr
        assert result.exit_code == 0, out
        new = memory_keyring.entries[("sellerkit", "shop/client_secret")]
        assert new != cfg.client_secret
        _no_secret(out, new, cfg.client_secret)
        assert "new client secret amzn1.oa2-cs.v1.…(80 chars) stored in the OS keyring" in out
        assert "verified with LWA" in out
    assert read_secret_expiry("shop").source == "secrets rotate"  # type: ignore[union-attr]


def test_a_late_expiry_notice_does_not_undo_a_rotation(config_file: Path) -> None:
    from sellerkit.onboarding.rotate import _record_expiry

    cid = "amzn1.application-oa2-client.x"
    now = datetime.now(UTC)
    record_secret_expiry("p", client_id=cid, expires_at=now + timedelta(days=180),
                         source="secrets rotate", now=now)
    # published before the rotation, delivered after it
    assert not _record_expiry("p", cid, now + timedelta(days=3), now - timedelta(hours=1),
                              "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY")
    assert read_secret_expiry("p").source == "secrets rotate"  # type: ignore[union-attr]
    assert _record_expiry("p", cid, now + timedelta(days=90), now + timedelta(hours=1),
                          "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY")


def test_no_new_secret_on_the_queue_is_a_clear_error(queue: dict[str, Any], sqs_endpoint: str,
                                                     config_file: Path, no_keyring: None) -> None:
    # the queue is not the one registered: the emulator sends the secret nowhere
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint)
    with EmulatorServer(cfg) as server:
        _init(server)
        result = runner.invoke(app, ["secrets", "rotate", "--queue-url", queue["url"],
                                     "--sqs-endpoint", sqs_endpoint, "--wait", "1"])
    assert result.exit_code == 1, result.stderr
    assert "no APPLICATION_OAUTH_CLIENT_NEW_SECRET" in result.stderr
    assert "do not rotate again" in result.stderr and "Notification Preferences" in result.stderr
    assert "secrets watch" in result.stderr
    _no_secret(result.stderr, cfg.client_secret)


def test_a_lost_answer_is_never_retried(queue: dict[str, Any], sqs_endpoint: str,
                                        config_file: Path, no_keyring: None) -> None:
    cfg = EmulatorConfig(orders=3, rate_scale=100, sqs_endpoint=sqs_endpoint,
                         secret_queue_arn=queue["arn"])
    with EmulatorServer(cfg) as server:
        # LWA on another host name, as at Amazon (api.amazon.com): the rotation request is then
        # the first on its connection (the wire re-sends a request once when a *reused*
        # keep-alive connection turns out closed, which this test would count too)
        port = server.base_url.rsplit(":", 1)[1]
        c = server.emulator.config
        assert runner.invoke(app, [
            "init", "--marketplace", "US", "--client-id", c.client_id, "--client-secret",
            c.client_secret, "--refresh-token", c.refresh_token, "--endpoint", server.base_url,
            "--lwa-endpoint", f"http://localhost:{port}/auth/o2/token", "--skip-doctor"]
        ).exit_code == 0
        server.emulator.set_faults("reset:1.0")  # every SP-API call: the connection drops
        plan = server.emulator.faults
        drawn: list[object] = []
        real_draw = plan.draw

        def counted() -> Any:
            drawn.append(1)
            return real_draw()

        plan.draw = counted  # type: ignore[method-assign]
        result = runner.invoke(app, ["secrets", "rotate", "--queue-url", queue["url"],
                                     "--sqs-endpoint", sqs_endpoint, "--wait", "1"])
    assert result.exit_code == 1, result.stderr
    assert len(drawn) == 1  # one attempt: a retry could rotate twice
    assert "The rotation request got no answer" in result.stderr
    assert "do not rotate again" in result.stderr


def test_a_queue_that_cannot_be_read_stops_it_before_rotating(sqs_endpoint: str, aws_env: None,
                                                              config_file: Path,
                                                              no_keyring: None) -> None:
    with EmulatorServer(EmulatorConfig(orders=3, rate_scale=100)) as server:
        _init(server)
        result = runner.invoke(app, ["secrets", "rotate", "--queue-url",
                                     f"{sqs_endpoint}/123456789012/no-such-queue",
                                     "--sqs-endpoint", sqs_endpoint])
        assert result.exit_code == 1, result.stderr
        assert "SQS answered" in result.stderr
        # nothing was rotated: the configured secret is still the only one
        assert server.emulator.tokens.client_secrets.dump()[0][0] == server.emulator.config.client_secret
        assert len(server.emulator.tokens.client_secrets.dump()) == 1


# the emulator, from Amazon's documentation -------------------------------------------------


def test_the_emulator_rotation_operation() -> None:
    now = [1_800_000_000.0]
    emu = Emulator(EmulatorConfig(orders=2, secret_queue_arn="arn:aws:sqs:us-east-1:1:q",
                                  clock=lambda: now[0]))
    cfg = emu.config
    path = "/applications/2023-11-30/clientSecret"
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as http:
        # grantless only, and only with the rotation scope
        seller = http.post(path, headers={"x-amz-access-token": emu.access_token()})
        assert seller.status_code == 403
        other = http.post(path, headers={
            "x-amz-access-token": emu.grantless_token("sellingpartnerapi::notifications")})
        assert other.status_code == 403
        token = emu.grantless_token("sellingpartnerapi::client_credential:rotation")
        r = http.post(path, headers={"x-amz-access-token": token})
        assert r.status_code == 204 and r.content == b""  # the secret is not in the answer
        (rec,) = emu.notifications.delivered(notification_types="APPLICATION_OAUTH_CLIENT_NEW_SECRET")
        assert rec["resource"] == {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:q"}}
        env = rec["message"]
        assert env["notificationType"] == "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
        assert env["payloadVersion"] == "2023-11-30" and env["notificationVersion"] == "1.0"
        body = env["payload"]["applicationOAuthClientNewSecret"]
        assert body["clientId"] == cfg.client_id
        assert body["newClientSecret"].startswith("amzn1.oa2-cs.v1.")
        assert body["oldClientSecretExpiryTime"] == "2027-01-22T08:00:00Z"  # +7 days
        assert body["newClientSecretExpiryTime"] == "2027-07-14T08:00:00Z"  # +180 days
        assert set(env["notificationMetadata"]) == {"applicationId", "subscriptionId",
                                                    "publishTime", "notificationId"}

        def lwa(secret: str) -> int:
            return http.post("/auth/o2/token", data={
                "grant_type": "client_credentials", "client_id": cfg.client_id,
                "client_secret": secret, "scope": "sellingpartnerapi::notifications"}
            ).status_code

        assert lwa(body["newClientSecret"]) == 200 and lwa(cfg.client_secret) == 200
        now[0] += 7 * DAY + 1
        assert lwa(cfg.client_secret) == 401 and lwa(body["newClientSecret"]) == 200
        # 90 days before the new secret's end, Amazon's expiry notice (once)
        assert not emu.notifications.delivered(
            notification_types="APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY")
        now[0] += 85 * DAY
        lwa(body["newClientSecret"])
        lwa(body["newClientSecret"])
        (notice,) = emu.notifications.messages(
            notification_types="APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY")
        assert notice["payload"]["applicationOAuthClientSecretExpiry"] == {
            "clientId": cfg.client_id, "clientSecretExpiryTime": "2027-07-14T08:00:00Z",
            "clientSecretExpiryReason": "PERIODIC_ROTATION"}
    emu.close()


def test_a_rotated_secret_survives_an_emulator_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    emu = Emulator(EmulatorConfig(orders=2, state_file=state))
    with httpx.Client(transport=emu.sync_transport(), base_url="http://emulator") as http:
        token = emu.grantless_token("sellingpartnerapi::client_credential:rotation")
        assert http.post("/applications/2023-11-30/clientSecret",
                         headers={"x-amz-access-token": token}).status_code == 204
    (msg,) = emu.notifications.messages(notification_types="APPLICATION_OAUTH_CLIENT_NEW_SECRET")
    new = msg["payload"]["applicationOAuthClientNewSecret"]["newClientSecret"]
    emu.close()
    again = Emulator(EmulatorConfig(orders=2, state_file=state))
    assert again.tokens.grant({"grant_type": "client_credentials", "client_id":
                               again.config.client_id, "client_secret": new,
                               "scope": "sellingpartnerapi::notifications"})["access_token"]
    again.close()
