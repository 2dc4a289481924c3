"""The audit chain: recorded entries verify; edits, deletions and insertions behind the
application's back are each caught and named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from zhian.audit.models import AuditEntry
from zhian.audit.service import Actor, AuditService, VerifyReport, entry_hash
from zhian.db.engine import Database
from zhian.errors import BadRequestError
from zhian.kit.clock import ManualClock

SEAL_KEY = b"s" * 32


def audit(session, clock: ManualClock) -> AuditService:  # type: ignore[no-untyped-def]
    return AuditService(session, clock=clock, seal_key=SEAL_KEY)


def record_five(db: Database, clock: ManualClock) -> None:
    for number in range(1, 6):
        with db.session() as session:
            audit(session, clock).record(
                Actor.user(7),
                "resident.reveal",
                record_type="resident",
                record_ids=[f"R{number}"],
                ip="127.0.0.1",
                case_number="A2026-0001",
                details={"field": "phone", "n": number, "nested": {"b": 1, "a": [1, 2]}},
            )
        clock.advance(timedelta(minutes=1))


def verify(db: Database, clock: ManualClock) -> VerifyReport:
    with db.session() as session:
        return audit(session, clock).verify()


def findings(report: VerifyReport) -> list[tuple[int, str]]:
    return [(problem.entry_id, problem.kind) for problem in report.problems]


def test_a_recorded_chain_verifies_and_searches(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    report = verify(db, clock)

    assert report.ok, report.problems
    assert (report.checked, report.first_id, report.last_id, report.is_sealed) == (5, 1, 5, True)
    with db.session() as session:
        service = audit(session, clock)
        found = service.search(record_id="R3")
        assert [entry.id for entry in found] == [3]
        assert found[0].details == {"field": "phone", "n": 3, "nested": {"b": 1, "a": [1, 2]}}
        assert [entry.id for entry in service.search(actor_id="7", limit=2)] == [5, 4]
        assert service.search(case_number="other") == []


def test_an_edited_row_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET purpose = 'curious' WHERE id = 3"))
    report = verify(db, clock)
    assert findings(report) == [(3, "edited")]
    assert "does not match its hash" in report.problems[0].detail


def test_an_edited_row_with_a_recomputed_hash_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.session() as session:
        entry = audit(session, clock).search(record_id="R2")[0]
    # The forger recomputes entry 2's hash, but entry 3 still holds the old one.
    with db.session() as session:
        row = session.get(AuditEntry, entry.id)
        assert row is not None
        row.record_ids = ["R999"]
        new_hash = entry_hash(row, row.prev_hash)
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entries SET record_ids = :ids, hash = :hash WHERE id = 2"),
            {"ids": '["R999"]', "hash": new_hash},
        )
    assert findings(verify(db, clock)) == [(2, "rewritten")]


def test_a_deleted_row_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id = 3"))
    report = verify(db, clock)
    assert findings(report) == [(3, "deleted")]
    assert report.problems[0].detail == "entry 3 is missing"


def test_deleting_the_newest_rows_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id >= 4"))
    report = verify(db, clock)
    assert findings(report) == [(4, "deleted")]
    assert "entries 4..5 are missing at the end" in report.problems[0].detail


def test_deleting_the_oldest_rows_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id = 1"))
    assert findings(verify(db, clock)) == [(2, "deleted")]


def test_an_inserted_row_is_caught(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.engine.begin() as connection:
        last_hash = connection.execute(text("SELECT hash FROM audit_entries WHERE id = 5")).scalar()
        connection.execute(
            text(
                "INSERT INTO audit_entries (id, at, actor_type, actor_id, action, record_type,"
                " record_ids, ip, purpose, case_number, details, prev_hash, hash) VALUES"
                " (6, :at, 'user', '7', 'resident.reveal', 'resident', '[]', NULL, NULL, NULL,"
                " '{}', :prev, :hash)"
            ),
            {"at": clock.now(), "prev": last_hash, "hash": "f" * 64},
        )
    assert findings(verify(db, clock)) == [(6, "edited"), (6, "inserted")]


def test_an_inserted_row_with_a_valid_hash_is_caught_by_the_sealed_head(
    db: Database, clock: ManualClock
) -> None:
    record_five(db, clock)
    # A forger with SQL access but without the seal key appends a well-formed entry.
    with db.session() as session:
        AuditService(session, clock=clock).record(Actor.system("forger"), "resident.reveal")
    report = verify(db, clock)
    assert findings(report) == [(6, "head")]
    assert "seal does not match" in report.problems[0].detail


def test_purging_old_entries_keeps_the_chain_verifiable(db: Database, clock: ManualClock) -> None:
    record_five(db, clock)
    with db.session() as session:
        service = audit(session, clock)
        cutoff = clock.now() - timedelta(minutes=2, seconds=30)
        assert service.purge_before(cutoff, Actor.system(), dry_run=True) == 3
        assert service.purge_before(cutoff, Actor.system()) == 3
    report = verify(db, clock)
    assert report.ok, report.problems
    assert (report.first_id, report.last_id) == (4, 6)
    with db.session() as session:
        (purge,) = audit(session, clock).search(action="audit.purge")
    assert purge.details["through_id"] == 3
    # Cutting more of the chain without a purge entry is still caught.
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id = 4"))
    assert findings(verify(db, clock)) == [(5, "deleted")]


def test_an_entry_needs_an_action(db: Database, clock: ManualClock) -> None:
    with db.session() as session, pytest.raises(BadRequestError, match="needs an action"):
        audit(session, clock).record(Actor.system(), "")
