"""``sellerkit users ...``, ``sellerkit vault audit ...`` and ``sellerkit vault alerts ...`` as an
operator runs them: through the real CLI entry point, against a vault on SQLite (each command
opens the vault anew, which costs a migration check: one test runs on PostgreSQL too)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from typer.testing import CliRunner, Result

from sellerkit.cli.main import app
from sellerkit.errors import AuthenticationError
from sellerkit.vault import Principal, Role, Vault
from sellerkit.vault import users as users_mod
from tests.vault._gov import Backend, Clock, gov_backend_factory, reset

ADMIN = Principal("root", Role.ADMIN)
PW = "Correct-Horse-7battery"
runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite"])
def backend(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from gov_backend_factory(request, tmp_path_factory)


@pytest.fixture
def vault(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Vault:
    # real argon2id with small costs, in the test's vault and in every vault the CLI opens
    monkeypatch.setattr(users_mod, "default_hasher", lambda: PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1))
    v = reset(backend.vault, Clock(datetime.now(UTC)))  # the CLI runs on the real clock
    v.users.bootstrap_admin("root")
    return v


@pytest.fixture
def cli(backend: Backend, vault: Vault) -> Any:
    env = {"SELLERKIT_VAULT_URL": backend.url,
           "SELLERKIT_VAULT_KEY": f"file:{backend.key_dir / 'vault.key'}",
           "SELLERKIT_USER": "root", "SELLERKIT_CONFIG": "/dev/null"}

    def run(*args: str, input: str | None = None, as_user: str | None = None) -> Result:
        e = dict(env)
        if as_user:
            e["SELLERKIT_USER"] = as_user
        return runner.invoke(app, list(args), input=input, env=e)

    return run


def test_add_list_set_role_disable_enable(cli: Any, vault: Vault) -> None:
    r = cli("users", "add", "dana", "--role", "fulfillment")
    assert r.exit_code == 0, r.output
    assert "dana: fulfillment (person), active" in r.stdout
    r = cli("users", "add", "sync-bot", "--role", "analyst", "--kind", "service", "--json")
    assert json.loads(r.stdout)["kind"] == "service"
    r = cli("users", "list", "--json")
    assert [u["user_id"] for u in json.loads(r.stdout)["users"]] == ["dana", "root", "sync-bot"]
    assert "dana" in cli("users", "list").stdout
    assert cli("users", "set-role", "dana", "auditor").exit_code == 0
    assert vault.users.cli_principal("dana").role is Role.AUDITOR
    assert "disabled" in cli("users", "disable", "dana").stdout
    r = cli("users", "list", as_user="dana")
    assert r.exit_code == 2 and "is disabled" in r.stderr
    assert "active" in cli("users", "enable", "dana").stdout
    changes = [e.details for e in vault.audit.events(ADMIN, action="user.change")]
    assert [c["change"] for c in changes if c] == ["role", "disable", "enable"]


def test_roles_are_enforced_from_the_cli(cli: Any) -> None:
    cli("users", "add", "ana", "--role", "analyst")
    r = cli("users", "add", "x", "--role", "admin", as_user="ana")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: user 'ana' (role analyst) may not add users")
    assert cli("vault", "audit", "show", as_user="ana").exit_code == 2
    r = cli("users", "list", as_user="nobody")
    assert r.exit_code == 2 and "not a vault user" in r.stderr
    assert "Traceback" not in r.stderr


def test_passwords_come_from_stdin_and_are_never_echoed(cli: Any, vault: Vault) -> None:
    r = cli("users", "add", "dana", "--role", "analyst", "--password-stdin", input=PW + "\n")
    assert r.exit_code == 0, r.output
    assert PW not in r.output
    assert vault.users.authenticate("dana", PW).user_id == "dana"
    r = cli("users", "set-password", "dana", "--password-stdin", input="weak\n")
    assert r.exit_code == 2 and "at least 12 characters" in r.stderr and "weak" not in r.output
    r = cli("users", "set-password", "dana", "--password-stdin", input=PW + "\n")
    assert r.exit_code == 2 and "used before" in r.stderr
    r = cli("users", "set-password", "dana", "--password-stdin", input="Another-Good-Pass1\n")
    assert r.exit_code == 0 and "Another" not in r.output
    # no terminal and no --password-stdin: refused, nothing waits for input
    r = cli("users", "set-password", "dana")
    assert r.exit_code == 2 and "--password-stdin" in r.stderr


def test_unlock(cli: Any, vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate("dana", "wrong")
    with pytest.raises(AuthenticationError, match="locked"):
        vault.users.authenticate("dana", PW)
    assert "dana" in cli("users", "list").stdout and "locked" in cli("users", "list").stdout
    r = cli("users", "unlock", "dana")
    assert r.exit_code == 0 and "active" in r.stdout
    vault.users.authenticate("dana", PW)
    assert cli("users", "lockout", "--minutes", "30").exit_code == 0
    assert cli("users", "lockout").exit_code == 2


def test_rotate_key_prints_the_key_once_or_writes_it_private(cli: Any, vault: Vault,
                                                              tmp_path: Path) -> None:
    cli("users", "add", "svc", "--role", "analyst", "--kind", "service")
    r = cli("users", "rotate-key", "svc")
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("skv1_") and "not shown again" in r.stderr
    assert vault.users.authenticate_api_key(key).user_id == "svc"
    out = tmp_path / "svc.key"
    r = cli("users", "rotate-key", "svc", "--out", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    new = out.read_text().strip()
    assert vault.users.authenticate_api_key(new).user_id == "svc"
    with pytest.raises(AuthenticationError, match="revoked"):
        vault.users.authenticate_api_key(key)
    listed = json.loads(cli("users", "list", "--keys", "--json").stdout)["api_keys"]
    assert [k["state"] for k in listed] == ["revoked", "live"]
    assert key not in json.dumps(listed) and new not in json.dumps(listed)
    key_id = listed[1]["key_id"]
    assert cli("users", "revoke-key", key_id).exit_code == 0
    with pytest.raises(AuthenticationError, match="revoked"):
        vault.users.authenticate_api_key(new)


def test_totp_from_the_cli(cli: Any, vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    r = cli("users", "totp", "dana")
    assert r.exit_code == 0 and r.stdout.startswith("otpauth://totp/")
    assert vault.users.totp_required("dana")
    assert cli("users", "totp", "dana", "--off").exit_code == 0
    assert not vault.users.totp_required("dana")


def test_audit_verify_names_the_tampered_entry(cli: Any, vault: Vault) -> None:
    for i in range(4):
        vault.audit.record("pii.read", actor="root", target=f"order:{i}", purpose="ship")
    r = cli("vault", "audit", "verify")
    assert r.exit_code == 0 and r.stdout.startswith("audit chain OK: 5 entries")
    head = json.loads(cli("vault", "audit", "verify", "--json").stdout)["head"]
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET purpose = 'browsing' WHERE seq = 3"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    r = cli("vault", "audit", "verify")
    assert r.exit_code == 1
    assert "FAILED: 2 problem(s)" in r.stdout
    assert "#3  edited" in r.stdout and "#5  deleted" in r.stdout
    doc = json.loads(cli("vault", "audit", "verify", "--json").stdout)
    assert doc["ok"] is False
    assert [(p["seq"], p["kind"]) for p in doc["problems"]] == [(3, "edited"), (5, "deleted")]
    r = cli("vault", "audit", "verify", "--expect-head", f"{head['seq']}:{head['mac']}")
    assert r.exit_code == 1 and "head kept outside the vault" in r.stdout
    assert cli("vault", "audit", "verify", "--expect-head", "x").exit_code == 2


def test_audit_show_and_retention(cli: Any, vault: Vault) -> None:
    vault.audit.record("login", actor="root", details={"source": "web"})
    vault.audit.record("pii.read", actor="dana", target="order:9", purpose="ship")
    r = cli("vault", "audit", "show", "--action", "pii.read", "--json")
    events = json.loads(r.stdout)
    assert [(e["actor"], e["target"], e["purpose"]) for e in events] == [
        ("dana", "order:9", "ship")]
    r = cli("vault", "audit", "show", "--of", "root")
    assert "login" in r.stdout and "pii.read" not in r.stdout
    assert cli("vault", "audit", "show", "--since", "yesterday").exit_code == 2
    assert "kept 12 months" in cli("vault", "audit", "retention").stdout
    r = cli("vault", "audit", "retention", "--months", "6")
    assert r.exit_code == 2 and "at least 12 months" in r.stderr
    assert "kept 24 months" in cli("vault", "audit", "retention", "--months", "24").stdout
    assert "0 audit entries" in cli("vault", "audit", "prune").stdout


def test_alerts_from_the_cli(cli: Any, vault: Vault) -> None:
    assert cli("vault", "alerts", "check").stdout.strip() == "no new alerts"
    assert cli("vault", "alerts", "config", "failed_logins_max", "2").exit_code == 0
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate("root", "guess")
    r = cli("vault", "alerts", "check")
    assert r.exit_code == 0 and "failed_logins" in r.stdout and "user:root" in r.stdout
    listed = json.loads(cli("vault", "alerts", "list", "--json").stdout)
    assert [(a["rule"], a["subject"]) for a in listed] == [("failed_logins", "user:root")]
    r = cli("vault", "alerts", "config", "webhook_url", "-",
            input="https://hooks.example.com/services/T0/B0/secret-token\n")
    assert r.exit_code == 0 and "secret-token" not in r.output
    assert "webhook = set (hidden)" in r.stdout
    settings = json.loads(cli("vault", "alerts", "config", "--json").stdout)
    assert settings["failed_logins_max"] == 2 and settings["webhook"] is True
    r = cli("vault", "alerts", "config", "bogus", "1")
    assert r.exit_code == 2 and "unknown alert setting" in r.stderr
    cli("users", "add", "ana", "--role", "analyst")
    assert cli("vault", "alerts", "check", as_user="ana").exit_code == 2


def test_the_commands_on_postgresql(postgres_vault_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_mod, "default_hasher", lambda: PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1))
    from tests.vault._gov import open_vault

    v = open_vault(postgres_vault_url, tmp_path, Clock(datetime.now(UTC)))
    try:
        v.users.bootstrap_admin("root")
        env = {"SELLERKIT_VAULT_URL": postgres_vault_url,
               "SELLERKIT_VAULT_KEY": f"file:{tmp_path / 'vault.key'}", "SELLERKIT_USER": "root"}
        r = runner.invoke(app, ["users", "add", "svc", "--role", "analyst", "--kind", "service"],
                          env=env)
        assert r.exit_code == 0, r.output
        key = runner.invoke(app, ["users", "rotate-key", "svc"], env=env).stdout.strip()
        assert v.users.authenticate_api_key(key).user_id == "svc"
        r = runner.invoke(app, ["vault", "audit", "verify", "--json"], env=env)
        assert r.exit_code == 0 and json.loads(r.stdout)["checked"] == 4
    finally:
        v.close()
