"""The event stream: valid, ordered, deterministic, referring only to known master data."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.sim.conftest import DAY_START
from zhian.ingest.events import (
    AccessEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.sim import TZ, District, build_district, default_start, stream_events
from zhian.sim.faces import cosine, decode_feature

HOUR = timedelta(hours=1)


def _encoded(events: list[Event]) -> bytes:
    return msgspec.json.Encoder().encode_lines(events)


def test_every_event_round_trips_through_the_schema(day_events: list[Event]) -> None:
    decoder = msgspec.json.Decoder(Event)
    encoder = msgspec.json.Encoder()
    for event in day_events:
        assert decoder.decode(encoder.encode(event)) == event


def test_events_per_day_at_scale_one(day_events: list[Event]) -> None:
    assert 80_000 <= len(day_events) <= 150_000
    kinds = Counter(type(e).__name__ for e in day_events)
    assert set(kinds) == {
        "AccessEvent", "VehicleEvent", "FaceEvent", "AlarmEvent", "HeartbeatEvent", "CrowdEvent"
    }  # fmt: skip
    assert kinds["AccessEvent"] > 5_000
    assert kinds["FaceEvent"] > 4_000


def test_time_order_zone_and_bounds(day_events: list[Event]) -> None:
    times = [e.time for e in day_events]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert times[0] >= DAY_START
    assert times[-1] < DAY_START + timedelta(days=1)
    assert all(t.utcoffset() == timedelta(hours=8) for t in times[:1000])


def test_ids_unique_per_device(day_events: list[Event]) -> None:
    keys = [(e.device_id, e.id) for e in day_events]
    assert len(set(keys)) == len(keys)


def test_ids_stay_unique_between_a_replay_and_the_live_stream_after_it(
    district: District,
) -> None:
    """The demo replays history with one seed, then goes live from `now` with another."""
    now = DAY_START + timedelta(hours=10, minutes=17, seconds=3, microseconds=5)
    replay = stream_events(district, start=now - 3 * HOUR, end=now, seed=7)
    live = stream_events(district, start=now, end=now + HOUR, seed=8)
    keys = [(e.device_id, e.id) for e in itertools.chain(replay, live)]
    assert len(set(keys)) == len(keys)


def test_same_seed_same_bytes_other_seed_differs(district: District) -> None:
    def first(seed: int, source: District) -> bytes:
        events = stream_events(source, start=DAY_START, end=None, seed=seed)
        return _encoded(list(itertools.islice(events, 10_000)))

    reference = first(7, district)
    assert first(7, build_district(seed=7)) == reference
    assert first(8, district) != reference


def test_events_refer_to_known_master_data(district: District, day_events: list[Event]) -> None:
    devices = district.ids("devices")
    enabled = set(district.enabled_devices)
    zones = district.ids("zones")
    residents = district.ids("residents")
    cards = {r["card_ref"] for r in district.tables["residents"] if r["card_ref"]}
    couriers = set(district.courier_refs)
    unknown_cards = 0
    for event in day_events:
        assert event.device_id in devices
        assert event.device_id in enabled
        if isinstance(event, CrowdEvent):
            assert event.zone_id in zones
        subject = getattr(event, "subject", None)
        if subject is None:
            continue
        if subject.kind == "resident":
            assert subject.ref in residents
        elif subject.kind == "card":
            if subject.ref not in cards:
                # Only a refused read may come from a card nobody registered.
                assert isinstance(event, AccessEvent) and event.result == "denied"
                unknown_cards += 1
        elif subject.kind == "visitor":
            assert subject.ref in couriers or subject.ref.startswith("visitor-")
        elif subject.kind == "face_cluster" and isinstance(event, AccessEvent):
            # A face the door does not know: refused (a forced-entry attempt).
            assert event.result == "denied" and event.method == "face"
        else:
            assert subject.kind == "qr" and subject.ref.startswith("qr-")
    assert unknown_cards >= 1


def test_device_kinds_match_events(district: District, day_events: list[Event]) -> None:
    kinds = {d: str(r["kind"]) for d, r in district.device_rows.items()}
    expected = {
        AccessEvent: {"door"},
        VehicleEvent: {"vehicle_gate", "checkpoint", "parking_camera"},
        FaceEvent: {"face_camera"},
        CrowdEvent: {"crowd_counter"},
    }
    for event in day_events:
        allowed = expected.get(type(event))
        if allowed is not None:
            assert kinds[event.device_id] in allowed, event


def test_every_enabled_device_beats_every_five_minutes(
    district: District, day_events: list[Event]
) -> None:
    beats = Counter(e.device_id for e in day_events if isinstance(e, HeartbeatEvent))
    silent_or_short = [d for d in district.enabled_devices if beats[d] != 288]
    # Only devices that were planted offline miss beats.
    assert len(silent_or_short) <= 5
    assert not any(beats[d] for d in district.disabled_devices)


def test_daily_rhythm(day_events: list[Event]) -> None:
    by_hour = Counter(e.time.hour for e in day_events if isinstance(e, AccessEvent))
    assert by_hour[7] + by_hour[8] > 10 * (by_hour[2] + by_hour[3] + 1)
    assert by_hour[17] + by_hour[18] > 5 * (by_hour[2] + by_hour[3] + 1)
    gates = Counter(e.time.hour for e in day_events if isinstance(e, VehicleEvent))
    assert gates[8] > 3 * gates[3]


def test_school_gate_crowds_peak_at_the_school_runs(day_events: list[Event]) -> None:
    school = defaultdict(int)
    for e in day_events:
        if isinstance(e, CrowdEvent) and e.zone_id == "Z03" and e.occupancy is not None:
            school[(e.time.hour, e.time.minute)] = e.occupancy
    assert school[(7, 30)] > 10 * max(school[(3, 0)], 1)
    assert school[(16, 30)] > 10 * max(school[(12, 0)] // 4, 1)
    lines = [e for e in day_events if isinstance(e, CrowdEvent) and e.count_in is not None]
    assert lines and all(e.interval_seconds == 60 for e in lines)


def test_face_features_are_unit_vectors_that_identify_a_person(
    day_events: list[Event],
) -> None:
    by_person: dict[str, list[list[float]]] = defaultdict(list)
    featured = 0
    for e in day_events:
        if isinstance(e, FaceEvent) and isinstance(e.feature, str):
            featured += 1
            vector = decode_feature(e.feature)
            assert len(vector) == 128
            assert abs(sum(x * x for x in vector) - 1.0) < 1e-4
            if e.subject is not None:
                by_person[e.subject.ref].append(vector)
    faces = sum(1 for e in day_events if isinstance(e, FaceEvent))
    assert 0.15 * faces < featured < 0.6 * faces
    pairs = [v for v in by_person.values() if len(v) >= 2][:20]
    others = [v[0] for v in by_person.values()][:21]
    assert pairs
    for vectors in pairs:
        assert cosine(vectors[0], vectors[1]) > 0.85
    for a, b in itertools.pairwise(others):
        assert cosine(a, b) < 0.5


def test_partial_hours_and_naive_times(district: District) -> None:
    start = datetime(2026, 11, 16, 13, 27, 5, 500, tzinfo=TZ)
    events = list(stream_events(district, start=start, end=start + HOUR, seed=1))
    assert events[0].time >= start and events[-1].time < start + HOUR
    with pytest.raises(ValueError, match="timezone-aware"):
        list(stream_events(district, start=datetime(2026, 11, 16), end=None, seed=1))


def test_default_start_is_a_midnight_days_before_today() -> None:
    now = datetime(2026, 11, 19, 19, 0, tzinfo=UTC)  # already the 20th in +08:00
    assert default_start(now, 3) == datetime(2026, 11, 17, tzinfo=TZ)
    assert default_start(now, 2.5) == datetime(2026, 11, 17, tzinfo=TZ)
