"""Monitoring: alert rules over the audit log and the purge runs, written to the security log.

:meth:`Monitor.check` runs every rule and writes each new alert to the ``alerts`` table (the
security log) and to the audit log (``alert``), then POSTs it to the webhook when one is set.
``sellerkit vault alerts check`` runs it; a sync calls it after each run.

The rules (thresholds are settings, defaults in :data:`DEFAULTS`):

    pii_rate        a user read PII (``pii.read``) more than ``monitor.pii_reads_max`` times in
                    ``monitor.pii_window_minutes``
    disabled_user   an action by a user after it was disabled (a PII read, a log-in attempt)
    failed_logins   ``monitor.failed_logins_max`` failed log-ins (passwords, codes, API keys) of
                    one user in ``monitor.failed_window_minutes``; or
                    ``monitor.failed_logins_total_max`` for all users together (a spray)
    purge_behind    orders whose PII is past its retention wait, and no purge finished without
                    error in ``monitor.purge_max_hours``
    audit_chain     the audit log fails verification (an entry edited, deleted, inserted,
                    reordered, or an anchor altered)

An alert of a rule about the same subject (a user id, "audit", "purge") is raised once per
``monitor.repeat_minutes``; a disabled user's actions are each looked at once (the monitor keeps
the audit seq it has seen in ``monitor.last_seq``).

Alerts hold no PII: user ids, counts, seqs. The webhook (``monitor.webhook_url``, https, or http
to a loopback address) receives ``{"source": "sellerkit-vault", "alert": {...}}`` as JSON; its
URL is a secret (chat webhooks carry their token in the URL) and is kept encrypted. A delivery
that fails is recorded on the alert (``delivery_error``) and retried at the next check, never
raised. With ``check(conn=...)`` the alerts join the caller's transaction and are delivered at the
next check.
"""

from __future__ import annotations

import base64
import ipaddress
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, insert, select, update

from sellerkit.errors import VaultError
from sellerkit.vault.audit import meta_get, meta_set
from sellerkit.vault.roles import SYSTEM, Permission, Principal, require
from sellerkit.vault.schema import (
    alerts,
    audit_events,
    purge_runs,
    users,
    vault_meta,
)

if TYPE_CHECKING:
    import httpx

    from sellerkit.vault.core import Vault

__all__ = ["DEFAULTS", "RULES", "Alert", "Monitor"]

RULES = ("pii_rate", "disabled_user", "failed_logins", "purge_behind", "audit_chain")

# Setting (vault_meta key "monitor.<name>") -> default.
DEFAULTS: dict[str, int] = {
    "pii_reads_max": 100,
    "pii_window_minutes": 60,
    "failed_logins_max": 5,
    "failed_window_minutes": 15,
    "failed_logins_total_max": 20,
    "purge_max_hours": 26,
    "repeat_minutes": 60,
    "webhook_timeout_seconds": 5,
}
WEBHOOK_KEY = "monitor.webhook_url"
LAST_SEQ_KEY = "monitor.last_seq"
_SEVERITY = {"pii_rate": "high", "disabled_user": "high", "failed_logins": "medium",
             "purge_behind": "high", "audit_chain": "critical"}
_RETRY_HOURS = 24


@dataclass(frozen=True)
class Alert:
    id: int
    at: datetime
    rule: str
    severity: str
    subject: str | None
    details: dict[str, Any] | None
    delivered_at: datetime | None = None
    delivery_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        d["delivered_at"] = self.delivered_at.isoformat() if self.delivered_at else None
        return d

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "rule": self.rule,
                "severity": self.severity, "subject": self.subject, "details": self.details}


def _alert(row: Any) -> Alert:
    return Alert(row.id, row.at, row.rule, row.severity, row.subject, row.details,
                 row.delivered_at, row.delivery_error)


def _check_webhook_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise VaultError("the webhook must be an https:// URL (http:// only to a loopback "
                         "address)")
    if parts.scheme == "http":
        loopback = host == "localhost"
        try:
            loopback = loopback or ipaddress.ip_address(host).is_loopback
        except ValueError:
            pass
        if not loopback:
            raise VaultError("the webhook must use https:// (plain http:// is allowed to a "
                             "loopback address only)")
    return url.strip()


class Monitor:
    """The alert rules (``vault.monitor``). ``transport`` is the webhook's httpx transport
    (tests)."""

    def __init__(self, vault: Vault, *, transport: httpx.BaseTransport | None = None) -> None:
        self.vault = vault
        self.transport = transport

    # -- settings ------------------------------------------------------------------------------

    def settings(self, conn: Connection | None = None) -> dict[str, Any]:
        """Every threshold in force (defaults merged), and whether a webhook is set."""
        if conn is None:
            with self.vault.read() as c:
                return self.settings(c)
        stored = {k: v for k, v in conn.execute(
            select(vault_meta.c.key, vault_meta.c.value)
            .where(vault_meta.c.key.startswith("monitor.")))}
        out: dict[str, Any] = {}
        for name, default in DEFAULTS.items():
            raw = stored.get(f"monitor.{name}")
            try:
                out[name] = int(raw) if raw is not None else default
            except (TypeError, ValueError):
                out[name] = default
        out["webhook"] = WEBHOOK_KEY in stored and stored[WEBHOOK_KEY] is not None
        return out

    def configure(self, actor: Principal, name: str, value: int | str | None) -> None:
        """Set a threshold (``pii_reads_max``, ...) or ``webhook_url`` (None removes it).
        CONFIGURE; audited ``config.change`` (the name, never the URL)."""
        require(actor, Permission.CONFIGURE, what="change the alert rules")
        key = f"monitor.{name}"
        stored: Any
        if name == "webhook_url":
            stored = None
            if value not in (None, ""):
                stored = _check_webhook_url(str(value))
        elif name in DEFAULTS:
            try:
                stored = int(str(value))
            except ValueError:
                raise VaultError(f"{name} must be a whole number, not {value!r}") from None
            if stored < 1:
                raise VaultError(f"{name} must be at least 1")
        else:
            known = ", ".join([*DEFAULTS, "webhook_url"])
            raise VaultError(f"unknown alert setting {name!r}: use one of {known}")
        with self.vault.write() as conn:
            if name == "webhook_url" and stored is not None:
                key_id = self.vault.cipher.new_data_key(conn, "config")
                blob = self.vault.cipher.encrypt(key_id, "vault_meta", "value", key, stored,
                                                 conn=conn)
                assert blob is not None
                stored = {"key_id": key_id, "ct": base64.b64encode(blob).decode("ascii")}
            meta_set(conn, key, stored, self.vault.now())
            self.vault.audit.record("config.change", actor=actor.user_id,
                                    target=f"setting:{key}", details={"key": key}, conn=conn)

    def _webhook_url(self, conn: Connection) -> str | None:
        raw = meta_get(conn, WEBHOOK_KEY)
        if not isinstance(raw, dict):
            return None
        return self.vault.cipher.decrypt(int(raw["key_id"]), "vault_meta", "value", WEBHOOK_KEY,
                                         base64.b64decode(raw["ct"]), conn=conn)

    # -- reading -------------------------------------------------------------------------------

    def alerts(self, actor: Principal, since: datetime | None = None, *,
               rule: str | None = None, limit: int | None = None) -> list[Alert]:
        """Alerts, oldest first (READ_AUDIT); ``limit`` keeps the newest."""
        require(actor, Permission.READ_AUDIT, what="read the alerts")
        q = select(alerts)
        if since is not None:
            q = q.where(alerts.c.at >= since)
        if rule is not None:
            q = q.where(alerts.c.rule == rule)
        q = q.order_by(alerts.c.id.desc())
        if limit is not None:
            q = q.limit(max(0, int(limit)))
        with self.vault.read() as conn:
            return sorted((_alert(r) for r in conn.execute(q)), key=lambda a: a.id)

    # -- the rules -----------------------------------------------------------------------------

    def check(self, conn: Connection | None = None) -> list[Alert]:
        """Run every rule; returns the alerts raised now (already written and, without
        ``conn``, delivered)."""
        if conn is not None:
            return self._check(conn, self.vault.audit.verify(conn=conn))
        chain = self.vault.audit.verify()
        with self.vault.write() as own:
            raised = self._check(own, chain)
        delivered = self.deliver_pending()
        by_id = {a.id: a for a in delivered}
        return [by_id.get(a.id, a) for a in raised]

    def _check(self, conn: Connection, chain: Any) -> list[Alert]:
        self.vault.audit._lock(conn)  # one check at a time: no alert raised twice
        cfg = self.settings(conn)
        now = self.vault.now()
        found: list[tuple[str, str, dict[str, Any]]] = []
        found += self._pii_rate(conn, cfg, now)
        found += self._disabled_users(conn, now)
        found += self._failed_logins(conn, cfg, now)
        found += self._purge_behind(conn, cfg, now)
        if chain is not None and not chain.ok:
            first = chain.problems[0]
            found.append(("audit_chain", "audit", {
                "problems": len(chain.problems), "first_seq": first.seq,
                "first_kind": first.kind,
                "kinds": dict(Counter(p.kind for p in chain.problems))}))
        raised = []
        repeat = timedelta(minutes=cfg["repeat_minutes"])
        for rule, subject, details in found:
            if rule != "disabled_user" and conn.execute(
                    select(alerts.c.id).where(alerts.c.rule == rule, alerts.c.subject == subject,
                                              alerts.c.at > now - repeat).limit(1)).first():
                continue
            severity = _SEVERITY[rule]
            alert_id = conn.execute(insert(alerts).values(
                at=now, rule=rule, severity=severity, subject=subject, details=details)
                .returning(alerts.c.id)).scalar_one()
            self.vault.audit.record("alert", actor=SYSTEM.user_id, target=f"alert:{alert_id}",
                                    details={"rule": rule, "severity": severity,
                                             "subject": subject}, conn=conn)
            raised.append(Alert(alert_id, now, rule, severity, subject, details))
        return raised

    def _pii_rate(self, conn: Connection, cfg: Mapping[str, Any], now: datetime
                  ) -> list[tuple[str, str, dict[str, Any]]]:
        window = cfg["pii_window_minutes"]
        rows = conn.execute(
            select(audit_events.c.actor, func.count())
            .where(audit_events.c.action == "pii.read",
                   audit_events.c.at > now - timedelta(minutes=window),
                   audit_events.c.actor.is_not(None))
            .group_by(audit_events.c.actor)).all()
        return [("pii_rate", f"user:{actor}", {"user": actor, "reads": int(n),
                                                "window_minutes": window,
                                                "max": cfg["pii_reads_max"]})
                for actor, n in rows if n > cfg["pii_reads_max"]]

    def _disabled_users(self, conn: Connection, now: datetime
                        ) -> list[tuple[str, str, dict[str, Any]]]:
        last = meta_get(conn, LAST_SEQ_KEY)
        last_seq = int(last) if isinstance(last, int) else 0
        newest = conn.execute(select(func.max(audit_events.c.seq))).scalar()
        if newest is None:
            return []
        rows = conn.execute(
            select(audit_events.c.seq, audit_events.c.actor, audit_events.c.action)
            .select_from(audit_events.join(users, users.c.id == audit_events.c.actor))
            .where(audit_events.c.seq > last_seq, users.c.disabled_at.is_not(None),
                   audit_events.c.at >= users.c.disabled_at)
            .order_by(audit_events.c.seq)).all()
        meta_set(conn, LAST_SEQ_KEY, int(newest), now)
        per_user: dict[str, list[Any]] = {}
        for r in rows:
            per_user.setdefault(r.actor, []).append(r)
        return [("disabled_user", f"user:{uid}", {
            "user": uid, "events": len(evs), "actions": sorted({e.action for e in evs}),
            "seqs": [e.seq for e in evs[:20]]}) for uid, evs in per_user.items()]

    def _failed_logins(self, conn: Connection, cfg: Mapping[str, Any], now: datetime
                       ) -> list[tuple[str, str, dict[str, Any]]]:
        window = cfg["failed_window_minutes"]
        rows = conn.execute(
            select(audit_events.c.target, func.count())
            .where(audit_events.c.action == "login.failed",
                   audit_events.c.at > now - timedelta(minutes=window))
            .group_by(audit_events.c.target)).all()
        out = [("failed_logins", str(target), {
            "target": target, "failures": int(n), "window_minutes": window,
            "max": cfg["failed_logins_max"]})
            for target, n in rows if target is not None and n >= cfg["failed_logins_max"]]
        total = sum(int(n) for _t, n in rows)
        if total >= cfg["failed_logins_total_max"]:
            out.append(("failed_logins", "all", {
                "failures": total, "targets": len(rows), "window_minutes": window,
                "max": cfg["failed_logins_total_max"]}))
        return out

    def overdue_orders(self, conn: Connection, now: datetime) -> int:
        """Orders whose PII is past its retention and not erased nor held: the retention's own
        plan, so the alert and the purge never disagree."""
        return self.vault.retention.overdue(conn, now)

    def _purge_behind(self, conn: Connection, cfg: Mapping[str, Any], now: datetime
                      ) -> list[tuple[str, str, dict[str, Any]]]:
        hours = cfg["purge_max_hours"]
        last_ok = conn.execute(select(func.max(purge_runs.c.finished_at)).where(
            purge_runs.c.finished_at.is_not(None), purge_runs.c.error.is_(None))).scalar()
        if last_ok is not None and last_ok > now - timedelta(hours=hours):
            return []
        overdue = self.overdue_orders(conn, now)
        if not overdue:
            return []
        q = select(func.count()).select_from(purge_runs).where(purge_runs.c.error.is_not(None))
        if last_ok is not None:
            q = q.where(purge_runs.c.started_at > last_ok)
        failed = conn.execute(q).scalar_one()
        return [("purge_behind", "purge", {
            "overdue_orders": overdue, "max_hours": hours, "failed_runs_since": int(failed),
            "last_success": last_ok.isoformat() if last_ok else None})]

    # -- the webhook ---------------------------------------------------------------------------

    def deliver_pending(self) -> list[Alert]:
        """POST every undelivered alert of the last day to the webhook (if set); failures are
        recorded on the alert. Returns the alerts tried."""
        now = self.vault.now()
        with self.vault.read() as conn:
            url = self._webhook_url(conn)
            if url is None:
                return []
            timeout = self.settings(conn)["webhook_timeout_seconds"]
            pending = [_alert(r) for r in conn.execute(
                select(alerts).where(alerts.c.delivered_at.is_(None),
                                     alerts.c.at > now - timedelta(hours=_RETRY_HOURS))
                .order_by(alerts.c.id).limit(100))]
        if not pending:
            return []
        import httpx

        done = []
        with httpx.Client(transport=self.transport, timeout=timeout,
                          follow_redirects=False) as client:
            for a in pending:
                error = None
                try:
                    resp = client.post(url, json={"source": "sellerkit-vault",
                                                  "alert": a.payload()})
                    if resp.status_code >= 300:
                        error = f"the webhook answered HTTP {resp.status_code}"
                except httpx.HTTPError as exc:  # the URL is a secret: only the error's kind
                    error = f"the webhook could not be reached ({type(exc).__name__})"
                with self.vault.write() as conn:
                    values: dict[str, Any] = ({"delivered_at": self.vault.now(),
                                               "delivery_error": None} if error is None
                                              else {"delivery_error": error[:500]})
                    conn.execute(update(alerts).where(alerts.c.id == a.id).values(**values))
                done.append(Alert(a.id, a.at, a.rule, a.severity, a.subject, a.details,
                                  values.get("delivered_at"), error))
        return done
