"""Retention: per class purges from the event store, quarantine, images and audit log,
with legal holds and watchlist entries keeping what they name; dry runs change nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.alerts.models import Alert
from zhian.audit.service import Actor
from zhian.db.engine import Database
from zhian.errors import BadRequestError
from zhian.governance.context import Governance
from zhian.governance.retention import RetentionReport, RetentionService
from zhian.ingest.events import (
    AccessEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    LoggedEvent,
    Subject,
    VehicleEvent,
)
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.kit.clock import ManualClock
from zhian.retention_classes import node_retention_registry
from zhian.store.events import EventStore
from zhian.watchlists.models import WatchlistEntry

ACTOR = Actor.system("test")
IMG_OLD = "img:" + "a" * 64 + ".jpg"
IMG_KEPT = "img:" + "b" * 64 + ".jpg"
IMG_ORPHAN = "img:" + "c" * 64 + ".jpg"
IMG_FRESH = "img:" + "d" * 64 + ".jpg"


@pytest.fixture
def store(tmp_path: Path, db: Database, governance: Governance) -> Iterator[EventStore]:
    # The node's vault: sealed identifiers in the operational database, purged with events.
    with EventStore(tmp_path / "events.duckdb", governance.vault(db)) as opened:
        yield opened


def events(now: datetime) -> list[Event]:
    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    return [
        # face class, 30 days: two old ones (one of a watched subject), one recent
        FaceEvent(id="F1", device_id="CAM1", time=ago(40), quality=0.9, image=IMG_OLD),
        FaceEvent(
            id="F2",
            device_id="CAM1",
            time=ago(40),
            quality=0.9,
            subject=Subject(kind="face_cluster", ref="FC-WATCHED"),
        ),
        FaceEvent(id="F3", device_id="CAM1", time=ago(5), quality=0.9, image=IMG_KEPT),
        # passage class, 180 days: old door passage of a held subject, old one not held
        AccessEvent(
            id="A1",
            device_id="DOOR1",
            time=ago(200),
            direction="in",
            method="card",
            result="granted",
            subject=Subject(kind="resident", ref="R-HELD"),
        ),
        AccessEvent(
            id="A2",
            device_id="DOOR1",
            time=ago(200),
            direction="in",
            method="card",
            result="granted",
            subject=Subject(kind="resident", ref="R-FREE"),
        ),
        VehicleEvent(
            id="V1",
            device_id="GATE1",
            time=ago(200),
            plate="京A12345",
            plate_color="blue",
            vehicle_class="car",
            direction="in",
        ),
        # heartbeat class, 30 days: a held device's heartbeat stays
        HeartbeatEvent(id="H1", device_id="DOOR1", time=ago(31), status="ok"),
        HeartbeatEvent(id="H2", device_id="HELD-DEV", time=ago(31), status="ok"),
    ]


def fill(store: EventStore, now: datetime, blob_dir: Path) -> None:
    batch = [(n, LoggedEvent(e.time, "native", e)) for n, e in enumerate(events(now), start=1)]
    store.apply(batch)
    for ref, age_hours in ((IMG_OLD, 48), (IMG_KEPT, 48), (IMG_ORPHAN, 48), (IMG_FRESH, 1)):
        digest = ref[4:68]
        path = blob_dir / digest[:2] / f"{digest}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
        moment = (now - timedelta(hours=age_hours)).timestamp()
        os.utime(path, (moment, moment))


def run(
    db: Database,
    store: EventStore,
    governance: Governance,
    blob_dir: Path,
    *,
    dry_run: bool,
    setup: bool = False,
) -> RetentionReport:
    with db.session() as session:
        service = RetentionService(
            session,
            registry=node_retention_registry(store, blob_dir),
            settings=governance.settings,
            clock=governance.clock,
            audit=governance.audit(session),
        )
        if setup:
            service.holds.place(
                ACTOR,
                data_class="passage",
                ref_kind="subject",
                ref="R-HELD",
                case_number="A2026-0007",
                reason="burglary at unit 1",
            )
            service.holds.place(
                ACTOR,
                data_class="all",
                ref_kind="device",
                ref="HELD-DEV",
                case_number="A2026-0008",
                reason="tampered device",
            )
        return service.apply(ACTOR, dry_run=dry_run)


def seed_operational(db: Database, now: datetime, store: EventStore) -> None:
    with db.session() as session:
        for days, device in ((100, "DOOR1"), (100, "HELD-DEV"), (10, "DOOR1")):
            session.add(
                QuarantineItem(
                    received_at=now - timedelta(days=days),
                    source="native",
                    sender_device_id=None,
                    device_id=device,
                    event_id="x",
                    content_type="application/json",
                    reasons=[],
                    reason_code="invalid",
                    status="held",
                )
            )
        session.add(
            WatchlistEntry(
                target="person",
                # Held as its token, as the watchlist service stores it (#12).
                subject_token=store.protector.token("subject", "FC-WATCHED"),
                label="missing person",
                legal_basis_kind="missing_person_report",
                legal_basis_ref="MP-1",
                owner_user_id=1,
                jurisdiction_id="J1",
                tier="major",
                created_at=now - timedelta(days=50),
                expires_at=now + timedelta(days=10),
            )
        )


def test_dry_run_counts_and_apply_purges_every_store(
    db: Database, store: EventStore, governance: Governance, clock: ManualClock, tmp_path: Path
) -> None:
    now = clock.now()
    blob_dir = tmp_path / "blobs"
    fill(store, now, blob_dir)
    seed_operational(db, now, store)
    before = store.queries.count_by_type()

    dry = run(db, store, governance, blob_dir, dry_run=True, setup=True)
    outcomes = {o.data_class: (o.removed, o.held) for o in dry.outcomes}
    assert outcomes == {
        "face": (1, 1),  # F2 is a watched subject's capture
        "passage": (2, 1),  # A1 is under a legal hold
        "heartbeat": (1, 1),  # H2's device is held for every class
        "alarm": (0, 0),
        "crowd": (0, 0),
        "quarantine": (1, 1),
        "images": (1, 0),  # only the orphan: F1 still names IMG_OLD; IMG_FRESH is in its grace
        "audit": (0, 0),
        "identifiers": (0, 0),  # every sealed identifier is still held by an event
    }
    assert store.queries.count_by_type() == before

    done = run(db, store, governance, blob_dir, dry_run=False)
    assert {o.data_class: o.removed for o in done.outcomes}["passage"] == 2
    assert store.has_event("CAM1", "F2") and store.has_event("DOOR1", "A1")
    assert store.has_event("HELD-DEV", "H2") and store.has_event("CAM1", "F3")
    assert not store.has_event("CAM1", "F1") and not store.has_event("GATE1", "V1")
    # Events go first, so F1's image is unreferenced by the time images are swept.
    assert {o.data_class: o.removed for o in done.outcomes}["images"] == 2
    assert {p.stem[:1] for p in blob_dir.glob("*/*.jpg")} == {"b", "d"}
    # R-FREE's passage and the plate's went: their sealed values leave the vault too.
    assert {o.data_class: o.removed for o in done.outcomes}["identifiers"] == 2
    token = store.protector.token
    with db.session() as session:
        kept = governance.vault(db).reveal(
            session,
            [token("subject", ref) for ref in ("FC-WATCHED", "R-HELD", "R-FREE")]
            + [token("plate", "京A12345")],
        )
    assert sorted(item.value for item in kept.values()) == ["FC-WATCHED", "R-HELD"]

    again = run(db, store, governance, blob_dir, dry_run=False)
    assert again.removed == 0

    with db.session() as session:
        audit = governance.audit(session)
        runs = audit.search(action="retention.apply")
        holds = audit.search(action="legal_hold.place")
        assert audit.verify().ok
    assert len(runs) == 2 and len(holds) == 2
    assert runs[-1].details["passage"] == {"removed": 2, "held": 1}


def test_released_holds_no_longer_keep_records(
    db: Database, store: EventStore, governance: Governance, clock: ManualClock, tmp_path: Path
) -> None:
    now = clock.now()
    blob_dir = tmp_path / "blobs"
    fill(store, now, blob_dir)
    run(db, store, governance, blob_dir, dry_run=False, setup=True)
    assert store.has_event("DOOR1", "A1")
    with db.session() as session:
        service = RetentionService(
            session,
            registry=node_retention_registry(store, blob_dir),
            settings=governance.settings,
            clock=clock,
            audit=governance.audit(session),
        )
        hold = service.holds.active("passage")[0]
        service.holds.release(hold.id, ACTOR, reason="case closed")
        assert [h.ref for h in service.holds.active("passage")] == ["HELD-DEV"]
        service.apply(ACTOR)
    assert not store.has_event("DOOR1", "A1")


def test_a_hold_must_name_a_known_class_and_a_case(
    db: Database, store: EventStore, governance: Governance, tmp_path: Path
) -> None:
    with db.session() as session:
        service = RetentionService(
            session,
            registry=node_retention_registry(store, tmp_path),
            settings=governance.settings,
            clock=governance.clock,
            audit=governance.audit(session),
        )
        with pytest.raises(BadRequestError, match="unknown data class 'ethnicity'"):
            service.holds.place(
                ACTOR,
                data_class="ethnicity",
                ref_kind="subject",
                ref="R1",
                case_number="A1",
                reason="x",
            )
        with pytest.raises(BadRequestError, match="needs a case number"):
            service.holds.place(
                ACTOR,
                data_class="face",
                ref_kind="subject",
                ref="R1",
                case_number=" ",
                reason="x",
            )
        with pytest.raises(BadRequestError, match="device_id/event_id"):
            service.holds.place(
                ACTOR,
                data_class="face",
                ref_kind="event",
                ref="E1",
                case_number="A1",
                reason="x",
            )


def test_a_watchlist_alert_keeps_its_plates_vault_entry_after_the_passages_go(
    db: Database, store: EventStore, governance: Governance, clock: ManualClock, tmp_path: Path
) -> None:
    now = clock.now()
    blob_dir = tmp_path / "blobs"
    fill(store, now, blob_dir)
    seed_operational(db, now, store)
    plate_token = store.protector.token("plate", "京A12345")
    with db.session() as session:
        session.add(
            Alert(
                rule="watchlist",
                kind="watchlist_plate",
                tier="major",
                state="closed",
                key="watchlist:entry:1",
                subject="entry:1",
                place_id="GATE1",
                owner_role="station_officer",
                title_zh="布控车辆京A***45经过东门",
                title_en="watchlisted plate 京A***45 passed GATE1",
                evidence={"figures": {"plate_masked": "京A***45", "plate_token": plate_token}},
                created_at=now - timedelta(days=200),
                first_seen_at=now - timedelta(days=200),
                last_seen_at=now - timedelta(days=200),
            )
        )

    done = run(db, store, governance, blob_dir, dry_run=False, setup=True)
    assert not store.has_event("GATE1", "V1")  # the plate's passage went
    # Only R-FREE's subject leaves the vault; the alert still holds the plate's entry.
    assert {o.data_class: o.removed for o in done.outcomes}["identifiers"] == 1
    with db.session() as session:
        opened = governance.vault(db).reveal(session, [plate_token])
    assert [item.value for item in opened.values()] == ["京A12345"]
