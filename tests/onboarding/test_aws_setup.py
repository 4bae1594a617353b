"""``sellerkit aws setup-notifications|setup-iam`` as a user runs them: the CLI, boto3 pointed at
moto in server mode on loopback (``--aws-endpoint``, fake credentials, never AWS or ~/.aws), and
the SP-API destinations at an emulator on loopback. What the commands set is read back from moto
and the emulator, not from the commands' own reports."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from typer.testing import CliRunner  # noqa: E402

from sellerkit import SellingPartner  # noqa: E402
from sellerkit.emulator import EmulatorConfig, EmulatorServer  # noqa: E402
from tests.moto_server import CREDS, running_moto  # noqa: E402

ACCOUNT = "123456789012"  # moto's account for unknown credentials
AMAZON = "arn:aws:iam::437568002678:root"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=1, seed=3)) as s:
        yield s


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials; no AWS config file, profile or instance metadata is ever read."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client(endpoint: str, service: str, **creds: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, **{**CREDS, **creds})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Cli:
    def __init__(self, endpoint: str, emulator: EmulatorServer, tmp_path: Path) -> None:
        self.endpoint, self.emulator = endpoint, emulator
        self.config = tmp_path / "config.toml"
        self.config.write_text("")  # the user's sellerkit config: empty at first
        self.state = tmp_path / "state"

    def __call__(self, *args: str, **env: str) -> Any:
        from sellerkit.cli.main import app

        emu = self.emulator
        full: dict[str, str | None] = {k: None for k in os.environ
                                       if k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))
                                       and not k.startswith("SELLERKIT_TEST_")}
        full.update(SELLERKIT_CONFIG=str(self.config), SELLERKIT_STATE_DIR=str(self.state),
                    SELLERKIT_CLIENT_ID=emu.emulator.config.client_id,
                    SELLERKIT_CLIENT_SECRET=emu.emulator.config.client_secret,
                    SELLERKIT_ENDPOINT=emu.base_url,
                    SELLERKIT_LWA_ENDPOINT=emu.base_url + "/auth/o2/token",
                    SELLERKIT_REGION="NA", SELLERKIT_RATE_LIMITER="memory",
                    SELLERKIT_AWS_ENDPOINT=self.endpoint, COLUMNS="200")
        full.update(env)
        return CliRunner().invoke(app, ["aws", *args], env=full)

    def json(self, *args: str, **env: str) -> dict[str, Any]:
        r = self(*args, "--json", **env)
        assert r.exit_code == 0, (r.stdout, r.stderr)
        return dict(json.loads(r.stdout))

    def destinations(self) -> list[dict[str, Any]]:
        cfg = self.emulator.emulator.config
        with SellingPartner(client_id=cfg.client_id, client_secret=cfg.client_secret,
                            endpoint=self.emulator.base_url, region="NA", rate_limiter=False,
                            lwa_endpoint=self.emulator.base_url + "/auth/o2/token") as sp:
            return [d.to_dict() for d in sp.notifications.destinations()]


@pytest.fixture
def cli(endpoint: str, emulator: EmulatorServer, tmp_path: Path) -> Cli:
    return Cli(endpoint, emulator, tmp_path)


def statuses(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["call"], s["target"], s["status"]) for s in report["steps"]]


def attributes(endpoint: str, name: str) -> dict[str, str]:
    sqs = client(endpoint, "sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


# setup-notifications ----------------------------------------------------------------------


def test_first_run_creates_queue_dead_letter_queue_policy_and_destination(
        cli: Cli, endpoint: str) -> None:
    name = unique("sp-notes")
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    report = cli.json("setup-notifications", "--queue", name, "--dead-letter",
                      "--max-receives", "4")
    got = statuses(report)
    assert ("sqs:CreateQueue", name + "-dlq", "created") in got
    assert ("sqs:CreateQueue", name, "created") in got
    assert ("sqs:SendMessage", name, "verified") in got  # sent, received and deleted
    assert ("notifications_v1.createDestination", name, "created") in got
    assert report["changed"] is True

    # what moto holds: a Standard queue whose policy lets Amazon send, redriving to the DLQ
    attrs = attributes(endpoint, name)
    assert attrs["QueueArn"] == arn and "FifoQueue" not in attrs
    policy = json.loads(attrs["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": AMAZON}
    assert sorted(statement["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert statement["Resource"] == arn and statement["Effect"] == "Allow"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == arn + "-dlq"
    assert int(redrive["maxReceiveCount"]) == 4
    assert attributes(endpoint, name + "-dlq")["MessageRetentionPeriod"] == "1209600"
    assert attrs["ApproximateNumberOfMessages"] == "0"  # the test message was deleted

    # the emulator holds one destination for the queue
    mine = [d for d in cli.destinations() if d["resource"] == {"sqs": {"arn": arn}}]
    assert len(mine) == 1 and mine[0]["destinationId"] == report["resources"]["destination_id"]


def test_second_run_changes_nothing_and_says_so(cli: Cli, endpoint: str) -> None:
    name = unique("sp-again")
    first = cli("setup-notifications", "--queue", name, "--dead-letter")
    assert first.exit_code == 0, first.stderr
    queues = client(endpoint, "sqs").list_queues(QueueNamePrefix=name)["QueueUrls"]
    before = attributes(endpoint, name)

    second = cli("setup-notifications", "--queue", name, "--dead-letter")
    assert second.exit_code == 0, second.stderr
    out = second.stdout
    assert out.startswith("Amazon requires this step")
    assert "created" not in out and "updated" not in out
    assert f"exists, unchanged  sqs:GetQueueUrl  {name}-dlq" in out
    assert f"exists, unchanged  sqs:GetQueueAttributes  {name}" in out
    assert f"exists, unchanged  notifications_v1.getDestinations  {name}" in out
    assert "skipped" in out and "--test-message" in out  # no test message on a used queue

    assert client(endpoint, "sqs").list_queues(QueueNamePrefix=name)["QueueUrls"] == queues
    assert attributes(endpoint, name)["Policy"] == before["Policy"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    assert len([d for d in cli.destinations() if d["resource"] == {"sqs": {"arn": arn}}]) == 1

    third = cli.json("setup-notifications", "--queue", name, "--dead-letter")
    assert third["changed"] is False


def test_dry_run_makes_no_call_and_prints_what_a_real_run_sets(cli: Cli, endpoint: str) -> None:
    name = unique("sp-dry")
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    dests_before = cli.destinations()
    dry = cli.json("setup-notifications", "--queue", name, "--dead-letter", "--dry-run",
                   "--account-id", ACCOUNT)
    assert dry["dry_run"] is True and {s["status"] for s in dry["steps"]} == {"would call"}
    assert client(endpoint, "sqs").list_queues(QueueNamePrefix=name).get("QueueUrls") is None
    assert cli.destinations() == dests_before

    real = cli.json("setup-notifications", "--queue", name, "--dead-letter")
    attrs = attributes(endpoint, name)
    # the policies dry-run printed are what the real run set, read back from moto
    assert json.loads(attrs["Policy"]) == dry["policies"]["queue_policy"]
    assert json.loads(attrs["RedrivePolicy"]) == dry["policies"]["redrive_policy"]
    create = next(s for s in dry["steps"] if s["call"] == "sqs:CreateQueue"
                  and s["target"] == name)
    assert json.loads(create["params"]["Attributes"]["Policy"]) == json.loads(attrs["Policy"])
    dest = next(s for s in dry["steps"] if s["call"] == "notifications_v1.createDestination")
    made = [d for d in cli.destinations() if d["destinationId"] == real["resources"][
        "destination_id"]]
    assert made[0]["resource"] == dest["params"]["resourceSpecification"] == {"sqs": {"arn": arn}}
    assert dry["resources"]["queue_arn"] == real["resources"]["queue_arn"] == arn

    # without --account-id the dry run says what the placeholder stands for
    text = cli("setup-notifications", "--queue", name, "--dry-run")
    assert text.exit_code == 0, text.stderr
    assert "ACCOUNT_ID" in text.stdout and "--account-id" in text.stdout
    assert '"Principal": {\n        "AWS": "arn:aws:iam::437568002678:root"' in text.stdout


def test_a_fifo_queue_is_refused_with_the_reason(cli: Cli, endpoint: str) -> None:
    name = unique("sp-fifo") + ".fifo"
    r = cli("setup-notifications", "--queue", name)
    assert r.exit_code == 2
    assert "FIFO" in r.stderr and "only to Standard SQS queues" in r.stderr
    assert "Traceback" not in r.stderr
    assert client(endpoint, "sqs").list_queues(QueueNamePrefix=name[:12]).get("QueueUrls") is None


def test_an_existing_policy_keeps_its_statements(cli: Cli, endpoint: str) -> None:
    name = unique("sp-mine")
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    theirs = {"Sid": "MyApp", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sqs:*",
              "Resource": arn}
    client(endpoint, "sqs").create_queue(QueueName=name, Attributes={"Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [theirs]})})
    report = cli.json("setup-notifications", "--queue", name, "--no-destination")
    assert ("sqs:SetQueueAttributes", name, "updated") in statuses(report)
    statements = json.loads(attributes(endpoint, name)["Policy"])["Statement"]
    assert statements[0] == theirs
    assert statements[1]["Principal"] == {"AWS": AMAZON} and statements[1]["Resource"] == arn
    again = cli.json("setup-notifications", "--queue", name, "--no-destination")
    assert again["changed"] is False


def test_event_bridge_destination_and_partner_event_source(cli: Cli, endpoint: str,
                                                           emulator: EmulatorServer) -> None:
    name = unique("sp-eb")
    app_id = emulator.emulator.config.application_id
    source = f"aws.partner/sellingpartnerapi.amazon.com/{ACCOUNT}/{app_id}"
    events = client(endpoint, "events")

    # Amazon has not created the partner event source yet: the association is pending
    first = cli("setup-notifications", "--queue", name, "--event-bridge", ACCOUNT, "--json")
    assert first.exit_code == 1, first.stderr
    report = json.loads(first.stdout)
    assert ("events:CreateEventBus", source, "pending") in statuses(report)
    eb = [d for d in cli.destinations() if d["resource"].get("eventBridge")]
    assert len(eb) == 1 and eb[0]["resource"]["eventBridge"]["accountId"] == ACCOUNT
    assert eb[0]["resource"]["eventBridge"]["name"] == source

    # Amazon's side (what createDestination makes happen in AWS): the partner event source
    events.create_partner_event_source(Name=source, Account=ACCOUNT)
    second = cli.json("setup-notifications", "--queue", name, "--event-bridge", ACCOUNT)
    assert ("events:CreateEventBus", source, "created") in statuses(second)
    assert ("notifications_v1.getDestinations", f"{name}-eventbridge", "exists, unchanged"
            ) in statuses(second)  # the first run's destination, reused
    bus = events.describe_event_bus(Name=source)
    assert bus["Arn"] == second["resources"]["event_bus_arn"]

    third = cli.json("setup-notifications", "--queue", name, "--event-bridge", ACCOUNT)
    assert third["changed"] is False
    assert ("events:DescribeEventBus", source, "exists, unchanged") in statuses(third)
    assert len([d for d in cli.destinations() if d["resource"].get("eventBridge")]) == 1

    other = cli("setup-notifications", "--queue", name, "--event-bridge", "111111111111")
    assert other.exit_code == 2 and "not the account of these AWS credentials" in other.stderr


def test_mistakes_are_one_line(cli: Cli) -> None:
    plain = cli("setup-notifications", "--queue", "q", "--aws-endpoint", "http://example.com")
    assert plain.exit_code == 2 and "non-loopback" in plain.stderr
    bad = cli("setup-notifications", "--queue", "a b")
    assert bad.exit_code == 2 and "not a valid SQS queue name" in bad.stderr
    both = cli("setup-notifications", "--queue", "q", "--event-bridge", ACCOUNT,
               "--no-destination")
    assert both.exit_code == 2 and "--event-bridge needs the SP-API destination" in both.stderr
    nokeys = cli("setup-notifications", "--queue", "q", "--no-destination",
                 AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    assert nokeys.exit_code == 2 and "no AWS credentials" in nokeys.stderr
    for r in (plain, bad, both, nokeys):
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# setup-iam --------------------------------------------------------------------------------


def _profile(cli: Cli, name: str = "default") -> dict[str, Any]:
    import tomllib

    return dict(tomllib.loads(cli.config.read_text())["profiles"][name])


def test_iam_user_first_and_second_run(cli: Cli, endpoint: str) -> None:
    user = unique("spapi")
    iam = client(endpoint, "iam")
    dry = cli.json("setup-iam", "--user", user, "--dry-run", "--account-id", ACCOUNT)
    assert cli.config.read_text() == ""
    assert user not in [u["UserName"] for u in iam.list_users()["Users"]]

    r = cli("setup-iam", "--user", user)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Amazon no longer needs an IAM user")
    assert "2023-10-02" in r.stdout
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    assert arn in r.stdout
    doc = iam.get_user_policy(UserName=user, PolicyName="ExecuteSPAPI")["PolicyDocument"]
    assert doc == dry["policies"]["ExecuteSPAPI"] == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:*:*:*"}]}

    (key,) = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    stored = _profile(cli)
    assert stored["aws_access_key_id"] == key["AccessKeyId"]
    assert stat.S_IMODE(cli.config.stat().st_mode) == 0o600
    secret = stored["aws_secret_access_key"]
    assert secret not in r.stdout + r.stderr and secret[:8] not in r.stdout
    # the stored key works: STS names the user when asked with it
    who = client(endpoint, "sts", aws_access_key_id=key["AccessKeyId"],
                 aws_secret_access_key=secret).get_caller_identity()
    assert who["Arn"] == arn

    again = cli("setup-iam", "--user", user)
    assert again.exit_code == 0, again.stderr
    assert "created" not in again.stdout and "updated" not in again.stdout
    assert "exists, unchanged  iam:ListAccessKeys" in again.stdout
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 1
    assert _profile(cli) == stored


def test_iam_role_variant(cli: Cli, endpoint: str) -> None:
    user, role = unique("spapi"), unique("spapi-role")
    iam = client(endpoint, "iam")
    dry = cli.json("setup-iam", "--user", user, "--role", role, "--dry-run",
                   "--account-id", ACCOUNT, "--profile", "signing")
    real = cli.json("setup-iam", "--user", user, "--role", role, "--profile", "signing")
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    assert role_arn == f"arn:aws:iam::{ACCOUNT}:role/{role}" == real["resources"]["role_arn"]

    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust == dry["policies"]["trust_policy"]
    assert trust["Statement"][0]["Principal"] == {"AWS": user_arn}
    assert (iam.get_role_policy(RoleName=role, PolicyName="ExecuteSPAPI")["PolicyDocument"]
            == dry["policies"]["ExecuteSPAPI"])
    assume = iam.get_user_policy(UserName=user, PolicyName="AssumeSPAPIRole")["PolicyDocument"]
    assert assume == dry["policies"]["AssumeSPAPIRole"]
    assert assume["Statement"][0] == {"Effect": "Allow", "Action": "sts:AssumeRole",
                                      "Resource": role_arn}
    stored = _profile(cli, "signing")
    assert stored["role_arn"] == role_arn and stored["aws_access_key_id"].startswith("AKIA")

    again = cli.json("setup-iam", "--user", user, "--role", role, "--profile", "signing")
    assert again["changed"] is False
    assert {s["status"] for s in again["steps"]} == {"exists, unchanged"}


def test_iam_access_key_limit_is_explained(cli: Cli, endpoint: str) -> None:
    user = unique("spapi")
    iam = client(endpoint, "iam")
    iam.create_user(UserName=user)
    ids = sorted(iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
                 for _ in range(2))
    r = cli("setup-iam", "--user", user)
    assert r.exit_code == 1, r.stdout
    assert "LimitExceeded" not in r.stderr or "limit" in r.stderr
    assert "2 access keys per user" in r.stderr and all(i in r.stderr for i in ids)
    assert f"aws iam delete-access-key --user-name {user}" in r.stderr
    assert "Traceback" not in r.stderr
    assert cli.config.read_text() == ""  # nothing half-written


def test_access_denied_is_explained(cli: Cli, endpoint: str) -> None:
    """moto's IAM authorization mode: a user allowed only sts:GetCallerIdentity."""
    import httpx

    iam = client(endpoint, "iam")
    user = unique("limited")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only-whoami", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    env = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        r = cli("setup-iam", "--user", unique("spapi"), **env)
        q = cli("setup-notifications", "--queue", unique("sp-denied"), "--no-destination", **env)
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "iam:GetUser: access denied" in r.stderr
    assert "needs iam:GetUser, iam:CreateUser" in r.stderr and "--aws-profile" in r.stderr
    assert q.exit_code == 1, (q.stdout, q.stderr)
    assert "access denied" in q.stderr and "sqs:CreateQueue" in q.stderr
    for x in (r, q):
        assert "Traceback" not in x.stderr and len(x.stderr.strip().splitlines()) == 1


def test_a_test_message_on_a_used_queue_leaves_other_messages_alone(cli: Cli,
                                                                   endpoint: str) -> None:
    name = unique("sp-busy")
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"NotificationType": "ORDER_CHANGE"}')
    report = cli.json("setup-notifications", "--queue", name, "--no-destination",
                      "--test-message")
    assert ("sqs:SendMessage", name, "verified") in statuses(report)
    assert ("sqs:SetQueueAttributes", name, "updated") in statuses(report)  # policy added
    # the notification that was there is still there, visible at once, and nothing else
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    assert [m["Body"] for m in got["Messages"]] == ['{"NotificationType": "ORDER_CHANGE"}']


def test_iam_replaces_a_stored_key_that_no_longer_exists(cli: Cli, endpoint: str) -> None:
    user = unique("spapi")
    iam = client(endpoint, "iam")
    first = cli.json("setup-iam", "--user", user)
    old = first["resources"]["access_key_id"]
    iam.delete_access_key(UserName=user, AccessKeyId=old)  # deleted in the console, say

    second = cli.json("setup-iam", "--user", user)
    (key,) = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert key["AccessKeyId"] != old
    assert _profile(cli)["aws_access_key_id"] == key["AccessKeyId"]
    assert ("iam:CreateAccessKey", user, "created") in statuses(second)
    assert any("not an active key" in n for n in second["notes"])
    assert _profile(cli)["aws_secret_access_key"] not in json.dumps(second)


def test_iam_fixes_a_changed_trust_policy(cli: Cli, endpoint: str) -> None:
    user, role = unique("spapi"), unique("spapi-role")
    iam = client(endpoint, "iam")
    cli.json("setup-iam", "--user", user, "--role", role)
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}))
    again = cli.json("setup-iam", "--user", user, "--role", role)
    assert ("iam:UpdateAssumeRolePolicy", role, "updated") in statuses(again)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 1
