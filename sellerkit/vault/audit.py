"""The audit log: append-only, hash-chained, anchored by a keyed MAC.

Every entry (``audit_events``) carries ``prev_mac`` and ``mac``::

    mac = HMAC-SHA256(audit key, prev_mac || canonical JSON [seq, at, actor, action, target,
                                                              purpose, outcome, details])

The audit key is the vault secret ``"audit-mac"`` (``vault.cipher.secret_key``), wrapped under the
key-encryption key, so someone who can write the database but does not hold the KEK cannot
rebuild the chain (a plain SHA-256 chain could be recomputed by anyone). The first entry chains
from a per-vault genesis value (a MAC of a fixed label under the same key).

Two MAC'd anchors in ``vault_meta`` close the ends of the chain:

* ``audit.head``: the newest entry's seq and mac, updated in the same transaction as each append,
  so deleting the newest entries (truncating the tail) is detected;
* ``audit.start``: where the chain starts after entries past their retention were pruned (see
  :meth:`AuditLog.prune`; the prune itself is an ``audit.prune`` entry in the chain).

(An attacker who keeps an old copy of the database can restore an old ``audit.head`` together
with the entries it names; to detect that too, copy ``sellerkit vault audit verify --json``'s
``head`` somewhere the database writer cannot reach and pass it back as ``expect_head``.)

Appends are serialised: on SQLite by the write lock (``vault.write()`` is ``BEGIN IMMEDIATE``),
on PostgreSQL by a transaction-scoped advisory lock, so concurrent writers cannot fork the chain.

:meth:`AuditLog.verify` walks the chain and names every problem with its seq and kind:
``edited`` (the entry's MAC does not verify), ``deleted`` (a gap in seq, a broken link, a
truncated tail), ``inserted`` (a row the chain does not link, or past the head anchor),
``reordered`` (an entry that verifies only at another position) and ``anchor`` (an anchor record
missing or forged).

Entries hold no PII: callers pass ids, counts and kinds only. :meth:`AuditLog.record` refuses
target, purpose or details values that look like an e-mail address or a phone number.

Retention: entries are kept at least 12 months (``audit.retention_months`` in ``vault_meta``,
configurable upward only); :meth:`AuditLog.prune` removes older ones behind a checkpoint entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from sellerkit.errors import IntegrityError, VaultError
from sellerkit.vault.roles import Permission, Principal, require
from sellerkit.vault.schema import audit_events, vault_meta

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["MIN_RETENTION_MONTHS", "AuditEvent", "AuditLog", "AuditProblem", "AuditVerification",
           "check_no_pii", "meta_get", "meta_set"]

MIN_RETENTION_MONTHS = 12  # the DPP (2025-11 update): logs kept at least 12 months
HEAD_KEY = "audit.head"
START_KEY = "audit.start"
RETENTION_KEY = "audit.retention_months"
_PG_AUDIT_LOCK = 0x5E11A0D1  # the advisory lock appends hold on PostgreSQL
_GENESIS_LABEL = b"sellerkit audit genesis v1"
_REORDER_WINDOW = 64  # how far from its place a moved entry is looked for
_REORDER_SEARCH_LIMIT = 1000  # suspicious rows searched for a move; the rest are "edited"

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
_PHONE = re.compile(r"(?:^|\s)\+\d[\d\s().-]{6,}\d")
_OUTCOMES = frozenset({"ok", "denied", "failed"})


# -- small helpers other vault parts share ---------------------------------------------------------

def meta_get(conn: Connection, key: str) -> Any:
    """The JSON value of ``vault_meta[key]`` (None when absent)."""
    return conn.execute(select(vault_meta.c.value).where(vault_meta.c.key == key)).scalar()


def meta_set(conn: Connection, key: str, value: Any, now: datetime) -> None:
    """Insert or replace ``vault_meta[key]`` (the caller holds the write transaction)."""
    done = conn.execute(update(vault_meta).where(vault_meta.c.key == key)
                        .values(value=value, updated_at=now))
    if not done.rowcount:
        conn.execute(insert(vault_meta).values(key=key, value=value, updated_at=now))


def check_no_pii(field_name: str, value: Any) -> None:
    """Refuse a value that looks like an e-mail address or a phone number (recursively)."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if _EMAIL.search(value) or _PHONE.search(value):
            raise VaultError(
                f"audit {field_name} looks like it holds PII (an e-mail address or phone "
                f"number): audit entries take ids, counts and kinds only, never PII")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            check_no_pii(field_name, str(k))
            check_no_pii(field_name, v)
        return
    if isinstance(value, Sequence):
        for v in value:
            check_no_pii(field_name, v)
        return
    check_no_pii(field_name, str(value))


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str)


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _with_next(rows: Any) -> Iterator[tuple[Any, Any]]:
    """(row, the row after it or None), streaming."""
    it = iter(rows)
    try:
        cur = next(it)
    except StopIteration:
        return
    for nxt in it:
        yield cur, nxt
        cur = nxt
    yield cur, None


def _months_before(at: datetime, months: int) -> datetime:
    """``at`` moved back by calendar months (the day clamped to the month's length)."""
    import calendar

    y, m = divmod(at.year * 12 + (at.month - 1) - months, 12)
    day = min(at.day, calendar.monthrange(y, m + 1)[1])
    return at.replace(year=y, month=m + 1, day=day)


# -- the records ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str | None
    action: str
    target: str | None
    purpose: str | None
    outcome: str
    details: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: str  # edited | deleted | inserted | reordered | anchor
    message: str
    last_seq: int | None = None  # for a range of deleted entries: the last one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditVerification:
    ok: bool
    checked: int
    problems: list[AuditProblem] = field(default_factory=list)
    head: dict[str, Any] | None = None  # {"seq", "mac"} of the newest entry, to keep elsewhere

    def kinds(self) -> dict[int, str]:
        """seq -> kind of each problem (the first kind when a seq has several)."""
        out: dict[int, str] = {}
        for p in self.problems:
            out.setdefault(p.seq, p.kind)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head": self.head,
                "problems": [p.to_dict() for p in self.problems]}


# -- the log --------------------------------------------------------------------------------------

class AuditLog:
    """The vault's audit log (``vault.audit``). ``key`` overrides the MAC key (tests, tools)."""

    def __init__(self, vault: Vault, *, key: bytes | None = None) -> None:
        self.vault = vault
        self._key_override = key
        self._key_cache: bytes | None = None

    # the key and the MACs

    def _load_key(self, conn: Connection | None = None) -> bytes:
        """The MAC key; ``conn`` is the caller's write transaction, if any (the secret is made on
        first use, and a second write transaction would wait for the caller's lock)."""
        if self._key_override is not None:
            return self._key_override
        if self._key_cache is None:
            self._key_cache = self.vault.cipher.secret_key("audit-mac", conn=conn)
        return self._key_cache

    @property
    def _key(self) -> bytes:
        return self._load_key()

    def _hmac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def genesis(self) -> str:
        """The value the first entry chains from (per vault: it is keyed by the vault's secret)."""
        return self._hmac(_GENESIS_LABEL)

    def _entry_mac(self, prev_mac: str, seq: int, at: datetime, actor: str | None, action: str,
                   target: str | None, purpose: str | None, outcome: str,
                   details: Any) -> str:
        body = _canonical_json([seq, _at_text(at), actor, action, target, purpose, outcome,
                                details])
        return self._hmac(prev_mac.encode("ascii") + b"|" + body.encode("utf-8"))

    def _anchor_sig(self, name: str, seq: int, mac: str) -> str:
        return self._hmac(f"anchor|{name}|{seq}|{mac}".encode("ascii"))

    def _anchor(self, conn: Connection, name: str) -> tuple[dict[str, Any] | None, bool]:
        """(the anchor record, whether its signature verifies)."""
        raw = meta_get(conn, name)
        if not isinstance(raw, dict):
            return None, raw is None
        try:
            seq, mac, sig = int(raw["seq"]), str(raw["mac"]), str(raw["sig"])
        except (KeyError, TypeError, ValueError):
            return raw, False
        return raw, hmac.compare_digest(sig, self._anchor_sig(name, seq, mac))

    def _set_anchor(self, conn: Connection, name: str, seq: int, mac: str,
                    now: datetime) -> None:
        meta_set(conn, name, {"seq": seq, "mac": mac, "sig": self._anchor_sig(name, seq, mac)},
                 now)

    # appending

    @contextmanager
    def _locked(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            self._lock(conn)
            yield conn
            return
        with self.vault.write() as own:
            self._lock(own)
            yield own

    def _lock(self, conn: Connection) -> None:
        # SQLite: a vault.write() transaction already holds the database's write lock.
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})

    def record(self, action: str, *, actor: str | None, target: str | None = None,
               purpose: str | None = None, outcome: str = "ok",
               details: Mapping[str, Any] | None = None, conn: Connection | None = None) -> int:
        """Append an entry; returns its seq. With ``conn`` (a ``vault.write()`` connection) the
        entry joins the caller's transaction. ``target``/``details`` take ids, counts and kinds,
        never PII (values that look like e-mail addresses or phone numbers are refused)."""
        if not action or len(action) > 40:
            raise VaultError(f"audit action {action!r}: give a name of 1-40 characters")
        if outcome not in _OUTCOMES:
            raise VaultError(f"audit outcome {outcome!r}: use one of {', '.join(sorted(_OUTCOMES))}")
        if target is not None and len(target) > 200:
            raise VaultError("audit target is longer than 200 characters: pass a record id")
        if purpose is not None and len(purpose) > 200:
            raise VaultError("the stated purpose is longer than 200 characters: shorten it")
        if actor is not None and len(actor) > 64:
            raise VaultError("audit actor is longer than 64 characters: pass a user id")
        for name, value in (("target", target), ("purpose", purpose), ("details", details)):
            check_no_pii(name, value)
        try:
            clean = None if details is None else json.loads(_canonical_json(dict(details)))
        except ValueError as exc:
            raise VaultError(f"audit details are not JSON data: {exc}") from None
        with self._locked(conn) as c:
            self._load_key(c)
            return self._append(c, action, actor, target, purpose, outcome, clean)

    def _append(self, conn: Connection, action: str, actor: str | None, target: str | None,
                purpose: str | None, outcome: str, details: Any) -> int:
        now = self.vault.now().astimezone(UTC)
        head, head_ok = self._anchor(conn, HEAD_KEY)
        last = conn.execute(select(audit_events.c.seq, audit_events.c.mac)
                            .order_by(audit_events.c.seq.desc()).limit(1)).first()
        if head is not None and head_ok:
            prev_mac = str(head["mac"])
            seq = max(int(head["seq"]), last.seq if last else 0) + 1
        elif last is not None:  # the anchor is gone: verify() reports it; keep appending
            prev_mac, seq = last.mac, last.seq + 1
        else:
            prev_mac, seq = self.genesis(), 1
        mac = self._entry_mac(prev_mac, seq, now, actor, action, target, purpose, outcome,
                              details)
        conn.execute(insert(audit_events).values(
            seq=seq, at=now, actor=actor, action=action, target=target, purpose=purpose,
            outcome=outcome, details=details, prev_mac=prev_mac, mac=mac))
        self._set_anchor(conn, HEAD_KEY, seq, mac, now)
        return seq

    # reading

    def events(self, actor: Principal, *, action: str | None = None,
               since: datetime | None = None, user: str | None = None,
               limit: int | None = None, outcome: str | None = None) -> list[AuditEvent]:
        """Entries in seq order (READ_AUDIT). ``action`` matches exactly, or a prefix when it
        ends in ``*`` (``login*``); ``user`` is the acting user id; ``limit`` keeps the newest."""
        require(actor, Permission.READ_AUDIT, what="read the audit log")
        q = select(audit_events)
        if action:
            if action.endswith("*"):
                q = q.where(audit_events.c.action.startswith(action[:-1], autoescape=True))
            else:
                q = q.where(audit_events.c.action == action)
        if since is not None:
            q = q.where(audit_events.c.at >= since)
        if user is not None:
            q = q.where(audit_events.c.actor == user)
        if outcome is not None:
            q = q.where(audit_events.c.outcome == outcome)
        if limit is not None:
            q = q.order_by(audit_events.c.seq.desc()).limit(max(0, int(limit)))
        else:
            q = q.order_by(audit_events.c.seq)
        with self.vault.read() as conn:
            rows = conn.execute(q).all()
        events = [AuditEvent(r.seq, r.at, r.actor, r.action, r.target, r.purpose, r.outcome,
                             r.details) for r in rows]
        return sorted(events, key=lambda e: e.seq)

    # verifying

    def verify(self, actor: Principal | None = None, *,
               expect_head: Mapping[str, Any] | None = None,
               conn: Connection | None = None) -> AuditVerification:
        """Walk the whole chain; every problem is named with its seq and kind. ``actor``, when
        given, needs READ_AUDIT (the monitor runs it as the system). ``expect_head`` is a head
        (``{"seq", "mac"}``) kept outside the database: entries up to it must still be there."""
        if actor is not None:
            require(actor, Permission.READ_AUDIT, what="verify the audit log")
        if conn is not None:
            self._load_key(conn)
            return self._verify(conn, expect_head)
        self._load_key()
        with self.vault.read() as own:
            return self._verify(own, expect_head)

    def _authentic(self, r: Any, seq: int | None = None) -> bool:
        mac = self._entry_mac(r.prev_mac, r.seq if seq is None else seq, r.at, r.actor, r.action,
                              r.target, r.purpose, r.outcome, r.details)
        return hmac.compare_digest(mac, r.mac)

    def _moved_from(self, r: Any) -> int | None:
        """The seq an inauthentic row verifies at, when it is a moved entry."""
        for delta in range(1, _REORDER_WINDOW + 1):
            for seq in (r.seq - delta, r.seq + delta):
                if seq >= 1 and self._authentic(r, seq):
                    return seq
        return None

    def _verify(self, conn: Connection, expect_head: Mapping[str, Any] | None
                ) -> AuditVerification:
        problems: list[AuditProblem] = []
        start, start_ok = self._anchor(conn, START_KEY)
        head, head_ok = self._anchor(conn, HEAD_KEY)
        if start is not None and not start_ok:
            problems.append(AuditProblem(0, "anchor", "the chain's start anchor (audit.start in "
                                         "vault_meta) was altered: its MAC does not verify"))
        if start is not None and start_ok:
            exp_seq, exp_prev = int(start["seq"]), str(start["mac"])
        else:
            exp_seq, exp_prev = 1, self.genesis()
        head_seq = int(head["seq"]) if head is not None and head_ok else None
        want_seq = int(expect_head["seq"]) if expect_head is not None else None
        if head is not None and not head_ok:
            problems.append(AuditProblem(0, "anchor", "the head anchor (audit.head in "
                                         "vault_meta) was altered: its MAC does not verify"))

        def mac_exists(mac: str) -> bool:
            return conn.execute(select(audit_events.c.seq)
                                .where(audit_events.c.mac == mac).limit(1)).first() is not None

        prev_mac = exp_prev
        prev_seq = exp_seq - 1
        prev_flagged = False
        searched = 0
        checked = 0
        seen_macs: dict[int, str] = {}  # the head's and expect_head's rows
        newest: Any = None
        stream = conn.execute(select(audit_events).order_by(audit_events.c.seq),
                              execution_options={"yield_per": 2000})
        for r, nxt in _with_next(stream):
            checked += 1
            newest = r
            if r.seq in (head_seq, want_seq):
                seen_macs[r.seq] = r.mac
            if r.seq < exp_seq:
                problems.append(AuditProblem(
                    r.seq, "inserted", f"entry #{r.seq} is before the start of the chain "
                    f"(#{exp_seq}): it was inserted"))
                continue
            if r.seq > prev_seq + 1:
                first, lastd = prev_seq + 1, r.seq - 1
                problems.append(AuditProblem(
                    first, "deleted", f"entries #{first}-#{lastd} are missing: deleted"
                    if lastd > first else f"entry #{first} is missing: deleted", lastd))
                prev_flagged = True  # the gap explains the broken link; not reported twice
            if head_seq is not None and r.seq > head_seq:
                problems.append(AuditProblem(
                    r.seq, "inserted", f"entry #{r.seq} is past the newest entry the head anchor "
                    f"names (#{head_seq}): it was inserted"))
                prev_mac, prev_seq, prev_flagged = r.mac, r.seq, True
                continue
            ok = self._authentic(r)
            if ok:
                if not prev_flagged and r.prev_mac != prev_mac:
                    problems.append(AuditProblem(
                        r.seq, "deleted", f"entry #{r.seq} does not link to entry #{prev_seq}: "
                        f"the entries between them were deleted and the rest renumbered"))
            else:
                moved = None
                if searched < _REORDER_SEARCH_LIMIT:
                    searched += 1
                    moved = self._moved_from(r)
                if moved is not None:
                    problems.append(AuditProblem(
                        r.seq, "reordered", f"entry #{r.seq} holds the entry written as "
                        f"#{moved}: the entries were moved"))
                    if (not prev_flagged and r.prev_mac != prev_mac and searched < 50
                            and not mac_exists(r.prev_mac)):
                        problems.append(AuditProblem(
                            r.seq, "deleted", f"the entry written before #{moved} is missing: "
                            f"it was deleted and the entries after it renumbered"))
                elif (nxt is not None and nxt.seq == r.seq + 1 and nxt.prev_mac == prev_mac
                      and r.prev_mac == prev_mac):
                    problems.append(AuditProblem(
                        r.seq, "inserted", f"entry #{r.seq} is not part of the chain (the next "
                        f"entry links past it): it was inserted"))
                else:
                    problems.append(AuditProblem(
                        r.seq, "edited", f"entry #{r.seq} was edited: its MAC does not verify"))
            prev_flagged = not ok
            prev_mac, prev_seq = r.mac, r.seq

        if head is None and checked:
            problems.append(AuditProblem(0, "anchor", "the head anchor (audit.head in "
                                         "vault_meta) is missing: it was deleted"))
        if head_seq is not None:
            if prev_seq < head_seq:
                first = prev_seq + 1
                problems.append(AuditProblem(
                    first, "deleted", f"the newest entries #{first}-#{head_seq} are missing: the "
                    f"log was truncated" if head_seq > first else
                    f"the newest entry #{head_seq} is missing: the log was truncated", head_seq))
            elif (head_seq in seen_macs and head is not None
                  and not hmac.compare_digest(seen_macs[head_seq], str(head["mac"]))
                  and all(p.seq != head_seq for p in problems)):
                problems.append(AuditProblem(
                    head_seq, "edited", f"entry #{head_seq} is not the entry the head anchor "
                    f"names: it was replaced"))
        if expect_head is not None and want_seq is not None:
            if want_seq not in seen_macs:
                problems.append(AuditProblem(
                    want_seq, "deleted", f"entry #{want_seq}, the head kept outside the vault, "
                    f"is missing: the log was rolled back or truncated"))
            elif not hmac.compare_digest(seen_macs[want_seq], str(expect_head["mac"])):
                problems.append(AuditProblem(
                    want_seq, "edited", f"entry #{want_seq} differs from the head kept outside "
                    f"the vault: the log was rolled back or rewritten"))
        problems.sort(key=lambda p: (p.seq, p.kind))
        return AuditVerification(
            ok=not problems, checked=checked, problems=problems,
            head={"seq": newest.seq, "mac": newest.mac} if newest is not None else None)

    # retention

    def retention_months(self, conn: Connection | None = None) -> int:
        if conn is not None:
            raw = meta_get(conn, RETENTION_KEY)
        else:
            with self.vault.read() as c:
                raw = meta_get(c, RETENTION_KEY)
        try:
            return max(MIN_RETENTION_MONTHS, int(raw)) if raw is not None else MIN_RETENTION_MONTHS
        except (TypeError, ValueError):
            return MIN_RETENTION_MONTHS

    def set_retention(self, actor: Principal, months: int) -> int:
        """Keep audit entries ``months`` months (CONFIGURE; at least 12, audited)."""
        require(actor, Permission.CONFIGURE, what="change the audit retention")
        if int(months) < MIN_RETENTION_MONTHS:
            raise VaultError(
                f"audit entries are kept at least {MIN_RETENTION_MONTHS} months (the Data "
                f"Protection Policy); {months} is too short: give {MIN_RETENTION_MONTHS} or more")
        with self.vault.write() as conn:
            self._lock(conn)
            self._load_key(conn)
            old = self.retention_months(conn)
            meta_set(conn, RETENTION_KEY, int(months), self.vault.now())
            self.record("config.change", actor=actor.user_id, target=RETENTION_KEY,
                        details={"old": old, "new": int(months)}, conn=conn)
        return int(months)

    def prune(self, actor: Principal, *, conn: Connection | None = None) -> int:
        """Delete entries older than the retention (PURGE), behind an ``audit.prune`` checkpoint
        entry; the chain must verify first (a broken chain is evidence: nothing is removed).
        Returns the number of entries removed."""
        require(actor, Permission.PURGE, what="prune the audit log")
        with self._locked(conn) as c:
            self._load_key(c)
            result = self._verify(c, None)
            if not result.ok:
                raise IntegrityError(
                    f"the audit chain fails verification ({len(result.problems)} problem(s), "
                    f"first: {result.problems[0].message}); nothing was pruned: run "
                    f"'sellerkit vault audit verify' and open an incident")
            months = self.retention_months(c)
            cutoff = _months_before(self.vault.now().astimezone(UTC), months)
            last_old = c.execute(select(func.max(audit_events.c.seq))
                                 .where(audit_events.c.at < cutoff)).scalar()
            if last_old is None:
                return 0
            count = c.execute(select(func.count()).select_from(audit_events)
                              .where(audit_events.c.seq <= last_old)).scalar_one()
            checkpoint = self._append(c, "audit.prune", actor.user_id, None, None, "ok", {
                "pruned_through": int(last_old), "count": int(count),
                "retention_months": months, "cutoff": _at_text(cutoff)})
            first_kept = c.execute(select(audit_events.c.seq, audit_events.c.prev_mac)
                                   .where(audit_events.c.seq > last_old)
                                   .order_by(audit_events.c.seq).limit(1)).one()
            assert first_kept.seq <= checkpoint
            c.execute(delete(audit_events).where(and_(audit_events.c.seq <= last_old)))
            self._set_anchor(c, START_KEY, first_kept.seq, first_kept.prev_mac,
                             self.vault.now())
            return int(count)
