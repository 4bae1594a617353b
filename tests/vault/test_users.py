"""Vault users: unique ids, roles enforced, argon2 hashes, lockout, password history and policy,
expiring and rotating API keys, TOTP; every change and log-in audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from sellerkit.errors import AccessDeniedError, AuthenticationError, VaultError
from sellerkit.vault import Principal, Role, Vault
from sellerkit.vault.schema import api_keys, users
from sellerkit.vault.users import AccountLockedError, PasswordExpiredError, SecondFactorRequired, UserStore
from tests.vault._gov import Backend, Clock, gov_backend_factory, reset

ADMIN = Principal("root", Role.ADMIN)
AUDITOR = Principal("aud", Role.AUDITOR)
PW = "Correct-Horse-7battery"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from gov_backend_factory(request, tmp_path_factory)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault(backend: Backend, clock: Clock) -> Vault:
    v = reset(backend.vault, clock)
    # real argon2id, with small costs so that dozens of hashes stay fast in tests
    v.__dict__["users"] = UserStore(v, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))
    v.users.bootstrap_admin("root")
    return v


def _audit(v: Vault, action: str) -> list[dict[str, object]]:
    return [e.to_dict() for e in v.audit.events(AUDITOR, action=action)]


def test_bootstrap_makes_the_first_admin_once(vault: Vault) -> None:
    assert vault.users.get(ADMIN, "root").role is Role.ADMIN
    with pytest.raises(VaultError, match="already has users"):
        vault.users.bootstrap_admin("eve")
    add = _audit(vault, "user.add")[0]
    assert add["actor"] == "system" and add["target"] == "user:root"


def test_cli_principal_is_a_known_enabled_user(vault: Vault,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    vault.users.add(ADMIN, "dana", "fulfillment")
    monkeypatch.setattr(getpass, "getuser", lambda: "dana")
    assert vault.users.cli_principal(None) == Principal("dana", Role.FULFILLMENT, "person")
    assert vault.users.cli_principal("root").role is Role.ADMIN
    with pytest.raises(AuthenticationError, match="sellerkit users add bob"):
        vault.users.cli_principal("bob")
    vault.users.disable(ADMIN, "dana")
    with pytest.raises(AuthenticationError, match="disabled"):
        vault.users.cli_principal(None)


def test_an_empty_vault_points_to_vault_init(backend: Backend, clock: Clock) -> None:
    v = reset(backend.vault, clock)
    with pytest.raises(AuthenticationError, match="sellerkit vault init"):
        v.users.cli_principal("anyone")


@pytest.mark.parametrize("role", ["analyst", "fulfillment", "auditor"])
def test_only_admins_manage_users(vault: Vault, role: str) -> None:
    vault.users.add(ADMIN, "x1", role)
    p = vault.users.cli_principal("x1")
    for call in (lambda: vault.users.add(p, "x2", "analyst"),
                 lambda: vault.users.disable(p, "root"),
                 lambda: vault.users.set_role(p, "x1", "admin"),
                 lambda: vault.users.unlock(p, "root"),
                 lambda: vault.users.set_password(p, "root", PW),
                 lambda: vault.users.create_api_key(p, "x1"),
                 lambda: vault.users.rotate_api_key(p, "x1")):
        with pytest.raises(AccessDeniedError, match="admin"):
            call()
    if role == "auditor":  # access reviews
        assert [u.user_id for u in vault.users.list(p)] == ["root", "x1"]
    else:
        with pytest.raises(AccessDeniedError):
            vault.users.list(p)


def test_user_ids_are_unique_and_never_email_addresses(vault: Vault) -> None:
    vault.users.add(ADMIN, "svc-sync", "analyst", kind="service")
    with pytest.raises(VaultError, match="exists already"):
        vault.users.add(ADMIN, "svc-sync", "admin")
    for bad in ("jane@example.com", "", "a b", "x" * 65, "-lead"):
        with pytest.raises(VaultError, match="not valid"):
            vault.users.add(ADMIN, bad, "analyst")
    with pytest.raises(VaultError, match="reserved"):
        vault.users.add(ADMIN, "system", "admin")
    with pytest.raises(AccessDeniedError, match="unknown role"):
        vault.users.add(ADMIN, "z", "superuser")
    with pytest.raises(VaultError, match="person or service"):
        vault.users.add(ADMIN, "z", "analyst", kind="robot")
    svc = vault.users.get(ADMIN, "svc-sync")
    assert svc.kind == "service" and svc.principal.kind == "service"


@pytest.mark.parametrize(("password", "need"), [
    ("Short-1a", "at least 12 characters"),
    ("all-lower-case-1", "an upper-case letter"),
    ("ALL-UPPER-CASE-1", "a lower-case letter"),
    ("No-Digits-Here!!", "a digit"),
    ("NoSpecial1234567", "a special character"),
    ("Dana-Is-Great-42", "not the user id"),
])
def test_the_password_policy(vault: Vault, password: str, need: str) -> None:
    with pytest.raises(VaultError, match=need):
        vault.users.add(ADMIN, "dana", "analyst", password=password)


def test_passwords_are_argon2_hashes_and_log_in(vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "fulfillment", password=PW)
    with vault.read() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == "dana")
                              ).scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored
    p = vault.users.authenticate("dana", PW, source="web")
    assert p == Principal("dana", Role.FULFILLMENT, "person")
    assert vault.users.get(ADMIN, "dana").last_login_at == vault.now()
    login = _audit(vault, "login")[-1]
    assert login["actor"] == "dana" and login["details"] == {"source": "web", "totp": False}
    assert "hash" not in str(vault.users.get(ADMIN, "dana").to_dict())


def test_wrong_and_unknown_log_ins_are_refused_alike_and_audited(vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    for uid, pw in (("dana", "wrong"), ("nobody", PW), ("jane@example.com", PW)):
        with pytest.raises(AuthenticationError, match="wrong user id or password"):
            vault.users.authenticate(uid, pw)
    failed = _audit(vault, "login.failed")
    assert [(f["target"], f["details"]["reason"]) for f in failed] == [  # type: ignore[index]
        ("user:dana", "password"), ("user:nobody", "unknown"), ("user:(invalid id)", "unknown")]
    assert failed[0]["details"]["failures"] == 1  # type: ignore[index]


def test_lockout_after_ten_failures_refuses_the_right_password(vault: Vault,
                                                              clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    for _ in range(9):
        with pytest.raises(AuthenticationError, match="wrong"):
            vault.users.authenticate("dana", "bad")
    vault.users.authenticate("dana", PW)  # a success resets the count: consecutive failures
    for _ in range(9):
        with pytest.raises(AuthenticationError, match="wrong"):
            vault.users.authenticate("dana", "bad")
    assert not vault.users.get(ADMIN, "dana").locked
    with pytest.raises(AccountLockedError, match="now locked after 10"):
        vault.users.authenticate("dana", "bad")
    with pytest.raises(AccountLockedError, match="locked"):  # the 11th, with the right password
        vault.users.authenticate("dana", PW)
    clock.advance(days=30)
    with pytest.raises(AuthenticationError, match="sellerkit users unlock dana"):
        vault.users.authenticate("dana", PW)  # no lock time configured: only an admin unlocks
    u = vault.users.get(ADMIN, "dana")
    assert u.locked and u.failed_logins == 10
    reasons = [f["details"]["reason"] for f in _audit(vault, "login.failed")]  # type: ignore[index]
    assert reasons[-2:] == ["locked", "locked"]
    assert _audit(vault, "login.failed")[-3]["details"]["locked"] is True  # type: ignore[index]
    vault.users.unlock(ADMIN, "dana")
    assert vault.users.authenticate("dana", PW).user_id == "dana"
    assert _audit(vault, "user.change")[-1]["details"] == {"change": "unlock",
                                                            "failed_logins": 10}


def test_a_configured_lock_time_expires(vault: Vault, clock: Clock) -> None:
    vault.users.set_lockout_minutes(ADMIN, 15)
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate("dana", "bad")
    clock.advance(minutes=14)
    with pytest.raises(AuthenticationError, match="locked"):
        vault.users.authenticate("dana", PW)
    clock.advance(minutes=2)
    vault.users.authenticate("dana", PW)
    assert vault.users.get(ADMIN, "dana").failed_logins == 0
    with pytest.raises(VaultError, match="at least 1 minute"):
        vault.users.set_lockout_minutes(ADMIN, 0)
    with pytest.raises(AccessDeniedError):
        vault.users.set_lockout_minutes(AUDITOR, 5)


def test_password_history_of_ten(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password="Password-No-00")
    for i in range(1, 11):
        vault.users.set_password(ADMIN, "dana", f"Password-No-{i:02d}")
    # the last ten (01-10) are refused, 00 (the eleventh back) is allowed again
    for i in (10, 5, 1):
        with pytest.raises(VaultError, match="used before"):
            vault.users.set_password(ADMIN, "dana", f"Password-No-{i:02d}")
    vault.users.set_password(ADMIN, "dana", "Password-No-00")
    vault.users.authenticate("dana", "Password-No-00")
    changes = [e for e in _audit(vault, "user.change")
               if e["details"] == {"change": "password"}]  # the password itself never
    assert len(changes) == 11


def test_users_change_their_own_password_at_most_daily(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    dana = vault.users.authenticate("dana", PW)
    with pytest.raises(VaultError, match="less than 1 day"):
        vault.users.set_password(dana, "dana", "Another-Good-Pass1")
    clock.advance(days=1, seconds=1)
    vault.users.set_password(dana, "dana", "Another-Good-Pass1")
    with pytest.raises(AccessDeniedError):
        vault.users.set_password(dana, "root", "Another-Good-Pass2")


def test_a_password_older_than_a_year_must_be_changed(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    clock.advance(days=366)
    with pytest.raises(PasswordExpiredError, match="older than 365 days"):
        vault.users.authenticate("dana", PW)
    vault.users.set_password(ADMIN, "dana", "Brand-New-Pass-9")
    vault.users.authenticate("dana", "Brand-New-Pass-9")


def test_the_policy_is_made_stricter_through_the_api(vault: Vault) -> None:
    policy = vault.users.set_password_policy(ADMIN, min_length=14, history=12)
    assert policy.min_length == 14 and policy.history == 12
    assert vault.users.policy() == policy
    with pytest.raises(VaultError, match="refused: min_length"):
        vault.users.set_password_policy(ADMIN, min_length=8)
    with pytest.raises(VaultError, match="unknown password policy"):
        vault.users.set_password_policy(ADMIN, colour=True)
    with pytest.raises(AccessDeniedError):
        vault.users.set_password_policy(AUDITOR, min_length=20)
    assert _audit(vault, "config.change")[-1]["details"] == {
        "key": "users.password_policy", "fields": ["history", "min_length"]}


def test_a_stricter_policy_from_the_vault_applies_never_a_weaker_one(vault: Vault) -> None:
    from sellerkit.vault.audit import meta_set

    with vault.write() as conn:
        meta_set(conn, "users.password_policy", {"min_length": 16, "history": 3,
                                                 "require_digit": False}, vault.now())
    policy = vault.users.policy()
    assert policy.min_length == 16 and policy.history == 10 and policy.require_digit
    with pytest.raises(VaultError, match="at least 16"):
        vault.users.add(ADMIN, "dana", "analyst", password=PW[:15])


def test_api_keys_expire(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "svc", "analyst", kind="service")
    key = vault.users.create_api_key(ADMIN, "svc")
    assert key.startswith("skv1_")
    assert vault.users.authenticate_api_key(key) == Principal("svc", Role.ANALYST, "service")
    with vault.read() as conn:
        stored = conn.execute(select(api_keys.c.secret_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and key.split("_", 2)[2] not in stored
    clock.advance(days=89)
    vault.users.authenticate_api_key(key)
    clock.advance(days=1)
    with pytest.raises(AuthenticationError, match="expired"):
        vault.users.authenticate_api_key(key)
    short = vault.users.create_api_key(ADMIN, "svc", ttl_days=1)
    clock.advance(days=1, seconds=1)
    with pytest.raises(AuthenticationError, match="rotate-key svc"):
        vault.users.authenticate_api_key(short)
    with pytest.raises(VaultError, match="1-365 days"):
        vault.users.create_api_key(ADMIN, "svc", ttl_days=400)


def test_rotating_a_key_revokes_the_old_one_at_once_or_after_a_grace(vault: Vault,
                                                                     clock: Clock) -> None:
    vault.users.add(ADMIN, "svc", "analyst", kind="service")
    first = vault.users.create_api_key(ADMIN, "svc")
    second = vault.users.rotate_api_key(ADMIN, "svc")
    with pytest.raises(AuthenticationError, match="revoked"):
        vault.users.authenticate_api_key(first)
    vault.users.authenticate_api_key(second)
    third = vault.users.rotate_api_key(ADMIN, "svc", grace_hours=2)
    clock.advance(hours=1)
    vault.users.authenticate_api_key(second)  # still good within the grace
    vault.users.authenticate_api_key(third)
    clock.advance(hours=1, seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        vault.users.authenticate_api_key(second)
    vault.users.authenticate_api_key(third)
    rotations = _audit(vault, "apikey.rotate")
    assert len(rotations) == 2
    assert rotations[0]["details"]["old"] == [first.split("_")[1]]  # type: ignore[index]
    assert first not in str(rotations) and second not in str(rotations)
    assert [k["state"] for k in vault.users.list_api_keys(ADMIN, "svc")] == [
        "revoked", "expired", "live"]


def test_bad_api_keys_are_refused_and_audited(vault: Vault) -> None:
    vault.users.add(ADMIN, "svc", "analyst", kind="service")
    key = vault.users.create_api_key(ADMIN, "svc")
    for bad in ("", "nonsense", key[:-2] + "xx", "skv1_0123456789abcdef_secret"):
        with pytest.raises(AuthenticationError, match="not valid"):
            vault.users.authenticate_api_key(bad)
    failed = _audit(vault, "login.failed")
    assert len(failed) == 4
    assert failed[2]["actor"] == "svc" and failed[2]["details"]["reason"] == "secret"  # type: ignore[index]
    assert all(key.split("_", 2)[2] not in str(f) for f in failed)
    vault.users.disable(ADMIN, "svc")
    with pytest.raises(AuthenticationError, match="revoked"):
        vault.users.authenticate_api_key(key)


def test_totp_second_factor(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "fulfillment", password=PW)
    assert not vault.users.totp_required("dana")
    uri = vault.users.enable_totp(ADMIN, "dana")
    assert uri.startswith("otpauth://totp/") and "dana" in uri
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    assert vault.users.totp_required("dana") and vault.users.get(ADMIN, "dana").totp
    with vault.read() as conn:
        ct = conn.execute(select(users.c.totp_secret_ct).where(users.c.id == "dana")
                          ).scalar_one()
    assert totp.secret.encode() not in bytes(ct)
    with pytest.raises(SecondFactorRequired):
        vault.users.authenticate("dana", PW)
    assert vault.users.get(ADMIN, "dana").failed_logins == 0  # the password was right
    with pytest.raises(AuthenticationError, match="wrong one-time code"):
        vault.users.authenticate("dana", PW, totp_code="000000" if totp.at(clock.now) !=
                                 "000000" else "111111")
    assert vault.users.get(ADMIN, "dana").failed_logins == 1
    p = vault.users.authenticate("dana", PW, totp_code=totp.at(clock.now))
    assert p.user_id == "dana"
    with pytest.raises(AuthenticationError, match="used already"):  # a code logs in once
        vault.users.authenticate("dana", PW, totp_code=totp.at(clock.now))
    clock.advance(seconds=30)
    vault.users.authenticate("dana", PW, totp_code=totp.at(clock.now))
    assert _audit(vault, "login")[-1]["details"] == {"source": "cli", "totp": True}
    assert _audit(vault, "login.failed")[-1]["details"]["reason"] == "totp-reused"  # type: ignore[index]
    clock.advance(minutes=5)  # an old code is no good later
    old = totp.at(clock.now - timedelta(minutes=5))
    if old != totp.at(clock.now):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate("dana", PW, totp_code=old)
    with pytest.raises(AccessDeniedError):
        vault.users.enable_totp(vault.users.cli_principal("dana"), "root")


def test_disable_and_the_last_admin(vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    with pytest.raises(VaultError, match="only enabled admin"):
        vault.users.disable(ADMIN, "root")
    with pytest.raises(VaultError, match="only enabled admin"):
        vault.users.set_role(ADMIN, "root", "analyst")
    vault.users.disable(ADMIN, "dana")
    assert vault.users.get(ADMIN, "dana").disabled
    with pytest.raises(AuthenticationError, match="disabled"):
        vault.users.authenticate("dana", PW)
    assert _audit(vault, "login.failed")[-1]["details"]["reason"] == "disabled"  # type: ignore[index]
    vault.users.enable(ADMIN, "dana")
    vault.users.authenticate("dana", PW)
    vault.users.set_role(ADMIN, "dana", "admin")
    vault.users.set_role(ADMIN, "root", "auditor")  # another admin exists now
    assert _audit(vault, "user.change")[-1]["details"] == {"change": "role", "old": "admin",
                                                            "new": "auditor"}


def test_the_audit_chain_holds_after_user_work(vault: Vault) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    vault.users.authenticate("dana", PW)
    with pytest.raises(AuthenticationError):
        vault.users.authenticate("dana", "nope")
    assert vault.audit.verify(AUDITOR).ok


def test_the_default_hasher_is_argon2id() -> None:
    from sellerkit.vault.users import default_hasher

    assert default_hasher().hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_check_active_catches_a_principal_outliving_its_user(vault: Vault) -> None:
    from sellerkit.vault.roles import SYSTEM

    vault.users.add(ADMIN, "dana", "fulfillment", password=PW)
    dana = vault.users.authenticate("dana", PW)
    vault.users.check_active(dana)
    vault.users.check_active(SYSTEM)
    vault.users.set_role(ADMIN, "dana", "analyst")
    with pytest.raises(AuthenticationError, match="changed to analyst"):
        vault.users.check_active(dana)
    vault.users.disable(ADMIN, "dana")
    with pytest.raises(AuthenticationError, match="disabled"):
        vault.users.check_active(vault.users.get(ADMIN, "dana").principal)
    with pytest.raises(AuthenticationError, match="not a vault user"):
        vault.users.check_active(Principal("ghost", Role.ADMIN))


def test_parallel_failures_all_count(vault: Vault) -> None:
    import threading

    vault.users.add(ADMIN, "dana", "analyst", password=PW)
    refused: list[str] = []

    def attempt() -> None:
        try:
            vault.users.authenticate("dana", "guess")
        except AuthenticationError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 12
    u = vault.users.get(ADMIN, "dana")
    assert u.locked and u.failed_logins >= 10
    with pytest.raises(AuthenticationError, match="locked"):
        vault.users.authenticate("dana", PW)
