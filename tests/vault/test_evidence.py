"""The evidence pack answers from the deployment's real state (change it, the answer changes),
marks the operator's part, draws the data flow, reviews PII access, and holds no PII."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update

from sellerkit.errors import AccessDeniedError
from sellerkit.vault import Principal, Role
from sellerkit.vault import schema as s
from sellerkit.vault.evidence import collect, load_questions, write_pack
from sellerkit.vault.roles import SYSTEM
from sellerkit.vault.settings import set_setting
from tests.vault.ret_helpers import PII_VALUES, Clock, open_vault, seed_order

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _answer(ev: Any, qid: str) -> str:
    (a,) = [a for a in ev.answers if a["id"] == qid]
    return "\n".join(a["answer"] + a["operator"])


def _add_user(v: Any, uid: str, role: str, *, mfa: bool = False, locked: bool = False) -> None:
    with v.write() as conn:
        conn.execute(insert(s.users).values(
            id=uid, role=role, kind="person", totp_secret_ct=b"x" if mfa else None,
            failed_logins=10 if locked else 0, locked_at=v.now() if locked else None,
            created_at=v.now(), updated_at=v.now()))


def test_every_question_of_next_waves_is_listed_with_its_numbering() -> None:
    qs = load_questions()
    numbers = {q["number"] for q in qs if q["number"]}
    assert numbers == {"4.1", "1.2", "1.3", "2.3"}
    assert len({q["id"] for q in qs}) == len(qs) >= 17
    for q in qs:
        assert q["topic"] and q["question"].endswith(("?", "."))


def test_the_answers_follow_the_state_of_the_deployment(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    _add_user(v, "alice", "admin", mfa=True)
    ev = collect(v, SYSTEM)
    enc = _answer(ev, "encryption-at-rest")
    assert "AES-256-GCM" in enc and "'file' provider" in enc and ", 0 days old" in enc
    assert "No Incident Management Point of Contact" in _answer(ev, "incident-response")
    assert "[OPERATOR: set the contact" in _answer(ev, "incident-response")
    assert "Purge runs recorded: 0; last: never" in _answer(ev, "retention")
    assert "verification now: OK" in _answer(ev, "monitoring")
    assert "1 active user account(s)" in _answer(ev, "unique-ids")
    assert "admin 1, analyst 0" in _answer(ev, "unique-ids")
    assert "1 of 1 person account(s) have MFA" in _answer(ev, "password-policy")
    assert "lockout_after_failed_logins = 10" in _answer(ev, "password-policy")
    assert "min_length = 12" in _answer(ev, "password-policy")
    assert _answer(ev, "privacy-policy").startswith("[OPERATOR:")
    # change the state
    clock.advance(days=40)
    seed_order(v, "115-0000001-0000001", purchase=clock.now - 50 * DAY,
               delivered=clock.now - 35 * DAY)
    _add_user(v, "bob", "analyst")
    _add_user(v, "carol", "fulfillment", locked=True)
    set_setting(v, SYSTEM, "incident_contact", "Dana Ops <security@seller.example>")
    v.retention.purge(SYSTEM)
    v.incidents.open(SYSTEM, "Phishing", detected_at=clock.now - 30 * timedelta(hours=1))
    ev = collect(v, SYSTEM)
    assert ", 40 days old" in _answer(ev, "encryption-at-rest")
    assert "0 live, 1 destroyed" in _answer(ev, "encryption-at-rest")
    inc = _answer(ev, "incident-response")
    assert "Dana Ops <security@seller.example>" in inc and "1 overdue" in inc
    assert "[OPERATOR: set the contact" not in inc
    ret = _answer(ev, "retention")
    assert "Purge runs recorded: 1" in ret and '"orders_pii_erased": 1' in ret
    assert "3 active user account(s)" in _answer(ev, "unique-ids")
    assert "admin 1, analyst 1, fulfillment 1, auditor 0" in _answer(ev, "unique-ids")
    assert "without MFA: bob, carol" in _answer(ev, "password-policy")
    assert "1 account(s) locked now" in _answer(ev, "monitoring")
    # a tampered audit log shows in the answer
    with v.write() as conn:
        conn.execute(update(s.audit_events).where(s.audit_events.c.action == "purge")
                     .values(actor="mallory"))
    assert "verification now: FAILED" in _answer(collect(v, SYSTEM), "monitoring")
    with pytest.raises(AccessDeniedError):
        collect(v, Principal("bob", Role.ANALYST))
    v.close()


def test_the_access_review_says_who_read_pii_when_and_why(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    v.audit.record("pii.read", actor="fay", target="order:116-0000001-0000001",
                   purpose="print the shipping label")
    clock.advance(hours=2)
    v.audit.record("pii.read", actor="ann", target="order:116-0000001-0000001",
                   purpose="curious", outcome="denied")
    review = collect(v, Principal("aud", Role.AUDITOR)).access_review
    assert review["reads"] == 2
    assert review["per_user"]["fay"]["ok"] == 1 and review["per_user"]["ann"]["denied"] == 1
    assert [(e["user"], e["purpose"], e["outcome"]) for e in review["events"]] == [
        ("fay", "print the shipping label", "ok"), ("ann", "curious", "denied")]
    v.close()


def test_the_pack_is_markdown_json_and_svg_without_pii(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    _add_user(v, "alice", "admin", mfa=True)
    seed_order(v, "117-0000001-0000001", purchase=clock.now - 3 * DAY)
    old = seed_order(v, "117-0000002-0000002", purchase=clock.now - 80 * DAY)
    assert old.key_id is not None
    # the PII is really there to leak: the vault can decrypt it
    assert v.cipher.decrypt(old.key_id, "order_buyers", "email_ct",
                            f"order_buyers:{old.row_id}", old.ciphertexts[2]) == PII_VALUES[1]
    v.audit.record("pii.read", actor="alice", target="order:117-0000001-0000001",
                   purpose="ship order")
    set_setting(v, SYSTEM, "incident_contact", "Dana Ops <security@seller.example>")
    v.incidents.open(SYSTEM, "Lost backup tape")
    out = tmp_path / "pack"
    paths = write_pack(v, SYSTEM, out)
    assert sorted(p.name for p in paths) == ["data-flow.svg", "evidence.json", "evidence.md"]
    for p in paths:
        text = p.read_text()
        for value in PII_VALUES:
            assert value not in text, f"{value!r} in {p.name}"
        assert not list(out.glob(".*.tmp"))
    doc = json.loads((out / "evidence.json").read_text())
    assert {a["id"] for a in doc["answers"]} == {q["id"] for q in load_questions()}
    assert doc["facts"]["encryption"]["algorithm"] == "AES-256-GCM"
    assert doc["access_review"]["reads"] == 1
    md = (out / "evidence.md").read_text()
    assert "### 1.2 Network controls" in md and "[OPERATOR:" in md
    assert "| alice | 1 | 0 |" in md and "ship order" in md
    svg = ET.fromstring((out / "data-flow.svg").read_text())  # noqa: S314 - our own file
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "Amazon SP-API" in texts and "Vault database" in texts
    assert "2 orders, 2 with PII" in texts and "admin (1)" in texts
    v.close()
