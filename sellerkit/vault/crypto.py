"""Field-level encryption: a data key per record, wrapped by the key-encryption key (KEK).

    KEK (key provider: file, env, KMS)  ──wraps──▶  data keys (one per record, ``data_keys``)
                                        ──wraps──▶  vault secrets (blind index, audit MAC, ...)
    data key  ──AES-256-GCM──▶  each PII column of the record (``*_ct``)

A field ciphertext is ``0x01 | nonce (12) | ciphertext | tag (16)``; its associated data is
``table|column|row_ref|key_id``, so a ciphertext copied to another row, another column or under
another key fails to decrypt (:class:`~sellerkit.errors.IntegrityError`). A wrapped data key is
``0x01 | nonce | AES-256-GCM(KEK, data key)`` bound to the KEK's id. Unwrapped data keys are
cached per open vault (bounded; the oldest go first), so a bulk read unwraps each
record's key once.

Erasing a record's PII destroys its data key (:meth:`FieldCipher.destroy_keys`): the ciphertexts
then cannot be read by anyone, with or without the KEK.

Rotation (:meth:`FieldCipher.rotate`) brings in a new KEK and re-wraps every data key and vault
secret under it in batches, each its own short transaction, so the vault stays in use: while it
runs, each KEK is kept in the vault wrapped under the other (``vault_meta`` key
``kek-rotation``), so a process that opened the vault with either key can read records under
both. At the end the old KEK is retired and nothing is left that it, or its bridge, could open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, func, insert, select, update

from sellerkit.errors import IntegrityError, VaultError, VaultKeyError
from sellerkit.vault import schema
from sellerkit.vault.keys import KeyProvider, fingerprint, resolve_key_provider
from sellerkit.vault.roles import Permission, Principal, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["ALGORITHM", "FORMAT_VERSION", "STANDARD_SECRETS", "FieldCipher", "RotationReport"]

ALGORITHM = "AES-256-GCM"
FORMAT_VERSION = 1
_V = bytes([FORMAT_VERSION])
_NONCE = 12
_TAG = 16
# Created with the vault's first KEK, so no caller ever has to create one inside its own write
# transaction; other names are created on first use.
STANDARD_SECRETS = ("blind-index", "audit-mac", "web-session", "export")
_SECRET_PREFIX = "secret:"  # noqa: S105 (a key-name prefix, not a secret)
_ROTATION_KEY = "kek-rotation"
_CACHE_SIZE = 200_000
_CHUNK = 500


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _dk_aad(kek_id: int) -> bytes:
    return b"sellerkit-dk|%d" % kek_id


def _secret_aad(name: str, kek_id: int) -> bytes:
    return f"sellerkit-secret|{name}|{kek_id}".encode()


def _kek_aad(kek_id: int) -> bytes:
    return b"sellerkit-kek|%d" % kek_id


def _wrap(kek: AESGCM, plain: bytes, aad: bytes, nonce: bytes | None = None) -> bytes:
    nonce = nonce or os.urandom(_NONCE)
    return _V + nonce + kek.encrypt(nonce, plain, aad)


def _unwrap(kek: AESGCM, blob: bytes, aad: bytes, what: str) -> bytes:
    if len(blob) < 1 + _NONCE + _TAG or blob[0] != FORMAT_VERSION:
        raise IntegrityError(f"{what} is not in a format this sellerkit knows")
    try:
        return kek.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], aad)
    except InvalidTag:
        raise IntegrityError(f"{what} failed verification: it was altered or is under another "
                             f"key") from None


@dataclass(frozen=True)
class RotationReport:
    """What :meth:`FieldCipher.rotate` did (fingerprints and counts: no key material)."""

    old_fingerprint: str
    new_fingerprint: str
    new_provider: str
    data_keys: int
    secrets: int
    batches: int
    seconds: float


@dataclass
class _Kek:
    id: int
    raw: bytes
    fingerprint: str

    def __post_init__(self) -> None:
        self.aes = AESGCM(self.raw)

    def __repr__(self) -> str:
        return f"_Kek({self.id}, {self.fingerprint})"


class FieldCipher:
    """The vault's encryption: see the module docstring. Built by :class:`~sellerkit.vault.Vault`
    as ``vault.cipher``; safe to share between threads."""

    algorithm = ALGORITHM

    def __init__(self, vault: Vault, *, cache_size: int = _CACHE_SIZE,
                 rotate_batch: int = 2000) -> None:
        self.vault = vault
        self._lock = threading.RLock()
        self._keks: dict[int, _Kek] = {}
        self._current: int | None = None
        self._cache: OrderedDict[int, tuple[AESGCM, bytes]] = OrderedDict()
        self._cache_size = cache_size
        self._secrets: dict[str, bytes] = {}
        self.rotate_batch = rotate_batch

    def __repr__(self) -> str:
        fp = self._keks[self._current].fingerprint if self._current in self._keks else None
        return f"FieldCipher({ALGORITHM}, kek={fp})"

    # -- the KEK ---------------------------------------------------------------------------------

    @property
    def kek_id(self) -> int:
        if self._current is None:
            raise VaultError("the vault's keys are not loaded (open it with Vault.open)")
        return self._current

    @property
    def kek_fingerprint(self) -> str:
        return self._keks[self.kek_id].fingerprint

    def bind(self) -> None:
        """Load the current KEK (creating the first one for a new vault), check it belongs to
        this vault, and load the vault secrets."""
        provider = self.vault.keys
        with self.vault.read() as conn:
            rows = conn.execute(select(schema.keks)).all()
            missing = self._missing_secrets(conn)
        if not rows or missing:
            with self.vault.write() as conn:
                rows = conn.execute(select(schema.keks)).all()
                if not rows:
                    kek, wrapped = provider.create_kek()
                    kid = self._insert_kek(conn, provider, kek, wrapped)
                    rows = conn.execute(select(schema.keks)).all()
                    self._keks[kid] = _Kek(kid, kek, fingerprint(kek))
                    self._current = kid
                else:
                    self._load_keks(conn, rows, provider)
                for name in self._missing_secrets(conn):
                    self._create_secret(conn, name)
                self._load_secrets(conn)
            return
        with self.vault.read() as conn:
            self._load_keks(conn, rows, provider)
            self._load_secrets(conn)

    def _insert_kek(self, conn: Connection, provider: KeyProvider, kek: bytes,
                    wrapped: bytes | None) -> int:
        fp = fingerprint(kek)
        if conn.execute(select(schema.keks.c.id).where(schema.keks.c.fingerprint == fp)).first():
            raise VaultKeyError(f"the key {provider.spec} (fingerprint {fp}) has been used by "
                                f"this vault already: rotate to a new key")
        return int(conn.execute(insert(schema.keks).values(
            provider=provider.kind, ref=provider.ref, fingerprint=fp, wrapped=wrapped,
            algorithm=ALGORITHM, created_at=self.vault.now()).returning(schema.keks.c.id)
        ).scalar_one())

    def _load_keks(self, conn: Connection, rows: Sequence[Any], provider: KeyProvider) -> None:
        live = sorted((r for r in rows if r.retired_at is None), key=lambda r: r.id, reverse=True)
        if not live:
            raise VaultKeyError("this vault records no key-encryption key in use: it is damaged")
        current = live[0]
        by_fp = {r.fingerprint: r for r in rows}
        if provider.kind == "kms":
            tried = [r for r in live if r.provider == "kms"]
            kek = None
            for r in tried:
                cand = provider.load_kek(r.wrapped, expected=r.fingerprint)
                if fingerprint(cand) == r.fingerprint:
                    kek = cand
                    break
            if kek is None:
                raise self._wrong_key(provider, current, by_fp, None)
        else:
            kek = provider.load_kek(None, expected=current.fingerprint)
        fp = fingerprint(kek)
        row = by_fp.get(fp)
        if row is None or row.retired_at is not None:
            raise self._wrong_key(provider, current, by_fp, fp)
        with self._lock:
            self._keks[row.id] = _Kek(row.id, kek, fp)
            if row.id != current.id or len(live) > 1:
                self._load_bridge(conn)
            self._current = current.id
            if current.id not in self._keks:
                raise VaultKeyError(
                    f"this vault's key is being rotated to {current.provider}:{current.ref} "
                    f"(fingerprint {current.fingerprint}) and the rotation's bridge is gone: "
                    f"open it with that key")
        if row.provider == provider.kind and row.ref != provider.ref and provider.kind != "kms":
            # the same key found somewhere else (a moved key file): remember where
            with self.vault.write() as wconn:
                wconn.execute(update(schema.keks).where(schema.keks.c.id == row.id)
                              .values(ref=provider.ref))

    def _wrong_key(self, provider: KeyProvider, current: Any, by_fp: dict[str, Any],
                   fp: str | None) -> VaultKeyError:
        need = (f"this vault's data is under the key {current.provider}:{current.ref} "
                f"(fingerprint {current.fingerprint})")
        got = by_fp.get(fp) if fp else None
        if got is not None and got.retired_at is not None:
            return VaultKeyError(
                f"the key {provider.spec} (fingerprint {fp}) was retired by a key rotation on "
                f"{got.retired_at:%Y-%m-%d}: {need}")
        given = f" (fingerprint {fp})" if fp else ""
        return VaultKeyError(f"the key {provider.spec}{given} is not this vault's key: {need}; "
                             f"name it with --key or $SELLERKIT_VAULT_KEY")

    def _load_bridge(self, conn: Connection) -> None:
        """During a rotation: each KEK wrapped under the other; load whichever we lack."""
        value = conn.execute(select(schema.vault_meta.c.value).where(
            schema.vault_meta.c.key == _ROTATION_KEY)).scalar()
        if not value:
            return
        old, new = int(value["old"]), int(value["new"])
        if old in self._keks and new not in self._keks:
            raw = _unwrap(self._keks[old].aes, _unb64(value["new_under_old"]), _kek_aad(new),
                          "the rotation bridge")
            self._keks[new] = _Kek(new, raw, fingerprint(raw))
        elif new in self._keks and old not in self._keks:
            raw = _unwrap(self._keks[new].aes, _unb64(value["old_under_new"]), _kek_aad(old),
                          "the rotation bridge")
            self._keks[old] = _Kek(old, raw, fingerprint(raw))

    def _kek(self, kek_id: int, conn: Connection | None = None) -> _Kek:
        kek = self._keks.get(kek_id)
        if kek is None:
            with self._lock:
                if conn is not None:
                    self._refresh(conn)
                else:
                    with self.vault.read() as rconn:
                        self._refresh(rconn)
            kek = self._keks.get(kek_id)
        if kek is None:
            raise VaultKeyError(
                f"a record is under key-encryption key #{kek_id}, which this open vault does not "
                f"hold (the key was rotated since it was opened): reopen the vault with its "
                f"current key")
        return kek

    def _refresh(self, conn: Connection) -> None:
        """Another process started a rotation: pick up its new KEK through the bridge."""
        self._load_bridge(conn)
        live = conn.execute(select(schema.keks.c.id).where(
            schema.keks.c.retired_at.is_(None)).order_by(schema.keks.c.id.desc())).scalars().all()
        if live and live[0] in self._keks:
            self._current = live[0]

    # -- vault secrets ------------------------------------------------------------------------------

    def _missing_secrets(self, conn: Connection) -> list[str]:
        have = set(conn.execute(select(schema.vault_meta.c.key).where(
            schema.vault_meta.c.key.like(_SECRET_PREFIX + "%"))).scalars())
        return [n for n in STANDARD_SECRETS if _SECRET_PREFIX + n not in have]

    def _create_secret(self, conn: Connection, name: str) -> bytes:
        raw = os.urandom(32)
        kid = self.kek_id
        conn.execute(insert(schema.vault_meta).values(
            key=_SECRET_PREFIX + name,
            value={"kek_id": kid, "wrapped": _b64(_wrap(self._keks[kid].aes, raw,
                                                        _secret_aad(name, kid)))},
            updated_at=self.vault.now()))
        self._secrets[name] = raw
        return raw

    def _load_secrets(self, conn: Connection) -> None:
        for key, value in conn.execute(select(schema.vault_meta.c.key, schema.vault_meta.c.value)
                                       .where(schema.vault_meta.c.key.like(_SECRET_PREFIX + "%"))):
            name = key[len(_SECRET_PREFIX):]
            kid = int(value["kek_id"])
            self._secrets[name] = _unwrap(self._kek(kid, conn).aes, _unb64(value["wrapped"]),
                                          _secret_aad(name, kid), f"the vault secret {name!r}")

    def secret_key(self, name: str, *, conn: Connection | None = None) -> bytes:
        """A named 32-byte vault secret ("audit-mac", "blind-index", "web-session", ...),
        created on first use and kept wrapped under the KEK (re-wrapped, never changed, by a
        rotation). Pass ``conn`` when calling inside a write transaction."""
        secret = self._secrets.get(name)
        if secret is not None:
            return secret
        with self._lock:
            if conn is None:
                with self.vault.write() as wconn:
                    return self._get_or_create_secret(wconn, name)
            return self._get_or_create_secret(conn, name)

    def _get_or_create_secret(self, conn: Connection, name: str) -> bytes:
        self._load_secrets(conn)
        if name in self._secrets:
            return self._secrets[name]
        return self._create_secret(conn, name)

    def blind_index(self, kind: str, value: str) -> str:
        """A keyed HMAC-SHA256 (hex) of the normalised ``value``, for exact-match lookup without
        storing the value: equal inputs give equal indexes in this vault only."""
        norm = unicodedata.normalize("NFKC", value).strip().casefold()
        key = self.secret_key("blind-index")
        return hmac.new(key, f"{kind}\x00{norm}".encode(), hashlib.sha256).hexdigest()

    # -- data keys ----------------------------------------------------------------------------------

    def _cache_put(self, key_id: int, raw: bytes) -> tuple[AESGCM, bytes]:
        entry = (AESGCM(raw), raw)
        with self._lock:
            self._cache[key_id] = entry
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    def _check_current(self, conn: Connection) -> _Kek:
        """The KEK new data keys go under. On PostgreSQL the KEK row is share-locked, so a
        rotation cannot retire it while this transaction still adds keys under it."""
        stmt = select(schema.keks.c.id, schema.keks.c.retired_at).where(
            schema.keks.c.retired_at.is_(None)).order_by(schema.keks.c.id.desc()).limit(1)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(read=True)
        row = conn.execute(stmt).first()
        if row is not None and row.id != self._current:
            with self._lock:
                self._refresh(conn)
        return self._kek(self.kek_id, conn)

    def new_data_key(self, conn: Connection, purpose: str) -> int:
        """A new data key (its ``data_keys`` id), in the caller's transaction."""
        return self.new_data_keys(conn, purpose, 1)[0]

    def new_data_keys(self, conn: Connection, purpose: str, count: int) -> list[int]:
        """``count`` new data keys in one statement (bulk ingest)."""
        if count <= 0:
            return []
        kek = self._check_current(conn)
        raw = os.urandom(32 * count)
        nonces = os.urandom(_NONCE * count)
        aad = _dk_aad(kek.id)
        now = self.vault.now()
        keys = [raw[i * 32:(i + 1) * 32] for i in range(count)]
        rows = [{"kek_id": kek.id, "purpose": purpose, "created_at": now,
                 "wrapped": _wrap(kek.aes, k, aad, nonces[i * _NONCE:(i + 1) * _NONCE])}
                for i, k in enumerate(keys)]
        ids: list[int] = []
        if conn.dialect.name == "sqlite":
            ids = self._insert_keys_sqlite(conn, rows)
        else:
            for part in _chunks(rows, 1000):
                ids.extend(int(i) for i in conn.execute(
                    insert(schema.data_keys).returning(schema.data_keys.c.id,
                                                       sort_by_parameter_order=True),
                    list(part)).scalars())
        for kid, k in zip(ids, keys, strict=True):
            self._cache_put(kid, k)
        return ids

    @staticmethod
    def _insert_keys_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        """SQLite: the new keys get the ids after the largest one, given explicitly, in one
        ``executemany`` (SQLAlchemy's RETURNING in parameter order runs a statement per row).
        The caller's transaction holds the write lock (BEGIN IMMEDIATE), so nothing else can
        take those ids; a deferred transaction that lost the race fails on the primary key
        (or SQLITE_BUSY_SNAPSHOT) instead of storing anything wrong."""
        dk = schema.data_keys.c
        top = int(conn.execute(select(func.coalesce(func.max(dk.id), 0))).scalar_one())
        ids = list(range(top + 1, top + 1 + len(rows)))
        created = schema.data_keys.c.created_at.type._cached_bind_processor(conn.dialect)
        times: dict[Any, Any] = {}  # one batch shares one time: convert it once
        for r in rows:
            t = r["created_at"]
            if t not in times:
                times[t] = created(t) if created else t
        params = [(kid, r["kek_id"], r["wrapped"], r["purpose"], times[r["created_at"]])
                  for kid, r in zip(ids, rows, strict=True)]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany("INSERT INTO data_keys (id, kek_id, wrapped, purpose, created_at) "
                               "VALUES (?, ?, ?, ?, ?)", params)
        finally:
            cursor.close()
        return ids

    def preload(self, conn: Connection, key_ids: Iterable[int | None]) -> None:
        """Unwrap the data keys ``key_ids`` not cached yet, in a few queries (bulk reads)."""
        want = sorted({k for k in key_ids if k is not None and k not in self._cache})
        dk = schema.data_keys.c
        for part in _chunks(want):
            for row in conn.execute(select(dk.id, dk.kek_id, dk.wrapped)
                                    .where(dk.id.in_(part), dk.wrapped.is_not(None))):
                self._unwrap_row(row.id, row.kek_id, row.wrapped, conn)

    def _unwrap_row(self, key_id: int, kek_id: int, wrapped: bytes,
                    conn: Connection | None) -> tuple[AESGCM, bytes]:
        raw = _unwrap(self._kek(kek_id, conn).aes, wrapped, _dk_aad(kek_id), f"data key {key_id}")
        return self._cache_put(key_id, raw)

    def _data_key(self, key_id: int, conn: Connection | None = None) -> tuple[AESGCM, bytes]:
        entry = self._cache.get(key_id)
        if entry is not None:
            return entry
        dk = schema.data_keys.c
        stmt = select(dk.kek_id, dk.wrapped, dk.destroyed_at).where(dk.id == key_id)
        if conn is not None:
            row = conn.execute(stmt).first()
        else:
            with self.vault.read() as rconn:
                row = rconn.execute(stmt).first()
        if row is None:
            raise IntegrityError(f"data key {key_id} does not exist in this vault")
        if row.wrapped is None:
            raise VaultKeyError(f"data key {key_id} was destroyed (its record's PII was erased "
                                f"on {row.destroyed_at:%Y-%m-%d}): it cannot be read any more")
        return self._unwrap_row(key_id, row.kek_id, row.wrapped, conn)

    def destroy_keys(self, conn: Connection, key_ids: Iterable[int]) -> int:
        """Crypto-shred: forget the wrapped data keys (the caller clears the ciphertexts)."""
        ids = sorted({int(k) for k in key_ids})
        dk = schema.data_keys.c
        n = 0
        now = self.vault.now()
        for part in _chunks(ids):
            n += conn.execute(update(schema.data_keys).where(
                dk.id.in_(part), dk.destroyed_at.is_(None)).values(
                wrapped=None, destroyed_at=now)).rowcount or 0
        with self._lock:
            for k in ids:
                self._cache.pop(k, None)
        return n

    # -- fields ---------------------------------------------------------------------------------------

    @staticmethod
    def aad(key_id: int, table: str, column: str, row_ref: str) -> bytes:
        return f"{table}|{column}|{row_ref}|{key_id}".encode()

    def encrypt(self, key_id: int, table: str, column: str, row_ref: str,
                value: str | None, *, conn: Connection | None = None) -> bytes | None:
        """AES-256-GCM of ``value`` under data key ``key_id``, bound to table/column/row."""
        if value is None:
            return None
        aes = self._data_key(key_id, conn)[0]
        nonce = os.urandom(_NONCE)
        return _V + nonce + aes.encrypt(nonce, value.encode("utf-8"),
                                        f"{table}|{column}|{row_ref}|{key_id}".encode())

    def encrypt_many(self, key_id: int, fields: Sequence[tuple[str, str, str, str | None]], *,
                     conn: Connection | None = None) -> list[bytes | None]:
        """:meth:`encrypt` of several ``(table, column, row_ref, value)`` under one data key
        (a record's fields): each its own ciphertext, nonce and AAD, exactly as
        :meth:`encrypt` makes them; one key lookup and one ``os.urandom`` for all nonces."""
        aes = self._data_key(key_id, conn)[0]
        seal = aes.encrypt
        nonces = os.urandom(_NONCE * len(fields))
        out: list[bytes | None] = []
        append = out.append
        at = 0
        for table, column, row_ref, value in fields:
            if value is None:
                append(None)
                continue
            nonce = nonces[at:at + _NONCE]
            at += _NONCE
            append(_V + nonce + seal(nonce, value.encode("utf-8"),
                                     f"{table}|{column}|{row_ref}|{key_id}".encode()))
        return out

    def decrypt(self, key_id: int, table: str, column: str, row_ref: str,
                blob: bytes | None, *, conn: Connection | None = None) -> str | None:
        """The value :meth:`encrypt` sealed; IntegrityError when the ciphertext was moved to
        another row or column, altered, or is under another key."""
        if blob is None:
            return None
        blob = bytes(blob)
        aes = self._data_key(key_id, conn)[0]
        if len(blob) < 1 + _NONCE + _TAG or blob[0] != FORMAT_VERSION:
            raise IntegrityError(f"{table}.{column} of {row_ref} is not a vault ciphertext")
        try:
            plain = aes.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:],
                                f"{table}|{column}|{row_ref}|{key_id}".encode())
        except InvalidTag:
            raise IntegrityError(
                f"{table}.{column} of {row_ref} failed verification: the ciphertext was altered, "
                f"moved from another row or column, or is under another key") from None
        return plain.decode("utf-8")

    def record_mac(self, key_id: int, data: bytes, *, conn: Connection | None = None) -> str:
        """HMAC-SHA256 of ``data`` under the record's data key (a change detector that dies with
        the record's key when its PII is erased)."""
        raw = self._data_key(key_id, conn)[1]
        return hmac.new(raw, data, hashlib.sha256).hexdigest()

    # -- rotation ------------------------------------------------------------------------------------

    def rotate(self, actor: Principal, new_key: KeyProvider | str) -> RotationReport:
        """Re-wrap every data key and vault secret under ``new_key`` (a provider or a spec) and
        retire the old KEK, in batches, while the vault stays in use. Audited ``key.rotate``."""
        require(actor, Permission.MANAGE_KEYS, what="rotate the vault key")
        started = time.monotonic()
        url = self.vault.engine.url.render_as_string(hide_password=False)
        provider = resolve_key_provider(new_key, url)
        with self.vault.read() as conn:
            pending = conn.execute(select(schema.vault_meta.c.value).where(
                schema.vault_meta.c.key == _ROTATION_KEY)).scalar()
            target = None if not pending else conn.execute(select(schema.keks).where(
                schema.keks.c.id == int(pending["new"]))).one()
        if pending and target is not None:
            # an interrupted rotation: finish it, with the same new key
            try:
                raw = provider.load_kek(target.wrapped if provider.kind == "kms" else None,
                                        expected=target.fingerprint) \
                    if provider.exists() else b""
            except VaultKeyError:
                raw = b""
            if not raw or fingerprint(raw) != target.fingerprint:
                raise VaultError(
                    f"a rotation to the key {target.provider}:{target.ref} (fingerprint "
                    f"{target.fingerprint}) was interrupted: run rotate-key again with "
                    f"--new-key {target.provider}:{target.ref} to finish it first")
            with self._lock:
                self._keks.setdefault(target.id, _Kek(target.id, raw, target.fingerprint))
                self._current = target.id
            old = self._kek(int(pending["old"]))
            new = self._keks[target.id]
            new_id = target.id
        else:
            old = self._keks[self.kek_id]
            kek_raw, wrapped = provider.create_kek()
            new = _Kek(0, kek_raw, fingerprint(kek_raw))
            with self.vault.write() as conn:
                new_id = self._insert_kek(conn, provider, kek_raw, wrapped)
                conn.execute(insert(schema.vault_meta).values(
                    key=_ROTATION_KEY, updated_at=self.vault.now(), value={
                        "old": old.id, "new": new_id,
                        "new_under_old": _b64(_wrap(old.aes, kek_raw, _kek_aad(new_id))),
                        "old_under_new": _b64(_wrap(new.aes, old.raw, _kek_aad(old.id)))}))
            with self._lock:
                new.id = new_id
                self._keks[new_id] = new
                self._current = new_id
        total = batches = 0
        while True:
            with self.vault.write() as conn:
                n = self._rewrap_batch(conn, new)
            total += n
            batches += 1
            if n < self.rotate_batch:
                break
        with self.vault.write() as conn:
            # The final pass and the retirement in one transaction: no key is left behind.
            conn.execute(update(schema.keks).where(schema.keks.c.id != new_id,
                                                   schema.keks.c.retired_at.is_(None))
                         .values(retired_at=self.vault.now(), wrapped=None))
            while (n := self._rewrap_batch(conn, new)) > 0:
                total += n
            dk = schema.data_keys.c
            conn.execute(update(schema.data_keys).where(dk.kek_id != new_id, dk.wrapped.is_(None))
                         .values(kek_id=new_id))
            secrets_n = self._rewrap_secrets(conn, new)
            conn.execute(delete(schema.vault_meta).where(schema.vault_meta.c.key == _ROTATION_KEY))
            self.vault.audit.record(
                "key.rotate", actor=actor.user_id, target=f"kek:{new_id}", conn=conn,
                details={"old_fingerprint": old.fingerprint, "new_fingerprint": new.fingerprint,
                         "provider": provider.kind, "data_keys": total, "secrets": secrets_n})
        with self._lock:
            for kid in [k for k in self._keks if k != new_id]:
                del self._keks[kid]
        self.vault.keys = provider
        return RotationReport(old.fingerprint, new.fingerprint, provider.spec, total, secrets_n,
                              batches, round(time.monotonic() - started, 3))

    def _rewrap_batch(self, conn: Connection, new: _Kek) -> int:
        dk = schema.data_keys.c
        rows = conn.execute(select(dk.id, dk.kek_id, dk.wrapped).where(
            dk.kek_id != new.id, dk.wrapped.is_not(None)).order_by(dk.id)
            .limit(self.rotate_batch)).all()
        if not rows:
            return 0
        params = []
        aad = _dk_aad(new.id)
        for r in rows:
            raw = _unwrap(self._kek(r.kek_id, conn).aes, r.wrapped, _dk_aad(r.kek_id),
                          f"data key {r.id}")
            params.append({"b_id": r.id, "b_old": r.kek_id, "kek_id": new.id,
                           "wrapped": _wrap(new.aes, raw, aad)})
        from sqlalchemy import bindparam

        conn.execute(update(schema.data_keys).where(
            dk.id == bindparam("b_id"), dk.kek_id == bindparam("b_old")), params)
        return len(rows)

    def _rewrap_secrets(self, conn: Connection, new: _Kek) -> int:
        n = 0
        vm = schema.vault_meta.c
        for key, value in conn.execute(select(vm.key, vm.value).where(
                vm.key.like(_SECRET_PREFIX + "%"))).all():
            name = key[len(_SECRET_PREFIX):]
            kid = int(value["kek_id"])
            raw = _unwrap(self._kek(kid, conn).aes, _unb64(value["wrapped"]),
                          _secret_aad(name, kid), f"the vault secret {name!r}")
            conn.execute(update(schema.vault_meta).where(vm.key == key).values(
                value={"kek_id": new.id, "wrapped": _b64(_wrap(new.aes, raw,
                                                               _secret_aad(name, new.id)))},
                updated_at=self.vault.now()))
            n += 1
        return n

    # -- facts ----------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The encryption in force, for ``vault status`` and the evidence pack (no key material)."""
        k = schema.keks.c
        dk = schema.data_keys.c
        with self.vault.read() as conn:
            keks = conn.execute(select(schema.keks).order_by(k.id)).all()
            live = conn.execute(select(func.count()).select_from(schema.data_keys).where(
                dk.wrapped.is_not(None))).scalar_one()
            destroyed = conn.execute(select(func.count()).select_from(schema.data_keys).where(
                dk.destroyed_at.is_not(None))).scalar_one()
        now = self.vault.now()
        cur = next((r for r in keks if r.id == self._current), None)

        def kek_info(r: Any) -> dict[str, Any]:
            return {"id": r.id, "provider": r.provider, "ref": r.ref,
                    "fingerprint": r.fingerprint, "created_at": r.created_at.isoformat(),
                    "retired_at": r.retired_at.isoformat() if r.retired_at else None,
                    "age_days": (now - r.created_at).days}

        return {
            "algorithm": ALGORITHM,
            "key_wrap": f"{ALGORITHM} (data keys and vault secrets under the KEK)",
            "ciphertext_format": FORMAT_VERSION,
            "blind_index": "HMAC-SHA256 (vault secret 'blind-index')",
            "kek": kek_info(cur) if cur is not None else None,
            "retired_keks": [kek_info(r) for r in keks if r.retired_at is not None],
            "data_keys": {"live": int(live), "destroyed": int(destroyed)},
        }
