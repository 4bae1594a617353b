"""Security incidents: their record, the 24-hour notice to Amazon, and its draft.

Amazon's Data Protection Policy asks that Amazon be told within 24 hours of *detecting* an
incident (``../shared/sp-api-facts.md`` §11, confirmed on the developer docs' incident-response
page). ``vault.incidents.open`` records an incident with its detection time (now, or earlier when
it was found before it was recorded) and its deadline, detection + 24 hours; listings show the
time left or how long it is overdue until it is marked notified or closed.

``draft_notification`` writes the notice: what happened, when it was detected, the data the
vault held that could be affected (counts and kinds only, never PII), the containment actions
the audit log shows since the detection, and the Incident Management Point of Contact from the
vault's settings (``sellerkit vault config set incident_contact "Name <email>"``). The address
to send it to is not confirmed by an official source (older DPP copies say
3p-security@amazon.com, many developers cite security@amazon.com); the draft says so.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from sellerkit.errors import VaultError
from sellerkit.vault import schema as s
from sellerkit.vault.roles import Permission, Principal, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["NOTICE_HOURS", "SEVERITIES", "Incident", "Incidents", "format_delta"]

NOTICE_HOURS = 24
SEVERITIES = ("low", "medium", "high", "critical")
ADDRESSEE = (
    "Amazon's security team. ADDRESS UNCONFIRMED: older copies of the Data Protection Policy "
    "name 3p-security@amazon.com and many developers cite security@amazon.com; the official "
    "incident-response page obfuscates it. Check the current Data Protection Policy in Seller "
    "Central / Solution Provider Portal before sending.")
# audit actions that count as containment when they happen after the detection
CONTAINMENT_ACTIONS = ("key.rotate", "user.change", "user.disable", "connection.update",
                       "purge", "apikey.rotate", "api_key.rotate", "hold.add")


def format_delta(delta: timedelta) -> str:
    """``5h 03m`` (negative deltas as their absolute value: the caller says left or overdue)."""
    secs = abs(int(delta.total_seconds()))
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    return f"{days}d {hours}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m"


@dataclass(frozen=True)
class Incident:
    id: int
    title: str
    description: str | None
    severity: str
    status: str  # open | notified | closed
    detected_at: datetime
    opened_at: datetime
    deadline_at: datetime
    notified_at: datetime | None
    closed_at: datetime | None
    opened_by: str
    closed_by: str | None
    resolution: str | None

    def time_left(self, now: datetime) -> timedelta:
        return self.deadline_at - now

    def overdue(self, now: datetime) -> bool:
        """The notice to Amazon is late: not sent, and the deadline has passed."""
        return self.notified_at is None and now > self.deadline_at

    def deadline_text(self, now: datetime) -> str:
        if self.notified_at is not None:
            late = self.notified_at > self.deadline_at
            return (f"Amazon notified {self.notified_at.isoformat(timespec='minutes')}"
                    + (f" ({format_delta(self.notified_at - self.deadline_at)} late)"
                       if late else ""))
        left = self.time_left(now)
        if left.total_seconds() < 0:
            return f"OVERDUE by {format_delta(left)}: notify Amazon now"
        return f"{format_delta(left)} left to notify Amazon"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"id": self.id, "title": self.title, "description": self.description,
                "severity": self.severity, "status": self.status,
                "detected_at": iso(self.detected_at), "opened_at": iso(self.opened_at),
                "deadline_at": iso(self.deadline_at), "notified_at": iso(self.notified_at),
                "closed_at": iso(self.closed_at), "opened_by": self.opened_by,
                "closed_by": self.closed_by, "resolution": self.resolution,
                "overdue": self.overdue(now),
                "seconds_left": int(self.time_left(now).total_seconds()),
                "deadline": self.deadline_text(now)}


def _from_row(r: Any) -> Incident:
    return Incident(r.id, r.title, r.description, r.severity, r.status, r.detected_at,
                    r.opened_at, r.deadline_at, r.notified_at, r.closed_at, r.opened_by,
                    r.closed_by, r.resolution)


class Incidents:
    """``vault.incidents``: open, list, mark notified, close, draft the notice."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def open(self, actor: Principal, title: str, *, detected_at: datetime | None = None,
             severity: str = "high", description: str | None = None) -> Incident:
        """Record an incident; its deadline is ``detected_at`` (default now) + 24 hours."""
        require(actor, Permission.MANAGE_INCIDENTS, what="open an incident")
        title = (title or "").strip()
        if not title:
            raise VaultError("an incident needs a title (what happened, in a few words)")
        if len(title) > 200:
            raise VaultError("the incident title is longer than 200 characters: put the rest "
                             "in --description")
        severity = (severity or "").strip().lower()
        if severity not in SEVERITIES:
            raise VaultError(f"unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}")
        now = self.vault.now()
        detected = detected_at or now
        if detected.tzinfo is None:
            raise VaultError("the detection time needs a time zone (e.g. 2026-05-01T09:30Z)")
        if detected > now + timedelta(minutes=5):
            raise VaultError("the detection time is in the future: give when the incident was "
                             "detected (e.g. --detected-at 2026-05-01T09:30Z)")
        deadline = detected + timedelta(hours=NOTICE_HOURS)
        with self.vault.write() as c:
            iid = c.execute(insert(s.incidents).values(
                title=title, description=description, severity=severity, status="open",
                detected_at=detected, opened_at=now, deadline_at=deadline,
                opened_by=actor.user_id).returning(s.incidents.c.id)).scalar_one()
            self.vault.audit.record("incident.open", actor=actor.user_id,
                                    target=f"incident:{iid}",
                                    details={"severity": severity,
                                             "detected_at": detected.isoformat()}, conn=c)
            row = c.execute(select(s.incidents).where(s.incidents.c.id == iid)).one()
        return _from_row(row)

    def get(self, actor: Principal, incident_id: int) -> Incident:
        self._may_read(actor)
        with self.vault.read() as c:
            row = c.execute(select(s.incidents).where(s.incidents.c.id == incident_id)).first()
        if row is None:
            raise VaultError(f"no incident {incident_id}: see sellerkit incident list")
        return _from_row(row)

    def list(self, actor: Principal, *, include_closed: bool = True) -> builtins.list[Incident]:
        self._may_read(actor)
        q = select(s.incidents).order_by(s.incidents.c.id)
        if not include_closed:
            q = q.where(s.incidents.c.status != "closed")
        with self.vault.read() as c:
            return [_from_row(r) for r in c.execute(q)]

    def mark_notified(self, actor: Principal, incident_id: int, *,
                      at: datetime | None = None) -> Incident:
        """Record that Amazon was notified (stops the deadline clock)."""
        require(actor, Permission.MANAGE_INCIDENTS, what="update an incident")
        inc = self.get(actor, incident_id)
        if inc.status == "closed":
            raise VaultError(f"incident {incident_id} is closed")
        when = at or self.vault.now()
        with self.vault.write() as c:
            c.execute(update(s.incidents).where(s.incidents.c.id == incident_id).values(
                status="notified", notified_at=when))
            self.vault.audit.record("incident.notify", actor=actor.user_id,
                                    target=f"incident:{incident_id}",
                                    details={"late": when > inc.deadline_at}, conn=c)
        return self.get(actor, incident_id)

    def close(self, actor: Principal, incident_id: int, resolution: str) -> Incident:
        require(actor, Permission.MANAGE_INCIDENTS, what="close an incident")
        resolution = (resolution or "").strip()
        if not resolution:
            raise VaultError("closing an incident needs its resolution (what was done)")
        inc = self.get(actor, incident_id)
        if inc.status == "closed":
            raise VaultError(f"incident {incident_id} is already closed")
        now = self.vault.now()
        with self.vault.write() as c:
            c.execute(update(s.incidents).where(s.incidents.c.id == incident_id).values(
                status="closed", closed_at=now, closed_by=actor.user_id, resolution=resolution))
            self.vault.audit.record("incident.close", actor=actor.user_id,
                                    target=f"incident:{incident_id}",
                                    details={"notified": inc.notified_at is not None}, conn=c)
        return self.get(actor, incident_id)

    def contact(self) -> dict[str, str] | None:
        from sellerkit.vault.settings import get_setting

        with self.vault.read() as c:
            value = get_setting(c, "incident_contact")
        return dict(value) if value else None

    def draft_notification(self, incident_id: int, *, actor: Principal | None = None) -> str:
        """The notice to Amazon, as plain text to review and send (no PII in it)."""
        if actor is not None:
            self._may_read(actor)
        now = self.vault.now()
        with self.vault.read() as c:
            row = c.execute(select(s.incidents).where(s.incidents.c.id == incident_id)).first()
            if row is None:
                raise VaultError(f"no incident {incident_id}: see sellerkit incident list")
            inc = _from_row(row)
            held = self._holdings(c)
            actions = self._containment(c, inc.detected_at)
        contact = self.contact()
        contact_line = (f"{contact['name']} <{contact['email']}>" if contact else
                        "[OPERATOR: no Incident Management Point of Contact is configured: "
                        "sellerkit vault config set incident_contact \"Name <email>\"]")
        lines = [
            f"To: {ADDRESSEE}",
            f"Subject: Security incident notification - {inc.title} (incident {inc.id})",
            "",
            f"Incident Management Point of Contact: {contact_line}",
            "",
            "1. What happened",
            f"   {inc.title}",
        ]
        if inc.description:
            lines += [f"   {ln}" for ln in inc.description.splitlines()]
        lines += [
            f"   Severity: {inc.severity}. Status: {inc.status}.",
            "   [OPERATOR: describe the cause, the systems involved and how it was found]",
            "",
            "2. When",
            f"   Detected: {inc.detected_at.isoformat(timespec='minutes')}",
            f"   Recorded: {inc.opened_at.isoformat(timespec='minutes')}",
            f"   24-hour notice deadline: {inc.deadline_at.isoformat(timespec='minutes')} "
            f"({inc.deadline_text(now)})",
            "",
            "3. Amazon data that may be affected (what the vault held when this was drafted)",
            f"   Orders: {held['orders']} (of which {held['orders_with_pii']} with buyer PII "
            f"not yet erased: names, addresses, e-mails, phones, encrypted AES-256-GCM)",
            f"   Seller authorizations (refresh tokens, encrypted): {held['connections']}",
            f"   Report records: {held['reports']}; feed records: {held['feeds']}; "
            f"exports on record: {held['exports']}",
            "   [OPERATOR: state which of these were actually exposed, or that none were]",
            "",
            "4. Containment",
        ]
        if actions:
            lines += ["   Recorded in the audit log since the detection:"]
            lines += [f"   - {a['at']} {a['action']} ({a['count']}x)" for a in actions]
        else:
            lines += ["   No containment action is recorded in the audit log since the detection."]
        lines += [
            "   [OPERATOR: add what was done outside sellerkit: credentials revoked, hosts "
            "isolated, access removed]",
            "",
            "5. Next steps",
            "   [OPERATOR: remediation planned and when Amazon will hear again]",
            "",
            "We have not notified regulators or customers on Amazon's behalf.",
        ]
        return "\n".join(lines) + "\n"

    # -- internals -------------------------------------------------------------------------------

    def _may_read(self, actor: Principal) -> None:
        if not (actor.can(Permission.MANAGE_INCIDENTS) or actor.can(Permission.READ_AUDIT)):
            require(actor, Permission.MANAGE_INCIDENTS, what="see incidents")

    @staticmethod
    def _holdings(c: Any) -> dict[str, int]:
        def count(table: Any, *where: Any) -> int:
            return int(c.execute(select(func.count()).select_from(table).where(*where))
                       .scalar_one())

        o = s.orders.c
        return {
            "orders": count(s.orders),
            "orders_with_pii": count(s.orders, o.key_id.is_not(None), o.pii_erased_at.is_(None)),
            "connections": count(s.connections),
            "reports": count(s.report_records),
            "feeds": count(s.feed_records),
            "exports": count(s.inventory_items, s.inventory_items.c.kind == "export",
                             s.inventory_items.c.removed_at.is_(None)),
        }

    @staticmethod
    def _containment(c: Any, since: datetime) -> builtins.list[dict[str, Any]]:
        a = s.audit_events.c
        rows = c.execute(select(a.action, func.min(a.at), func.count())
                         .where(a.at >= since, a.action.in_(CONTAINMENT_ACTIONS))
                         .group_by(a.action).order_by(func.min(a.at)))
        return [{"action": r[0], "at": r[1].isoformat(timespec="minutes") if r[1] else "",
                 "count": int(r[2])} for r in rows]
