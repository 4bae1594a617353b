"""Vault users: one unique id per actor, a role each, passwords, API keys and a second factor.

Every actor is a row in ``users``: people (who log in to the web UI, or use the CLI under their OS
login name), and services (API callers, sync jobs: ``kind="service"``). Ids are 1-64 letters,
digits, ``.``, ``_`` or ``-``: never an e-mail address, so ids can go into the audit log (which
holds no PII). ``system`` is reserved for the vault's own maintenance.

Roles (:mod:`sellerkit.vault.roles`): admin, analyst (no PII), fulfillment (PII with a stated
purpose), auditor (the audit log). Managing users needs ``MANAGE_USERS`` (admin); auditors may
list users (access reviews).

Log-ins (:meth:`UserStore.authenticate`):

* passwords and API-key secrets are stored as argon2id hashes (argon2-cffi ``PasswordHasher``);
* after 10 consecutive failed log-ins the account is locked: every later attempt is refused, the
  right password included, until an admin runs ``sellerkit users unlock ID`` or, when
  ``users.lockout_minutes`` is set in ``vault_meta``, that many minutes have passed;
* the password policy (:data:`DEFAULT_POLICY`, the 2024 Data Protection Policy): at least 12
  characters, upper and lower case letters, a digit and a special character, not containing the
  user id; none of the last 10 passwords again; a new password is at least 1 day old before its
  owner may change it again (an admin may reset it at any time); a password older than 365 days
  is refused at log-in until it is changed. ``users.password_policy`` in ``vault_meta`` may make
  the policy stricter, never weaker;
* a TOTP second factor (pyotp; the secret encrypted under the user's own data key). When it is
  enabled a log-in without the code raises :class:`SecondFactorRequired` (not a failure: the
  password was right), a wrong code counts as a failed log-in. Each code logs in once: the time
  step of the last one used is kept (``users.totp_step.<id>`` in ``vault_meta``) and a code of
  that step or an earlier one is refused (RFC 6238 section 5.2).

Every log-in and every failure is audited (``login``, ``login.failed`` with the reason); every
change (``user.add``, ``user.change``, ``apikey.create``, ``apikey.rotate``, ``apikey.revoke``).

API keys (:meth:`create_api_key`) look like ``skv1_<key id>_<secret>``; they expire (90 days by
default) and :meth:`rotate_api_key` issues a new one and revokes the user's older keys at once, or
after ``grace_hours`` (so a deployment can switch over). A successful API-key log-in is audited
at most once an hour per key (``last_used_at``); failures always are. Failed API keys do not lock
the account (their secrets are 256-bit random: guessing is hopeless, and a locked account would
hand anyone who knows a key id a way to shut a service out); the monitor alerts on them.

The CLI identifies its user by ``--user`` or the OS login name (:meth:`cli_principal`): whoever
runs it already holds the vault's key file or variable, so no password is asked; a disabled user
is refused, a locked one is not (the lock guards password log-ins, and an admin must be able to
unlock from the server's shell).
"""

from __future__ import annotations

import builtins
import getpass
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Connection, delete, func, insert, select, update

from sellerkit.errors import AuthenticationError, VaultError
from sellerkit.vault.audit import meta_get, meta_set
from sellerkit.vault.roles import SYSTEM, Permission, Principal, Role, require
from sellerkit.vault.schema import api_keys, password_history, users

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from sellerkit.vault.core import Vault

__all__ = ["DEFAULT_POLICY", "LOCKOUT_THRESHOLD", "PasswordPolicy", "SecondFactorRequired",
           "User", "UserStore", "default_hasher"]

LOCKOUT_THRESHOLD = 10  # consecutive failed log-ins (DPP, 2025-11)
LOCKOUT_MINUTES_KEY = "users.lockout_minutes"
POLICY_KEY = "users.password_policy"
TOTP_STEP_PREFIX = "users.totp_step."  # + user id: the time step of the last code used
API_KEY_PREFIX = "skv1"
DEFAULT_API_KEY_DAYS = 90
MAX_API_KEY_DAYS = 365
_API_AUDIT_EVERY = timedelta(hours=1)
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KINDS = ("person", "service")
_RESERVED = frozenset({"system"})
_SPECIAL = re.compile(r"[^A-Za-z0-9]")


class SecondFactorRequired(AuthenticationError):
    """The password was right; the account also needs its TOTP code."""


class AccountLockedError(AuthenticationError):
    """The account is locked after too many failed log-ins (an admin unlocks it)."""


class PasswordExpiredError(AuthenticationError):
    """The password is older than the policy's maximum age (an admin sets a new one)."""


def default_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@dataclass(frozen=True)
class PasswordPolicy:
    """The password rules, as data. ``users.password_policy`` may tighten them."""

    min_length: int = 12
    require_upper: bool = True
    require_lower: bool = True
    require_digit: bool = True
    require_special: bool = True
    forbid_user_id: bool = True
    history: int = 10
    min_age_days: int = 1
    max_age_days: int = 365

    def problems(self, user_id: str, password: str) -> list[str]:
        out = []
        if len(password) < self.min_length:
            out.append(f"at least {self.min_length} characters")
        if self.require_upper and not any(c.isupper() for c in password):
            out.append("an upper-case letter")
        if self.require_lower and not any(c.islower() for c in password):
            out.append("a lower-case letter")
        if self.require_digit and not any(c.isdigit() for c in password):
            out.append("a digit")
        if self.require_special and not _SPECIAL.search(password):
            out.append("a special character")
        if self.forbid_user_id and user_id.casefold() in password.casefold():
            out.append("not the user id")
        return out

    def tightened(self, overrides: Mapping[str, Any] | None) -> PasswordPolicy:
        """This policy with the stricter of each overridden value (never a weaker one)."""
        if not overrides:
            return self
        changes: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in overrides:
                continue
            mine, theirs = getattr(self, f.name), overrides[f.name]
            if isinstance(mine, bool):
                changes[f.name] = mine or bool(theirs)
            elif f.name == "max_age_days":
                changes[f.name] = min(mine, int(theirs)) if int(theirs) > 0 else mine
            else:
                changes[f.name] = max(mine, int(theirs))
        return replace(self, **changes)


DEFAULT_POLICY = PasswordPolicy()


@dataclass(frozen=True)
class User:
    """A vault user as the API shows it: no hashes, no secrets."""

    user_id: str
    role: Role
    kind: str
    disabled: bool
    locked: bool
    failed_logins: int
    has_password: bool
    totp: bool
    api_keys: int  # live (unrevoked, unexpired) keys
    created_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(self.user_id, self.role, self.kind)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["role"] = self.role.value
        for k in ("created_at", "last_login_at", "password_changed_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


def _check_user_id(user_id: str) -> str:
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise VaultError(
            f"user id {user_id!r} is not valid: use 1-64 letters, digits, '.', '_' or '-' "
            f"(starting with a letter or digit; e-mail addresses are not ids, they would put "
            f"PII in the audit log)")
    if user_id.lower() in _RESERVED:
        raise VaultError(f"user id {user_id!r} is reserved for the vault itself: pick another")
    return user_id


def _target(user_id: str) -> str:
    """The audit target for a user id typed by someone (an invalid id may hold anything)."""
    return f"user:{user_id}" if _USER_ID.match(user_id or "") else "user:(invalid id)"


class UserStore:
    """The vault's users (``vault.users``). ``hasher`` replaces the argon2 parameters."""

    def __init__(self, vault: Vault, *, hasher: PasswordHasher | None = None) -> None:
        self.vault = vault
        self.hasher = hasher or default_hasher()
        self._dummy_hash: str | None = None

    # -- reading -------------------------------------------------------------------------------

    def _row(self, conn: Connection, user_id: str) -> Any:
        return conn.execute(select(users).where(users.c.id == user_id)).first()

    def _require_row(self, conn: Connection, user_id: str) -> Any:
        row = self._row(conn, user_id)
        if row is None:
            raise VaultError(f"no vault user {user_id!r}: see 'sellerkit users list'")
        return row

    def _locked(self, conn: Connection, row: Any) -> bool:
        if row.locked_at is None:
            return False
        minutes = meta_get(conn, LOCKOUT_MINUTES_KEY)
        if minutes:
            return bool(self.vault.now() < row.locked_at + timedelta(minutes=int(minutes)))
        return True

    def _user(self, conn: Connection, row: Any) -> User:
        now = self.vault.now()
        live = conn.execute(select(func.count()).select_from(api_keys).where(
            api_keys.c.user_id == row.id, api_keys.c.revoked_at.is_(None),
            api_keys.c.expires_at > now)).scalar_one()
        return User(row.id, Role(row.role), row.kind, row.disabled_at is not None,
                    self._locked(conn, row), row.failed_logins, row.password_hash is not None,
                    row.totp_secret_ct is not None, int(live), row.created_at, row.last_login_at,
                    row.password_changed_at)

    def policy(self, conn: Connection | None = None) -> PasswordPolicy:
        if conn is None:
            with self.vault.read() as c:
                return self.policy(c)
        raw = meta_get(conn, POLICY_KEY)
        return DEFAULT_POLICY.tightened(raw if isinstance(raw, dict) else None)

    def set_password_policy(self, actor: Principal, **overrides: int | bool) -> PasswordPolicy:
        """Make the password policy stricter (CONFIGURE; audited): e.g. ``min_length=16``.
        Values weaker than :data:`DEFAULT_POLICY` are refused."""
        require(actor, Permission.CONFIGURE, what="change the password policy")
        names = {f.name for f in fields(PasswordPolicy)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise VaultError(f"unknown password policy setting(s) {', '.join(unknown)}: use "
                             f"{', '.join(sorted(names))}")
        stricter = DEFAULT_POLICY.tightened(overrides)
        weaker = sorted(k for k, v in overrides.items() if getattr(stricter, k) != v)
        if weaker:
            raise VaultError(f"the password policy can only be made stricter than the default "
                             f"({DEFAULT_POLICY}); refused: {', '.join(weaker)}")
        with self.vault.write() as conn:
            meta_set(conn, POLICY_KEY, {k: getattr(stricter, k) for k in overrides},
                     self.vault.now())
            self.vault.audit.record("config.change", actor=actor.user_id,
                                    target=f"setting:{POLICY_KEY}",
                                    details={"key": POLICY_KEY, "fields": sorted(overrides)},
                                    conn=conn)
        return stricter

    def get(self, actor: Principal, user_id: str) -> User:
        if actor.user_id != user_id and not actor.can(Permission.READ_AUDIT):
            require(actor, Permission.MANAGE_USERS, what="look at other users")
        with self.vault.read() as conn:
            return self._user(conn, self._require_row(conn, user_id))

    def list(self, actor: Principal) -> list[User]:
        """Every user (admins manage them; auditors review access)."""
        if not actor.can(Permission.READ_AUDIT):
            require(actor, Permission.MANAGE_USERS, what="list the vault's users")
        with self.vault.read() as conn:
            rows = conn.execute(select(users).order_by(users.c.id)).all()
            return [self._user(conn, r) for r in rows]

    def count(self) -> int:
        with self.vault.read() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    # -- the CLI's principals ------------------------------------------------------------------

    def bootstrap_admin(self, user_id: str) -> Principal:
        """The first admin of a new vault (``vault init`` passes the OS login name); refused
        once the vault has users."""
        _check_user_id(user_id)
        now = self.vault.now()
        with self.vault.write() as conn:
            if conn.execute(select(func.count()).select_from(users)).scalar_one():
                raise VaultError(
                    "the vault already has users: an admin adds more with "
                    "'sellerkit users add ID --role ROLE'")
            conn.execute(insert(users).values(
                id=user_id, role=Role.ADMIN.value, kind="person", failed_logins=0,
                created_at=now, updated_at=now))
            self.vault.audit.record("user.add", actor=SYSTEM.user_id, target=_target(user_id),
                                    details={"role": "admin", "kind": "person",
                                             "bootstrap": True}, conn=conn)
        return Principal(user_id, Role.ADMIN, "person")

    def cli_principal(self, user_id: str | None = None) -> Principal:
        """The principal a CLI command runs as: ``user_id`` or the OS login name."""
        uid = user_id or getpass.getuser()
        with self.vault.read() as conn:
            row = self._row(conn, uid) if _USER_ID.match(uid) else None
            if row is None:
                empty = not conn.execute(select(func.count()).select_from(users)).scalar_one()
        if row is None:
            if empty:
                raise AuthenticationError(
                    f"the vault has no users yet: run 'sellerkit vault init' as the first admin "
                    f"(it adds your OS login name, {getpass.getuser()!r})")
            raise AuthenticationError(
                f"{uid!r} is not a vault user: an admin adds it with 'sellerkit users add {uid} "
                f"--role ROLE', or act as another user with --user ID")
        if row.disabled_at is not None:
            raise AuthenticationError(
                f"the vault user {uid!r} is disabled: an admin re-enables it with "
                f"'sellerkit users enable {uid}'")
        return Principal(row.id, Role(row.role), row.kind)

    def check_active(self, principal: Principal, conn: Connection | None = None) -> None:
        """Raise AuthenticationError when ``principal`` is a user that was disabled (or removed)
        since it was obtained: for long-lived principals (a web session, a service) before a
        sensitive action. The vault's own ``system`` principal always passes."""
        if principal == SYSTEM:
            return
        if conn is None:
            with self.vault.read() as c:
                return self.check_active(principal, c)
        row = self._row(conn, principal.user_id) if _USER_ID.match(principal.user_id) else None
        if row is None or row.disabled_at is not None:
            raise AuthenticationError(
                f"the vault user {principal.user_id!r} is "
                f"{'disabled' if row is not None else 'not a vault user'}: log in again or ask "
                f"an admin")
        if Role(row.role) is not principal.role:
            raise AuthenticationError(
                f"the role of {principal.user_id!r} changed to {row.role}: log in again")

    # -- changes -------------------------------------------------------------------------------

    def _check_password(self, conn: Connection, user_id: str, password: str) -> PasswordPolicy:
        policy = self.policy(conn)
        problems = policy.problems(user_id, password)
        if problems:
            raise VaultError("the password does not meet the policy: it needs "
                             + ", ".join(problems))
        return policy

    def add(self, actor: Principal, user_id: str, role: Role | str, *,
            password: str | None = None, kind: str = "person") -> User:
        """A new user (MANAGE_USERS); audited ``user.add``."""
        require(actor, Permission.MANAGE_USERS, what="add users")
        _check_user_id(user_id)
        role = role if isinstance(role, Role) else Role.parse(role)
        if kind not in _KINDS:
            raise VaultError(f"user kind {kind!r}: use person or service")
        now = self.vault.now()
        with self.vault.write() as conn:
            if self._row(conn, user_id) is not None:
                raise VaultError(f"the vault user {user_id!r} exists already: see "
                                 f"'sellerkit users list'")
            hashed = None
            if password is not None:
                self._check_password(conn, user_id, password)
                hashed = self.hasher.hash(password)
            conn.execute(insert(users).values(
                id=user_id, role=role.value, kind=kind, password_hash=hashed, failed_logins=0,
                password_changed_at=now if hashed else None, created_at=now, updated_at=now))
            if hashed:
                conn.execute(insert(password_history).values(
                    user_id=user_id, password_hash=hashed, created_at=now))
            self.vault.audit.record("user.add", actor=actor.user_id, target=_target(user_id),
                                    details={"role": role.value, "kind": kind,
                                             "password": hashed is not None}, conn=conn)
            return self._user(conn, self._require_row(conn, user_id))

    def _change(self, conn: Connection, actor: Principal, user_id: str, change: str,
                values: Mapping[str, Any], **details: Any) -> None:
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(updated_at=self.vault.now(), **values))
        self.vault.audit.record("user.change", actor=actor.user_id, target=_target(user_id),
                                details={"change": change, **details}, conn=conn)

    def _other_admins(self, conn: Connection, user_id: str) -> int:
        return int(conn.execute(select(func.count()).select_from(users).where(
            users.c.role == Role.ADMIN.value, users.c.disabled_at.is_(None),
            users.c.id != user_id)).scalar_one())

    def disable(self, actor: Principal, user_id: str) -> User:
        """Disable a user (MANAGE_USERS): log-ins, API keys and CLI use are refused from now;
        its API keys are revoked. The last enabled admin cannot be disabled."""
        require(actor, Permission.MANAGE_USERS, what="disable users")
        now = self.vault.now()
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            if row.role == Role.ADMIN.value and not self._other_admins(conn, user_id):
                raise VaultError(f"{user_id!r} is the vault's only enabled admin: add or enable "
                                 f"another admin first")
            revoked = conn.execute(update(api_keys).where(
                api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)).rowcount
            self._change(conn, actor, user_id, "disable", {"disabled_at": now},
                         api_keys_revoked=int(revoked))
            return self._user(conn, self._require_row(conn, user_id))

    def enable(self, actor: Principal, user_id: str) -> User:
        require(actor, Permission.MANAGE_USERS, what="enable users")
        with self.vault.write() as conn:
            self._require_row(conn, user_id)
            self._change(conn, actor, user_id, "enable", {"disabled_at": None})
            return self._user(conn, self._require_row(conn, user_id))

    def set_role(self, actor: Principal, user_id: str, role: Role | str) -> User:
        require(actor, Permission.MANAGE_USERS, what="change roles")
        role = role if isinstance(role, Role) else Role.parse(role)
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            if (row.role == Role.ADMIN.value and role is not Role.ADMIN
                    and row.disabled_at is None and not self._other_admins(conn, user_id)):
                raise VaultError(f"{user_id!r} is the vault's only enabled admin: make another "
                                 f"user admin first")
            self._change(conn, actor, user_id, "role", {"role": role.value},
                         old=row.role, new=role.value)
            return self._user(conn, self._require_row(conn, user_id))

    def unlock(self, actor: Principal, user_id: str) -> User:
        """Clear a lockout and the failure count (MANAGE_USERS)."""
        require(actor, Permission.MANAGE_USERS, what="unlock users")
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            self._change(conn, actor, user_id, "unlock", {"locked_at": None, "failed_logins": 0},
                         failed_logins=int(row.failed_logins))
            return self._user(conn, self._require_row(conn, user_id))

    def set_lockout_minutes(self, actor: Principal, minutes: int | None) -> None:
        """Locked accounts unlock themselves after ``minutes`` (None: only an admin unlocks)."""
        require(actor, Permission.CONFIGURE, what="change the lockout")
        if minutes is not None and int(minutes) < 1:
            raise VaultError("the lock time must be at least 1 minute (or none: admin unlock)")
        with self.vault.write() as conn:
            meta_set(conn, LOCKOUT_MINUTES_KEY, None if minutes is None else int(minutes),
                     self.vault.now())
            self.vault.audit.record("config.change", actor=actor.user_id,
                                    target=f"setting:{LOCKOUT_MINUTES_KEY}",
                                    details={"key": LOCKOUT_MINUTES_KEY}, conn=conn)

    def set_password(self, actor: Principal, user_id: str, password: str) -> None:
        """Set a password (the user itself, or MANAGE_USERS): the policy applies, and none of
        the last 10 passwords may come back."""
        own = actor.user_id == user_id
        if not own:
            require(actor, Permission.MANAGE_USERS, what="set other users' passwords")
        now = self.vault.now()
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            policy = self._check_password(conn, user_id, password)
            if (own and not actor.can(Permission.MANAGE_USERS) and policy.min_age_days
                    and row.password_changed_at is not None
                    and now < row.password_changed_at + timedelta(days=policy.min_age_days)):
                raise VaultError(
                    f"the password was changed less than {policy.min_age_days} day(s) ago: "
                    f"try again later, or ask an admin")
            recent = conn.execute(
                select(password_history.c.password_hash)
                .where(password_history.c.user_id == user_id)
                .order_by(password_history.c.id.desc()).limit(policy.history)).scalars().all()
            for old in recent:
                if self._verify_hash(old, password):
                    raise VaultError(f"that password was used before: pick one that is none of "
                                     f"the last {policy.history}")
            hashed = self.hasher.hash(password)
            conn.execute(insert(password_history).values(
                user_id=user_id, password_hash=hashed, created_at=now))
            keep = select(password_history.c.id).where(
                password_history.c.user_id == user_id).order_by(
                password_history.c.id.desc()).limit(policy.history)
            conn.execute(delete(password_history).where(
                password_history.c.user_id == user_id,
                password_history.c.id.not_in(list(conn.execute(keep).scalars()))))
            self._change(conn, actor, user_id, "password",
                         {"password_hash": hashed, "password_changed_at": now})

    # -- password log-ins ----------------------------------------------------------------------

    def _verify_hash(self, hashed: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _fail(self, user_id: str, source: str, reason: str, message: str,
              *, count: bool, exc: type[AuthenticationError] = AuthenticationError) -> NoReturn:
        """Audit a refused log-in (and count it toward the lockout); raises."""
        locked_now = False
        failures = None
        with self.vault.write() as conn:
            row = self._row(conn, user_id) if _USER_ID.match(user_id or "") else None
            if row is not None and count:
                # one statement, so concurrent failures all count
                conn.execute(update(users).where(users.c.id == user_id)
                             .values(failed_logins=users.c.failed_logins + 1))
                row = self._row(conn, user_id)
                failures = int(row.failed_logins)
                if failures >= LOCKOUT_THRESHOLD and row.locked_at is None:
                    conn.execute(update(users).where(users.c.id == user_id)
                                 .values(locked_at=self.vault.now()))
                    locked_now = True
            details: dict[str, Any] = {"reason": reason, "source": source}
            if failures is not None:
                details["failures"] = failures
            if locked_now:
                details["locked"] = True
            self.vault.audit.record("login.failed", actor=row.id if row is not None else None,
                                    target=_target(user_id), outcome="failed", details=details,
                                    conn=conn)
        if locked_now:
            message = (f"{message}; the account is now locked after {LOCKOUT_THRESHOLD} failed "
                       f"log-ins: an admin unlocks it with 'sellerkit users unlock {user_id}'")
            exc = AccountLockedError
        raise exc(message)

    def authenticate(self, user_id: str, password: str, *, totp_code: str | None = None,
                     source: str = "cli") -> Principal:
        """Check a password (and TOTP code); the principal, or AuthenticationError. Audited."""
        source = source if _USER_ID.match(source or "") else "other"
        with self.vault.read() as conn:
            row = self._row(conn, user_id) if _USER_ID.match(user_id or "") else None
            locked = row is not None and self._locked(conn, row)
            policy = self.policy(conn)
        wrong = "wrong user id or password"
        if row is None or row.password_hash is None:
            self._verify_hash(self._dummy(), password)  # the same time as a real check
            self._fail(user_id, source, "unknown" if row is None else "no-password", wrong,
                       count=row is not None)
        if row.disabled_at is not None:
            self._verify_hash(self._dummy(), password)
            self._fail(user_id, source, "disabled",
                       f"the vault user {user_id!r} is disabled", count=False)
        if locked:
            self._fail(user_id, source, "locked",
                       f"the account {user_id!r} is locked after {LOCKOUT_THRESHOLD} failed "
                       f"log-ins: an admin unlocks it with 'sellerkit users unlock {user_id}'",
                       count=False, exc=AccountLockedError)
        if not self._verify_hash(row.password_hash, password):
            self._fail(user_id, source, "password", wrong, count=True)
        step: int | None = None
        if row.totp_secret_ct is not None:
            if not totp_code:
                self._fail(user_id, source, "totp-missing",
                           "this account needs its one-time code (TOTP) as well", count=False,
                           exc=SecondFactorRequired)
            step = self._totp_step(row, totp_code or "")
            if step is None:
                self._fail(user_id, source, "totp", "wrong one-time code", count=True)
        if (policy.max_age_days and row.password_changed_at is not None
                and self.vault.now() > row.password_changed_at
                + timedelta(days=policy.max_age_days)):
            self._fail(user_id, source, "expired",
                       f"the password is older than {policy.max_age_days} days: an admin sets a "
                       f"new one with 'sellerkit users set-password {user_id}'", count=False,
                       exc=PasswordExpiredError)
        now = self.vault.now()
        reused = False
        with self.vault.write() as conn:
            fresh = self._row(conn, user_id)  # attempts in parallel may have locked it since
            locked_meanwhile = (fresh is None or fresh.disabled_at is not None
                                or self._locked(conn, fresh))
            if not locked_meanwhile and step is not None:  # each code logs in once (RFC 6238 section 5.2)
                used_key = f"{TOTP_STEP_PREFIX}{row.id}"
                used = meta_get(conn, used_key)
                reused = isinstance(used, int) and step <= used
                if not reused:
                    meta_set(conn, used_key, step, now)
            if not (reused or locked_meanwhile):
                values: dict[str, Any] = {"failed_logins": 0, "locked_at": None,
                                          "last_login_at": now}
                if self.hasher.check_needs_rehash(row.password_hash):
                    values["password_hash"] = self.hasher.hash(password)
                conn.execute(update(users).where(users.c.id == user_id).values(**values))
                self.vault.audit.record("login", actor=row.id, target=_target(row.id),
                                        details={"source": source,
                                                 "totp": row.totp_secret_ct is not None},
                                        conn=conn)
        if locked_meanwhile:
            self._fail(user_id, source, "locked",
                       f"the account {user_id!r} was locked or disabled during this log-in",
                       count=False, exc=AccountLockedError)
        if reused:
            self._fail(user_id, source, "totp-reused",
                       "that one-time code was used already: wait for the next one", count=True)
        return Principal(fresh.id, Role(fresh.role), fresh.kind)

    # -- TOTP ----------------------------------------------------------------------------------

    def _totp_secret(self, row: Any) -> str:
        secret = self.vault.cipher.decrypt(row.key_id, "users", "totp_secret_ct", row.id,
                                           row.totp_secret_ct)
        assert secret is not None
        return secret

    def _totp_step(self, row: Any, code: str) -> int | None:
        """The time step ``code`` is valid for (this one, or one either side for clock drift),
        or None."""
        import hmac as _hmac

        import pyotp

        code = code.strip().replace(" ", "")
        if not code.isdigit():
            return None
        totp = pyotp.TOTP(self._totp_secret(row))
        now = self.vault.now()
        here = totp.timecode(now)
        for offset in (0, -1, 1):
            if _hmac.compare_digest(totp.generate_otp(here + offset), code):
                return int(here + offset)
        return None

    def enable_totp(self, actor: Principal, user_id: str) -> str:
        """A new TOTP secret for the user (itself or MANAGE_USERS); returns the otpauth:// URI to
        show once (as a QR code or text) to the user's authenticator app."""
        import pyotp

        if actor.user_id != user_id:
            require(actor, Permission.MANAGE_USERS, what="set up other users' second factor")
        secret = pyotp.random_base32()
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            key_id = row.key_id
            if key_id is None:
                key_id = self.vault.cipher.new_data_key(conn, "user")
            blob = self.vault.cipher.encrypt(key_id, "users", "totp_secret_ct", user_id, secret,
                                             conn=conn)
            self._change(conn, actor, user_id, "totp", {"key_id": key_id,
                                                        "totp_secret_ct": blob}, enabled=True)
        return pyotp.TOTP(secret).provisioning_uri(name=user_id, issuer_name="sellerkit vault")

    def disable_totp(self, actor: Principal, user_id: str) -> None:
        require(actor, Permission.MANAGE_USERS, what="remove users' second factor")
        with self.vault.write() as conn:
            self._require_row(conn, user_id)
            self._change(conn, actor, user_id, "totp", {"totp_secret_ct": None}, enabled=False)

    def totp_required(self, user_id: str) -> bool:
        with self.vault.read() as conn:
            row = self._row(conn, user_id) if _USER_ID.match(user_id or "") else None
        return row is not None and row.totp_secret_ct is not None

    # -- API keys ------------------------------------------------------------------------------

    def _new_key(self, conn: Connection, user_id: str, ttl_days: int) -> tuple[str, str]:
        if not 1 <= int(ttl_days) <= MAX_API_KEY_DAYS:
            raise VaultError(f"an API key lives 1-{MAX_API_KEY_DAYS} days, not {ttl_days}")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self.vault.now()
        conn.execute(insert(api_keys).values(
            id=key_id, user_id=user_id, secret_hash=self.hasher.hash(secret), created_at=now,
            expires_at=now + timedelta(days=int(ttl_days))))
        return key_id, f"{API_KEY_PREFIX}_{key_id}_{secret}"

    def create_api_key(self, actor: Principal, user_id: str, *,
                       ttl_days: int = DEFAULT_API_KEY_DAYS) -> str:
        """A new API key for the user (MANAGE_USERS); the key is returned once, only its hash
        is kept. Audited ``apikey.create`` (with the key id)."""
        require(actor, Permission.MANAGE_USERS, what="create API keys")
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            if row.disabled_at is not None:
                raise VaultError(f"the vault user {user_id!r} is disabled: enable it first")
            key_id, key = self._new_key(conn, user_id, ttl_days)
            self.vault.audit.record("apikey.create", actor=actor.user_id,
                                    target=_target(user_id),
                                    details={"key_id": key_id, "ttl_days": int(ttl_days)},
                                    conn=conn)
        return key

    def rotate_api_key(self, actor: Principal, user_id: str, *,
                       ttl_days: int = DEFAULT_API_KEY_DAYS, grace_hours: float = 0) -> str:
        """A new API key; the user's older live keys are revoked at once (``grace_hours=0``)
        or expire ``grace_hours`` from now. Audited ``apikey.rotate``."""
        require(actor, Permission.MANAGE_USERS, what="rotate API keys")
        if grace_hours < 0:
            raise VaultError("grace_hours cannot be negative")
        now = self.vault.now()
        with self.vault.write() as conn:
            row = self._require_row(conn, user_id)
            if row.disabled_at is not None:
                raise VaultError(f"the vault user {user_id!r} is disabled: enable it first")
            old = conn.execute(select(api_keys.c.id, api_keys.c.expires_at).where(
                api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None),
                api_keys.c.expires_at > now)).all()
            if grace_hours:
                until = now + timedelta(hours=grace_hours)
                for k in old:
                    if k.expires_at > until:
                        conn.execute(update(api_keys).where(api_keys.c.id == k.id)
                                     .values(expires_at=until))
            elif old:
                conn.execute(update(api_keys).where(api_keys.c.id.in_([k.id for k in old]))
                             .values(revoked_at=now))
            key_id, key = self._new_key(conn, user_id, ttl_days)
            self.vault.audit.record("apikey.rotate", actor=actor.user_id,
                                    target=_target(user_id),
                                    details={"key_id": key_id, "old": sorted(k.id for k in old),
                                             "grace_hours": grace_hours}, conn=conn)
        return key

    def revoke_api_key(self, actor: Principal, key_id: str) -> None:
        require(actor, Permission.MANAGE_USERS, what="revoke API keys")
        with self.vault.write() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
            if row is None:
                raise VaultError(f"no API key {key_id!r}: see 'sellerkit users list --keys'")
            conn.execute(update(api_keys).where(api_keys.c.id == key_id)
                         .values(revoked_at=self.vault.now()))
            self.vault.audit.record("apikey.revoke", actor=actor.user_id,
                                    target=_target(row.user_id), details={"key_id": key_id},
                                    conn=conn)

    def list_api_keys(self, actor: Principal, user_id: str | None = None
                      ) -> builtins.list[dict[str, Any]]:
        """Key ids with their dates and state (never a secret)."""
        if not actor.can(Permission.READ_AUDIT):
            require(actor, Permission.MANAGE_USERS, what="list API keys")
        now = self.vault.now()
        q = select(api_keys).order_by(api_keys.c.user_id, api_keys.c.created_at)
        if user_id is not None:
            q = q.where(api_keys.c.user_id == user_id)
        with self.vault.read() as conn:
            rows = conn.execute(q).all()
        return [{"key_id": r.id, "user_id": r.user_id, "created_at": r.created_at.isoformat(),
                 "expires_at": r.expires_at.isoformat(),
                 "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                 "state": "revoked" if r.revoked_at is not None else
                 "expired" if r.expires_at <= now else "live"} for r in rows]

    def authenticate_api_key(self, key: str, *, source: str = "api") -> Principal:
        """The principal of a live API key, or AuthenticationError (audited)."""
        source = source if _USER_ID.match(source or "") else "other"
        parts = (key or "").strip().split("_", 2)
        key_id = parts[1] if len(parts) == 3 and parts[0] == API_KEY_PREFIX else ""
        with self.vault.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first() \
                if re.fullmatch(r"[0-9a-f]{16}", key_id) else None
            user = self._row(conn, row.user_id) if row is not None else None
        refused = "the API key is not valid"
        if row is None or user is None:
            self._verify_hash(self._dummy(), key or "")
            self._fail_key(None, key_id or None, source, "unknown", refused)
        if not self._verify_hash(row.secret_hash, parts[2]):
            self._fail_key(user.id, key_id, source, "secret", refused)
        now = self.vault.now()
        if row.revoked_at is not None:
            self._fail_key(user.id, key_id, source, "revoked",
                           f"the API key {key_id} was revoked: ask an admin for a new one")
        if row.expires_at <= now:
            self._fail_key(user.id, key_id, source, "expired",
                           f"the API key {key_id} expired on {row.expires_at:%Y-%m-%d}: an admin "
                           f"issues a new one with 'sellerkit users rotate-key {user.id}'")
        if user.disabled_at is not None:
            self._fail_key(user.id, key_id, source, "disabled",
                           f"the vault user {user.id!r} is disabled")
        if row.last_used_at is None or now - row.last_used_at >= _API_AUDIT_EVERY:
            with self.vault.write() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == key_id)
                             .values(last_used_at=now))
                self.vault.audit.record("login", actor=user.id, target=_target(user.id),
                                        details={"source": source, "key_id": key_id}, conn=conn)
        return Principal(user.id, Role(user.role), user.kind)

    def _fail_key(self, user_id: str | None, key_id: str | None, source: str, reason: str,
                  message: str) -> NoReturn:
        details: dict[str, Any] = {"reason": reason, "source": source, "api_key": True}
        if key_id and re.fullmatch(r"[0-9a-f]{16}", key_id):
            details["key_id"] = key_id
        self.vault.audit.record("login.failed", actor=user_id,
                                target=_target(user_id) if user_id else None, outcome="failed",
                                details=details)
        raise AuthenticationError(message)
