"""The inventory: every place this deployment keeps Amazon data, with its encryption status.

``vault.inventory.list(actor)`` puts together, at the moment it is asked:

* the **database** (its URL with the password masked; PII field-encrypted with AES-256-GCM, the
  non-PII columns clear; for SQLite the file's mode, which must be 0600, and its WAL files);
* the **key files** of the key-encryption keys (path, mode 0600 check; an environment
  variable or a KMS key is listed as where the key lives, no file);
* **exports** and **downloaded report files** sellerkit wrote: each part that writes a file with
  Amazon data calls :meth:`Inventory.record`, and report records with a local path are included;
  at listing time each file is checked (still there? mode?).

Exports through sellerkit (:meth:`Inventory.export`, ``sellerkit vault export``) are always
encrypted: AES-256-GCM under a fresh data key of the vault, wrapped by the vault's KEK (the same
field cipher the vault uses for PII; the header names the key and is bound in as associated
data). So an export is readable only through the vault (``sellerkit vault decrypt-export``,
permission-checked and audited), never with a passphrase passed around, and destroying its data
key makes every copy unreadable. Exports with PII need the READ_PII permission and a purpose.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from sellerkit._files import write_private
from sellerkit.errors import AccessDeniedError, IntegrityError, VaultError
from sellerkit.vault import schema as s
from sellerkit.vault.roles import Permission, Principal, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["EXPORT_ENCRYPTION", "ExportResult", "Inventory", "InventoryItem", "read_export_header"]

RECORDED_KINDS = ("export", "report_file", "backup", "other")
EXPORT_WHAT = ("orders",)
EXPORT_MAGIC = b"sellerkit-export 1\n"
EXPORT_ENCRYPTION = "AES-256-GCM (data key wrapped by the vault KEK)"
DB_ENCRYPTION = "PII fields AES-256-GCM (field-level); non-PII columns clear"


@dataclass
class InventoryItem:
    """One place Amazon data lives. ``status``: encrypted | pii-field-encrypted | clear |
    key-material | external-key."""

    kind: str
    location: str
    status: str
    encrypted: bool
    encryption: str | None
    contains_pii: bool
    description: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    exists: bool | None = None
    mode: str | None = None
    problems: builtins.list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d


@dataclass(frozen=True)
class ExportResult:
    path: Path
    what: str
    records: int
    pii: bool
    inventory_id: int
    key_id: int


def _mode_of(path: Path) -> tuple[bool, str | None]:
    try:
        st = path.stat()
    except OSError:
        return False, None
    return True, f"{stat.S_IMODE(st.st_mode):04o}"


def _check_file(item: InventoryItem, path: Path, *, private: bool) -> None:
    item.exists, item.mode = _mode_of(path)
    if not item.exists:
        item.problems.append("missing: moved or deleted outside sellerkit")
        return
    if private and item.mode is not None and int(item.mode, 8) & 0o077:
        item.problems.append(f"mode {item.mode}: readable by other users, should be 0600 "
                             f"(chmod 600 {path})")


def read_export_header(path: str | Path) -> dict[str, Any]:
    """The clear header of an export file (what, records, pii, created_at, key id)."""
    header, _ = _split_export(Path(path).expanduser())
    return header


def _split_export(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VaultError(f"cannot read the export {path}: {exc.strerror}") from None
    if not data.startswith(EXPORT_MAGIC):
        raise VaultError(f"{path} is not a sellerkit export (no 'sellerkit-export 1' header)")
    rest = data[len(EXPORT_MAGIC):]
    head, _, body = rest.partition(b"\n")
    try:
        header = json.loads(head)
        blob = base64.b64decode(body.strip(), validate=True)
    except (ValueError, json.JSONDecodeError):
        raise VaultError(f"{path}: the export is damaged (header or body unreadable)") from None
    return header, blob


def _row_ref(header: dict[str, Any]) -> str:
    # what the ciphertext is bound to: changing the header (e.g. clearing "pii") breaks it
    return (f"{header['export_id']}:{header['what']}:{'pii' if header['pii'] else 'no-pii'}:"
            f"{header['records']}")


class Inventory:
    """``vault.inventory``: where Amazon data lives; encrypted exports."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            with nullcontext(conn) as c:
                yield c
        else:
            with self.vault.write() as c:
                yield c

    # -- recording -------------------------------------------------------------------------------

    def record(self, kind: str, location: str | os.PathLike[str], *, encrypted: bool,
               encryption: str | None = None, contains_pii: bool = False,
               description: str | None = None, actor: str | Principal | None = None,
               conn: Connection | None = None) -> int:
        """Record a file sellerkit wrote with Amazon data (an export, a downloaded report, a
        backup). Recording the same location again updates its entry. Returns the entry id."""
        if kind not in RECORDED_KINDS:
            raise VaultError(f"unknown inventory kind {kind!r}: use one of "
                             f"{', '.join(RECORDED_KINDS)}")
        loc = str(location)
        if "://" not in loc:
            loc = str(Path(loc).expanduser().absolute())
        who = actor.user_id if isinstance(actor, Principal) else actor
        values = {"kind": kind, "location": loc, "encrypted": bool(encrypted),
                  "encryption": encryption, "contains_pii": bool(contains_pii),
                  "description": (description or None) and description[:500],
                  "created_by": who}
        t = s.inventory_items.c
        with self._conn(conn) as c:
            existing = c.execute(select(t.id).where(t.location == loc, t.removed_at.is_(None))
                                 .order_by(t.id.desc()).limit(1)).scalar()
            if existing is not None:
                c.execute(update(s.inventory_items).where(t.id == existing).values(
                    **values, created_at=self.vault.now()))
                return int(existing)
            return int(c.execute(insert(s.inventory_items).values(
                **values, created_at=self.vault.now()).returning(t.id)).scalar_one())

    def remove(self, actor: Principal, item_id: int, *, delete_file: bool = True) -> InventoryItem:
        """Mark an entry removed (and delete its file): the file no longer holds Amazon data."""
        require(actor, Permission.EXPORT, what="remove an inventory entry")
        t = s.inventory_items.c
        with self.vault.write() as c:
            row = c.execute(select(s.inventory_items).where(t.id == item_id)).first()
            if row is None or row.removed_at is not None:
                raise VaultError(f"no current inventory entry {item_id}: see sellerkit vault "
                                 f"inventory")
            if delete_file and "://" not in row.location:
                Path(row.location).unlink(missing_ok=True)
            c.execute(update(s.inventory_items).where(t.id == item_id)
                      .values(removed_at=self.vault.now()))
            self.vault.audit.record("inventory.remove", actor=actor.user_id,
                                    target=f"inventory:{item_id}", details={"kind": row.kind},
                                    conn=c)
        return self._item(row)

    # -- listing ---------------------------------------------------------------------------------

    def list(self, actor: Principal) -> builtins.list[InventoryItem]:
        """Every place Amazon data lives, checked now."""
        if not (actor.can(Permission.READ_AUDIT) or actor.can(Permission.CONFIGURE)):
            require(actor, Permission.READ_AUDIT, what="list the data inventory")
        items = [*self._database_items(), *self._key_items()]
        t = s.inventory_items.c
        with self.vault.read() as c:
            rows = list(c.execute(select(s.inventory_items).where(t.removed_at.is_(None))
                                  .order_by(t.id)))
            recorded = {r.location for r in rows}
            r = s.report_records.c
            reports = list(c.execute(select(r.report_id, r.report_type, r.contains_pii,
                                            r.local_path, r.created_at)
                                     .where(r.local_path.is_not(None))))
        for row in rows:
            items.append(self._item(row))
        for rep in reports:
            loc = str(Path(rep.local_path).expanduser().absolute())
            if loc in recorded:
                continue
            item = InventoryItem(
                kind="report_file", location=loc, status="clear", encrypted=False,
                encryption=None, contains_pii=bool(rep.contains_pii),
                description=f"report {rep.report_type} (not recorded in the inventory)",
                created_at=rep.created_at)
            _check_file(item, Path(loc), private=True)
            if item.exists and rep.contains_pii:
                item.problems.append("PII in a clear file")
            items.append(item)
        return items

    def _item(self, row: Any) -> InventoryItem:
        status = "encrypted" if row.encrypted else "clear"
        item = InventoryItem(
            kind=row.kind, location=row.location, status=status, encrypted=bool(row.encrypted),
            encryption=row.encryption, contains_pii=bool(row.contains_pii),
            description=row.description, id=row.id, created_at=row.created_at,
            created_by=row.created_by)
        if "://" not in row.location:
            _check_file(item, Path(row.location), private=True)
            if item.exists and row.contains_pii and not row.encrypted:
                item.problems.append("PII in a clear file: encrypt it or delete it")
        return item

    def _database_items(self) -> builtins.list[InventoryItem]:
        url = self.vault.engine.url
        masked = url.render_as_string(hide_password=True)
        item = InventoryItem(
            kind="database", location=masked, status="pii-field-encrypted", encrypted=True,
            encryption=DB_ENCRYPTION, contains_pii=True,
            description=f"the vault database ({self.vault.engine.dialect.name})")
        out = [item]
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database)
            _check_file(item, path, private=True)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                if side.exists():
                    extra = InventoryItem(
                        kind="database", location=str(side), status="pii-field-encrypted",
                        encrypted=True, encryption=DB_ENCRYPTION, contains_pii=True,
                        description=f"the SQLite {suffix[1:].upper()} file of the vault")
                    _check_file(extra, side, private=True)
                    out.append(extra)
        return out

    def _key_items(self) -> builtins.list[InventoryItem]:
        k = s.keks.c
        with self.vault.read() as c:
            rows = list(c.execute(select(k.id, k.provider, k.ref, k.algorithm, k.created_at,
                                         k.retired_at).order_by(k.id)))
        items = []
        for row in rows:
            state = "current" if row.retired_at is None else "retired"
            desc = f"{state} key-encryption key ({row.algorithm})"
            if row.provider == "file":
                path = Path(row.ref.removeprefix("file:")).expanduser()
                item = InventoryItem(kind="key_file", location=str(path), status="key-material",
                                     encrypted=False, encryption=None, contains_pii=False,
                                     description=desc, created_at=row.created_at)
                _check_file(item, path, private=True)
                if not item.exists and state == "retired":
                    item.problems = []  # a retired key file deleted is what rotation asks
                elif item.exists and state == "retired":
                    item.problems.append("a retired key file still exists: delete it once "
                                         "backups made under it have expired")
            else:
                item = InventoryItem(kind="key", location=f"{row.provider}:{row.ref}",
                                     status="external-key", encrypted=row.provider == "kms",
                                     encryption="held by AWS KMS" if row.provider == "kms"
                                     else None, contains_pii=False, description=desc,
                                     created_at=row.created_at)
            items.append(item)
        return items

    # -- exports ---------------------------------------------------------------------------------

    def export(self, actor: Principal, what: str = "orders", *, out: str | os.PathLike[str],
               pii: bool = False, purpose: str | None = None, since: datetime | None = None,
               seller_id: int | None = None, limit: int | None = None) -> ExportResult:
        """Write an encrypted export of ``what`` to ``out`` (0600, atomically), record it in the
        inventory and audit it (``export``). ``pii=True`` adds buyer and address data: it needs
        the READ_PII permission and a ``purpose`` (each order's PII read is audited too)."""
        require(actor, Permission.EXPORT, what="export Amazon data")
        if pii:
            try:
                require(actor, Permission.READ_PII, purpose=purpose, what="export PII")
            except AccessDeniedError:
                self.vault.audit.record("export", actor=actor.user_id, target=f"export:{what}",
                                        purpose=(purpose or "").strip()[:200] or None,
                                        outcome="denied", details={"what": what, "pii": True})
                raise
        if what not in EXPORT_WHAT:
            raise VaultError(f"cannot export {what!r}: use one of {', '.join(EXPORT_WHAT)}")
        target = Path(out).expanduser()
        if target.is_dir():
            raise VaultError(f"--out {target} is a directory: name the export file")
        records = self._collect(actor, what, pii=pii, purpose=purpose, since=since,
                                seller_id=seller_id, limit=limit)
        now = self.vault.now()
        with self.vault.write() as c:
            key_id = int(self.vault.cipher.new_data_key(c, "export"))
        header = {"format": "sellerkit-export", "version": 1, "export_id": secrets.token_hex(8),
                  "what": what, "pii": bool(pii), "records": len(records),
                  "created_at": now.isoformat(), "key_id": key_id,
                  "encryption": EXPORT_ENCRYPTION}
        payload = json.dumps({"what": what, "records": records}, default=str,
                             ensure_ascii=False, sort_keys=True)
        blob = self.vault.cipher.encrypt(key_id, "exports", "payload", _row_ref(header), payload)
        if blob is None:  # pragma: no cover - encrypt returns None only for None
            raise VaultError("the export could not be encrypted")
        data = (EXPORT_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
                + base64.b64encode(blob) + b"\n")
        write_private(target, data)
        with self.vault.write() as c:
            inv_id = self.record("export", target, encrypted=True, encryption=EXPORT_ENCRYPTION,
                                 contains_pii=pii, actor=actor,
                                 description=f"{what} export, {len(records)} records"
                                             + (", with PII" if pii else ""), conn=c)
            self.vault.audit.record(
                "export", actor=actor.user_id, target=f"inventory:{inv_id}",
                purpose=purpose if pii else (purpose or None),
                details={"what": what, "records": len(records), "pii": bool(pii),
                         "key_id": key_id}, conn=c)
        return ExportResult(target, what, len(records), bool(pii), inv_id, key_id)

    def _collect(self, actor: Principal, what: str, *, pii: bool, purpose: str | None,
                 since: datetime | None, seller_id: int | None,
                 limit: int | None) -> builtins.list[dict[str, Any]]:
        orders = self.vault.orders.list(actor, seller_id=seller_id, since=since, limit=limit)
        records = [dict(o) for o in orders]
        if pii and records:
            # one audited PII read for the whole export, naming the count and its purpose
            found = self.vault.orders.read_pii_many(
                actor, [r["amazon_order_id"] for r in records], purpose=purpose or "",
                seller_id=seller_id)
            for rec in records:
                rec["pii"] = found.get(rec["amazon_order_id"])
        return records

    def decrypt_export(self, actor: Principal, path: str | os.PathLike[str], *,
                       purpose: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read an export back: (header, payload). Needs EXPORT; an export with PII also
        READ_PII and a purpose. Audited ``export.read``."""
        require(actor, Permission.EXPORT, what="read an export")
        p = Path(path).expanduser()
        header, blob = _split_export(p)
        try:
            key_id = int(header["key_id"])
            ref = _row_ref(header)
        except (KeyError, TypeError, ValueError):
            raise VaultError(f"{p}: the export header is damaged") from None
        if header.get("pii"):
            try:
                require(actor, Permission.READ_PII, purpose=purpose, what="read a PII export")
            except AccessDeniedError:
                self.vault.audit.record("pii.read", actor=actor.user_id,
                                        target=f"export:{header.get('export_id')}",
                                        purpose=(purpose or "").strip()[:200] or None,
                                        outcome="denied", details={"export": True})
                raise
        try:
            text = self.vault.cipher.decrypt(key_id, "exports", "payload", ref, blob)
        except IntegrityError:
            raise IntegrityError(f"{p}: the export was altered (its header or body does not "
                                 f"match its encryption)") from None
        with self.vault.write() as c:
            # reading a PII export is a PII read: it shows in the access review
            self.vault.audit.record("pii.read" if header.get("pii") else "export.read",
                                    actor=actor.user_id,
                                    target=f"export:{header.get('export_id')}", purpose=purpose,
                                    details={"what": header.get("what"),
                                             "pii": bool(header.get("pii")),
                                             "records": header.get("records")}, conn=c)
        return header, json.loads(text or "{}")
