"""Incidents: the 24-hour deadline from detection, notified / overdue, the draft to Amazon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sellerkit.errors import AccessDeniedError, VaultError
from sellerkit.vault import Principal, Role
from sellerkit.vault.roles import SYSTEM
from sellerkit.vault.settings import set_setting
from tests.vault.ret_helpers import PII_VALUES, Clock, open_vault, seed_order


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_an_incident_has_a_24_hour_deadline_from_its_detection(
        vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(vault_url, tmp_path, clock)
    detected = clock.now - timedelta(hours=20)
    inc = v.incidents.open(SYSTEM, "Laptop with a vault export stolen", detected_at=detected)
    assert inc.deadline_at == detected + timedelta(hours=24)
    assert inc.opened_at == clock.now and inc.status == "open"
    assert not inc.overdue(clock.now)
    assert inc.deadline_text(clock.now) == "4h 00m left to notify Amazon"
    clock.advance(hours=5, minutes=30)
    listed = v.incidents.list(SYSTEM)
    assert [i.id for i in listed] == [inc.id]
    assert listed[0].overdue(clock.now)
    assert listed[0].deadline_text(clock.now) == "OVERDUE by 1h 30m: notify Amazon now"
    assert listed[0].as_dict(clock.now)["seconds_left"] == -90 * 60
    done = v.incidents.mark_notified(SYSTEM, inc.id)
    assert done.status == "notified" and not done.overdue(clock.now)
    assert "1h 30m late" in done.deadline_text(clock.now)
    closed = v.incidents.close(SYSTEM, inc.id, "export key destroyed; laptop wiped remotely")
    assert closed.status == "closed" and closed.closed_by == "system"
    assert v.incidents.list(SYSTEM, include_closed=False) == []
    actions = [e.action for e in v.audit.events(SYSTEM) if e.action.startswith("incident.")]
    assert actions == ["incident.open", "incident.notify", "incident.close"]
    v.close()


def test_bad_incident_input_is_refused_with_what_to_fix(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    with pytest.raises(VaultError, match="future"):
        v.incidents.open(SYSTEM, "x", detected_at=clock.now + timedelta(hours=2))
    with pytest.raises(VaultError, match="time zone"):
        v.incidents.open(SYSTEM, "x", detected_at=datetime(2026, 5, 1, 9, 0))  # noqa: DTZ001
    with pytest.raises(VaultError, match="severity"):
        v.incidents.open(SYSTEM, "x", severity="catastrophic")
    with pytest.raises(VaultError, match="title"):
        v.incidents.open(SYSTEM, "  ")
    with pytest.raises(AccessDeniedError):
        v.incidents.open(Principal("ann", Role.ANALYST), "x")
    inc = v.incidents.open(Principal("aud", Role.AUDITOR), "Suspicious logins")
    with pytest.raises(VaultError, match="resolution"):
        v.incidents.close(SYSTEM, inc.id, "")
    with pytest.raises(VaultError, match="no incident 99"):
        v.incidents.draft_notification(99)
    v.close()


def test_the_draft_names_the_contact_the_data_and_the_unconfirmed_address(
        sqlite_vault_url: str, tmp_path: Path, clock: Clock) -> None:
    v = open_vault(sqlite_vault_url, tmp_path, clock)
    seed_order(v, "113-1111111-1111111", purchase=clock.now - 5 * timedelta(days=1))
    seed_order(v, "113-2222222-2222222", purchase=clock.now - 3 * timedelta(days=1), pii=False)
    detected = datetime(2026, 6, 1, 9, 15, tzinfo=UTC)
    inc = v.incidents.open(SYSTEM, "API key leaked in a public repository",
                           detected_at=detected, description="Found by a secret scanner.")
    text = v.incidents.draft_notification(inc.id)
    assert "UNCONFIRMED" in text and "3p-security@amazon.com" in text
    assert "[OPERATOR: no Incident Management Point of Contact is configured" in text
    assert "Detected: 2026-06-01T09:15+00:00" in text
    assert "24-hour notice deadline: 2026-06-02T09:15+00:00" in text
    assert "Orders: 2 (of which 1 with buyer PII" in text
    assert "Found by a secret scanner." in text
    assert "No containment action is recorded" in text
    # the state changes, the draft follows
    set_setting(v, SYSTEM, "incident_contact", "Dana Ops <security@seller.example>")
    clock.advance(hours=1)
    v.retention.purge(SYSTEM)
    text = v.incidents.draft_notification(inc.id)
    assert "Incident Management Point of Contact: Dana Ops <security@seller.example>" in text
    assert "purge (1x)" in text
    assert not any(p in text for p in PII_VALUES)
    assert "113-1111111" not in text
    with pytest.raises(VaultError, match="Name <email>"):
        set_setting(v, SYSTEM, "incident_contact", "just a name")
    v.close()
