"""Sellers and their connections: which app each seller authorized, with the refresh token
encrypted.

A *connection* is one seller's (or vendor's) authorization of one app (LWA client id) in one
region. Its refresh token is a secret as sensitive as PII: it is stored AES-256-GCM under the
connection's own data key, bound to the connection row, and only decrypted by
:meth:`ConnectionStore.refresh_token`, which says why (``purpose``) and is audited.

Amazon authorizations last a year: each (re-)authorization resets ``authorized_at`` and
``renewal_due_at`` (+365 days), so the admin pages can warn before one lapses.

    with Vault.open() as vault:
        vault.connections.upsert(SYSTEM, selling_partner_id="A1...", region="na",
                                 client_id="amzn1.application-oa2-client.x", refresh_token=tok)
        info = vault.connections.get(me, "A1...", "na")        # no token in it
        token = vault.connections.refresh_token(SYSTEM, "A1...", "na", purpose="sync orders")
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from sellerkit.errors import AccessDeniedError, VaultError
from sellerkit.vault import schema
from sellerkit.vault.roles import Permission, Principal, Role, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["AUTHORIZATION_DAYS", "ConnectionInfo", "ConnectionStore"]

AUTHORIZATION_DAYS = 365
_REGIONS = ("na", "eu", "fe")
_KINDS = ("seller", "vendor")


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as the admin pages show it: never the token."""

    selling_partner_id: str
    region: str
    kind: str
    client_id: str
    status: str
    authorized_at: datetime
    renewal_due_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    marketplace_ids: list[str] = field(default_factory=list)
    source: str | None = None
    seller_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v.isoformat() if isinstance(v, datetime) else v
        return out


def _norm_region(region: str) -> str:
    r = (region or "").strip().lower()
    if r not in _REGIONS:
        raise VaultError(f"region {region!r}: use one of {', '.join(_REGIONS)}")
    return r


def _row_ref(seller_id: int, client_id: str) -> str:
    return f"{seller_id}:{client_id}"


class ConnectionStore:
    """``vault.connections``: see the module docstring."""

    table = "connections"
    column = "refresh_token_ct"

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.vault.write() as c:
                yield c

    # -- sellers ---------------------------------------------------------------------------------

    def ensure_seller(self, conn: Connection, selling_partner_id: str, region: str,
                      kind: str = "seller") -> int:
        """The ``sellers`` row id of this selling partner in this region (created if new)."""
        spid = (selling_partner_id or "").strip()
        if not spid or len(spid) > 64:
            raise VaultError(f"selling partner id {selling_partner_id!r}: give Amazon's id "
                             f"(e.g. A2EXAMPLE123), 1-64 characters")
        region = _norm_region(region)
        if kind not in _KINDS:
            raise VaultError(f"kind {kind!r}: use seller or vendor")
        s = schema.sellers.c
        found = conn.execute(select(s.id).where(s.selling_partner_id == spid,
                                                s.region == region)).scalar()
        if found is not None:
            return int(found)
        ins = _dialect_insert(conn)(schema.sellers).values(
            selling_partner_id=spid, region=region, kind=kind, created_at=self.vault.now())
        conn.execute(ins.on_conflict_do_nothing(index_elements=["selling_partner_id", "region"]))
        return int(conn.execute(select(s.id).where(s.selling_partner_id == spid,
                                                   s.region == region)).scalar_one())

    def seller_id(self, selling_partner_id: str, region: str, *,
                  conn: Connection | None = None) -> int | None:
        s = schema.sellers.c
        q = select(s.id).where(s.selling_partner_id == selling_partner_id,
                               s.region == _norm_region(region))
        if conn is not None:
            v = conn.execute(q).scalar()
        else:
            with self.vault.read() as c:
                v = c.execute(q).scalar()
        return None if v is None else int(v)

    # -- connections -----------------------------------------------------------------------------

    def upsert(self, actor: Principal, *, selling_partner_id: str, region: str, client_id: str,
               refresh_token: str, kind: str = "seller", source: str = "oauth",
               marketplace_ids: Sequence[str] | None = None,
               conn: Connection | None = None) -> ConnectionInfo:
        """Store (or, for a seller who authorizes the same app again, replace) a connection."""
        require(actor, Permission.MANAGE_CONNECTIONS, what="add or change seller connections")
        token = refresh_token.reveal() if hasattr(refresh_token, "reveal") else refresh_token
        if not isinstance(token, str) or not token.strip():
            raise VaultError("the refresh token is empty: pass the token Amazon returned")
        client_id = (client_id or "").strip()
        if not client_id or len(client_id) > 200:
            raise VaultError("client_id: give the app's LWA client id (amzn1.application-oa2-...)")
        now = self.vault.now()
        c = schema.connections.c
        with self._tx(conn) as tx:
            seller_id = self.ensure_seller(tx, selling_partner_id, region, kind)
            existing = tx.execute(select(c.id, c.key_id).where(
                c.seller_id == seller_id, c.client_id == client_id)).first()
            cipher = self.vault.cipher
            if existing is not None and existing.key_id is not None and self._live(tx,
                                                                                  existing.key_id):
                key_id = int(existing.key_id)
            else:
                key_id = cipher.new_data_key(tx, "connection")
            ct = cipher.encrypt(key_id, self.table, self.column, _row_ref(seller_id, client_id),
                                token.strip())
            values: dict[str, Any] = {
                "key_id": key_id, "refresh_token_ct": ct, "status": "active",
                "authorized_at": now, "renewal_due_at": now + timedelta(days=AUTHORIZATION_DAYS),
                "source": source, "updated_at": now, "last_error": None, "last_error_at": None}
            if marketplace_ids is not None:
                values["marketplace_ids"] = sorted(set(marketplace_ids))
            if existing is None:
                tx.execute(schema.connections.insert().values(
                    seller_id=seller_id, client_id=client_id, created_at=now, **values))
                action = "connection.add"
            else:
                tx.execute(update(schema.connections).where(c.id == existing.id).values(**values))
                action = "connection.update"
            self.vault.audit.record(action, actor=actor.user_id, conn=tx,
                                    target=f"connection:{selling_partner_id}:{region}",
                                    details={"client_id": client_id, "source": source,
                                             "kind": kind})
            return self._info(tx, seller_id, client_id)

    @staticmethod
    def _live(conn: Connection, key_id: int) -> bool:
        dk = schema.data_keys.c
        return conn.execute(select(dk.wrapped.is_not(None)).where(dk.id == key_id)).scalar() \
            is True

    def _query(self) -> Any:
        c, s = schema.connections.c, schema.sellers.c
        return select(s.selling_partner_id, s.region, s.kind, c.client_id, c.status,
                      c.authorized_at, c.renewal_due_at, c.last_success_at, c.last_error,
                      c.last_error_at, c.marketplace_ids, c.source, c.seller_id, c.key_id,
                      c.id).join_from(schema.connections, schema.sellers,
                                      c.seller_id == s.id)

    @staticmethod
    def _to_info(r: Any) -> ConnectionInfo:
        return ConnectionInfo(r.selling_partner_id, r.region, r.kind, r.client_id, r.status,
                              r.authorized_at, r.renewal_due_at, r.last_success_at, r.last_error,
                              r.last_error_at, list(r.marketplace_ids or []), r.source,
                              r.seller_id)

    def _info(self, conn: Connection, seller_id: int, client_id: str) -> ConnectionInfo:
        c = schema.connections.c
        return self._to_info(conn.execute(self._query().where(
            c.seller_id == seller_id, c.client_id == client_id)).one())

    def _find(self, conn: Connection, selling_partner_id: str, region: str,
              client_id: str | None) -> Any:
        c, s = schema.connections.c, schema.sellers.c
        q = self._query().where(s.selling_partner_id == selling_partner_id,
                                s.region == _norm_region(region))
        if client_id is not None:
            q = q.where(c.client_id == client_id)
        rows = conn.execute(q.order_by(c.authorized_at.desc())).all()
        if not rows:
            app = f" for app {client_id}" if client_id else ""
            raise VaultError(
                f"no connection of {selling_partner_id} ({region}){app} in the vault: the "
                f"seller authorizes the app first (sellerkit serve, the 'Connect your Amazon "
                f"account' page), or add it with sellerkit vault connections add")
        if client_id is None and len(rows) > 1:
            apps = ", ".join(r.client_id for r in rows)
            raise VaultError(f"{selling_partner_id} ({region}) authorized several apps ({apps}): "
                             f"say which with client_id")
        return rows[0]

    def _may_read(self, actor: Principal) -> None:
        if not (actor.can(Permission.READ_DATA) or actor.can(Permission.MANAGE_CONNECTIONS)):
            require(actor, Permission.READ_DATA, what="see seller connections")

    def get(self, actor: Principal, selling_partner_id: str, region: str,
            client_id: str | None = None) -> ConnectionInfo:
        self._may_read(actor)
        with self.vault.read() as conn:
            return self._to_info(self._find(conn, selling_partner_id, region, client_id))

    def list(self, actor: Principal) -> builtins.list[ConnectionInfo]:
        self._may_read(actor)
        s, c = schema.sellers.c, schema.connections.c
        with self.vault.read() as conn:
            rows = conn.execute(self._query().order_by(s.selling_partner_id, s.region,
                                                       c.client_id)).all()
        return [self._to_info(r) for r in rows]

    def refresh_token(self, actor: Principal, selling_partner_id: str, region: str,
                      client_id: str | None = None, *, purpose: str) -> str:
        """The decrypted refresh token (admins and service principals only; audited)."""
        target = f"connection:{selling_partner_id}:{region}"
        if not (actor.role is Role.ADMIN or actor.kind == "service") or not (purpose or
                                                                            "").strip():
            self.vault.audit.record("connection.token_read", actor=actor.user_id, target=target,
                                    purpose=(purpose or None), outcome="denied")
            if not (purpose or "").strip():
                raise AccessDeniedError("reading a refresh token needs a stated purpose "
                                        "(e.g. purpose='sync orders')")
            raise AccessDeniedError(
                f"user {actor.user_id!r} (role {actor.role.value}) may not read refresh tokens: "
                f"only admins and service accounts may")
        with self.vault.write() as conn:
            r = self._find(conn, selling_partner_id, region, client_id)
            ct = conn.execute(select(schema.connections.c.refresh_token_ct).where(
                schema.connections.c.id == r.id)).scalar()
            if r.key_id is None or ct is None:
                raise VaultError(f"the connection of {selling_partner_id} ({region}) holds no "
                                 f"refresh token (it was erased): the seller authorizes again")
            token = self.vault.cipher.decrypt(int(r.key_id), self.table, self.column,
                                              _row_ref(r.seller_id, r.client_id), ct, conn=conn)
            self.vault.audit.record("connection.token_read", actor=actor.user_id, target=target,
                                    purpose=purpose.strip()[:200], conn=conn,
                                    details={"client_id": r.client_id})
        assert token is not None
        return token

    def record_call(self, selling_partner_id: str, region: str, client_id: str | None, *,
                    ok: bool, error: str | None = None, conn: Connection | None = None) -> None:
        """Note the outcome of a call made with this connection (for the admin page)."""
        now = self.vault.now()
        with self._tx(conn) as tx:
            r = self._find(tx, selling_partner_id, region, client_id)
            values: dict[str, Any] = {"last_success_at": now} if ok else {
                "last_error_at": now, "last_error": (error or "error")[:500]}
            if ok and r.status == "error":
                values["status"] = "active"
            tx.execute(update(schema.connections).where(schema.connections.c.id == r.id)
                       .values(**values))

    def set_status(self, actor: Principal, selling_partner_id: str, region: str,
                   client_id: str | None, status: str) -> ConnectionInfo:
        """Mark a connection active, revoked (the seller removed the app) or error."""
        require(actor, Permission.MANAGE_CONNECTIONS, what="change seller connections")
        if status not in ("active", "revoked", "error"):
            raise VaultError(f"status {status!r}: use active, revoked or error")
        with self.vault.write() as conn:
            r = self._find(conn, selling_partner_id, region, client_id)
            conn.execute(update(schema.connections).where(schema.connections.c.id == r.id)
                         .values(status=status, updated_at=self.vault.now()))
            self.vault.audit.record("connection.update", actor=actor.user_id, conn=conn,
                                    target=f"connection:{selling_partner_id}:{region}",
                                    details={"client_id": r.client_id, "status": status})
            return self._info(conn, r.seller_id, r.client_id)


def _dialect_insert(conn: Connection) -> Any:
    """The dialect's INSERT (with ON CONFLICT) for this connection's database."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
