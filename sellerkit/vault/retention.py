"""Retention: how long the vault keeps Amazon data, and the purge that enforces it.

The periods are versioned policy data (``data/retention_policy.json``): each version names the
day it took effect and its sources; the purge runs under the version in force on its day and
records it. The defaults follow Amazon's Data Protection Policy:

* **buyer PII** (names, e-mails, phones, addresses, gift messages, tax ids): erased at the latest
  N days after the order's delivery, N = 30 (``retention.pii_days`` may lower it, never raise it;
  longer only under a legal hold with a recorded reason);
* **non-PII Amazon data** (orders, items, report and feed records): deleted 18 months after the
  order was last changed (its last update or purchase date), the report or feed was recorded;
* **security logs** (the audit chain): kept at least 12 months (90 days before 2025-11-11);
  the purge never deletes them.

The delivery date of an order is the first known of: ``delivered_at`` (Amazon's actual
delivery), ``latest_delivery_date`` (the promise), ``latest_ship_date`` (earlier than any
delivery, so erasing from it is early, never late), else ``purchase_date`` plus the policy's
``delivery_bound_days`` (30: an order that never reports a shipment still loses its PII at most
60 days after purchase); an order with none of these dates uses when the vault first saw it.

Erasure is crypto-shredding: the order's data key is destroyed (its wrapped copy overwritten
with NULL, so the key file alone no longer decrypts anything), and every ciphertext column of
the order, its items, buyer and addresses is cleared (``orders.pii_erased_at`` says when). On
SQLite the purge turns on ``secure_delete`` and truncates the WAL after its commit, so the old
bytes do not stay in the database file either.

Legal holds (``hold``) keep records a court or tax law needs: scope ``order`` (an Amazon order
id), ``seller`` (a selling partner id) or ``all``. ``retain_days`` keeps the held orders' PII that
many days after delivery (None: until released); more than the policy's 30 days needs a reason.
While a hold is active its records' non-PII data is not deleted.

``purge`` returns a :class:`PurgeReport` with counts per kind only (no order ids, no PII), writes
a ``purge_runs`` row and an audit entry ``purge``. ``sellerkit vault purge`` runs it, and every
sync should run it with ``trigger="sync"``.
"""

from __future__ import annotations

import calendar
import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update

from sellerkit.errors import VaultError
from sellerkit.vault import schema as s
from sellerkit.vault.roles import Permission, Principal, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["COUNT_KINDS", "HOLD_SCOPES", "LegalHold", "PolicyVersion", "PurgeReport", "Retention",
           "RetentionPolicy", "RetentionStatus", "delivery_anchor", "load_policy"]

HOLD_SCOPES = ("order", "seller", "all")
TRIGGERS = ("cli", "sync", "schedule", "web", "api")
_CHUNK = 500  # ids per IN (...) list: well under SQLite's variable limit

# The PII-bearing tables of an order and their ciphertext columns (every ``*_ct`` column, from the
# schema itself so a column added later is erased too), plus the e-mail blind index.
_PII_TABLES = (s.orders, s.order_items, s.order_buyers, s.order_addresses)


def _ct_columns(table: Any) -> list[str]:
    cols = [c.name for c in table.columns if c.name.endswith("_ct")]
    if table is s.order_buyers:
        cols.append("email_bidx")
    return cols


# -- the policy ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyVersion:
    version: str
    effective: date
    pii_days_after_delivery: int
    non_pii_months: int | None
    security_log_days: int
    sources: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["effective"] = self.effective.isoformat()
        d["sources"] = [dict(x) for x in self.sources]
        return d


@dataclass(frozen=True)
class RetentionPolicy:
    versions: tuple[PolicyVersion, ...]
    delivery_bound_days: int
    max_pii_days_without_hold: int

    def at(self, when: datetime | date) -> PolicyVersion:
        """The version in force on ``when``."""
        day = when.date() if isinstance(when, datetime) else when
        valid = [v for v in self.versions if v.effective <= day]
        if not valid:
            raise VaultError(f"no retention policy version is in force on {day.isoformat()}")
        return max(valid, key=lambda v: v.effective)


def load_policy(path: str | Path | None = None) -> RetentionPolicy:
    """The retention policy data (the packaged file, or ``path``)."""
    if path is None:
        raw = resources.files("sellerkit.vault").joinpath("data/retention_policy.json").read_text()
    else:
        raw = Path(path).read_text()
    return _parse_policy(raw)


@cache
def _packaged_policy() -> RetentionPolicy:
    return load_policy()


def _parse_policy(raw: str) -> RetentionPolicy:
    doc = json.loads(raw)
    versions = tuple(
        PolicyVersion(
            version=v["version"], effective=date.fromisoformat(v["effective"]),
            pii_days_after_delivery=int(v["pii_days_after_delivery"]),
            non_pii_months=None if v.get("non_pii_months") is None else int(v["non_pii_months"]),
            security_log_days=int(v["security_log_days"]),
            sources=tuple(v.get("sources", ())))
        for v in doc["versions"])
    if len({v.version for v in versions}) != len(versions):
        raise VaultError("the retention policy data names a version twice")
    return RetentionPolicy(versions, int(doc["delivery_bound_days"]),
                           int(doc["max_pii_days_without_hold"]))


def _months_before(when: datetime, months: int) -> datetime:
    y, m = divmod(when.year * 12 + (when.month - 1) - months, 12)
    day = min(when.day, calendar.monthrange(y, m + 1)[1])
    return when.replace(year=y, month=m + 1, day=day)


def delivery_anchor(row: Any, bound_days: int) -> tuple[datetime | None, str]:
    """The date an order's PII retention counts from, and which date it was: ``delivered``,
    ``latest_delivery``, ``latest_ship``, ``purchase+bound`` or ``first_seen``."""
    if row.delivered_at is not None:
        return row.delivered_at, "delivered"
    if row.latest_delivery_date is not None:
        return row.latest_delivery_date, "latest_delivery"
    if row.latest_ship_date is not None:
        return row.latest_ship_date, "latest_ship"
    if row.purchase_date is not None:
        return row.purchase_date + timedelta(days=bound_days), "purchase+bound"
    return getattr(row, "first_seen_at", None), "first_seen"


# -- results ------------------------------------------------------------------------------------

@dataclass
class PurgeReport:
    """What a purge erased and deleted, counted per kind: no ids, no PII."""

    run_id: int | None
    policy_version: str
    trigger: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "policy_version": self.policy_version,
                "trigger": self.trigger, "dry_run": self.dry_run,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "counts": dict(self.counts)}


@dataclass(frozen=True)
class LegalHold:
    id: int
    scope: str
    target: str | None
    reason: str
    retain_days: int | None
    created_by: str
    created_at: datetime
    released_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d["released_at"] = self.released_at.isoformat() if self.released_at else None
        return d


@dataclass
class RetentionStatus:
    policy: PolicyVersion
    pii_days: int
    delivery_bound_days: int
    last_run: dict[str, Any] | None  # the last run that finished without error
    runs: int  # runs that finished without error
    failed_since_last: int  # runs that failed after it
    overdue: int  # orders whose PII is past its erasure date and not held: the next purge erases
    held_orders: int
    active_holds: int
    orders_with_pii: int
    orders_erased: int

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policy"] = self.policy.as_dict()
        return d


# -- the part -----------------------------------------------------------------------------------

def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _hold_from_row(r: Any) -> LegalHold:
    return LegalHold(r.id, r.scope, r.target, r.reason, r.retain_days, r.created_by,
                     r.created_at, r.released_at)


class _Holds:
    """The active holds, indexed for the purge's per-order decisions."""

    def __init__(self, holds: Iterable[LegalHold], seller_partner: dict[int, str]) -> None:
        self.by_order: dict[str, list[LegalHold]] = {}
        self.by_seller: dict[str, list[LegalHold]] = {}
        self.everything: list[LegalHold] = []
        self.seller_partner = seller_partner
        for h in holds:
            if h.scope == "all":
                self.everything.append(h)
            elif h.scope == "seller":
                self.by_seller.setdefault(h.target or "", []).append(h)
            else:
                self.by_order.setdefault(h.target or "", []).append(h)

    def for_seller(self, seller_id: int | None) -> list[LegalHold]:
        partner = self.seller_partner.get(seller_id) if seller_id is not None else None
        return self.everything + (self.by_seller.get(partner, []) if partner else [])

    def for_order(self, seller_id: int, amazon_order_id: str) -> list[LegalHold]:
        return self.for_seller(seller_id) + self.by_order.get(amazon_order_id, [])


class Retention:
    """``vault.retention``: the policy in force, legal holds, purges."""

    def __init__(self, vault: Vault, policy: RetentionPolicy | None = None) -> None:
        self.vault = vault
        self.policy = policy or _packaged_policy()

    # -- settings --------------------------------------------------------------------------------

    def pii_days(self, conn: Connection) -> int:
        """N: days after delivery PII is kept (the operator's lower setting, else the policy)."""
        from sellerkit.vault.settings import get_setting

        policy_days = self.policy.at(self.vault.now()).pii_days_after_delivery
        configured = get_setting(conn, "retention.pii_days")
        return min(policy_days, int(configured)) if configured is not None else policy_days

    # -- legal holds -----------------------------------------------------------------------------

    def hold(self, actor: Principal, scope: str, target: str | None, reason: str | None,
             retain_days: int | None = None, *, conn: Connection | None = None) -> LegalHold:
        """Place a legal hold. ``retain_days`` over the policy's 30 (or None: until released)
        needs a ``reason``, recorded with the hold."""
        require(actor, Permission.PURGE, what="place a legal hold")
        scope = (scope or "").strip().lower()
        if scope not in HOLD_SCOPES:
            raise VaultError(f"unknown hold scope {scope!r}: use one of {', '.join(HOLD_SCOPES)}")
        target = (target or "").strip() or None
        if scope == "all":
            if target is not None:
                raise VaultError("a hold of scope 'all' takes no target")
        elif target is None:
            what = "an Amazon order id" if scope == "order" else "a selling partner id"
            raise VaultError(f"a hold of scope {scope!r} needs a target: {what}")
        if retain_days is not None and retain_days < 1:
            raise VaultError("retain_days must be at least 1 day (or omitted: until released)")
        reason = (reason or "").strip()
        limit = self.policy.max_pii_days_without_hold
        if not reason and (retain_days is None or retain_days > limit):
            span = "until released" if retain_days is None else f"{retain_days} days"
            raise VaultError(
                f"keeping PII {span} after delivery (more than {limit} days) needs a recorded "
                f"legal reason: pass --reason (e.g. \"tax audit 2026, case 17\")")
        now = self.vault.now()
        with self._conn(conn) as c:
            hold_id = c.execute(insert(s.legal_holds).values(
                scope=scope, target=target, reason=reason, retain_days=retain_days,
                created_by=actor.user_id, created_at=now).returning(s.legal_holds.c.id)).scalar_one()
            self.vault.audit.record(
                "hold.add", actor=actor.user_id, target=f"hold:{hold_id}",
                details={"scope": scope, "retain_days": retain_days}, conn=c)
        return LegalHold(hold_id, scope, target, reason, retain_days, actor.user_id, now, None)

    def release(self, actor: Principal, hold_id: int, *, conn: Connection | None = None) -> LegalHold:
        """End a hold: its records fall back under the policy (the next purge acts on them)."""
        require(actor, Permission.PURGE, what="release a legal hold")
        with self._conn(conn) as c:
            row = c.execute(select(s.legal_holds).where(s.legal_holds.c.id == hold_id)).first()
            if row is None:
                raise VaultError(f"no legal hold {hold_id}: see sellerkit vault holds")
            if row.released_at is not None:
                raise VaultError(f"legal hold {hold_id} was already released "
                                 f"({row.released_at.isoformat()})")
            now = self.vault.now()
            c.execute(update(s.legal_holds).where(s.legal_holds.c.id == hold_id)
                      .values(released_at=now))
            self.vault.audit.record("hold.release", actor=actor.user_id, target=f"hold:{hold_id}",
                                    details={"scope": row.scope}, conn=c)
        return LegalHold(row.id, row.scope, row.target, row.reason, row.retain_days,
                         row.created_by, row.created_at, now)

    def holds(self, actor: Principal, *, include_released: bool = False) -> list[LegalHold]:
        if not (actor.can(Permission.PURGE) or actor.can(Permission.READ_AUDIT)):
            require(actor, Permission.PURGE, what="list legal holds")
        q = select(s.legal_holds).order_by(s.legal_holds.c.id)
        if not include_released:
            q = q.where(s.legal_holds.c.released_at.is_(None))
        with self.vault.read() as c:
            return [_hold_from_row(r) for r in c.execute(q)]

    # -- status ----------------------------------------------------------------------------------

    def overdue(self, conn: Connection, now: datetime) -> int:
        """How many orders the next purge would erase (their PII past its date, not held)."""
        return len(self._plan(conn, now).erase_ids)

    def status(self, actor: Principal) -> RetentionStatus:
        """The policy in force, the last run, and how many orders the next purge would erase."""
        if not (actor.can(Permission.PURGE) or actor.can(Permission.READ_AUDIT)):
            require(actor, Permission.PURGE, what="see the retention status")
        now = self.vault.now()
        with self.vault.read() as c:
            plan = self._plan(c, now)
            pr = s.purge_runs.c
            done = (pr.finished_at.is_not(None), pr.error.is_(None))
            last = c.execute(select(s.purge_runs).where(*done)
                             .order_by(pr.id.desc()).limit(1)).first()
            runs = c.execute(select(func.count()).select_from(s.purge_runs)
                             .where(*done)).scalar_one()
            failed = c.execute(select(func.count()).select_from(s.purge_runs).where(
                pr.error.is_not(None), pr.id > (last.id if last is not None else 0))).scalar_one()
            with_pii = c.execute(select(func.count()).select_from(s.orders).where(
                s.orders.c.key_id.is_not(None), s.orders.c.pii_erased_at.is_(None))).scalar_one()
            erased = c.execute(select(func.count()).select_from(s.orders).where(
                s.orders.c.pii_erased_at.is_not(None))).scalar_one()
            active = c.execute(select(func.count()).select_from(s.legal_holds).where(
                s.legal_holds.c.released_at.is_(None))).scalar_one()
            days = self.pii_days(c)
        last_run = None if last is None else {
            "id": last.id, "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat(), "trigger": last.trigger,
            "actor": last.actor, "policy_version": last.policy_version,
            "counts": last.counts or {}}
        return RetentionStatus(
            policy=self.policy.at(now), pii_days=days,
            delivery_bound_days=self.policy.delivery_bound_days, last_run=last_run, runs=runs,
            failed_since_last=failed,
            overdue=len(plan.erase_ids), held_orders=plan.counts["orders_pii_held"],
            active_holds=active, orders_with_pii=with_pii, orders_erased=erased)

    def runs(self, actor: Principal, *, limit: int | None = 20) -> list[dict[str, Any]]:
        """The recorded purge runs, newest first."""
        if not (actor.can(Permission.PURGE) or actor.can(Permission.READ_AUDIT)):
            require(actor, Permission.READ_AUDIT, what="list purge runs")
        q = select(s.purge_runs).order_by(s.purge_runs.c.id.desc())
        if limit:
            q = q.limit(limit)
        with self.vault.read() as c:
            return [{"id": r.id, "started_at": r.started_at.isoformat(),
                     "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                     "policy_version": r.policy_version, "trigger": r.trigger, "actor": r.actor,
                     "counts": r.counts or {}, "error": r.error} for r in c.execute(q)]

    # -- the purge -------------------------------------------------------------------------------

    def purge(self, actor: Principal, *, trigger: str = "cli", dry_run: bool = False,
              conn: Connection | None = None) -> PurgeReport:
        """Erase PII past its date (crypto-shredding) and delete non-PII data past 18 months.

        ``dry_run`` counts what would happen and changes nothing (no run is recorded)."""
        require(actor, Permission.PURGE, what="run a retention purge")
        if trigger not in TRIGGERS:
            raise VaultError(f"unknown purge trigger {trigger!r}: use one of {', '.join(TRIGGERS)}")
        started = self.vault.now()
        version = self.policy.at(started)
        report = PurgeReport(None, version.version, trigger, dry_run, started)
        if dry_run:
            with self.vault.read() as c:
                plan = self._plan(c, started)
                report.counts = self._dry_counts(c, plan)
            report.finished_at = self.vault.now()
            return report
        sqlite = self.vault.engine.dialect.name == "sqlite"
        try:
            with self._conn(conn) as c:
                if sqlite:
                    # freed and rewritten cells are zeroed, so the erased ciphertexts and the
                    # destroyed data keys do not linger in the database file's free space
                    c.execute(text("PRAGMA secure_delete=ON"))
                run_id = c.execute(insert(s.purge_runs).values(
                    started_at=started, policy_version=version.version, trigger=trigger,
                    actor=actor.user_id).returning(s.purge_runs.c.id)).scalar_one()
                report.run_id = run_id
                plan = self._plan(c, started)
                counts = self._execute(c, plan)
                report.counts = counts
                report.finished_at = self.vault.now()
                c.execute(update(s.purge_runs).where(s.purge_runs.c.id == run_id).values(
                    finished_at=report.finished_at, counts=counts))
                self.vault.audit.record(
                    "purge", actor=actor.user_id, target=f"purge_run:{run_id}",
                    details={"trigger": trigger, "policy_version": version.version,
                             "counts": counts}, conn=c)
        except Exception as exc:
            if conn is None:  # in the caller's transaction, the caller sees and handles it
                self._record_failure(actor, trigger, version.version, started, exc)
            raise
        if sqlite and conn is None:
            self._checkpoint()
        self._remove_files([*plan.files, *plan.export_files])
        return report

    # -- internals -------------------------------------------------------------------------------

    def _conn(self, conn: Connection | None) -> Any:
        from contextlib import nullcontext

        return nullcontext(conn) if conn is not None else self.vault.write()

    def _record_failure(self, actor: Principal, trigger: str, version: str, started: datetime,
                        exc: BaseException) -> None:
        msg = f"{type(exc).__name__}"  # the class only: a driver message may quote row data
        # the original error is what the caller must see; recording it is best effort
        with contextlib.suppress(Exception), self.vault.write() as c:
            c.execute(insert(s.purge_runs).values(
                started_at=started, finished_at=self.vault.now(), policy_version=version,
                trigger=trigger, actor=actor.user_id, error=f"failed: {msg}"[:500]))

    def _checkpoint(self) -> None:
        # Copy the WAL into the database and truncate it: the pre-purge pages in the WAL go.
        # best effort: a busy reader delays it to the next checkpoint
        with contextlib.suppress(Exception), self.vault.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def _plan(self, c: Connection, now: datetime) -> _Plan:
        version = self.policy.at(now)
        n_days = self.pii_days(c)
        bound = self.policy.delivery_bound_days
        partners = {r.id: r.selling_partner_id for r in c.execute(
            select(s.sellers.c.id, s.sellers.c.selling_partner_id))}
        holds = _Holds((_hold_from_row(r) for r in c.execute(
            select(s.legal_holds).where(s.legal_holds.c.released_at.is_(None)))), partners)
        plan = _Plan()
        # PII: orders not yet erased. Every anchor is on or after the purchase date, so only
        # orders bought more than N days ago (or with no purchase date) can be due.
        o = s.orders.c
        q = select(o.id, o.seller_id, o.amazon_order_id, o.key_id, o.delivered_at,
                   o.latest_delivery_date, o.latest_ship_date, o.purchase_date,
                   o.first_seen_at).where(
            o.pii_erased_at.is_(None), o.key_id.is_not(None),
            or_(o.purchase_date.is_(None), o.purchase_date <= now - timedelta(days=n_days)))
        for row in c.execute(q):
            anchor, _kind = delivery_anchor(row, bound)
            if anchor is None:
                continue
            applicable = holds.for_order(row.seller_id, row.amazon_order_id)
            keep_days = n_days
            held_forever = False
            for h in applicable:
                if h.retain_days is None:
                    held_forever = True
                else:
                    keep_days = max(keep_days, h.retain_days)
            if anchor + timedelta(days=n_days) > now:
                continue  # not due under the policy
            if held_forever or anchor + timedelta(days=keep_days) > now:
                plan.counts["orders_pii_held"] += 1
                continue
            plan.erase_ids.append(row.id)
            if row.key_id is not None:
                plan.key_ids.append(row.key_id)
        # Exports sellerkit made: one with PII is shredded (its data key destroyed, so every
        # copy is unreadable) N days after it was made, any export at the non-PII limit.
        if not holds.everything:
            inv = s.inventory_items.c
            pii_cutoff = now - timedelta(days=n_days)
            data_cutoff = (_months_before(now, version.non_pii_months)
                           if version.non_pii_months else None)
            for item in c.execute(select(inv.id, inv.location, inv.key_id, inv.contains_pii,
                                         inv.created_at).where(
                    inv.kind == "export", inv.removed_at.is_(None), inv.key_id.is_not(None))):
                if (item.contains_pii and item.created_at <= pii_cutoff) or (
                        data_cutoff is not None and item.created_at < data_cutoff):
                    plan.export_ids.append(item.id)
                    plan.key_ids.append(item.key_id)
                    plan.export_files.append(item.location)
        # Non-PII: orders last changed, reports and feeds recorded, 18 months ago or more.
        if version.non_pii_months:
            cutoff = _months_before(now, version.non_pii_months)
            changed = func.coalesce(o.last_update_date, o.purchase_date, o.first_seen_at)
            erase = set(plan.erase_ids)
            for old in c.execute(select(o.id, o.seller_id, o.amazon_order_id, o.key_id,
                                        o.pii_erased_at).where(changed < cutoff)):
                if holds.for_order(old.seller_id, old.amazon_order_id):
                    plan.counts["orders_data_held"] += 1
                    continue
                plan.delete_order_ids.append(old.id)
                if old.pii_erased_at is None and old.id not in erase:
                    erase.add(old.id)
                    plan.erase_ids.append(old.id)
                    if old.key_id is not None:
                        plan.key_ids.append(old.key_id)
            r = s.report_records.c
            for rep in c.execute(select(r.id, r.seller_id, r.local_path)
                                 .where(r.created_at < cutoff)):
                if holds.for_seller(rep.seller_id):
                    plan.counts["report_records_held"] += 1
                    continue
                plan.delete_report_ids.append(rep.id)
                if rep.local_path:
                    plan.files.append(rep.local_path)
            f = s.feed_records.c
            for feed in c.execute(select(f.id, f.seller_id).where(f.created_at < cutoff)):
                if holds.for_seller(feed.seller_id):
                    plan.counts["feed_records_held"] += 1
                    continue
                plan.delete_feed_ids.append(feed.id)
        return plan

    def _dry_counts(self, c: Connection, plan: _Plan) -> dict[str, int]:
        counts = plan.base_counts()
        counts.update(self._count_pii_rows(c, plan.erase_ids))
        counts["data_keys_destroyed"] = len(set(plan.key_ids))
        counts["order_items_deleted"] = self._count(c, s.order_items, s.order_items.c.order_id,
                                                    plan.delete_order_ids)
        return _ordered(counts)

    @staticmethod
    def _count(c: Connection, table: Any, column: Any, ids: Sequence[int]) -> int:
        total = 0
        for chunk in _chunks(ids):
            total += c.execute(select(func.count()).select_from(table)
                               .where(column.in_(chunk))).scalar_one()
        return total

    def _count_pii_rows(self, c: Connection, order_ids: Sequence[int]) -> dict[str, int]:
        """Per table, how many rows of these orders hold any ciphertext."""
        out = {"orders_pii_erased": len(order_ids)}
        for table, name in ((s.order_items, "item_pii_cleared"),
                            (s.order_buyers, "buyers_cleared"),
                            (s.order_addresses, "addresses_cleared")):
            cols = [table.c[n] for n in _ct_columns(table)]
            out[name] = self._count_where(c, table, order_ids,
                                          or_(*[col.is_not(None) for col in cols]))
        return out

    def _count_where(self, c: Connection, table: Any, order_ids: Sequence[int], cond: Any) -> int:
        total = 0
        for chunk in _chunks(order_ids):
            total += c.execute(select(func.count()).select_from(table).where(
                and_(table.c.order_id.in_(chunk), cond))).scalar_one()
        return total

    def _execute(self, c: Connection, plan: _Plan) -> dict[str, int]:
        counts = plan.base_counts()
        counts["orders_pii_erased"] = len(plan.erase_ids)
        now = self.vault.now()
        keys = sorted(set(plan.key_ids))
        counts["data_keys_destroyed"] = 0
        for chunk in _chunks(keys):
            counts["data_keys_destroyed"] += int(self.vault.cipher.destroy_keys(c, chunk) or 0)
        cleared_kind = {s.order_items: "item_pii_cleared", s.order_buyers: "buyers_cleared",
                        s.order_addresses: "addresses_cleared"}
        for kind in cleared_kind.values():
            counts[kind] = 0
        for chunk in _chunks(plan.erase_ids):
            for table in _PII_TABLES:
                names = _ct_columns(table)
                cleared: dict[str, Any] = {n: None for n in names}
                if table is s.orders:
                    c.execute(update(table).where(table.c.id.in_(chunk))
                              .values(**cleared, pii_erased_at=now))
                else:
                    # only rows holding a ciphertext: their number is the report's count
                    held = or_(*[table.c[n].is_not(None) for n in names])
                    done = c.execute(update(table).where(table.c.order_id.in_(chunk), held)
                                     .values(**cleared))
                    counts[cleared_kind[table]] += int(done.rowcount or 0)
        items_deleted = 0
        for chunk in _chunks(plan.delete_order_ids):
            items_deleted += c.execute(
                delete(s.order_items).where(s.order_items.c.order_id.in_(chunk))).rowcount
            c.execute(delete(s.order_buyers).where(s.order_buyers.c.order_id.in_(chunk)))
            c.execute(delete(s.order_addresses).where(s.order_addresses.c.order_id.in_(chunk)))
            c.execute(delete(s.orders).where(s.orders.c.id.in_(chunk)))
        counts["order_items_deleted"] = items_deleted
        counts = _ordered(counts)
        for chunk in _chunks(plan.delete_report_ids):
            c.execute(delete(s.report_records).where(s.report_records.c.id.in_(chunk)))
        for chunk in _chunks(plan.delete_feed_ids):
            c.execute(delete(s.feed_records).where(s.feed_records.c.id.in_(chunk)))
        for chunk in _chunks(plan.export_ids):
            c.execute(update(s.inventory_items).where(s.inventory_items.c.id.in_(chunk))
                      .values(removed_at=now))
        if plan.files:
            inv = s.inventory_items.c
            for chunk in _chunks(plan.files):  # type: ignore[arg-type]
                c.execute(update(s.inventory_items).where(
                    inv.location.in_(chunk), inv.removed_at.is_(None)).values(removed_at=now))
        return counts

    @staticmethod
    def _remove_files(paths: Iterable[str]) -> int:
        removed = 0
        for p in paths:
            path = Path(p).expanduser()
            try:
                path.unlink()
                removed += 1
            except OSError:  # already gone, or not ours to remove: the inventory shows it
                continue
        return removed


# The purge report's kinds, in the order they are shown.
COUNT_KINDS = ("orders_pii_erased", "data_keys_destroyed", "buyers_cleared", "addresses_cleared",
               "item_pii_cleared", "orders_pii_held", "exports_shredded", "orders_deleted",
               "order_items_deleted", "orders_data_held", "report_records_deleted", "report_files_deleted",
               "report_records_held", "feed_records_deleted", "feed_records_held")


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    return {k: int(counts.get(k, 0)) for k in COUNT_KINDS}


class _Plan:
    """What a purge will do, decided in one pass under the policy and the holds."""

    def __init__(self) -> None:
        self.erase_ids: list[int] = []
        self.key_ids: list[int] = []
        self.delete_order_ids: list[int] = []
        self.delete_report_ids: list[int] = []
        self.delete_feed_ids: list[int] = []
        self.files: list[str] = []
        self.export_ids: list[int] = []
        self.export_files: list[str] = []
        self.counts: dict[str, int] = {"orders_pii_held": 0, "orders_data_held": 0,
                                       "report_records_held": 0, "feed_records_held": 0}

    def base_counts(self) -> dict[str, int]:
        return {**self.counts,
                "orders_deleted": len(self.delete_order_ids),
                "report_records_deleted": len(self.delete_report_ids),
                "report_files_deleted": len(self.files),
                "exports_shredded": len(self.export_ids),
                "feed_records_deleted": len(self.delete_feed_ids)}
