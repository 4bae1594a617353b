"""The evidence pack: this deployment's answers to Amazon's security questions, with proof.

``collect(vault, actor)`` reads what the vault actually enforces and shows at this moment: the
encryption in force and the key's age (``vault.cipher.describe()``), the retention policy and its
purge runs, the audit chain's verification, users per role with their MFA and lock-out state,
alerts, incidents and the incident contact, the inventory, exports, the PII field classification
and an access review (every ``pii.read``: who, when, why). Each security question of the developer
profile (``data/security_questions.json``, from next-waves.md §5) gets an answer built from those
facts; whatever only the operator can answer (firewalls, devices, policies, people) is marked
``[OPERATOR: ...]`` instead of being made up.

``write_pack(vault, actor, out_dir)`` writes ``evidence.md``, ``evidence.json`` and
``data-flow.svg`` (a diagram drawn from the same facts: no graphviz), each atomically. Nothing in
the pack is PII: ids, counts, kinds, times, and the purposes users stated for their PII reads.
Needs the READ_AUDIT permission (admin or auditor).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from sqlalchemy import func, select

from sellerkit._files import write_private
from sellerkit.vault import schema as s
from sellerkit.vault.roles import ROLE_PERMISSIONS, Permission, Principal, Role, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["Evidence", "collect", "load_questions", "render_markdown", "render_svg", "write_pack"]

ACCESS_REVIEW_DAYS = 90
PACK_FILES = ("evidence.md", "evidence.json", "data-flow.svg")


def load_questions() -> list[dict[str, Any]]:
    raw = resources.files("sellerkit.vault").joinpath("data/security_questions.json").read_text()
    return list(json.loads(raw)["questions"])


@dataclass
class Evidence:
    generated_at: datetime
    facts: dict[str, Any]
    answers: list[dict[str, Any]]
    pii_fields: list[dict[str, Any]]
    access_review: dict[str, Any]
    svg: str = field(repr=False, default="")

    def as_dict(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at.isoformat(), "facts": self.facts,
                "answers": self.answers, "pii_fields": self.pii_fields,
                "access_review": self.access_review}


def _op(text: str) -> str:
    return f"[OPERATOR: {text}]"


# -- facts --------------------------------------------------------------------------------------

def _count(c: Any, table: Any, *where: Any) -> int:
    return int(c.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _users(vault: Vault, actor: Principal) -> dict[str, Any]:
    found = vault.users.list(actor)
    active = [u for u in found if not u.disabled]
    persons = [u for u in active if u.kind == "person"]
    per_role = {role.value: sum(1 for u in active if u.role == role) for role in Role}
    return {
        "total": len(found), "active": len(active), "disabled": len(found) - len(active),
        "per_role": per_role,
        "persons": len(persons), "services": len(active) - len(persons),
        "persons_with_mfa": sum(1 for u in persons if u.totp),
        "persons_without_mfa": [u.user_id for u in persons if not u.totp],
        "locked": [u.user_id for u in active if u.locked],
        "with_failed_logins": sum(1 for u in active if u.failed_logins > 0),
    }


def _password_policy(vault: Vault) -> dict[str, Any]:
    """What the vault's user store enforces: its password policy and lock-out threshold."""
    from dataclasses import asdict

    from sellerkit.vault import users as users_mod

    out: dict[str, Any] = dict(asdict(vault.users.policy()))
    out["lockout_after_failed_logins"] = users_mod.LOCKOUT_THRESHOLD
    return out


def _pii_fields() -> list[dict[str, Any]]:
    """The PII classification the vault encrypts by (vault-core's ``pii_fields.json``): every
    field of every stored response shape marked PII, its category and where it is encrypted."""
    try:
        from sellerkit.vault.pii import classification
    except ImportError:  # pragma: no cover - the order store's classification is not installed
        return []
    shapes: dict[str, Any] = classification().data.get("shapes", {})
    out: list[dict[str, Any]] = []
    for shape, spec in sorted(shapes.items()):
        for path, entry in sorted(spec.get("fields", {}).items()):
            if "pii" in entry:
                out.append({"shape": shape, "field": path, "category": entry["pii"],
                            "record": entry.get("to"), "column": entry.get("column")})
            elif "pii_object" in entry:
                out.append({"shape": shape, "field": path, "category": "object (unknown "
                            "fields are PII)", "record": entry["pii_object"],
                            "column": "extra_pii_ct"})
    return out


def _stored_ciphertext_columns() -> list[dict[str, str]]:
    """Every encrypted column of the schema: the at-rest side of the PII inventory."""
    out = []
    for table in s.metadata.sorted_tables:
        for col in table.columns:
            if col.name.endswith("_ct"):
                out.append({"table": table.name, "column": col.name,
                            "encryption": "AES-256-GCM, data key per record"})
    return out


def _events(vault: Vault, actor: Principal, action: str, since: datetime) -> list[Any]:
    return list(vault.audit.events(actor, action=action, since=since))


def _facts(vault: Vault, actor: Principal) -> dict[str, Any]:
    now = vault.now()
    since_review = now - timedelta(days=ACCESS_REVIEW_DAYS)
    url = vault.engine.url
    database: dict[str, Any] = {"url": url.render_as_string(hide_password=True),
                                "backend": vault.engine.dialect.name}
    host = url.host or ""
    database["loopback_only"] = (vault.engine.dialect.name == "sqlite"
                                 or host in ("127.0.0.1", "localhost", "::1"))
    encryption = vault.cipher.describe()
    retention = vault.retention.status(actor).as_dict()
    runs = vault.retention.runs(actor, limit=10)
    verification = vault.audit.verify(actor)
    inventory = [i.as_dict() for i in vault.inventory.list(actor)]
    incidents = [i.as_dict(now) for i in vault.incidents.list(actor)]
    contact = vault.incidents.contact()
    users = _users(vault, actor)
    with vault.read() as c:
        o = s.orders.c
        orders = {"total": _count(c, s.orders),
                  "with_live_pii": _count(c, s.orders, o.key_id.is_not(None),
                                          o.pii_erased_at.is_(None)),
                  "pii_erased": _count(c, s.orders, o.pii_erased_at.is_not(None))}
        k = s.connections.c
        connections = {"total": _count(c, s.connections),
                       "token_encrypted": _count(c, s.connections, k.refresh_token_ct.is_not(None)),
                       "renewal_due_30d": _count(c, s.connections, k.renewal_due_at.is_not(None),
                                                 k.renewal_due_at <= now + timedelta(days=30))}
        a = s.alerts.c
        alert_rows = list(c.execute(select(a.rule, a.severity, a.delivered_at)
                                    .where(a.at >= since_review)))
        h = s.legal_holds.c
        holds = Counter(r.scope for r in c.execute(select(h.scope).where(h.released_at.is_(None))))
        audit_oldest = c.execute(select(func.min(s.audit_events.c.at))).scalar()
    failed_logins = _events(vault, actor, "login.failed", since_review)
    exports = _events(vault, actor, "export", since_review)
    try:
        audit_retention = int(vault.audit.retention_months())
    except AttributeError:  # pragma: no cover - older audit part
        audit_retention = None
    return {
        "generated_at": now.isoformat(),
        "database": database,
        "encryption": encryption,
        "retention": retention,
        "purge_runs": runs,
        "legal_holds": dict(holds),
        "audit": {"ok": verification.ok, "checked": verification.checked,
                  "problems": len(verification.problems),
                  "problem_kinds": dict(Counter(p.kind for p in verification.problems)),
                  "oldest_entry": audit_oldest.isoformat() if audit_oldest else None,
                  "retention_months": audit_retention},
        "users": users,
        "roles": {r.value: sorted(p.value for p in ROLE_PERMISSIONS[r]) for r in Role},
        "password_policy": _password_policy(vault),
        "lockouts": {"locked_users": len(users["locked"]),
                     f"failed_logins_{ACCESS_REVIEW_DAYS}d": len(failed_logins)},
        "alerts": {f"last_{ACCESS_REVIEW_DAYS}d": len(alert_rows),
                   "per_rule": dict(Counter(r.rule for r in alert_rows)),
                   "undelivered": sum(1 for r in alert_rows if r.delivered_at is None)},
        "incidents": {"contact": (f"{contact['name']} <{contact['email']}>" if contact else None),
                      "total": len(incidents),
                      "open": sum(1 for i in incidents if i["status"] != "closed"),
                      "overdue": sum(1 for i in incidents if i["overdue"]),
                      "notified_late": sum(1 for i in incidents if i["notified_at"]
                                           and i["notified_at"] > i["deadline_at"]),
                      "list": [{k: i[k] for k in ("id", "severity", "status", "detected_at",
                                                  "deadline_at", "notified_at", "closed_at",
                                                  "overdue")} for i in incidents]},
        "inventory": inventory,
        "exports": {f"last_{ACCESS_REVIEW_DAYS}d": len(exports),
                    "with_pii": sum(1 for e in exports if (e.details or {}).get("pii"))},
        "orders": orders,
        "connections": connections,
    }


def _access_review(vault: Vault, actor: Principal) -> dict[str, Any]:
    since = vault.now() - timedelta(days=ACCESS_REVIEW_DAYS)
    events = _events(vault, actor, "pii.read", since)
    per_user: dict[str, dict[str, int]] = {}
    for e in events:
        d = per_user.setdefault(e.actor or "?", {"ok": 0, "denied": 0, "failed": 0})
        d[e.outcome] = d.get(e.outcome, 0) + 1
    return {
        "since": since.isoformat(), "days": ACCESS_REVIEW_DAYS, "reads": len(events),
        "per_user": per_user,
        "events": [{"at": e.at.isoformat(), "user": e.actor, "target": e.target,
                    "purpose": e.purpose, "outcome": e.outcome} for e in events],
    }


# -- answers ------------------------------------------------------------------------------------

def _answers(f: dict[str, Any], pii_fields: list[dict[str, Any]],
             review: dict[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    enc = f["encryption"]
    kek = enc.get("kek") or {}
    ret = f["retention"]
    pol = ret["policy"]
    users = f["users"]
    audit = f["audit"]
    inc = f["incidents"]
    db = f["database"]
    inv = f["inventory"]
    problems = [f"{i['kind']} {i['location']}: {p}" for i in inv for p in i["problems"]]
    exports = [i for i in inv if i["kind"] == "export"]
    clear_pii = [i for i in inv if i["contains_pii"] and not i["encrypted"]
                 and i["kind"] not in ("database",)]
    last = ret.get("last_run")
    kinds = sorted({str(x["category"]) for x in pii_fields
                    if not str(x["category"]).startswith("object")})
    role_line = ", ".join(f"{r} {n}" for r, n in users["per_role"].items())
    a: dict[str, tuple[list[str], list[str]]] = {}
    a["pii-need"] = (
        [f"The vault classifies {len(pii_fields)} PII fields of Amazon's responses"
         + (f" ({', '.join(kinds[:12])})" if kinds else "")
         + f" and keeps them encrypted for at most {ret['pii_days']} days after delivery.",
         f"{f['orders']['with_live_pii']} orders currently hold PII; "
         f"{f['orders']['pii_erased']} have had it erased."],
        [_op("why your business needs each restricted role's PII (e.g. to ship merchant-"
             "fulfilled orders, to produce tax invoices)")])
    a["outside-parties"] = (
        [f"Data leaves the vault only as encrypted exports: {len(exports)} export file(s) on "
         f"record, {sum(1 for e in exports if e['contains_pii'])} with PII; "
         f"{f['exports'][f'last_{ACCESS_REVIEW_DAYS}d']} export(s) audited in the last "
         f"{ACCESS_REVIEW_DAYS} days."],
        [_op("name every outside party (carriers, accountants, hosting) that receives Amazon "
             "data and how it is sent to them")])
    a["network-controls"] = (
        [f"The vault database is {db['backend']} at {db['url']}"
         + (" (local file / loopback only)." if db["loopback_only"] else "."),
         "Secrets travel over TLS; sellerkit refuses to turn TLS verification off except for "
         "loopback."],
        [_op("firewall / security-group rules, network segmentation, IDS/IPS, VPN for "
             "developer endpoints")])
    a["unique-ids"] = (
        [f"{users['active']} active user account(s), each a unique id with one role "
         f"({role_line}); {users['services']} service account(s); {users['disabled']} disabled.",
         "Roles are enforced by the vault API itself: only admin and fulfillment may decrypt "
         "PII, and only with a stated purpose that is audited "
         f"({review['reads']} PII read(s) in the last {ACCESS_REVIEW_DAYS} days, see the "
         "access review)."],
        [_op("how access is requested, approved and reviewed (at least quarterly), and removed "
             "when staff leave")])
    a["personal-devices"] = (
        ["Exports through sellerkit are always encrypted (AES-256-GCM under a fresh vault "
         "data key wrapped by the KEK) and recorded in the inventory; they are readable only "
         "through the vault (sellerkit vault decrypt-export, audited).",
         (f"{len(clear_pii)} clear file(s) with PII on record." if clear_pii
          else "No clear file with PII is on record.")],
        [_op("device management, USB / removable-media blocking and alerting, anti-malware "
             "users cannot disable")])
    a["privacy-policy"] = ([], [_op("the URL of your privacy and data-handling policy")])
    a["encryption-at-rest"] = (
        [f"PII is encrypted field by field with {enc.get('algorithm')}, a data key per record, "
         f"wrapped by a key-encryption key from the '{kek.get('provider')}' provider "
         f"(fingerprint {str(kek.get('fingerprint', ''))[:16]}, created "
         f"{kek.get('created_at')}, {kek.get('age_days')} days old).",
         f"Data keys: {enc.get('data_keys', {}).get('live')} live, "
         f"{enc.get('data_keys', {}).get('destroyed')} destroyed by erasure.",
         f"Stored in: {db['url']}; other places: "
         + (", ".join(sorted({i['kind'] for i in inv})) or "none") + " (see the inventory)."],
        [_op("disk / volume encryption of the database host and its backups")])
    a["backups"] = (
        ["A database backup carries PII only as ciphertext; without the key-encryption key it "
         "cannot be read, and erased records stay erased in later backups.",
         f"Backups on record in the inventory: {sum(1 for i in inv if i['kind'] == 'backup')}."],
        [_op("backup schedule, where backups are kept (geographically dispersed), their "
             "encryption and how long they are kept")])
    a["monitoring"] = (
        [f"Security events are written to a hash-chained audit log; verification now: "
         f"{'OK' if audit['ok'] else 'FAILED'} ({audit['checked']} entries checked, "
         f"{audit['problems']} problem(s)).",
         f"Audit entries are kept {audit['retention_months']} months (policy minimum "
         f"{pol['security_log_days']} days); oldest entry {audit['oldest_entry']}.",
         f"Alerts in the last {ACCESS_REVIEW_DAYS} days: {f['alerts'][f'last_{ACCESS_REVIEW_DAYS}d']}"
         + (f" ({', '.join(f'{k} {v}' for k, v in f['alerts']['per_rule'].items())})"
            if f["alerts"]["per_rule"] else "")
         + f"; {f['lockouts'][f'failed_logins_{ACCESS_REVIEW_DAYS}d']} failed log-in(s); "
         f"{f['lockouts']['locked_users']} account(s) locked now."],
        [_op("host and network monitoring outside sellerkit (IDS, anti-malware, log shipping)")])
    a["incident-response"] = (
        [f"Incident Management Point of Contact: {inc['contact']}." if inc["contact"] else
         "No Incident Management Point of Contact is configured.",
         f"Incidents are recorded with their detection time and a 24-hour deadline to notify "
         f"Amazon: {inc['total']} recorded, {inc['open']} open, {inc['overdue']} overdue, "
         f"{inc['notified_late']} notified late."],
        ([] if inc["contact"] else
         [_op("set the contact: sellerkit vault config set incident_contact \"Name <email>\"")])
        + [_op("your incident-response plan (roles, escalation), reviewed every 6 months")])
    pp = f["password_policy"]
    a["password-policy"] = (
        [f"{users['persons_with_mfa']} of {users['persons']} person account(s) have MFA (TOTP) "
         f"enabled" + (f"; without MFA: {', '.join(users['persons_without_mfa'])}."
                       if users["persons_without_mfa"] else "."),
         "Enforced by the vault's user store: "
         + (", ".join(f"{k} = {v}" for k, v in sorted(pp.items())) if pp else
            "passwords hashed with argon2, lock-out after repeated failures") + "."],
        [_op("the password policy of systems outside sellerkit (hosts, cloud console)")])
    a["pii-in-testing"] = (
        ["sellerkit's tests and demos run against its local SP-API emulator with generated "
         "data, not Amazon PII."],
        [_op("confirm no production PII is copied into test or staging environments")])
    a["credential-exposure"] = (
        [f"Sellers' refresh tokens are encrypted in the vault ({f['connections']['token_encrypted']} "
         f"of {f['connections']['total']} connections hold an encrypted token); "
         f"{f['connections']['renewal_due_30d']} authorization(s) due for renewal within 30 days.",
         "Key files on record: " + (", ".join(
             f"{i['location']} (mode {i['mode']})" for i in inv if i["kind"] == "key_file")
             or "none (the key is held outside a file)") + ".",
         "Secrets are masked in logs, errors and CLI output."],
        [_op("where LWA client secrets and AWS credentials are stored, who can read them, "
             "rotation schedule")])
    a["vuln-remediation"] = ([], [_op("scan / penetration-test schedule and how findings are "
                                      "tracked (critical within 7 days, high within 30)")])
    a["code-vulnerabilities"] = ([], [_op("dependency updates, code review, static analysis")])
    a["change-management"] = ([], [_op("the job title of the change-management owner")])
    a["non-amazon-sources"] = ([], [_op("whether Amazon data also comes from other sources")])
    a["retention"] = (
        [f"Policy {pol['version']} (effective {pol['effective']}): PII erased at the latest "
         f"{ret['pii_days']} days after delivery by destroying the record's data key and "
         f"clearing its ciphertext; non-PII Amazon data deleted after {pol['non_pii_months']} "
         f"months; security logs kept at least {pol['security_log_days']} days.",
         f"Purge runs recorded: {ret['runs']}; last: "
         + (f"{last['finished_at']} ({last['trigger']}, by {last['actor']}, counts "
            f"{json.dumps(last['counts'], sort_keys=True)})" if last else "never")
         + f". Orders overdue for erasure now: {ret['overdue']}.",
         f"Legal holds in force: {ret['active_holds']} "
         f"({', '.join(f'{k} {v}' for k, v in f['legal_holds'].items()) or 'none'}); "
         f"{ret['held_orders']} order(s) kept past {ret['pii_days']} days under a hold."],
        ([] if last else [_op("run the first purge: sellerkit vault purge")]))
    if problems:
        a["encryption-at-rest"][1].append(_op("fix the inventory problems: " + "; ".join(problems)))
    return a


def collect(vault: Vault, actor: Principal) -> Evidence:
    """Gather the facts and answer every security question from them."""
    require(actor, Permission.READ_AUDIT, what="export the evidence pack")
    facts = _facts(vault, actor)
    pii = _pii_fields()
    review = _access_review(vault, actor)
    answers_by_id = _answers(facts, pii, review)
    answers = []
    for q in load_questions():
        enforced, operator = answers_by_id.get(q["id"], ([], [_op("answer this question")]))
        answers.append({**q, "answer": enforced, "operator": operator})
    ev = Evidence(vault.now(), facts, answers,
                  pii_fields=pii or _stored_ciphertext_columns(), access_review=review)
    ev.facts["encrypted_columns"] = _stored_ciphertext_columns()
    ev.svg = render_svg(facts)
    return ev


# -- rendering ----------------------------------------------------------------------------------

def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(ev: Evidence) -> str:
    f = ev.facts
    out = [
        "# Security evidence pack",
        "",
        f"Generated {ev.generated_at.isoformat(timespec='seconds')} by sellerkit from the vault "
        f"`{f['database']['url']}`. Every answer below is read from what this deployment "
        "enforces now; `[OPERATOR: ...]` marks what only the operator can answer.",
        "",
        "## Security questions",
        "",
    ]
    for q in ev.answers:
        num = f"{q['number']} " if q.get("number") else ""
        out += [f"### {num}{q['topic']}", "", f"*{q['question']}*", ""]
        out += [f"- {line}" for line in q["answer"]]
        out += [f"- {line}" for line in q["operator"]]
        out.append("")
    out += ["## Data flow", "", "![data flow](data-flow.svg)", "",
            "## PII field inventory", ""]
    if ev.pii_fields:
        keys = [k for k in ev.pii_fields[0] if k not in ("about",)]
        out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        for fld in ev.pii_fields:
            out.append("| " + " | ".join(_md_escape(fld.get(k, "")) for k in keys) + " |")
    out += ["", "Encrypted columns at rest:", ""]
    out += [f"- `{c['table']}.{c['column']}` ({c['encryption']})"
            for c in f["encrypted_columns"]]
    r = ev.access_review
    out += ["", "## Access review: PII reads", "",
            f"{r['reads']} PII read(s) since {r['since']} ({r['days']} days).", ""]
    if r["per_user"]:
        out += ["| user | ok | denied |", "|---|---|---|"]
        out += [f"| {_md_escape(u)} | {d.get('ok', 0)} | {d.get('denied', 0)} |"
                for u, d in sorted(r["per_user"].items())]
        out += ["", "| when | user | record | purpose | outcome |", "|---|---|---|---|---|"]
        out += [f"| {e['at']} | {_md_escape(e['user'])} | {_md_escape(e['target'] or '')} | "
                f"{_md_escape(e['purpose'] or '')} | {e['outcome']} |" for e in r["events"]]
    out += ["", "## Retention runs", ""]
    if f["purge_runs"]:
        out += ["| run | finished | trigger | by | policy | counts |", "|---|---|---|---|---|---|"]
        out += [f"| {p['id']} | {p['finished_at'] or 'failed'} | {p['trigger']} | "
                f"{_md_escape(p['actor'])} | {p['policy_version']} | "
                f"{_md_escape(json.dumps(p['counts'], sort_keys=True))} |"
                for p in f["purge_runs"]]
    else:
        out.append("No purge has run yet.")
    out += ["", "## Data inventory", "", "| kind | location | status | PII | problems |",
            "|---|---|---|---|---|"]
    out += [f"| {i['kind']} | `{_md_escape(i['location'])}` | {i['status']} | "
            f"{'yes' if i['contains_pii'] else 'no'} | {_md_escape('; '.join(i['problems']))} |"
            for i in f["inventory"]]
    out += ["", "## Incidents", ""]
    inc = f["incidents"]
    out.append(f"Contact: {inc['contact'] or '[OPERATOR: not configured]'}. "
               f"{inc['total']} recorded, {inc['open']} open, {inc['overdue']} overdue.")
    out.append("")
    return "\n".join(out)


def _box(x: int, y: int, w: int, h: int, title: str, lines: list[str], fill: str) -> str:
    parts = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" '
             f'stroke="#333" stroke-width="1.5"/>',
             f'<text x="{x + w // 2}" y="{y + 22}" text-anchor="middle" font-weight="bold">'
             f'{escape(title)}</text>']
    for i, line in enumerate(lines):
        parts.append(f'<text x="{x + w // 2}" y="{y + 42 + 16 * i}" text-anchor="middle" '
                     f'font-size="11">{escape(line)}</text>')
    return "\n".join(parts)


def _arrow(x1: int, y1: int, x2: int, y2: int, label: str = "") -> str:
    out = (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.5" '
           f'marker-end="url(#arrow)"/>')
    if label:
        out += (f'\n<text x="{(x1 + x2) // 2}" y="{(y1 + y2) // 2 - 6}" text-anchor="middle" '
                f'font-size="10" fill="#555">{escape(label)}</text>')
    return out


def render_svg(f: dict[str, Any]) -> str:
    """The data-flow diagram of this deployment, as a standalone SVG document."""
    enc = f["encryption"]
    kek = enc.get("kek") or {}
    users = f["users"]
    inv = f["inventory"]
    exports = [i for i in inv if i["kind"] == "export"]
    reports = [i for i in inv if i["kind"] == "report_file"]
    ret = f["retention"]
    body = [
        _box(20, 40, 170, 90, "Amazon SP-API", ["orders, reports, feeds", "TLS 1.2+"], "#fde9c9"),
        _box(250, 40, 190, 90, "sellerkit sync",
             [f"{f['connections']['total']} seller connection(s)", "tokens encrypted",
              "purge after each run"], "#dbe9f6"),
        _box(500, 20, 230, 140, "Vault database",
             [f"{f['database']['backend']}", f"PII fields {enc.get('algorithm')}",
              f"{f['orders']['total']} orders, {f['orders']['with_live_pii']} with PII",
              f"PII erased {ret['pii_days']} days after delivery",
              f"audit chain {'verified' if f['audit']['ok'] else 'FAILED'}"], "#d9f2d9"),
        _box(500, 240, 230, 90, "Key provider",
             [f"KEK: {kek.get('provider')}", f"age {kek.get('age_days')} days",
              f"{enc.get('data_keys', {}).get('live')} live data keys"], "#eeeeee"),
        _arrow(190, 85, 250, 85, "HTTPS"),
        _arrow(440, 85, 500, 85, "encrypt PII"),
        _arrow(615, 240, 615, 160, "wraps data keys"),
    ]
    y = 20
    for role in Role:
        n = users["per_role"].get(role.value, 0)
        pii = "PII with purpose" if Permission.READ_PII in ROLE_PERMISSIONS[role] else "no PII"
        if role is Role.AUDITOR:
            pii = "audit, evidence"
        body.append(_box(800, y, 180, 52, f"{role.value} ({n})", [pii], "#f3e1f7"))
        body.append(_arrow(730, 90, 800, y + 26))
        y += 64
    body.append(_box(250, 240, 190, 90, "Files sellerkit wrote",
                     [f"{len(exports)} encrypted export(s)", f"{len(reports)} report file(s)",
                      "recorded in the inventory"], "#fff6bf"))
    body.append(_arrow(500, 285, 440, 285, "export"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="360" '
        'viewBox="0 0 1000 360" font-family="Helvetica, Arial, sans-serif" font-size="13">\n'
        '<title>sellerkit data flow</title>\n'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#333"/></marker></defs>\n'
        '<rect width="1000" height="360" fill="white"/>\n'
        + "\n".join(body)
        + f'\n<text x="20" y="350" font-size="10" fill="#777">generated '
        f'{escape(f["generated_at"])} from this deployment</text>\n</svg>\n')


def write_pack(vault: Vault, actor: Principal, out_dir: str | Path) -> list[Path]:
    """Write the pack's Markdown, JSON and SVG files into ``out_dir`` (each atomically)."""
    ev = collect(vault, actor)
    out = Path(out_dir).expanduser()
    md, js, svg = (out / name for name in PACK_FILES)
    write_private(js, json.dumps(ev.as_dict(), indent=2, sort_keys=True, default=str) + "\n")
    write_private(svg, ev.svg)
    write_private(md, render_markdown(ev))
    return [md, js, svg]
