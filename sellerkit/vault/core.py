"""The :class:`Vault`: one object that opens the database and the keys and hands out the parts.

    vault = Vault.open()                      # SQLite in the user data dir, key file beside it
    vault = Vault.open("postgresql://...", key="kms:alias/sellerkit")

Each part is its own module and reached as an attribute, built on first use:

    vault.cipher        sellerkit.vault.crypto       data keys, AES-256-GCM fields, blind index
    vault.connections   sellerkit.vault.connections  sellers' refresh tokens
    vault.orders        sellerkit.vault.orders       orders, items, buyers, addresses
    vault.users         sellerkit.vault.users        users, roles, passwords, API keys
    vault.audit         sellerkit.vault.audit        the hash-chained audit log
    vault.monitor       sellerkit.vault.monitor      alert rules
    vault.retention     sellerkit.vault.retention    retention policy, purges, legal holds
    vault.inventory     sellerkit.vault.inventory    where Amazon data lives, encrypted exports
    vault.incidents     sellerkit.vault.incidents    incident records and notifications

Every method that reads or changes data takes the acting :class:`~sellerkit.vault.roles.Principal`
and checks its permission itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from sellerkit.vault import store

if TYPE_CHECKING:
    from sellerkit.vault.audit import AuditLog
    from sellerkit.vault.connections import ConnectionStore
    from sellerkit.vault.crypto import FieldCipher
    from sellerkit.vault.incidents import Incidents
    from sellerkit.vault.inventory import Inventory
    from sellerkit.vault.keys import KeyProvider
    from sellerkit.vault.monitor import Monitor
    from sellerkit.vault.orders import OrderStore
    from sellerkit.vault.retention import Retention
    from sellerkit.vault.users import UserStore

__all__ = ["Vault"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _recorded_key(engine: Engine) -> str | None:
    """The spec of the KEK the vault records as in use (so a vault whose key was rotated to
    another file or to KMS opens without naming it again)."""
    from sqlalchemy import select

    from sellerkit.vault.schema import keks

    with engine.connect() as conn:
        row = conn.execute(select(keks.c.provider, keks.c.ref).where(keks.c.retired_at.is_(None))
                           .order_by(keks.c.id.desc()).limit(1)).first()
    return f"{row.provider}:{row.ref}" if row is not None else None


class Vault:
    """An open vault. Build it with :meth:`open`; close it with :meth:`close` (or ``with``)."""

    def __init__(self, engine: Engine, keys: KeyProvider, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.keys = keys
        self.clock = clock

    @classmethod
    def open(cls, url: str | None = None, *, key: KeyProvider | str | None = None,
             clock: Callable[[], datetime] = _utcnow, **engine_kwargs: Any) -> Vault:
        """Open (and on first use create) the vault at ``url``, migrating its schema.

        ``key`` names the key-encryption key: ``file:PATH``, ``env:VARIABLE``, ``kms:KEY_ID``
        or a :class:`~sellerkit.vault.keys.KeyProvider`; by default ``$SELLERKIT_VAULT_KEY``,
        else the key file beside a SQLite vault."""
        from sellerkit.vault.keys import resolve_key_provider

        raw_url = url or store.default_vault_url()
        engine = store.create_vault_engine(raw_url, **engine_kwargs)
        try:
            store.migrate(engine)
            provider = resolve_key_provider(key, raw_url, recorded=_recorded_key(engine))
            vault = cls(engine, provider, clock=clock)
            vault.cipher.bind()  # load (or, on a new vault, create) the KEK and vault secrets
        except BaseException:
            engine.dispose()
            raise
        return vault

    def __repr__(self) -> str:
        return f"Vault({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (the SQLite write lock taken at its start)."""
        with store.write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # -- the parts -----------------------------------------------------------------------------

    @cached_property
    def cipher(self) -> FieldCipher:
        from sellerkit.vault.crypto import FieldCipher

        return FieldCipher(self)

    @cached_property
    def connections(self) -> ConnectionStore:
        from sellerkit.vault.connections import ConnectionStore

        return ConnectionStore(self)

    @cached_property
    def orders(self) -> OrderStore:
        from sellerkit.vault.orders import OrderStore

        return OrderStore(self)

    @cached_property
    def users(self) -> UserStore:
        from sellerkit.vault.users import UserStore

        return UserStore(self)

    @cached_property
    def audit(self) -> AuditLog:
        from sellerkit.vault.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def monitor(self) -> Monitor:
        from sellerkit.vault.monitor import Monitor

        return Monitor(self)

    @cached_property
    def retention(self) -> Retention:
        from sellerkit.vault.retention import Retention

        return Retention(self)

    @cached_property
    def inventory(self) -> Inventory:
        from sellerkit.vault.inventory import Inventory

        return Inventory(self)

    @cached_property
    def incidents(self) -> Incidents:
        from sellerkit.vault.incidents import Incidents

        return Incidents(self)
