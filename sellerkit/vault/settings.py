"""Operator settings of a vault that retention, incidents and the evidence pack read.

They live in the ``vault_meta`` table (JSON values), so every process and front end using the
vault sees the same ones; ``sellerkit vault config get|set|list`` edits them. Each setting is
declared here with a parser that refuses bad values with a message saying what to write;
changing one is audited as ``config.change`` (the key only, never the value).

    incident_contact    "Name <email>": the Incident Management Point of Contact (IMPOC)
    retention.pii_days  days after delivery buyer PII is kept, 1..30 (default 30); longer only
                        through a legal hold with a recorded reason (``sellerkit vault hold``)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from sellerkit.errors import VaultError
from sellerkit.vault.roles import Permission, Principal, require
from sellerkit.vault.schema import vault_meta

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["SETTINGS", "Setting", "get_setting", "parse_contact", "set_setting"]

_CONTACT = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)>\s*$")


def parse_contact(text: str) -> dict[str, str]:
    """``"Name <email>"`` -> ``{"name": ..., "email": ...}``."""
    m = _CONTACT.match(text or "")
    if not m:
        raise VaultError(
            f"the incident contact must be written as \"Name <email>\" "
            f"(e.g. \"Dana Ops <security@example.com>\"), not {text!r}")
    return {"name": m["name"], "email": m["email"]}


def _parse_pii_days(text: str) -> int:
    try:
        days = int(str(text).strip())
    except ValueError:
        raise VaultError(f"retention.pii_days must be a whole number of days, not {text!r}") from None
    if days < 1:
        raise VaultError("retention.pii_days must be at least 1 day")
    if days > 30:
        raise VaultError(
            "retention.pii_days cannot exceed 30: Amazon's Data Protection Policy keeps PII at "
            "most 30 days after delivery; to keep some orders longer, place a legal hold with its "
            "reason (sellerkit vault hold --scope order --target ORDER-ID --reason ... "
            "--retain-days N)")
    return days


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str]


def _show_contact(value: Any) -> str:
    return f"{value['name']} <{value['email']}>"


SETTINGS: dict[str, Setting] = {
    s.key: s for s in (
        Setting("incident_contact",
                "the Incident Management Point of Contact, \"Name <email>\"",
                parse_contact, _show_contact),
        Setting("retention.pii_days",
                "days after delivery buyer PII is kept (1..30, default 30)",
                _parse_pii_days, str),
    )
}


def _setting(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(sorted(SETTINGS))
        raise VaultError(f"unknown vault setting {key!r}: use one of {known}") from None


def get_setting(conn: Connection, key: str) -> Any:
    """The stored (parsed) value of ``key``, or None when it was never set."""
    _setting(key)
    return conn.execute(select(vault_meta.c.value).where(vault_meta.c.key == key)).scalar()


def set_setting(vault: Vault, actor: Principal, key: str, text: str) -> Any:
    """Parse ``text`` for ``key``, store it, audit ``config.change``; returns the stored value."""
    require(actor, Permission.CONFIGURE, what=f"change the vault setting {key}")
    value = _setting(key).parse(text)
    now = vault.now()
    with vault.write() as conn:
        exists = conn.execute(
            select(vault_meta.c.key).where(vault_meta.c.key == key)).first() is not None
        if exists:
            conn.execute(update(vault_meta).where(vault_meta.c.key == key)
                         .values(value=value, updated_at=now))
        else:
            conn.execute(insert(vault_meta).values(key=key, value=value, updated_at=now))
        vault.audit.record("config.change", actor=actor.user_id, target=f"setting:{key}",
                           details={"key": key}, conn=conn)
    return value


def show_setting(key: str, value: Any) -> str:
    return "" if value is None else _setting(key).show(value)
