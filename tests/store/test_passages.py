"""Passage records (`zhian.store.passages`): by window, device, direction and subject token,
newest first and paged, on the DuckDB and Parquet stores and through the worker's channel;
identifiers come back masked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.store.vault import MemoryVault
from zhian.ingest.events import AccessEvent, Event, FaceEvent, LoggedEvent, Subject, VehicleEvent
from zhian.store import EventStore
from zhian.store.parquet import ParquetEventStore
from zhian.store.passages import (
    CaptureWindow,
    PassageDetail,
    PassageFilter,
    PassageRecord,
    SealedFaceCapture,
    check_filter,
    passages_statement,
)
from zhian.store.remote import answer_query

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PLATE, OTHER = "京AD12345", "京B54321"
FEATURE = "AACAPwAAAEAAAEBA"  # base64 of float32 [1.0, 2.0, 3.0]


def _events() -> list[Event]:
    def vehicle(n: int, plate: str, direction: str, device: str = "gate-1") -> VehicleEvent:
        return VehicleEvent(
            id=f"v{n}",
            device_id=device,
            time=AT + timedelta(minutes=n),
            plate=plate,
            plate_color="green",
            vehicle_class="car",
            direction=direction,  # type: ignore[arg-type]
        )

    return [
        vehicle(1, PLATE, "in"),
        vehicle(2, OTHER, "in"),
        vehicle(3, PLATE, "out", device="gate-2"),
        AccessEvent(
            id="a1",
            device_id="door-1",
            time=AT + timedelta(minutes=4),
            subject=Subject(kind="card", ref="C98765432"),
            direction="in",
            method="card",
            result="granted",
        ),
        FaceEvent(
            id="f1",
            device_id="cam-1",
            time=AT + timedelta(minutes=5),
            quality=0.8,
            subject=Subject(kind="resident", ref="R0001"),
            feature=FEATURE,
        ),
    ]


@pytest.fixture(params=["duckdb", "parquet"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[EventStore, MemoryVault]]:
    vault = MemoryVault()
    opened = (
        EventStore(tmp_path / "events.duckdb", vault)
        if request.param == "duckdb"
        else ParquetEventStore(tmp_path / "parquet", vault)
    )
    with opened:
        logged = [LoggedEvent(received_at=e.time, source="native", event=e) for e in _events()]
        opened.apply(list(enumerate(logged, start=1)))
        yield opened, vault


def _ids(records: list[PassageRecord]) -> list[str]:
    return [r.event_id for r in records]


def test_newest_first_with_masked_subjects(store: tuple[EventStore, MemoryVault]) -> None:
    events, _vault = store
    records = events.passages.passages(PassageFilter(since=AT, until=AT + timedelta(hours=1)))
    assert _ids(records) == ["f1", "a1", "v3", "v2", "v1"]
    assert records[-1].subject == "京A****45" and records[-1].direction == "in"
    assert records[1].subject == "card C******32" and records[0].direction is None
    assert all("C98765432" not in str(r) and PLATE not in str(r) for r in records)


def test_narrowed_by_window_device_direction_and_paged(
    store: tuple[EventStore, MemoryVault],
) -> None:
    events, _vault = store
    search = events.passages.passages
    window = {"since": AT, "until": AT + timedelta(hours=1)}
    assert _ids(search(PassageFilter(**window, device_ids=("gate-1",)))) == ["v2", "v1"]
    assert _ids(search(PassageFilter(**window, device_ids=()))) == []
    assert _ids(search(PassageFilter(**window, direction="out"))) == ["v3"]
    assert _ids(search(PassageFilter(**window, limit=2, offset=1))) == ["a1", "v3"]
    late = PassageFilter(since=AT + timedelta(minutes=3), until=AT + timedelta(minutes=5))
    assert _ids(search(late)) == ["a1", "v3"]
    assert _ids(search(PassageFilter(**window, types=("face",)))) == ["f1"]


def test_narrowed_by_subject_tokens(store: tuple[EventStore, MemoryVault]) -> None:
    events, vault = store
    window = {"since": AT, "until": AT + timedelta(hours=1)}
    plate = vault.token("plate", PLATE)
    by_plate = events.passages.passages(PassageFilter(**window, plate_tokens=(plate,)))
    assert _ids(by_plate) == ["v3", "v1"]
    person = (vault.token("subject", "R0001"), vault.token("subject", "C98765432"))
    by_person = events.passages.passages(PassageFilter(**window, subject_tokens=person))
    assert _ids(by_person) == ["f1", "a1"]


def test_the_worker_answers_the_query_by_name(store: tuple[EventStore, MemoryVault]) -> None:
    events, _vault = store
    search = PassageFilter(since=AT, until=AT + timedelta(hours=1), direction="in", limit=2)
    body = answer_query(events, "passages", msgspec.json.encode(search))
    answer = msgspec.json.decode(body, type=list[PassageRecord])
    assert _ids(answer) == ["a1", "v2"]


def test_a_bad_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        check_filter(PassageFilter(since=AT, until=AT, limit=0))


def test_one_passage_by_device_and_event_id(store: tuple[EventStore, MemoryVault]) -> None:
    events, _vault = store
    found = events.passages.passage("gate-2", "v3")
    assert found is not None and found.record.direction == "out" and found.image is None
    assert events.passages.passage("gate-1", "v3") is None  # another device's event id
    body = answer_query(events, "passage", b'{"device_id": "door-1", "event_id": "a1"}')
    answer = msgspec.json.decode(body, type=PassageDetail | None)
    assert answer is not None and answer.record.subject == "card C******32"


def test_sealed_captures_travel_sealed_to_the_web_process(
    store: tuple[EventStore, MemoryVault],
) -> None:
    events, vault = store
    window = CaptureWindow(since=AT, until=AT + timedelta(hours=1))
    body = answer_query(events, "sealed_captures", msgspec.json.encode(window))
    (capture,) = msgspec.json.decode(body, type=list[SealedFaceCapture])
    assert capture.event_id == "f1" and capture.subject == "resident R**01"
    assert FEATURE.encode() not in capture.feature
    assert vault.open_feature(capture.device_id, capture.event_id, capture.feature) == FEATURE
    assert events.passages.sealed_captures(CaptureWindow(**{**_window(), "device_ids": ()})) == []


def _window() -> dict[str, datetime]:
    return {"since": AT, "until": AT + timedelta(hours=1)}


def test_plates_narrow_with_every_other_filter(store: tuple[EventStore, MemoryVault]) -> None:
    """The plate lookup (done on its own, for the index) keeps the other filters' meaning."""
    events, vault = store
    search = events.passages.passages
    window = _window()
    plates = (vault.token("plate", PLATE), vault.token("plate", OTHER), "tok-unknown")
    assert _ids(search(PassageFilter(**window, plate_tokens=plates))) == ["v3", "v2", "v1"]
    assert _ids(search(PassageFilter(**window, plate_tokens=plates, direction="in"))) == [
        "v2",
        "v1",
    ]
    by_device = PassageFilter(**window, plate_tokens=plates, device_ids=("gate-2",))
    assert _ids(search(by_device)) == ["v3"]
    paged = PassageFilter(**window, plate_tokens=plates, limit=1, offset=1)
    assert _ids(search(paged)) == ["v2"]
    late = PassageFilter(since=AT + timedelta(minutes=2), until=AT + timedelta(minutes=3))
    assert _ids(search(msgspec.structs.replace(late, plate_tokens=plates))) == ["v2"]
    assert _ids(search(PassageFilter(**window, plate_tokens=()))) == []
    person = (vault.token("subject", "C98765432"),)
    both = PassageFilter(**window, plate_tokens=plates[:1], subject_tokens=person)
    assert _ids(search(both)) == ["a1", "v3", "v1"]
    many = tuple(f"tok-{n}" for n in range(12)) + plates[:1]  # `$plate1` is not `$plate12`
    assert _ids(search(PassageFilter(**window, plate_tokens=many))) == ["v3", "v1"]


def test_a_plates_passages_are_looked_up_through_the_plate_index(tmp_path: Path) -> None:
    vault = MemoryVault()
    with EventStore(tmp_path / "events.duckdb", vault, plate_index=True) as events:
        logged = [LoggedEvent(received_at=e.time, source="native", event=e) for e in _events()]
        events.apply(list(enumerate(logged, start=1)))
        search = PassageFilter(**_window(), plate_tokens=(vault.token("plate", PLATE),))
        statement = passages_statement(search)
        assert statement is not None
        plan = "\n".join(
            str(row[1]) for row in events.query("EXPLAIN ANALYZE " + statement[0], statement[1])
        )
        assert "Index Scan" in plan


def test_a_persons_keys_give_their_door_passages_and_matched_faces_in_time_order(
    store: tuple[EventStore, MemoryVault],
) -> None:
    """`subject_passages` (a resident's trajectory): every key of theirs, oldest first."""
    events, vault = store
    keys = [
        ("resident", vault.token("subject", "R0001")),
        ("card", vault.token("subject", "C98765432")),
    ]
    until = AT + timedelta(hours=1)
    found = events.subject_passages(keys, AT, until, 100)
    assert [(p.event_id, p.type, p.subject_kind) for p in found] == [
        ("a1", "access", "card"),
        ("f1", "face", "resident"),
    ]
    assert found[0].subject_masked == "C******32" and found[0].subject_token == keys[1][1]
    assert [p.event_id for p in events.subject_passages(keys, AT, until, 1)] == ["a1"]
    assert events.subject_passages(keys[:1], AT, until, 100)[0].event_id == "f1"
    # A kind must match as well as the token: the card's token named as a resident is not it.
    assert events.subject_passages([("resident", keys[1][1])], AT, until, 100) == []
    assert events.subject_passages([], AT, until, 100) == []
