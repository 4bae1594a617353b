"""The audit log: a keyed hash chain; every kind of tampering with the database is found and named.

Tampering is done the way an attacker with write access to the database would: plain SQL on the
tables (UPDATE, DELETE, INSERT, swapping rows, rewriting the anchors), never through the API.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from sellerkit.errors import AccessDeniedError, IntegrityError, VaultError
from sellerkit.vault import Principal, Role, Vault
from sellerkit.vault.roles import SYSTEM
from tests.vault._gov import Backend, Clock, gov_backend_factory, open_vault, reset

AUDITOR = Principal("aud", Role.AUDITOR)
ANALYST = Principal("ana", Role.ANALYST)
ADMIN = Principal("adm", Role.ADMIN)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from gov_backend_factory(request, tmp_path_factory)


@pytest.fixture
def vault(backend: Backend, clock: Clock) -> Vault:
    return reset(backend.vault, clock)


def _fill(v: Vault, clock: Clock, n: int = 10) -> None:
    for i in range(1, n + 1):
        clock.advance(seconds=1)
        v.audit.record("pii.read", actor="fred", target=f"order:123-000000{i}-0000000",
                       purpose="ship", details={"fields": ["address"], "n": i})


def _sql(vault: Vault, sql: str, **params: object) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text(sql), params)


def _row(v: Vault, seq: int) -> dict[str, object]:
    with v.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"),
                                 {"s": seq}).mappings().one())


def _problems(v: Vault) -> list[tuple[int, str]]:
    result = v.audit.verify(AUDITOR)
    assert result.ok is (not result.problems)
    return [(p.seq, p.kind) for p in result.problems]


def test_a_clean_chain_verifies_and_reads_back(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    result = vault.audit.verify(AUDITOR)
    assert result.ok and result.checked == 10 and result.problems == []
    assert result.head is not None and result.head["seq"] == 10
    events = vault.audit.events(AUDITOR)
    assert [e.seq for e in events] == list(range(1, 11))
    assert events[0].actor == "fred" and events[0].purpose == "ship"
    assert events[0].details == {"fields": ["address"], "n": 1}
    first = _row(vault, 1)
    assert first["prev_mac"] == vault.audit.genesis() and len(str(first["mac"])) == 64


def test_an_edited_entry_is_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    assert _problems(vault) == [(3, "edited")]
    assert "entry #3 was edited" in vault.audit.verify().problems[0].message


def test_edited_details_and_outcome_are_found(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "UPDATE audit_events SET details = :d WHERE seq = 5", d=json.dumps({"n": 99}))
    _sql(vault, "UPDATE audit_events SET outcome = 'ok', purpose = 'audit' WHERE seq = 8")
    assert _problems(vault) == [(5, "edited"), (8, "edited")]


def test_an_attacker_rebuilding_a_plain_sha256_chain_is_caught(vault: Vault, clock: Clock) -> None:
    """Edit entry 4, then recompute every later hash (and the head anchor) with SHA-256, as one
    could against an unkeyed chain: the MACs still fail, because the key is not in the database."""
    _fill(vault, clock)
    _sql(vault, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    prev = str(_row(vault, 3)["mac"])
    for seq in range(4, 11):
        r = _row(vault, seq)
        body = json.dumps([seq, str(r["at"]), r["actor"], r["action"], r["target"], r["purpose"],
                           r["outcome"], r["details"]], sort_keys=True)
        mac = hashlib.sha256((prev + body).encode()).hexdigest()
        _sql(vault, "UPDATE audit_events SET prev_mac = :p, mac = :m WHERE seq = :s",
             p=prev, m=mac, s=seq)
        prev = mac
    _sql(vault, "UPDATE vault_meta SET value = :val WHERE key = 'audit.head'",
         val=json.dumps({"seq": 10, "mac": prev, "sig": hashlib.sha256(prev.encode()).hexdigest()}))
    problems = _problems(vault)
    assert (0, "anchor") in problems
    assert [p for p in problems if p[0]] == [(s, "edited") for s in range(4, 11)]


def test_a_deleted_entry_is_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "DELETE FROM audit_events WHERE seq = 4")
    assert _problems(vault) == [(4, "deleted")]


def test_deleted_first_entries_are_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "DELETE FROM audit_events WHERE seq <= 2")
    result = vault.audit.verify()
    assert [(p.seq, p.kind, p.last_seq) for p in result.problems] == [(1, "deleted", 2)]


def test_a_truncated_tail_is_found_by_the_head_anchor(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "DELETE FROM audit_events WHERE seq >= 9")
    result = vault.audit.verify()
    assert [(p.seq, p.kind, p.last_seq) for p in result.problems] == [(9, "deleted", 10)]
    assert "truncated" in result.problems[0].message


def test_a_truncated_tail_with_a_forged_or_deleted_anchor_is_found(vault: Vault,
                                                                   clock: Clock) -> None:
    _fill(vault, clock)
    mac8 = str(_row(vault, 8)["mac"])
    _sql(vault, "DELETE FROM audit_events WHERE seq >= 9")
    _sql(vault, "UPDATE vault_meta SET value = :val WHERE key = 'audit.head'",
         val=json.dumps({"seq": 8, "mac": mac8, "sig": "0" * 64}))
    assert _problems(vault) == [(0, "anchor")]
    _sql(vault, "DELETE FROM vault_meta WHERE key = 'audit.head'")
    assert _problems(vault) == [(0, "anchor")]
    assert "missing" in vault.audit.verify().problems[0].message


def test_a_rolled_back_log_is_found_with_a_head_kept_elsewhere(vault: Vault,
                                                               clock: Clock) -> None:
    _fill(vault, clock, 5)
    with vault.engine.connect() as conn:
        old_anchor = conn.execute(text("SELECT value FROM vault_meta WHERE key = 'audit.head'")
                                  ).scalar()
    _fill(vault, clock, 3)
    kept = vault.audit.verify().head  # e.g. copied to another machine by a cron job
    assert kept is not None and kept["seq"] == 8
    # restore the old database state: the newer entries gone, the old (valid) anchor back
    _sql(vault, "DELETE FROM audit_events WHERE seq > 5")
    _sql(vault, "UPDATE vault_meta SET value = :val WHERE key = 'audit.head'",
         val=old_anchor if isinstance(old_anchor, str) else json.dumps(old_anchor))
    assert vault.audit.verify().ok  # undetectable from inside the database alone ...
    result = vault.audit.verify(expect_head=kept)  # ... but not against the kept head
    assert [(p.seq, p.kind) for p in result.problems] == [(8, "deleted")]


def test_an_entry_inserted_after_the_head_is_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    r = _row(vault, 10)
    _sql(vault, "INSERT INTO audit_events (seq, at, actor, action, target, purpose, outcome, "
         "details, prev_mac, mac) VALUES (11, :at, 'mallory', 'login', NULL, NULL, 'ok', NULL, "
         ":p, :m)", at=r["at"], p=r["mac"], m="f" * 64)
    assert _problems(vault) == [(11, "inserted")]
    # the log keeps working: the next real entry chains from the true head, past the intruder
    vault.audit.record("login", actor="fred")
    assert _problems(vault) == [(11, "inserted")]


def test_an_entry_inserted_in_the_middle_is_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    for seq in range(10, 5, -1):  # make room at 6, as an attacker must (seq is the key)
        _sql(vault, "UPDATE audit_events SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    r5 = _row(vault, 5)
    _sql(vault, "INSERT INTO audit_events (seq, at, actor, action, target, purpose, outcome, "
         "details, prev_mac, mac) VALUES (6, :at, 'fred', 'login', NULL, NULL, 'ok', NULL, "
         ":p, :m)", at=r5["at"], p=r5["mac"], m="e" * 64)
    problems = dict(_problems(vault))
    assert problems[6] == "inserted"
    assert all(problems[s] in {"reordered", "inserted"} for s in range(7, 12))


def test_swapped_entries_are_named_reordered(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "UPDATE audit_events SET seq = -1 WHERE seq = 4")
    _sql(vault, "UPDATE audit_events SET seq = 4 WHERE seq = 5")
    _sql(vault, "UPDATE audit_events SET seq = 5 WHERE seq = -1")
    result = vault.audit.verify()
    assert [(p.seq, p.kind) for p in result.problems] == [(4, "reordered"), (5, "reordered")]
    assert "written as #5" in result.problems[0].message


def test_swapped_contents_are_named_reordered(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    cols = ["at", "actor", "action", "target", "purpose", "outcome", "details", "prev_mac", "mac"]
    r2, r7 = _row(vault, 2), _row(vault, 7)
    for seq, r in ((2, r7), (7, r2)):
        params = {c: (json.dumps(r[c]) if c == "details" and not isinstance(r[c], str) else r[c])
                  for c in cols}
        _sql(vault, "UPDATE audit_events SET at = :at, actor = :actor, action = :action, "
             "target = :target, purpose = :purpose, outcome = :outcome, details = :details, "
             "prev_mac = :prev_mac, mac = :mac WHERE seq = :seq", seq=seq, **params)
    assert _problems(vault) == [(2, "reordered"), (7, "reordered")]


def test_a_deletion_hidden_by_renumbering_is_found(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock)
    _sql(vault, "DELETE FROM audit_events WHERE seq = 4")
    for seq in range(5, 11):
        _sql(vault, "UPDATE audit_events SET seq = :n WHERE seq = :s", n=seq - 1, s=seq)
    problems = _problems(vault)
    assert (4, "deleted") in problems
    assert (4, "reordered") in problems
    assert (10, "deleted") in problems  # the head anchor still names #10


def test_another_vaults_key_verifies_nothing(vault: Vault, clock: Clock) -> None:
    from sellerkit.vault.audit import AuditLog

    _fill(vault, clock, 3)
    foreign = AuditLog(vault, key=b"x" * 32)
    kinds = {p.kind for p in foreign.verify().problems}
    assert kinds and kinds <= {"edited", "anchor", "deleted"}


def test_concurrent_writers_in_threads_keep_one_chain(vault: Vault) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(8):
                vault.audit.record("sync", actor=f"svc{n}", details={"i": i})
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = vault.audit.verify()
    assert result.ok and result.checked == 32


def _child(url: str, tmp: str, n: int) -> None:
    v = open_vault(url, Path(tmp))
    try:
        for i in range(10):
            v.audit.record("sync", actor=f"proc{n}", details={"i": i})
    finally:
        v.close()


def test_concurrent_writer_processes_keep_one_chain(backend: Backend, vault: Vault) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child, args=(backend.url, str(backend.key_dir), n))
             for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    result = vault.audit.verify()
    assert result.ok and result.checked == 20


def test_pii_is_refused(vault: Vault) -> None:
    for kwargs in ({"target": "buyer:jane@example.com"},
                   {"details": {"to": ["ops@example.com"]}},
                   {"details": {"phone": "+1 206 555 0100"}},
                   {"purpose": "call +44 20 7946 0958"}):
        with pytest.raises(VaultError, match="ids, counts and kinds only"):
            vault.audit.record("pii.read", actor="fred", **kwargs)
    # order ids, counts and kinds pass
    vault.audit.record("pii.read", actor="fred", target="order:123-1234567-1234567",
                       purpose="ship order 123-1234567-1234567", details={"fields": 3})
    assert vault.audit.verify().checked == 1


def test_bad_entries_are_refused(vault: Vault) -> None:
    with pytest.raises(VaultError, match="outcome"):
        vault.audit.record("login", actor="fred", outcome="maybe")
    with pytest.raises(VaultError, match="action"):
        vault.audit.record("", actor="fred")
    with pytest.raises(VaultError, match="not JSON"):
        vault.audit.record("sync", actor="fred", details={"x": float("nan")})


def test_reading_the_log_needs_the_audit_permission(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock, 2)
    with pytest.raises(AccessDeniedError, match="auditor"):
        vault.audit.events(ANALYST)
    with pytest.raises(AccessDeniedError):
        vault.audit.verify(Principal("f", Role.FULFILLMENT))
    assert len(vault.audit.events(ADMIN)) == 2


def test_event_filters(vault: Vault, clock: Clock) -> None:
    vault.audit.record("login", actor="ann")
    clock.advance(hours=1)
    mark = clock.now
    vault.audit.record("login.failed", actor="bob", outcome="failed")
    vault.audit.record("pii.read", actor="ann", target="order:1", purpose="ship")
    assert [e.action for e in vault.audit.events(AUDITOR, action="login*")] == [
        "login", "login.failed"]
    assert [e.seq for e in vault.audit.events(AUDITOR, user="ann")] == [1, 3]
    assert [e.seq for e in vault.audit.events(AUDITOR, since=mark)] == [2, 3]
    assert [e.seq for e in vault.audit.events(AUDITOR, limit=2)] == [2, 3]
    assert [e.seq for e in vault.audit.events(AUDITOR, outcome="failed")] == [2]


def test_retention_is_at_least_twelve_months(vault: Vault) -> None:
    assert vault.audit.retention_months() == 12
    with pytest.raises(VaultError, match="at least 12 months"):
        vault.audit.set_retention(ADMIN, 11)
    with pytest.raises(AccessDeniedError):
        vault.audit.set_retention(AUDITOR, 24)
    vault.audit.set_retention(ADMIN, 24)
    assert vault.audit.retention_months() == 24
    change = vault.audit.events(AUDITOR, action="config.change")[-1]
    assert change.actor == "adm" and change.details == {"old": 12, "new": 24}


def test_pruning_keeps_the_chain_verifiable(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock, 5)  # old entries
    clock.advance(days=400)
    _fill(vault, clock, 3)  # recent ones
    assert vault.audit.prune(ADMIN) == 5
    result = vault.audit.verify()
    assert result.ok, result.problems
    events = vault.audit.events(AUDITOR)
    assert [e.seq for e in events] == [6, 7, 8, 9]
    assert events[-1].action == "audit.prune"
    assert events[-1].details is not None and events[-1].details["pruned_through"] == 5
    assert vault.audit.prune(ADMIN) == 0  # nothing more is old enough
    # the start anchor makes a deletion at the new start visible
    _sql(vault, "DELETE FROM audit_events WHERE seq = 6")
    assert _problems(vault) == [(6, "deleted")]
    with pytest.raises(IntegrityError, match="nothing was pruned"):
        vault.audit.prune(ADMIN)


def test_pruning_respects_a_longer_retention_and_needs_purge(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock, 2)
    vault.audit.set_retention(ADMIN, 24)
    clock.advance(days=400)
    assert vault.audit.prune(SYSTEM) == 0
    clock.advance(days=400)
    assert vault.audit.prune(SYSTEM) == 3  # the two entries and the config.change
    with pytest.raises(AccessDeniedError):
        vault.audit.prune(AUDITOR)
    assert vault.audit.verify().ok


def test_a_forged_start_anchor_is_named(vault: Vault, clock: Clock) -> None:
    _fill(vault, clock, 3)
    clock.advance(days=400)
    _fill(vault, clock, 2)
    vault.audit.prune(ADMIN)
    _sql(vault, "UPDATE vault_meta SET value = :val WHERE key = 'audit.start'",
         val=json.dumps({"seq": 5, "mac": "0" * 64, "sig": "0" * 64}))
    assert (0, "anchor") in _problems(vault)


def test_entries_join_the_callers_transaction(vault: Vault) -> None:
    with pytest.raises(RuntimeError), vault.write() as conn:
        vault.audit.record("export", actor="fred", conn=conn)
        raise RuntimeError("the export failed")
    assert vault.audit.verify().checked == 0
    with vault.write() as conn:
        vault.audit.record("export", actor="fred", conn=conn)
        vault.audit.record("export", actor="fred", conn=conn)
    assert vault.audit.verify().ok and vault.audit.verify().checked == 2


def test_times_stay_exact_through_the_database(vault: Vault, clock: Clock) -> None:
    clock.now = clock.now.replace(microsecond=123456)
    vault.audit.record("login", actor="fred")
    clock.advance(microseconds=1)
    vault.audit.record("login", actor="fred")
    events = vault.audit.events(AUDITOR)
    assert events[1].at - events[0].at == timedelta(microseconds=1)
    assert vault.audit.verify().ok
