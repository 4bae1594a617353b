"""``sellerkit doctor`` against the emulator on a loopback port: every check in its passing and its
failing branch, the failures made by the emulator's onboarding switches (or by wrong credentials,
which the emulator refuses as Amazon does), never by mocks. SQS policies are read from a moto
server on loopback."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit import SellingPartner
from sellerkit.emulator.roles import GENERAL_ROLES
from sellerkit.onboarding.doctor import (
    AMAZON_SQS_PRINCIPAL,
    CHECK_IDS,
    DoctorReport,
    analyse_queue_policy,
    credential_problems,
    run_doctor,
)
from sellerkit.onboarding.state import record_secret_expiry
from tests.moto_server import running_moto

from .conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Served, leaked

NOW = datetime.now(UTC)


def doctor(served: Served, tmp_path: Path, **kw: Any) -> DoctorReport:
    settings = kw.pop("settings", None) or served.settings()
    report = run_doctor(settings=settings, rate_limiter=False,
                        state_path=tmp_path / "onboarding.json", **kw)
    assert [c.id for c in report.checks] == list(CHECK_IDS)
    text = json.dumps(report.to_dict())
    assert not leaked(text), "a secret reached the report"
    return report


def statuses(report: DoctorReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the healthy road ----------------------------------------------------------------------


def test_everything_passes_against_a_healthy_emulator(served: Served, tmp_path: Path) -> None:
    record_secret_expiry("default", client_id=CLIENT_ID, expires_at=NOW + timedelta(days=120),
                         source="test", path=tmp_path / "onboarding.json")
    report = doctor(served, tmp_path)
    got = statuses(report)
    assert got.pop("notifications") == "skip"  # nothing registered: nothing to check
    assert set(got.values()) == {"pass"}, report.to_dict()
    assert report.ok and report.exit_code == 0
    first = report.check("first_call")
    assert {m["country"] for m in first.details["marketplaces"]} == {"US", "CA", "MX"}
    assert all(p["result"] == "granted" for p in report.check("roles").details["probes"])
    assert "120 days" in report.check("secret_expiry").message or \
        "119 days" in report.check("secret_expiry").message


# -- profile -------------------------------------------------------------------------------


def test_profile_missing_refresh_token_fails_and_skips_the_calls(served: Served,
                                                                 tmp_path: Path) -> None:
    report = doctor(served, tmp_path, settings=served.settings(refresh_token=None))
    got = statuses(report)
    assert got["profile"] == "fail" and "refresh_token" in report.check("profile").message
    assert [got[i] for i in CHECK_IDS[1:8]] == ["skip"] * 7
    assert report.exit_code == 1


def test_profile_app_id_pasted_as_client_id(served: Served, tmp_path: Path) -> None:
    report = doctor(served, tmp_path,
                    settings=served.settings(client_id="amzn1.sp.solution.3a4b5c6d-7e8f"))
    check = report.check("profile")
    assert check.status == "fail"
    assert "application id" in check.message and "amzn1.application-oa2-client." in check.message


@pytest.mark.parametrize(("over", "words"), [
    ({"refresh_token": "Atza|IwEBIAccessTokenNotRefresh0123456789"}, "access token"),
    ({"client_secret": f'"{CLIENT_SECRET}"'}, "quotes"),
])
def test_profile_malformed_credentials_fail(served: Served, tmp_path: Path,
                                            over: dict[str, str], words: str) -> None:
    check = doctor(served, tmp_path, settings=served.settings(**over)).check("profile")
    assert check.status == "fail" and words in check.message


def test_profile_unusual_prefix_only_warns_and_lwa_decides(served: Served,
                                                           tmp_path: Path) -> None:
    report = doctor(served, tmp_path, settings=served.settings(client_secret="0" * 64))
    assert report.check("profile").status == "warn"
    assert "amzn1.oa2-cs.v1." in report.check("profile").message
    assert report.check("lwa").status == "fail"  # the emulator does not know that secret


def test_profile_that_does_not_load_fails_with_the_reason(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[profiles.main]\nclient_id = "x"\n', encoding="utf-8")
    report = run_doctor(profile="mian", config_file=cfg, env={},
                        state_path=tmp_path / "onboarding.json")
    check = report.check("profile")
    assert check.status == "fail" and "'mian'" in check.message and "main" in check.message
    assert statuses(report)["lwa"] == "skip" and report.exit_code == 1


def test_profile_file_readable_by_others_warns(served: Served, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    lines = "".join(f'{k} = "{v}"\n' for k, v in served.values().items())
    cfg.write_text("[profiles.shop]\n" + lines, encoding="utf-8")
    cfg.chmod(0o644)
    report = run_doctor(profile="shop", config_file=cfg, env={}, rate_limiter=False,
                        state_path=tmp_path / "onboarding.json")
    check = report.check("profile")
    assert check.status == "warn" and "chmod 600" in check.message
    cfg.chmod(0o600)
    report = run_doctor(profile="shop", config_file=cfg, env={}, rate_limiter=False,
                        state_path=tmp_path / "onboarding.json")
    assert report.check("profile").status == "pass" and report.profile == "shop"


def test_credential_problems_alone() -> None:
    from sellerkit._secret import Secret

    assert credential_problems(CLIENT_ID, Secret(CLIENT_SECRET), Secret(REFRESH_TOKEN)) == ([], [])
    fails, _ = credential_problems("amzn1.sellerapps.app.0000", None, None)
    assert fails and "application id" in fails[0]


# -- LWA -----------------------------------------------------------------------------------


def test_lwa_wrong_secret_is_invalid_client(served: Served, tmp_path: Path) -> None:
    wrong = "amzn1.oa2-cs.v1." + "ab" * 32
    report = doctor(served, tmp_path, settings=served.settings(client_secret=wrong))
    check = report.check("lwa")
    assert check.status == "fail" and check.details["error"] == "invalid_client"
    assert "rotated" in check.message and "Solution Provider Portal" in (check.fix or "")
    assert wrong[16:40] not in json.dumps(report.to_dict())
    assert [statuses(report)[i] for i in CHECK_IDS[4:8]] == ["skip"] * 4


def test_lwa_unknown_refresh_token_is_invalid_grant(served: Served, tmp_path: Path) -> None:
    report = doctor(served, tmp_path,
                    settings=served.settings(refresh_token="Atzr|IwEBOtherAppOrRevoked0000"))
    check = report.check("lwa")
    assert check.status == "fail" and check.details["error"] == "invalid_grant"
    assert "another app" in check.message and "authorize the app again" in (check.fix or "")


@pytest.mark.parametrize(("fault", "words"), [
    ("unauthorized_client", "no SP-API access"),
    ("invalid_client", "rotated"),
    ("server_error", "retry"),
])
def test_lwa_faults_from_the_emulator(served: Served, tmp_path: Path, fault: str,
                                      words: str) -> None:
    served.emulator.config.lwa_fault = fault
    check = doctor(served, tmp_path).check("lwa")
    assert check.status == "fail" and check.details["error"] == fault
    assert words in check.message + (check.fix or "")


def test_lwa_unreachable(served: Served, tmp_path: Path) -> None:
    lwa = f"http://127.0.0.1:{_closed_port()}/auth/o2/token"
    check = doctor(served, tmp_path, settings=served.settings(lwa_endpoint=lwa)).check("lwa")
    assert check.status == "fail" and "could not be reached" in check.message


def test_expired_secret_explains_invalid_client(served: Served, tmp_path: Path) -> None:
    served.emulator.config.lwa_fault = "invalid_client"
    record_secret_expiry("default", client_id=CLIENT_ID, expires_at=NOW - timedelta(days=2),
                         source="test", path=tmp_path / "onboarding.json")
    check = doctor(served, tmp_path).check("secret_expiry")
    assert check.status == "fail" and "invalid_client" in check.message


# -- clock ---------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [600.0, -3600.0])
def test_clock_skew_warns(served: Served, tmp_path: Path, skew: float) -> None:
    served.emulator.config.clock_skew = skew
    report = doctor(served, tmp_path)
    check = report.check("clock")
    assert check.status == "warn" and ("ahead" if skew < 0 else "behind") in check.message
    assert abs(check.details["skew_seconds"] + skew) < 5
    assert report.check("first_call").status == "pass"  # a warning, not a failure


def test_small_skew_passes(served: Served, tmp_path: Path) -> None:
    served.emulator.config.clock_skew = 20.0
    assert doctor(served, tmp_path).check("clock").status == "pass"
    assert doctor(served, tmp_path, max_skew=10).check("clock").status == "warn"


# -- network -------------------------------------------------------------------------------


def test_network_nothing_listening(served: Served, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    report = doctor(served, tmp_path, settings=served.settings(endpoint=endpoint))
    check = report.check("network")
    assert check.status == "fail" and "nothing listens" in check.message
    assert "sellerkit emulator" in (check.fix or "")
    assert statuses(report)["lwa"] == "pass" and statuses(report)["first_call"] == "skip"


def test_network_tls_failure_is_reported(tmp_path: Path, served: Served) -> None:
    # a TLS handshake against the plain-HTTP emulator: the handshake itself fails
    import ssl

    from sellerkit.onboarding import doctor as d

    run = d._Run(served.settings(), "default")  # noqa: SLF001
    run.sp = SellingPartner(settings=served.settings(), rate_limiter=False)
    run.sp.base_url = served.url.replace("http://", "https://")
    try:
        check = d._network(run)  # noqa: SLF001
    finally:
        run.sp.close()
    assert check.status == "fail" and "TLS" in check.message
    assert ssl  # the module the check uses


# -- first call ----------------------------------------------------------------------------


def test_first_call_refused_names_the_usual_causes(served: Served, tmp_path: Path) -> None:
    served.emulator.set_faults("403:1")  # Amazon's 403 Unauthorized, e.g. a token of another region
    report = doctor(served, tmp_path)
    check = report.check("first_call")
    assert check.status == "fail" and "403" in check.message
    assert "another region" in (check.fix or "") and "grantless" in (check.fix or "")
    assert [statuses(report)[i] for i in ("roles", "rdt", "notifications")] == ["skip"] * 3


def test_first_call_marketplace_not_of_the_seller_warns(served: Served, tmp_path: Path) -> None:
    check = doctor(served, tmp_path, settings=served.settings(marketplace="BR")
                   ).check("first_call")
    assert check.status == "warn" and "BR" in check.message


# -- roles ---------------------------------------------------------------------------------


def test_one_missing_role_warns_and_names_it(served: Served, tmp_path: Path) -> None:
    served.emulator.config.missing_roles = ("Finance and Accounting",)
    report = doctor(served, tmp_path)
    check = report.check("roles")
    assert check.status == "warn"
    assert "Finance and Accounting" in check.message
    assert "Pricing" not in check.message
    assert "authorize the app again" in (check.fix or "") and report.exit_code == 0
    refused = [p["operation"] for p in check.details["probes"] if p["result"] == "refused"]
    assert refused == ["finances_v0.listFinancialEventGroups"]


def test_no_role_at_all_fails_with_the_reauthorization_cause(served: Served,
                                                             tmp_path: Path) -> None:
    served.emulator.config.missing_roles = GENERAL_ROLES
    report = doctor(served, tmp_path)
    check = report.check("roles")
    assert check.status == "fail" and report.exit_code == 1
    fix = check.fix or ""
    assert "issued" in fix and "another region" in fix and "grantless" in fix


# -- RDT -----------------------------------------------------------------------------------


def test_rdt_refused_warns(served: Served, tmp_path: Path) -> None:
    served.emulator.config.rdt = False
    check = doctor(served, tmp_path).check("rdt")
    assert check.status == "warn" and "Direct-to-Consumer Shipping" in check.message
    assert "restrictedDataToken" not in json.dumps(check.details)


# -- SigV4 / IAM ---------------------------------------------------------------------------


def test_iam_settings_are_obsolete_not_errors(served: Served, tmp_path: Path) -> None:
    settings = served.settings(aws_access_key_id="AKIAEMULATOR00000000",
                               aws_secret_access_key="emulator/aws/secret/key/0000000000000000",
                               role_arn="arn:aws:iam::123456789012:role/SellingPartner")
    report = doctor(served, tmp_path, settings=settings)
    check = report.check("sigv4")
    assert check.status == "warn" and "2023-10-02" in check.message and "role_arn" in check.message
    assert report.exit_code == 0
    assert "emulator/aws/secret/key" not in json.dumps(report.to_dict())


# -- secret expiry -------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "status"), [(100, "pass"), (10, "warn"), (-1, "fail")])
def test_secret_expiry(served: Served, tmp_path: Path, days: int, status: str) -> None:
    record_secret_expiry("default", client_id=CLIENT_ID, expires_at=NOW + timedelta(days=days),
                         source="APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
                         path=tmp_path / "onboarding.json")
    report = doctor(served, tmp_path)
    assert report.check("secret_expiry").status == status
    assert report.exit_code == (1 if status == "fail" else 0)


def test_secret_expiry_unknown_or_of_another_app_warns(served: Served, tmp_path: Path) -> None:
    assert doctor(served, tmp_path).check("secret_expiry").status == "warn"
    record_secret_expiry("default", client_id="amzn1.application-oa2-client.other",
                         expires_at=NOW + timedelta(days=100), source="test",
                         path=tmp_path / "onboarding.json")
    check = doctor(served, tmp_path).check("secret_expiry")
    assert check.status == "warn" and "other" in check.message


# -- notifications -------------------------------------------------------------------------

SQS_ARN = "arn:aws:sqs:us-east-1:123456789012:{name}"


def _client(served: Served) -> SellingPartner:
    return SellingPartner(settings=served.settings(), rate_limiter=False)


def _destination(sp: SellingPartner, arn: str) -> str:
    r = sp.call("notifications_v1.createDestination",
                body={"name": "doctor-test", "resourceSpecification": {"sqs": {"arn": arn}}})
    return str(r.body["payload"]["destinationId"])


def _no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance endpoint


def test_notifications_fifo_queue_fails(fresh: Served, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _no_aws(monkeypatch, tmp_path)
    with _client(fresh) as sp:
        _destination(sp, SQS_ARN.format(name="orders.fifo"))
    check = doctor(fresh, tmp_path).check("notifications")
    assert check.status == "fail" and "FIFO" in check.message and "Standard" in check.message


def test_notifications_policy_unchecked_without_aws_credentials(
        fresh: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_aws(monkeypatch, tmp_path)
    with _client(fresh) as sp:
        _destination(sp, SQS_ARN.format(name="orders"))
    check = doctor(fresh, tmp_path).check("notifications")
    assert check.status == "warn" and "could not check" in check.message


def test_notifications_type_to_the_wrong_kind_of_destination_fails(
        fresh: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_aws(monkeypatch, tmp_path)
    with _client(fresh) as sp:
        did = _destination(sp, SQS_ARN.format(name="orders"))
        sp.call("notifications_v1.createSubscription", notificationType="ORDER_CHANGE",
                body={"payloadVersion": "1.0", "destinationId": did})
    check = doctor(fresh, tmp_path).check("notifications")
    assert check.status == "warn"  # only the policy is unchecked; ORDER_CHANGE goes to SQS
    assert check.details["subscriptions"] == [
        {"type": "ORDER_CHANGE", "destination_id": did, "destination": "sqs"}]
    # A subscription Amazon would refuse today (it answers 400 "does not support AMAZON_SQS")
    # but that exists, e.g. made before the rule: put it into the emulator's state directly.
    state = fresh.emulator.simulation._state  # noqa: SLF001
    sub = next(iter(state.d["subscriptions"].values()))
    state.d["subscriptions"]["legacy"] = {**sub, "id": "legacy",
                                          "type": "LISTINGS_ITEM_STATUS_CHANGE"}
    check = doctor(fresh, tmp_path).check("notifications")
    assert check.status == "fail"
    assert "LISTINGS_ITEM_STATUS_CHANGE is subscribed to a sqs destination" in check.message
    assert "EventBridge" in check.message


boto3 = pytest.importorskip("boto3")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


def _aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> Any:
    _no_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", endpoint)
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name="us-east-1")


def _queue(session: Any, name: str, policy: dict[str, Any] | None) -> str:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    if policy is not None:
        policy = json.loads(json.dumps(policy).replace("QUEUE_ARN", arn))
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return str(arn)


GOOD_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": AMAZON_SQS_PRINCIPAL},
    "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"], "Resource": "QUEUE_ARN"}]}


def test_notifications_policy_allows_amazon_passes(
        fresh: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        moto_endpoint: str) -> None:
    session = _aws(monkeypatch, tmp_path, moto_endpoint)
    arn = _queue(session, f"doctor-good-{os.getpid()}", GOOD_POLICY)
    with _client(fresh) as sp:
        did = _destination(sp, arn)
        sp.call("notifications_v1.createSubscription", notificationType="REPORT_PROCESSING_FINISHED",
                body={"payloadVersion": "2020-09-04", "destinationId": did})
    check = doctor(fresh, tmp_path, aws=session).check("notifications")
    assert check.status == "pass", check.message
    assert check.details["queues"][0]["policy_missing"] == []


def test_notifications_policy_without_amazon_fails_with_the_statement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str,
        served: Served) -> None:
    session = _aws(monkeypatch, tmp_path, moto_endpoint)
    partial = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": AMAZON_SQS_PRINCIPAL},
        "Action": "sqs:SendMessage", "Resource": "QUEUE_ARN"}]}
    for name, policy, missing in ((f"doctor-none-{os.getpid()}", None, "sqs:SendMessage"),
                                  (f"doctor-half-{os.getpid()}", partial,
                                   "sqs:GetQueueAttributes")):
        arn = _queue(session, name, policy)
        # a queue named on the command line (--queue) rather than by a destination
        check = doctor(served, tmp_path, aws=session, queues=(arn,)).check("notifications")
        assert check.status == "fail" and missing in check.message
        assert AMAZON_SQS_PRINCIPAL in check.message and '"Effect": "Allow"' in check.message


def test_analyse_queue_policy_reads_wildcards_and_denies() -> None:
    arn = "arn:aws:sqs:us-east-1:1:q"
    star = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*",
                           "Resource": "*"}]}
    assert analyse_queue_policy(star, arn) == ([], True)
    denied = {"Statement": [*GOOD_POLICY["Statement"],  # type: ignore[list-item]
                            {"Effect": "Deny", "Principal": {"AWS": "437568002678"},
                             "Action": "sqs:Send*", "Resource": arn}]}
    denied = json.loads(json.dumps(denied).replace("QUEUE_ARN", arn))
    assert analyse_queue_policy(denied, arn) == (["sqs:SendMessage"], False)
    assert analyse_queue_policy(None, arn)[0] == ["sqs:SendMessage", "sqs:GetQueueAttributes"]


# -- the command ---------------------------------------------------------------------------


def _invoke(served: Served, tmp_path: Path, args: list[str], **values: Any) -> Any:
    from sellerkit.cli.main import app

    cfg = tmp_path / "config.toml"
    lines = "".join(f'{k} = "{v}"\n' for k, v in served.values(**values).items())
    cfg.write_text("[profiles.shop]\n" + lines, encoding="utf-8")
    cfg.chmod(0o600)
    env: dict[str, str | None] = {k: None for k in os.environ
                                  if k.startswith(("SELLERKIT_", "LWA_", "SP_API_", "AWS_"))
                                  and not k.startswith("SELLERKIT_TEST_")}
    env.update(SELLERKIT_CONFIG=str(cfg), SELLERKIT_STATE_DIR=str(tmp_path),
               SELLERKIT_RATE_LIMITER="off", AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"), COLUMNS="120")
    return CliRunner().invoke(app, args, env=env)


def test_cli_json_shape_and_exit_zero(served: Served, tmp_path: Path) -> None:
    r = _invoke(served, tmp_path, ["doctor", "--profile", "shop", "--json"])
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"profile", "ok", "exit_code", "counts", "checks"}
    assert doc["profile"] == "shop" and doc["ok"] is True and doc["exit_code"] == 0
    assert [c["id"] for c in doc["checks"]] == list(CHECK_IDS)
    for c in doc["checks"]:
        assert set(c) == {"id", "title", "status", "message", "fix", "details"}
        assert c["status"] in ("pass", "warn", "fail", "skip")
    assert sum(doc["counts"].values()) == len(CHECK_IDS)
    assert not leaked(r.stdout + r.stderr)


def test_cli_failure_exits_one_and_prints_the_fix_without_secrets(served: Served,
                                                                  tmp_path: Path) -> None:
    served.emulator.config.lwa_fault = "invalid_grant"
    r = _invoke(served, tmp_path, ["doctor", "--profile", "shop"])
    assert r.exit_code == 1
    out = r.stdout + r.stderr
    assert "FAIL" in out and "fix:" in out and "invalid_grant" in out
    assert not leaked(out)
    r = _invoke(served, tmp_path, ["doctor", "--profile", "shop", "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["ok"] is False
    assert not leaked(r.stdout + r.stderr)


def test_cli_wrong_secret_and_bad_profile_print_no_secret(served: Served, tmp_path: Path
                                                          ) -> None:
    wrong = "amzn1.oa2-cs.v1." + "5e" * 32
    r = _invoke(served, tmp_path, ["doctor", "--profile", "shop"], client_secret=wrong)
    assert r.exit_code == 1 and wrong[16:36] not in r.stdout + r.stderr
    r = _invoke(served, tmp_path, ["doctor", "--profile", "nosuch"])
    assert r.exit_code == 1 and "nosuch" in r.stdout
    assert not leaked(r.stdout + r.stderr)


def test_cli_usage_error_is_two(served: Served, tmp_path: Path) -> None:
    r = _invoke(served, tmp_path, ["doctor", "--max-skew", "0"])
    assert r.exit_code == 2
