"""Who may do what in the vault: roles, the permissions they grant, and the acting principal.

Every vault action runs as a :class:`Principal`, a unique user id with one role; the vault API
checks the permission itself (:func:`require`), so no front end (CLI, web, library caller) can
skip it. PII is readable only with :attr:`Permission.READ_PII` *and* a stated purpose.

    role          may
    admin         everything, PII included (with a purpose)
    analyst       orders, items, reports, counts: never PII
    fulfillment   what an analyst may, plus PII with a stated purpose
    auditor       the audit log, alerts, purge runs, incidents, the inventory: no order data
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sellerkit.errors import AccessDeniedError

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "Role", "require"]


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    FULFILLMENT = "fulfillment"
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise AccessDeniedError(f"unknown role {text!r}: use one of {names}") from None


class Permission(StrEnum):
    READ_DATA = "read_data"            # orders, items, reports: non-PII fields
    READ_PII = "read_pii"              # decrypt buyer and address fields (needs a purpose)
    WRITE_DATA = "write_data"          # sync, imports
    READ_AUDIT = "read_audit"          # the audit log, alerts, access reviews, evidence
    MANAGE_USERS = "manage_users"
    MANAGE_KEYS = "manage_keys"        # rotate the key-encryption key
    MANAGE_CONNECTIONS = "manage_connections"  # sellers' refresh tokens
    PURGE = "purge"                    # retention runs, legal holds
    EXPORT = "export"                  # encrypted exports
    MANAGE_INCIDENTS = "manage_incidents"
    CONFIGURE = "configure"            # vault settings (retention, alert rules, contacts)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset({Permission.READ_DATA}),
    Role.FULFILLMENT: frozenset({Permission.READ_DATA, Permission.READ_PII, Permission.EXPORT}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.MANAGE_INCIDENTS}),
}


@dataclass(frozen=True)
class Principal:
    """The acting user: a unique id and a role. ``kind`` is person or service (sync jobs, API
    callers)."""

    user_id: str
    role: Role
    kind: str = "person"

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


# The vault's own maintenance (migrations, scheduled purges run by a sync) acts as this one.
SYSTEM = Principal("system", Role.ADMIN, kind="service")


def require(principal: Principal, permission: Permission, *, purpose: str | None = None,
            what: str = "") -> None:
    """Raise :class:`AccessDeniedError` unless ``principal`` holds ``permission`` (and, for PII,
    states a purpose)."""
    if not principal.can(permission):
        allowed = sorted(r.value for r, p in ROLE_PERMISSIONS.items() if permission in p)
        raise AccessDeniedError(
            f"user {principal.user_id!r} (role {principal.role.value}) may not "
            f"{what or permission.value.replace('_', ' ')}: that needs the role "
            f"{' or '.join(allowed)}")
    if permission is Permission.READ_PII and not (purpose and purpose.strip()):
        raise AccessDeniedError(
            "reading PII needs a stated purpose (e.g. purpose='ship order 123-...'): "
            "every PII read is audited with its purpose")
