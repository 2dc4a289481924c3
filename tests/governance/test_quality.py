"""Data quality per device and source: validity, completeness, lateness, clock skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.store.vault import MemoryVault
from zhian.db.engine import Database
from zhian.governance.quality import QualityService
from zhian.ingest.events import HeartbeatEvent, LoggedEvent, VehicleEvent
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.ingest.service import IntakeStats
from zhian.store.events import EventStore

HOUR = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_worst_sources_first_with_rates(db: Database, tmp_path: Path) -> None:
    logged: list[LoggedEvent] = []
    # GATE1: 10 passages, 4 arriving 10 minutes late, 5 without an image.
    for n in range(10):
        time = HOUR + timedelta(minutes=n)
        lag = timedelta(minutes=10) if n < 4 else timedelta(seconds=2)
        image = None if n % 2 else "img:" + "a" * 64 + ".jpg"
        event = VehicleEvent(
            id=f"V{n}",
            device_id="GATE1",
            time=time,
            plate="京A12345",
            plate_color="blue",
            vehicle_class="car",
            direction="in",
            image=image,
        )
        logged.append(LoggedEvent(time + lag, "native", event))
    # DOOR1: 49 heartbeats on time, one stamped 30 s after it arrived (clock running fast).
    for n in range(50):
        time = HOUR + timedelta(seconds=n)
        lag = timedelta(seconds=-30) if n == 40 else timedelta(seconds=1)
        logged.append(
            LoggedEvent(
                time + lag,
                "native",
                HeartbeatEvent(id=f"H{n}", device_id="DOOR1", time=time, status="ok"),
            )
        )
    with db.session() as session:
        for n in range(3):
            session.add(
                QuarantineItem(
                    received_at=HOUR + timedelta(minutes=5 + n),
                    source="native",
                    sender_device_id="GATE1",
                    device_id="GATE1",
                    event_id=f"X{n}",
                    content_type="application/json",
                    reasons=[],
                    reason_code="too_old" if n else "invalid",
                    status="held",
                )
            )
    stats = IntakeStats(duplicate=4)
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as store, db.session() as session:
        store.apply(list(enumerate(logged, start=1)))
        service = QualityService(
            session, store.queries, late_after_minutes=5, goal=0.98, intake_stats=stats
        )
        hourly = service.hourly(HOUR, HOUR + timedelta(hours=2))
        report = service.report(HOUR, HOUR + timedelta(hours=2))

    assert [(b.device_id, b.hour, b.accepted, b.rejected) for b in hourly] == [
        ("DOOR1", HOUR, 50, 0),
        ("GATE1", HOUR, 10, 3),
    ]
    gate, door = report.sources
    assert gate.device_id == "GATE1"  # worst first
    assert (gate.received, round(gate.validity, 3)) == (13, round(10 / 13, 3))
    assert (gate.late_share, gate.completeness) == (0.4, 0.5)
    assert gate.max_lag_seconds == 600
    assert gate.rejected_by_reason == {"too_old": 2, "invalid": 1}
    assert (door.validity, door.skew_share, door.min_lag_seconds) == (1.0, 0.02, -30)
    assert [s.device_id for s in report.below_goal] == ["GATE1"]
    assert report.duplicates_since_start == 4
