"""``sellerkit road`` and ``road draft-profile``: statuses from the profile, the state file and
(with --check) the doctor against the emulator; drafts that restate each question and invent
nothing."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit import config as sk_config
from sellerkit.errors import ConfigurationError
from sellerkit.onboarding.road import (
    draft_profile,
    load_answers,
    load_evidence,
    road,
    road_data,
)
from sellerkit.onboarding.state import record_secret_expiry

from .conftest import CLIENT_ID, Served, leaked

STEP_IDS = ["account", "identity", "developer_profile", "roles", "app_registration",
            "lwa_credentials", "authorization", "first_call", "notifications", "secret_expiry"]
INIT_KEYS = hasattr(sk_config, "PROFILE_KEYS")  # sellerkit init's keys (business_name, ...)


def write_profile(tmp_path: Path, values: dict[str, Any], name: str = "shop") -> Path:
    cfg = tmp_path / "config.toml"
    lines = []
    for k, v in values.items():
        lines.append(f"{k} = {json.dumps(v)}")
    cfg.write_text(f"[profiles.{name}]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    cfg.chmod(0o600)
    return cfg


def by_id(steps: list[Any]) -> dict[str, Any]:
    return {s.id: s for s in steps}


def test_road_without_a_profile_says_where_to_go(tmp_path: Path) -> None:
    steps = road(config_file=os.devnull, env={}, state_path=tmp_path / "s.json")
    assert [s.id for s in steps] == STEP_IDS
    got = by_id(steps)
    assert got["account"].status == "unknown" and got["identity"].status == "unknown"
    assert got["app_registration"].status == "todo"
    assert got["lwa_credentials"].status == "todo" and got["authorization"].status == "todo"
    assert got["first_call"].status == "unknown" and got["secret_expiry"].status == "warn"
    for s in steps:
        if s.portal_only:
            assert s.where and s.where.startswith("https://") and s.enter
    # the current facts: the Solution Provider Portal, identity first, no IAM ARN, no SigV4
    assert "solutionproviderportal.amazon.com" in got["identity"].where
    assert "Identity verification comes first" in got["identity"].what
    assert "no IAM ARN" in got["app_registration"].what and "2023-10-02" in \
        got["app_registration"].what
    assert "three-stage review" in got["roles"].what


def test_road_offline_with_credentials(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values())
    got = by_id(road(profile="shop", config_file=cfg, env={}, state_path=tmp_path / "s.json"))
    assert got["identity"].status == "implied" and got["app_registration"].status == "implied"
    assert got["lwa_credentials"].status == "implied"
    assert got["authorization"].status == "implied"
    assert got["first_call"].status == "unknown" and "--check" in got["first_call"].note
    assert all(not leaked(json.dumps(s.to_dict())) for s in got.values())


def test_road_flags_malformed_credentials_offline(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values(client_id="amzn1.sp.solution.abc"))
    got = by_id(road(profile="shop", config_file=cfg, env={}, state_path=tmp_path / "s.json"))
    assert got["lwa_credentials"].status == "fail"
    assert "application id" in got["lwa_credentials"].note


def test_road_check_uses_the_doctor(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values())
    record_secret_expiry("shop", client_id=CLIENT_ID,
                         expires_at=datetime.now(UTC) + timedelta(days=10), source="test",
                         path=tmp_path / "s.json")
    got = by_id(road(profile="shop", config_file=cfg, env={}, check=True, rate_limiter=False,
                     state_path=tmp_path / "s.json"))
    assert got["account"].status == "done" and "first call" in got["account"].note
    assert got["lwa_credentials"].status == "done" and got["authorization"].status == "done"
    assert got["first_call"].status == "done" and "US" in got["first_call"].note
    assert got["roles"].status == "done" and got["roles"].details["probes"]
    assert got["secret_expiry"].status == "warn" and "10 days" in got["secret_expiry"].note


@pytest.mark.parametrize(("fault", "step"), [("invalid_grant", "authorization"),
                                              ("invalid_client", "lwa_credentials")])
def test_road_check_points_at_the_failing_step(served: Served, tmp_path: Path, fault: str,
                                               step: str) -> None:
    served.emulator.config.lwa_fault = fault
    cfg = write_profile(tmp_path, served.values())
    got = by_id(road(profile="shop", config_file=cfg, env={}, check=True, rate_limiter=False,
                     state_path=tmp_path / "s.json"))
    assert got[step].status == "fail" and fault in got[step].note
    assert got["first_call"].status == "unknown"


def test_road_check_missing_role_is_a_warning(served: Served, tmp_path: Path) -> None:
    served.emulator.config.missing_roles = ("Pricing",)
    cfg = write_profile(tmp_path, served.values())
    got = by_id(road(profile="shop", config_file=cfg, env={}, check=True, rate_limiter=False,
                     state_path=tmp_path / "s.json"))
    assert got["roles"].status == "warn" and "Pricing" in got["roles"].note


@pytest.mark.skipif(not INIT_KEYS, reason="needs sellerkit init's profile keys (ob-init)")
def test_road_flags_restricted_roles_from_the_profile(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values(
        roles=["Inventory and Order Tracking", "Direct-to-Consumer Shipping"],
        business_name="Example Trading Ltd", use_case="order sync"))
    roles = by_id(road(profile="shop", config_file=cfg, env={},
                       state_path=tmp_path / "s.json"))["roles"]
    assert roles.details["restricted"] == ["Direct-to-Consumer Shipping"]
    assert "restricted: Direct-to-Consumer Shipping" in roles.note


# -- draft-profile -------------------------------------------------------------------------

BLANK = re.compile(r"\[TO FILL: [^\]]+\]")


def test_draft_with_nothing_known_is_all_blanks() -> None:
    drafts = draft_profile(answers={}, config_file=os.devnull, env={})
    questions = road_data()["questions"]
    assert drafts[0].question == questions["business"]["question"]
    security = [d for d in drafts if d.id.startswith("security:")]
    assert len(security) == len(questions["security"])
    for d in security:
        assert BLANK.fullmatch(d.answer), d.answer
        assert "operator's" in d.answer
    # the business draft holds only fixed connective text around blanks
    rest = BLANK.sub("", drafts[0].answer).replace(" ", "")
    assert rest == ".WewillusetheSellingPartnerAPIfor:.Theapplicationaccesses.Ourpublicwebsite:."


def test_draft_from_an_answers_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('''
business_name = "Example Trading Ltd"
use_case = "Sync orders and inventory between Amazon and our warehouse system"
app_type = "private"
website = "https://example.com"
roles = ["Inventory and Order Tracking", "Direct-to-Consumer Shipping"]

[role_reasons]
"Inventory and Order Tracking" = "We read new orders (getOrders) to pick and pack them."

[security]
"network-controls" = "The database accepts connections only from the application subnet."
''', encoding="utf-8")
    drafts = {d.id: d for d in draft_profile(answers=load_answers(path),
                                              config_file=os.devnull, env={})}
    business = drafts["business"].answer
    assert business.startswith("Example Trading Ltd ") and "warehouse system" in business
    assert "only its own selling account" in business and "https://example.com" in business
    assert drafts["role:Inventory and Order Tracking"].answer.startswith("We read new orders")
    dtc = drafts["role:Direct-to-Consumer Shipping"]
    assert "personally identifiable information" in dtc.question  # the restricted variant
    assert "Direct-to-Consumer Shipping" in dtc.question and dtc.blanks == 2
    assert drafts["security:network-controls"].answer.startswith("The database")
    assert "example.com" in drafts["security:privacy-policy"].answer
    assert drafts["security:privacy-policy"].blanks == 1


@pytest.mark.skipif(not INIT_KEYS, reason="needs sellerkit init's profile keys (ob-init)")
def test_draft_from_the_profile_init_wrote(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values(business_name="Example Trading Ltd",
                                                use_case="repricing", roles=["Pricing"]))
    drafts = {d.id: d for d in draft_profile(profile="shop", config_file=cfg, env={})}
    assert drafts["business"].answer.startswith("Example Trading Ltd")
    assert "role:Pricing" in drafts


def test_draft_from_the_vaults_evidence_pack(tmp_path: Path) -> None:
    # the pack as `sellerkit vault evidence -o DIR` writes it (evidence.json: answers with the
    # sentences the vault can vouch for and the [OPERATOR: ...] items it cannot)
    pack = {"generated_at": "2026-12-01T00:00:00+00:00", "facts": {}, "answers": [
        {"id": "encryption-at-rest", "question": "...", "answer": [
            "PII is encrypted with AES-256-GCM under per-record data keys."], "operator": []},
        {"id": "network-controls", "question": "...", "answer": [],
         "operator": ["[OPERATOR: firewall rules for the database host]"]}]}
    (tmp_path / "evidence.json").write_text(json.dumps(pack), encoding="utf-8")
    evidence = load_evidence(tmp_path)
    answers = {"security": {"backups": "No backups hold PII."}}
    drafts = {d.id: d for d in draft_profile(answers=answers, evidence=evidence,
                                              config_file=os.devnull, env={})}
    assert drafts["security:encryption-at-rest"].answer.startswith("PII is encrypted")
    assert drafts["security:network-controls"].answer == \
        "[TO FILL: firewall rules for the database host]"
    assert drafts["security:backups"].answer == "No backups hold PII."  # the operator's wins
    assert "evidence pack has no answer" in drafts["security:monitoring"].answer
    with pytest.raises(ConfigurationError, match="not an evidence pack"):
        (tmp_path / "other.json").write_text("{}", encoding="utf-8")
        load_evidence(tmp_path / "other.json")


def test_answers_file_mistakes_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text('busines_name = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown key 'busines_name'"):
        load_answers(bad)
    broken = tmp_path / "b.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="does not parse"):
        load_answers(broken)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_answers(tmp_path / "missing.toml")


# -- the commands --------------------------------------------------------------------------


def _invoke(args: list[str], tmp_path: Path, cfg: Path | None = None) -> Any:
    from sellerkit.cli.main import app

    env: dict[str, str | None] = {k: None for k in os.environ
                                  if k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))
                                  and not k.startswith("SELLERKIT_TEST_")}
    env.update(SELLERKIT_CONFIG=str(cfg) if cfg else os.devnull,
               SELLERKIT_STATE_DIR=str(tmp_path), COLUMNS="120")
    return CliRunner().invoke(app, args, env=env)


def test_cli_road_json_shape(served: Served, tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, served.values())
    r = _invoke(["road", "--profile", "shop", "--json"], tmp_path, cfg)
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["checked"] is False and [s["id"] for s in doc["steps"]] == STEP_IDS
    for s in doc["steps"]:
        assert set(s) == {"id", "title", "status", "note", "what", "where", "enter", "docs",
                          "portal_only", "details"}
    assert not leaked(r.stdout + r.stderr)
    r = _invoke(["road"], tmp_path)
    assert r.exit_code == 0 and "solutionproviderportal.amazon.com" in r.stdout


def test_cli_draft_profile_writes_a_private_file(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"business_name": "Example Trading Ltd",
                                   "roles": "Pricing"}), encoding="utf-8")
    out = tmp_path / "draft.md"
    r = _invoke(["road", "draft-profile", "--answers", str(answers), "-o", str(out)], tmp_path)
    assert r.exit_code == 0, r.stdout + r.stderr
    text = out.read_text(encoding="utf-8")
    assert (out.stat().st_mode & 0o777) == 0o600
    assert "## Why does your application need the Pricing role?" in text
    assert "Example Trading Ltd" in text and "[TO FILL:" in text
    r = _invoke(["road", "draft-profile", "--answers", str(answers), "--json"], tmp_path)
    doc = json.loads(r.stdout)
    assert doc["blanks"] == sum(d["blanks"] for d in doc["drafts"]) > 0


def test_cli_draft_profile_bad_answers_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text("roles = [", encoding="utf-8")
    r = _invoke(["road", "draft-profile", "--answers", str(bad)], tmp_path)
    assert r.exit_code == 2 and "does not parse" in r.stderr
