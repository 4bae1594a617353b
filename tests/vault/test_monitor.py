"""Alert rules: each fires when it should and stays quiet when it should not; alerts go to the
security log, the audit log and a webhook (a real loopback HTTP server), and a failing webhook is
recorded, never raised."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select, text

from sellerkit.errors import AccessDeniedError, AuthenticationError, VaultError
from sellerkit.vault import Principal, Role, Vault
from sellerkit.vault import schema as s
from sellerkit.vault.users import UserStore
from tests.vault._gov import Backend, Clock, gov_backend_factory, reset

ADMIN = Principal("root", Role.ADMIN)
AUDITOR = Principal("aud", Role.AUDITOR)


class Hook:
    """A loopback webhook receiver: uvicorn serving a Starlette app in a thread."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        self.received: list[dict[str, Any]] = []

        async def ok(request: Request) -> JSONResponse:
            self.received.append(json.loads(await request.body()))
            return JSONResponse({"ok": True})

        async def fail(request: Request) -> JSONResponse:
            return JSONResponse({"error": "down"}, status_code=500)

        self.app = Starlette(routes=[Route("/hook", ok, methods=["POST"]),
                                     Route("/fail", fail, methods=["POST"])])

    def __enter__(self) -> Hook:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="error",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.server.started
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    with Hook() as h:
        yield h


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from gov_backend_factory(request, tmp_path_factory)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault(backend: Backend, clock: Clock) -> Vault:
    v = reset(backend.vault, clock)
    v.__dict__["users"] = UserStore(v, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))
    v.users.bootstrap_admin("root")
    return v


def _rules(alerts: list[Any]) -> list[tuple[str, str | None]]:
    return [(a.rule, a.subject) for a in alerts]


def test_a_quiet_vault_raises_nothing(vault: Vault) -> None:
    vault.audit.record("pii.read", actor="root", target="order:1", purpose="ship")
    assert vault.monitor.check() == []
    assert vault.monitor.alerts(AUDITOR) == []


def test_pii_reads_above_the_rate(vault: Vault, clock: Clock) -> None:
    vault.monitor.configure(ADMIN, "pii_reads_max", 3)
    for i in range(4):
        vault.audit.record("pii.read", actor="dana", target=f"order:{i}", purpose="ship")
    for i in range(3):
        vault.audit.record("pii.read", actor="eve", target=f"order:{i}", purpose="ship")
    raised = vault.monitor.check()
    assert _rules(raised) == [("pii_rate", "user:dana")]
    assert raised[0].severity == "high"
    assert raised[0].details == {"user": "dana", "reads": 4, "window_minutes": 60, "max": 3}
    assert vault.monitor.check() == []  # the same alert is not repeated within the hour
    logged = vault.audit.events(AUDITOR, action="alert")
    assert [e.details for e in logged] == [{"rule": "pii_rate", "severity": "high",
                                            "subject": "user:dana"}]
    clock.advance(minutes=61)
    assert vault.monitor.check() == []  # the reads are out of the window now
    for i in range(4):
        vault.audit.record("pii.read", actor="dana", target=f"order:{i}", purpose="ship")
    assert _rules(vault.monitor.check()) == [("pii_rate", "user:dana")]
    assert len(vault.monitor.alerts(AUDITOR)) == 2


def test_actions_of_a_disabled_user(vault: Vault, clock: Clock) -> None:
    pw = "Correct-Horse-7battery"
    vault.users.add(ADMIN, "dana", "fulfillment", password=pw)
    vault.audit.record("pii.read", actor="dana", target="order:1", purpose="ship")
    clock.advance(minutes=1)
    vault.users.disable(ADMIN, "dana")
    assert vault.monitor.check() == []  # reads before the disable are fine
    clock.advance(minutes=1)
    # a principal obtained before the disable, still in use somewhere
    vault.audit.record("pii.read", actor="dana", target="order:2", purpose="ship")
    with pytest.raises(AuthenticationError, match="disabled"):
        vault.users.authenticate("dana", pw)
    raised = vault.monitor.check()
    assert _rules(raised) == [("disabled_user", "user:dana")]
    assert raised[0].details is not None
    assert raised[0].details["actions"] == ["login.failed", "pii.read"]
    assert vault.monitor.check() == []  # each action is looked at once


def test_repeated_failed_log_ins(vault: Vault, clock: Clock) -> None:
    vault.users.add(ADMIN, "dana", "analyst", password="Correct-Horse-7battery")
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate("dana", "guess")
    assert vault.monitor.check() == []
    with pytest.raises(AuthenticationError):
        vault.users.authenticate("dana", "guess")
    raised = vault.monitor.check()
    assert _rules(raised) == [("failed_logins", "user:dana")]
    assert raised[0].details is not None and raised[0].details["failures"] == 5
    clock.advance(minutes=61)
    assert vault.monitor.check() == []  # outside the 15-minute window


def test_failed_log_ins_spread_over_many_users(vault: Vault) -> None:
    vault.monitor.configure(ADMIN, "failed_logins_total_max", 6)
    for i in range(6):
        with pytest.raises(AuthenticationError):
            vault.users.authenticate(f"user{i}", "guess")
    assert _rules(vault.monitor.check()) == [("failed_logins", "all")]


def _order(v: Vault, order_id: str, *, delivered_days_ago: float | None,
           hold: bool = False) -> None:
    now = v.now()
    with v.write() as conn:
        seller = conn.execute(select(s.sellers.c.id)).scalar()
        if seller is None:
            seller = conn.execute(insert(s.sellers).values(
                selling_partner_id="A1SELLER", region="na", kind="seller", created_at=now)
                .returning(s.sellers.c.id)).scalar_one()
        if hold:
            conn.execute(insert(s.legal_holds).values(
                scope="order", target=order_id, reason="tax audit", created_by="root",
                created_at=now))
        delivered = now - timedelta(days=delivered_days_ago) if delivered_days_ago else None
        key_id = v.cipher.new_data_key(conn, "order")  # an order with PII: a purge erases it
        conn.execute(insert(s.orders).values(
            seller_id=seller, amazon_order_id=order_id, api_version="v0", key_id=key_id,
            purchase_date=(delivered or now) - timedelta(days=3), delivered_at=delivered,
            first_seen_at=now - timedelta(days=60), updated_at=now))


def _purge_run(v: Vault, hours_ago: float, error: str | None = None) -> None:
    at = v.now() - timedelta(hours=hours_ago)
    with v.write() as conn:
        conn.execute(insert(s.purge_runs).values(
            started_at=at - timedelta(seconds=5), finished_at=at, policy_version="2025-11-11",
            trigger="cli", actor="root", counts={}, error=error))


def test_a_purge_that_fell_behind(vault: Vault, clock: Clock) -> None:
    assert vault.monitor.check() == []  # never purged, but nothing is due
    _order(vault, "111-0000000-0000001", delivered_days_ago=5)  # PII still within 30 days
    _order(vault, "111-0000000-0000002", delivered_days_ago=45, hold=True)  # held
    assert vault.monitor.check() == []
    _order(vault, "111-0000000-0000003", delivered_days_ago=40)  # due
    raised = vault.monitor.check()
    assert _rules(raised) == [("purge_behind", "purge")]
    assert raised[0].details == {"overdue_orders": 1, "max_hours": 26, "failed_runs_since": 0,
                                 "last_success": None}


def test_a_recent_successful_purge_keeps_quiet_and_a_failed_one_does_not(vault: Vault) -> None:
    _order(vault, "111-0000000-0000003", delivered_days_ago=40)
    _purge_run(vault, hours_ago=2)
    assert vault.monitor.check() == []
    with vault.write() as conn:
        conn.execute(text("DELETE FROM purge_runs"))
    _purge_run(vault, hours_ago=30)
    _purge_run(vault, hours_ago=1, error="database is locked")
    raised = vault.monitor.check()
    assert _rules(raised) == [("purge_behind", "purge")]
    assert raised[0].details is not None and raised[0].details["failed_runs_since"] == 1


def test_an_audit_chain_that_fails_verification(vault: Vault) -> None:
    vault.audit.record("login", actor="root")
    vault.audit.record("login", actor="root")
    assert vault.monitor.check() == []
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'eve' WHERE seq = 2"))
    raised = vault.monitor.check()
    assert _rules(raised) == [("audit_chain", "audit")]
    assert raised[0].severity == "critical"
    assert raised[0].details == {"problems": 1, "first_seq": 2, "first_kind": "edited",
                                 "kinds": {"edited": 1}}


def test_alerts_go_to_the_webhook(vault: Vault, hook: Hook) -> None:
    hook.received.clear()
    vault.monitor.configure(ADMIN, "webhook_url", hook.url())
    with vault.read() as conn:
        stored = conn.execute(select(s.vault_meta.c.value).where(
            s.vault_meta.c.key == "monitor.webhook_url")).scalar_one()
    assert str(hook.port) not in json.dumps(stored)  # kept encrypted: the URL is a secret
    vault.monitor.configure(ADMIN, "failed_logins_max", 1)
    with pytest.raises(AuthenticationError):
        vault.users.authenticate("root", "guess")
    raised = vault.monitor.check()
    assert len(raised) == 1 and raised[0].delivered_at is not None
    assert raised[0].delivery_error is None
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["source"] == "sellerkit-vault"
    assert body["alert"]["rule"] == "failed_logins" and body["alert"]["subject"] == "user:root"
    assert vault.monitor.alerts(AUDITOR)[0].delivered_at is not None
    change = vault.audit.events(AUDITOR, action="config.change")[0]
    assert str(hook.port) not in json.dumps(change.to_dict())


def test_a_failing_webhook_is_recorded_and_retried(vault: Vault, hook: Hook) -> None:
    hook.received.clear()
    vault.monitor.configure(ADMIN, "failed_logins_max", 1)
    vault.monitor.configure(ADMIN, "webhook_url", hook.url("/fail"))
    with pytest.raises(AuthenticationError):
        vault.users.authenticate("root", "guess")
    raised = vault.monitor.check()
    assert raised[0].delivered_at is None
    assert raised[0].delivery_error == "the webhook answered HTTP 500"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    vault.monitor.configure(ADMIN, "webhook_url", f"http://127.0.0.1:{port}/hook")
    assert vault.monitor.check() == []
    stored = vault.monitor.alerts(AUDITOR)[0]
    assert stored.delivery_error == "the webhook could not be reached (ConnectError)"
    assert str(port) not in (stored.delivery_error or "")
    vault.monitor.configure(ADMIN, "webhook_url", hook.url())
    vault.monitor.check()  # the pending alert goes out now
    assert len(hook.received) == 1
    assert vault.monitor.alerts(AUDITOR)[0].delivered_at is not None


def test_alerts_raised_in_a_callers_transaction_are_delivered_later(vault: Vault,
                                                                    hook: Hook) -> None:
    hook.received.clear()
    vault.monitor.configure(ADMIN, "webhook_url", hook.url())
    vault.monitor.configure(ADMIN, "failed_logins_max", 1)
    with pytest.raises(AuthenticationError):
        vault.users.authenticate("root", "guess")
    with vault.write() as conn:
        raised = vault.monitor.check(conn)
    assert len(raised) == 1 and hook.received == []
    vault.monitor.deliver_pending()
    assert len(hook.received) == 1


def test_settings_and_permissions(vault: Vault) -> None:
    assert vault.monitor.settings()["pii_reads_max"] == 100
    assert vault.monitor.settings()["webhook"] is False
    with pytest.raises(VaultError, match="https"):
        vault.monitor.configure(ADMIN, "webhook_url", "http://hooks.example.com/x")
    vault.monitor.configure(ADMIN, "webhook_url", "https://hooks.example.com/x")
    assert vault.monitor.settings()["webhook"] is True
    vault.monitor.configure(ADMIN, "webhook_url", None)
    assert vault.monitor.settings()["webhook"] is False
    with pytest.raises(VaultError, match="unknown alert setting"):
        vault.monitor.configure(ADMIN, "pii_reads", 3)
    with pytest.raises(VaultError, match="whole number"):
        vault.monitor.configure(ADMIN, "pii_reads_max", "many")
    with pytest.raises(VaultError, match="at least 1"):
        vault.monitor.configure(ADMIN, "pii_reads_max", 0)
    with pytest.raises(AccessDeniedError):
        vault.monitor.configure(AUDITOR, "pii_reads_max", 3)
    with pytest.raises(AccessDeniedError):
        vault.monitor.alerts(Principal("ana", Role.ANALYST))
