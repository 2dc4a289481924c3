"""Every named query of the event store, through the `EventQueries` interface, against four
simulated days: each answer is checked against what the simulator wrote, computed here in
plain Python. Every engine meets the same test: DuckDB's own file, DuckDB over the Parquet
store's files, and Spark (local[2]) over the same files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.store.vault import MemoryVault
from zhian.devices.models import Device
from zhian.ingest.events import AccessEvent, Event, FaceEvent, LoggedEvent, Subject, VehicleEvent
from zhian.models.master import RESIDENTIAL_KINDS, build_master
from zhian.registry.models import Building, Community, House, Resident, Unit, Vehicle
from zhian.sim import TZ, District, Simulation, build_district
from zhian.store import EventQueries, EventStore
from zhian.store.parquet import ParquetEventStore
from zhian.store.queries import ReferenceTables, query_names

START = datetime(2026, 11, 1, tzinfo=TZ)
END = START + timedelta(days=4)
# The queries' window leaves out the first two hours and the last six of what was written.
SINCE = START + timedelta(hours=2)
UNTIL = END - timedelta(hours=6)
OFFSET_SECONDS = 8 * 3600  # the simulated district's local time, UTC+8
LATE_SECONDS = 300.0
LINK_SECONDS = 5


def _received(seq: int, event: Event) -> LoggedEvent:
    """Arrival 0–9 minutes after the event, through one of two sources, by sequence."""
    lag = timedelta(minutes=seq % 10)
    return LoggedEvent(event.time + lag, "native" if seq % 2 else "viid", event)


@dataclass
class Simulated:
    """What the simulator wrote, and the store it was written to."""

    district: District
    events: list[tuple[int, Event]]
    vault: MemoryVault
    reference: ReferenceTables
    queries: EventQueries

    def __post_init__(self) -> None:
        tables = self.district.tables
        self.devices = {str(d["id"]): d for d in tables["devices"]}
        community_kind = {str(c["id"]): c["kind"] for c in tables["communities"]}
        self.residential = {
            device_id
            for device_id, d in self.devices.items()
            if d["community_id"] is not None
            and community_kind[d["community_id"]] in RESIDENTIAL_KINDS
        }
        self.resident_ids = {str(r["id"]) for r in tables["residents"]}
        self.card_owner = {
            str(r["card_ref"]): str(r["id"]) for r in tables["residents"] if r["card_ref"]
        }
        self.plate_owner = {str(v["plate"]): v["owner_id"] for v in tables["vehicles"]}
        self.registered_plates = {(str(v["plate"]), v["community_id"]) for v in tables["vehicles"]}

    def window(self, kind: type[Any]) -> Iterator[tuple[int, Any]]:
        """Events of one type in [SINCE, UNTIL)."""
        for seq, event in self.events:
            if isinstance(event, kind) and SINCE <= event.time < UNTIL:
                yield seq, event

    def resident_of(self, subject: Subject | None) -> str | None:
        """The registered resident a door or camera names, if any (card and face alike)."""
        if subject is None:
            return None
        if subject.kind == "resident" and subject.ref in self.resident_ids:
            return subject.ref
        if subject.kind == "card":
            return self.card_owner.get(subject.ref)
        return None

    def key(self, subject: Subject | None) -> str | None:
        """`<kind>:<token>`, as the store names an unknown subject."""
        if subject is None:
            return None
        return f"{subject.kind}:{self.vault.token('subject', subject.ref)}"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=OFFSET_SECONDS)


def _resident(row: dict[str, Any], vault: MemoryVault) -> dict[str, Any]:
    """A resident row as the registry stores it: the card only as its token (#12)."""
    card = row.get("card_ref")
    rest = {k: v for k, v in row.items() if k != "card_ref"}
    return {**rest, "card_ref_token": vault.token("subject", str(card)) if card else None}


def _vehicle(row: dict[str, Any], vault: MemoryVault) -> dict[str, Any]:
    rest = {k: v for k, v in row.items() if k != "plate"}
    return {**rest, "plate_token": vault.token("plate", str(row["plate"]))}


def _master(district: District, vault: MemoryVault) -> ReferenceTables:
    t = district.tables
    return build_master(
        {str(r["id"]): Community(**r) for r in t["communities"]},
        {str(r["id"]): Building(**r) for r in t["buildings"]},
        {str(r["id"]): Unit(**r) for r in t["units"]},
        [House(**r) for r in t["houses"]],
        [Resident(**_resident(r, vault)) for r in t["residents"]],
        [Device(**r) for r in t["devices"]],
        [Vehicle(**_vehicle(r, vault)) for r in t["vehicles"]],
        [],
        vault.token,
    ).reference


def _duckdb(
    path: Path, vault: MemoryVault, logged: list[tuple[int, LoggedEvent]]
) -> Iterator[EventQueries]:
    with EventStore(path / "events.duckdb", vault) as store:
        store.apply(logged)
        yield store.queries


def _parquet(
    path: Path, vault: MemoryVault, logged: list[tuple[int, LoggedEvent]]
) -> Iterator[EventQueries]:
    """DuckDB over the Parquet store's files, written in several batches (several files
    per day and type, then compacted)."""
    with ParquetEventStore(path / "events", vault, compact_files=4) as store:
        for start in range(0, len(logged), 7_000):
            store.apply(logged[start : start + 7_000])
        yield store.queries


def _spark(
    path: Path, vault: MemoryVault, logged: list[tuple[int, LoggedEvent]]
) -> Iterator[EventQueries]:
    """Spark (local[2]) over the same Parquet files."""
    from zhian.store.spark_queries import SparkEventQueries, spark_session

    with ParquetEventStore(path / "events", vault) as store:
        store.apply(logged)
        yield SparkEventQueries(lambda: spark_session("local[2]"), store.table_files)


ENGINES: dict[
    str, Callable[[Path, MemoryVault, list[tuple[int, LoggedEvent]]], Iterator[EventQueries]]
] = {
    "duckdb": _duckdb,
    "parquet": _parquet,
    "spark": _spark,
}


def _two_communities(district: District) -> list[AccessEvent]:
    """A stranger's QR pass through the doors of two residential communities within an
    hour: the four simulated days plant no such day (the casing scenario's other variant)."""
    communities = {str(c["id"]): c["kind"] for c in district.tables["communities"]}
    doors: dict[str, str] = {}
    for device in district.tables["devices"]:
        community = device["community_id"]
        if device["kind"] == "door" and communities.get(community) in RESIDENTIAL_KINDS:
            doors.setdefault(community, str(device["id"]))
    first, second = sorted(doors.values())[:2]
    stranger = Subject(kind="qr", ref="qr-planted-stranger")
    evening = START + timedelta(hours=20)
    return [
        AccessEvent(id=f"planted-{n}", device_id=door, time=evening + timedelta(minutes=30 * n),
                    subject=stranger, direction="in", method="qr", result="granted")
        for n, door in enumerate((first, second))
    ]  # fmt: skip


@pytest.fixture(scope="module", params=sorted(ENGINES))
def sim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulated]:
    district = build_district(seed=5, scale=0.2)
    simulated = Simulation(district, start=START, end=END, seed=5).events()
    events = list(enumerate([*simulated, *_two_communities(district)], start=1))
    vault = MemoryVault()
    logged = [(seq, _received(seq, event)) for seq, event in events]
    engine = ENGINES[request.param](tmp_path_factory.mktemp(request.param), vault, logged)
    queries = next(engine)
    yield Simulated(district, events, vault, _master(district, vault), queries)
    next(engine, None)


def test_every_named_query_has_its_case_here() -> None:
    names = query_names()
    assert "recent_events" in names and "door_face_captures" in names
    assert [n for n in names if f"test_{n}" not in globals()] == []


# --- operations pages and data quality ------------------------------------------------------


def test_count_by_type(sim: Simulated) -> None:
    written = Counter(type(event).__name__.removesuffix("Event").lower() for _, event in sim.events)
    assert sim.queries.count_by_type() == {t: written[t] for t in sim.queries.count_by_type()}
    assert sum(sim.queries.count_by_type().values()) == len(sim.events)


def test_recent_events(sim: Simulated) -> None:
    newest = sorted(sim.events, key=lambda pair: (pair[1].time, pair[0]), reverse=True)
    recent = sim.queries.recent_events(limit=20)
    assert [(e.seq, e.event_id, e.time) for e in recent] == [
        (seq, event.id, event.time) for seq, event in newest[:20]
    ]
    device = newest[0][1].device_id
    of_device = [pair for pair in newest if pair[1].device_id == device][:5]
    assert [e.seq for e in sim.queries.recent_events(limit=5, device_id=device)] == [
        seq for seq, _ in of_device
    ]


def test_device_last_seen(sim: Simulated) -> None:
    expected: dict[str, datetime] = {}
    for _, event in sim.events:
        expected[event.device_id] = max(event.time, expected.get(event.device_id, event.time))
    assert sim.queries.device_last_seen() == expected


def test_events_per_minute(sim: Simulated) -> None:
    expected = Counter(
        event.time.astimezone(UTC).replace(second=0, microsecond=0)
        for _, event in sim.events
        if event.time >= END - timedelta(hours=2)
    )
    assert sim.queries.events_per_minute(END - timedelta(hours=2)) == sorted(expected.items())


def test_arrival_stats(sim: Simulated) -> None:
    since, until = SINCE, SINCE + timedelta(hours=6)
    accepted: Counter[tuple[str, str, datetime]] = Counter()
    late: Counter[tuple[str, str, datetime]] = Counter()
    for seq, event in sim.events:
        arrival = _received(seq, event)
        if not since <= arrival.received_at < until:
            continue
        key = (
            event.device_id,
            arrival.source,
            arrival.received_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0),
        )
        accepted[key] += 1
        late[key] += (arrival.received_at - event.time).total_seconds() > LATE_SECONDS
    stats = sim.queries.arrival_stats(since, until, late_after_seconds=LATE_SECONDS)
    assert {(s.device_id, s.source, s.hour): s.accepted for s in stats} == dict(accepted)
    assert {(s.device_id, s.source, s.hour): s.late for s in stats} == {
        k: late[k] for k in accepted
    }
    assert all(
        0 <= s.min_lag_seconds <= s.mean_lag_seconds <= s.max_lag_seconds <= 540 for s in stats
    )


def test_passage_counts(sim: Simulated) -> None:
    expected: Counter[tuple[str, str, str, datetime]] = Counter()
    for kind, name in ((AccessEvent, "access"), (VehicleEvent, "vehicle")):
        for _, e in sim.window(kind):
            hour = e.time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            expected[(e.device_id, name, e.direction or "", hour)] += 1
    counts = sim.queries.passage_counts(SINCE, UNTIL)
    assert {(c.device_id, c.type, c.direction, c.hour): c.count for c in counts} == dict(expected)
    assert {c.direction for c in counts} >= {"in", "out"}


def test_plates_seen(sim: Simulated) -> None:
    expected = {
        (e.device_id, sim.vault.token("plate", e.plate)) for _, e in sim.window(VehicleEvent)
    }
    rows = sim.queries.plates_seen(SINCE, UNTIL)
    assert len(expected) > 50
    assert [(r.device_id, r.plate) for r in rows] == sorted(expected)
    # Each row's passages: how many, the first and the last.
    times: dict[tuple[str, str], list[datetime]] = {}
    for _, e in sim.window(VehicleEvent):
        times.setdefault((e.device_id, sim.vault.token("plate", e.plate)), []).append(e.time)
    for r in rows:
        seen = times[(r.device_id, r.plate)]
        assert (r.passages, r.first_seen, r.last_seen) == (len(seen), min(seen), max(seen))
        assert r.plate_masked and "*" in r.plate_masked


# --- batch models ---------------------------------------------------------------------------


def test_resident_sightings(sim: Simulated) -> None:
    seen: dict[str, list[tuple[datetime, str, str | None]]] = {}
    for _, e in sim.window(AccessEvent):
        resident = sim.resident_of(e.subject)
        if resident is not None and e.result == "granted":
            seen.setdefault(resident, []).append((e.time, e.id, e.direction))
    for _, f in sim.window(FaceEvent):
        resident = sim.resident_of(f.subject)
        if resident is not None:
            seen.setdefault(resident, []).append((f.time, f.id, None))
    for _, v in sim.window(VehicleEvent):
        owner = sim.plate_owner.get(v.plate)
        # A car read parked by a car-park camera is no sighting of its owner (#20).
        if owner is not None and sim.devices[v.device_id]["kind"] != "parking_camera":
            seen.setdefault(owner, []).append((v.time, v.id, v.direction))
    rows = {r.resident_id: r for r in sim.queries.resident_sightings(sim.reference, SINCE, UNTIL)}
    assert len(seen) > 100
    assert {r: row.at for r, row in rows.items()} == {r: max(s)[0] for r, s in seen.items()}
    for resident, row in rows.items():
        assert row.event_id in {i for t, i, _ in seen[resident] if t == row.at}
        directed = [t for t, _, d in seen[resident] if d is not None]
        assert row.direction_at == (max(directed) if directed else None)


def _at_residential_gate(sim: Simulated, e: VehicleEvent) -> bool:
    return sim.devices[e.device_id]["kind"] == "vehicle_gate" and e.device_id in sim.residential


def test_gate_vehicle_stays(sim: Simulated) -> None:
    passes: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    reads: dict[str, list[tuple[datetime, str]]] = {}  # a plate's reads at vehicle devices
    for _, e in sim.window(VehicleEvent):
        plate = sim.vault.token("plate", e.plate)
        reads.setdefault(plate, []).append((e.time, e.device_id))
        community = sim.devices[e.device_id]["community_id"]
        if _at_residential_gate(sim, e) and (e.plate, community) not in sim.registered_plates:
            passes.setdefault((plate, community), []).append((e.time, e.vehicle_class))
    readers = {d["community_id"] for d in sim.devices.values() if d["kind"] == "parking_camera"}
    assert readers

    def parked_here(device: str, community: str) -> bool:
        row = sim.devices[device]
        return row["kind"] == "parking_camera" and row["community_id"] == community

    def expected(plate: str, community: str, passed: list[tuple[datetime, str]]) -> tuple:
        last = max(passed)
        # A read anywhere but this community's own car-park camera: seen elsewhere.
        seen = max(t for t, d in reads[plate] if not parked_here(d, community))
        parked = [t for t, d in reads[plate] if parked_here(d, community) and t > last[0]]
        days = len({int(t.timestamp()) // 86400 for t in parked})
        return (len(passed), *last, seen, community in readers, days, max(parked, default=None))

    rows = sim.queries.gate_vehicle_stays(sim.reference, SINCE, UNTIL)
    assert passes
    assert {
        (r.plate, r.community_id): (
            r.passages,
            r.last_at,
            r.vehicle_class,
            r.seen_at,
            r.parked_readers,
            r.parked_days,
            r.last_parked_at,
        )
        for r in rows
    } == {key: expected(*key, passed) for key, passed in passes.items()}
    # Some of them were read elsewhere after their last passage here (the checkpoint), some
    # were read parked since.
    assert any(r.seen_at is not None and r.seen_at > r.last_at for r in rows)
    assert any(r.parked_days > 0 for r in rows)


def test_restricted_vehicle_entries(sim: Simulated) -> None:
    expected = [
        (e.id, _local(e.time).hour, e.direction)
        for _, e in sim.window(VehicleEvent)
        if _at_residential_gate(sim, e) and e.vehicle_class in ("muck_truck", "hazmat")
    ]
    rows = sim.queries.restricted_vehicle_entries(
        sim.reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS
    )
    assert {direction for _, _, direction in expected} == {"in", "out"}
    assert sorted((r.event_id, r.local_hour, r.direction) for r in rows) == sorted(expected)
    assert [r.at for r in rows] == sorted(r.at for r in rows)


def test_restricted_place_passages(sim: Simulated) -> None:
    # The simulated district declares no restricted place: mark its vehicle gates restricted.
    devices = sim.reference.devices
    gates = {str(d["id"]) for d in sim.district.tables["devices"] if d["kind"] == "vehicle_gate"}
    restricted = pa.array([d in gates for d in devices.column("device_id").to_pylist()])
    column = devices.schema.get_field_index("is_restricted")
    reference = replace(
        sim.reference, devices=devices.set_column(column, "is_restricted", restricted)
    )
    expected = [
        (e.id, e.device_id, e.direction, _local(e.time).hour)
        for _, e in sim.window(VehicleEvent)
        if e.device_id in gates
    ]
    rows = sim.queries.restricted_place_passages(
        reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS
    )
    assert expected
    assert sorted((r.event_id, r.device_id, r.direction, r.local_hour) for r in rows) == sorted(
        expected
    )
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    registered = {plate for plate, _ in sim.registered_plates}
    by_id = {e.id: e for _, e in sim.window(VehicleEvent)}
    assert all(r.is_registered == (by_id[r.event_id].plate in registered) for r in rows)
    # Without a restricted device, nothing passes one.
    assert (
        sim.queries.restricted_place_passages(
            sim.reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS
        )
        == []
    )


def _unknown_entries(sim: Simulated) -> Iterator[AccessEvent]:
    """Granted entries by subjects the registry does not know, visitor passes left out."""
    for _, e in sim.window(AccessEvent):
        if (
            e.subject is not None
            and e.result == "granted"
            and e.direction == "in"
            and e.subject.kind != "visitor"
            and sim.resident_of(e.subject) is None
        ):
            yield e


def test_unit_door_passages(sim: Simulated) -> None:
    units: dict[str, set[str]] = {}
    for _, e in sim.window(AccessEvent):
        unit = sim.devices[e.device_id]["unit_id"]
        if e.direction == "in" and unit is not None and e.subject is not None:
            units.setdefault(str(sim.key(e.subject)), set()).add(unit)
    expected = {
        e.id
        for e in _unknown_entries(sim)
        if sim.devices[e.device_id]["unit_id"] is not None
        and len(units[str(sim.key(e.subject))]) >= 2
    }
    rows = sim.queries.unit_door_passages(sim.reference, SINCE, UNTIL, min_units=2)
    assert expected
    assert {r.event_id for r in rows} == expected
    assert all(r.unit_id == sim.devices[r.device_id]["unit_id"] for r in rows)


def test_community_day_entries(sim: Simulated) -> None:
    visited: dict[tuple[str, date], set[str]] = {}
    for e in _unknown_entries(sim):
        if e.device_id in sim.residential:
            key = (str(sim.key(e.subject)), _local(e.time).date())
            visited.setdefault(key, set()).add(sim.devices[e.device_id]["community_id"])
    expected = {key: c for key, c in visited.items() if len(c) >= 2}
    rows = sim.queries.community_day_entries(
        sim.reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS, min_communities=2
    )
    assert expected
    assert {(r.subject, r.day): set(r.community_ids) for r in rows} == expected
    assert all(r.communities == len(r.community_ids) and 0 < len(r.events) <= 8 for r in rows)


def test_house_door_occupants(sim: Simulated) -> None:
    days: dict[tuple[str, str | None], set[date]] = {}
    for _, e in sim.window(AccessEvent):
        house = sim.devices[e.device_id]["house_id"]
        if house is not None and e.result == "granted":
            who = sim.resident_of(e.subject) or sim.key(e.subject)
            days.setdefault((house, who), set()).add(_local(e.time).date())
    rows = sim.queries.house_door_occupants(
        sim.reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS
    )
    assert days
    assert {(r.house_id, r.who): set(r.days) for r in rows} == days
    assert all(1 <= len(r.events) <= 2 for r in rows)


def test_night_presences(sim: Simulated) -> None:
    last: dict[tuple[str | None, date], tuple[datetime, str]] = {}
    for _, e in sim.window(AccessEvent):
        unknown = sim.resident_of(e.subject) is None
        if unknown and e.result == "granted" and e.device_id in sim.residential:
            local = _local(e.time)
            if local.hour >= 17 or local.hour < 3:
                night = (local - timedelta(hours=12)).date()
                key = (sim.key(e.subject), night)
                last[key] = max(last.get(key, (e.time, e.direction)), (e.time, e.direction))
    expected: dict[str | None, list[date]] = {}
    for (who, night), (_, direction) in sorted(last.items(), key=lambda item: item[0][1]):
        # Passages without a subject name no one: they make no one present.
        if direction == "in" and who is not None:
            expected.setdefault(who, []).append(night)
    rows = sim.queries.night_presences(
        sim.reference, SINCE, UNTIL, utc_offset_seconds=OFFSET_SECONDS
    )
    assert len(expected) > 5
    assert {r.subject: r.nights for r in rows} == expected
    assert all(0 < len(r.events) <= 8 for r in rows)


def test_door_face_captures(sim: Simulated) -> None:
    doors = [d for d in sim.devices.values() if d["kind"] == "door"]
    cameras = [d for d in sim.devices.values() if d["kind"] == "face_camera"]
    pairs = {(d["id"], d["id"]) for d in doors} | {
        (d["id"], c["id"]) for d in doors for c in cameras if c["community_id"] == d["community_id"]
    }
    door_cameras = pa.table(
        {"door_id": [d for d, _ in sorted(pairs)], "camera_id": [c for _, c in sorted(pairs)]}
    )
    passages = [
        e
        for _, e in sim.window(AccessEvent)
        if e.result == "granted" and e.device_id in sim.residential and e.subject is not None
    ]
    subjects = sorted(
        {str(sim.key(e.subject)) for e in passages if sim.resident_of(e.subject) is None}
    )
    link = timedelta(seconds=LINK_SECONDS)
    faces = [
        f
        for _, f in sim.events
        if isinstance(f, FaceEvent) and f.feature is not None and SINCE - link <= f.time < UNTIL
    ]
    linked: dict[str, set[FaceEvent]] = {}
    for e in passages:
        who = str(sim.key(e.subject))
        if who in subjects:
            for f in faces:
                if (e.device_id, f.device_id) in pairs and abs(f.time - e.time) <= link:
                    linked.setdefault(who, set()).add(f)
    found = sim.queries.door_face_captures(
        sim.reference,
        door_cameras,
        subjects,
        SINCE,
        UNTIL,
        link_seconds=LINK_SECONDS,
        max_captures=3,
    )
    assert linked
    assert {who: [c.time for c in captures] for who, captures in found.items()} == {
        who: sorted((f.time for f in fs), reverse=True)[:3] for who, fs in linked.items()
    }
    by_id = {(f.device_id, f.id): f for f in faces}
    for captures in found.values():
        for c in captures:
            assert (
                sim.vault.open_feature(c.device_id, c.event_id, c.feature)
                == by_id[(c.device_id, c.event_id)].feature
            )
    assert (
        sim.queries.door_face_captures(
            sim.reference, door_cameras, [], SINCE, UNTIL, link_seconds=LINK_SECONDS, max_captures=3
        )
        == {}
    )
