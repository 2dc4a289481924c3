"""The store's indexes (`store.plate_index`, `store.subject_index`): the passage search (a
plate with its one-character misreads, a person's tokens), a plate's trajectory and a
resident's trajectory answer the same with the indexes or without them, read through the
indexes when they are there, and an index a store gains at start is built with its
progress in the log."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import msgspec
import pytest

from tests.store.vault import MemoryVault
from zhian.ingest.events import AccessEvent, Event, FaceEvent, LoggedEvent, Subject, VehicleEvent
from zhian.search.plates import plate_query
from zhian.store import EventStore
from zhian.store.engines import open_event_store
from zhian.store.events import plate_passages_sql, subject_passages_statement
from zhian.store.passages import (
    DuckDbPassages,
    PassageFilter,
    PassageRecord,
    passages_statement,
)
from zhian.store.settings import StoreSettings

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TYPED = "浙A12345"
QUERY = plate_query(TYPED)
assert QUERY is not None
# The typed plate, three of its misreads that occur, and plates that are not near it.
NEAR = (QUERY.near[0], QUERY.near[40], QUERY.near[-1])
PLATES = (TYPED, *NEAR, "沪C24680", "京B67890")
CARDS = ("C0001", "C0002", "C0003")
RESIDENTS = ("R0001", "R0002")


def _events(count: int) -> list[Event]:
    """Vehicle passages, door passages and face captures, interleaved over 4 devices each."""
    events: list[Event] = []
    for n in range(count):
        at, k = AT + timedelta(minutes=n), n // 3
        if n % 3 == 0:
            events.append(VehicleEvent(
                id=f"v{n}", device_id=f"gate-{n % 4}", time=at, plate=PLATES[k % len(PLATES)],
                plate_color="blue", vehicle_class="car", direction=("in", "out")[n % 2],
            ))  # fmt: skip
        elif n % 3 == 1:
            key = (
                Subject(kind="card", ref=CARDS[k % len(CARDS)])
                if k % 2
                else Subject(kind="resident", ref=RESIDENTS[k // 2 % len(RESIDENTS)])
            )
            events.append(AccessEvent(
                id=f"a{n}", device_id=f"door-{n % 4}", time=at, subject=key,
                direction=("in", "out")[n % 2], method="card", result="granted",
            ))  # fmt: skip
        else:
            events.append(FaceEvent(
                id=f"f{n}", device_id=f"cam-{n % 4}", time=at, quality=0.9,
                subject=Subject(kind="resident", ref=RESIDENTS[k % len(RESIDENTS)]),
            ))  # fmt: skip
    return events


def _logged(events: list[Event]) -> list[tuple[int, LoggedEvent]]:
    return [
        (seq, LoggedEvent(received_at=e.time, source="native", event=e))
        for seq, e in enumerate(events, start=1)
    ]


def _open(folder: Path, vault: MemoryVault, *, indexes: bool) -> EventStore:
    settings = StoreSettings(plate_index=indexes, subject_index=indexes)
    return open_event_store(settings, folder / "events.duckdb", folder / "parquet", vault)


def _indexes(store: EventStore) -> set[str]:
    return {name for (name,) in store.query("SELECT index_name FROM duckdb_indexes()")}


def _filters(vault: MemoryVault) -> list[PassageFilter]:
    """The page's searches: a plate with its misreads (typed first, as the page asks), a
    plate alone, a person's keys, narrowed and paged."""
    assert QUERY is not None
    plates = tuple(vault.token("plate", p) for p in (QUERY.plate, *QUERY.near))
    person = tuple(vault.token("subject", ref) for ref in (CARDS[0], RESIDENTS[1]))
    window = {"since": AT, "until": AT + timedelta(days=1)}
    return [
        PassageFilter(**window, plate_tokens=plates),
        PassageFilter(**window, plate_tokens=plates, limit=7, offset=5),
        PassageFilter(**window, plate_tokens=plates, direction="out", device_ids=("gate-1",)),
        PassageFilter(**window, plate_tokens=plates[:1], limit=500),
        PassageFilter(**window, subject_tokens=person, limit=500),
        PassageFilter(**window, subject_tokens=person, types=("face",), limit=3, offset=2),
        PassageFilter(**window, plate_tokens=plates[:1], subject_tokens=person, limit=500),
        PassageFilter(
            since=AT + timedelta(minutes=30),
            until=AT + timedelta(minutes=90),
            plate_tokens=plates,
            subject_tokens=person,
        ),
        # Longer than a day: the last day is tried first (it holds the page whole) ...
        PassageFilter(
            since=AT - timedelta(days=2), until=AT + timedelta(hours=15), plate_tokens=plates
        ),
        PassageFilter(
            since=AT, until=AT + timedelta(hours=34), plate_tokens=plates, limit=7, offset=5
        ),
        # ... or the last 8 days do ...
        PassageFilter(
            since=AT - timedelta(days=20),
            until=AT + timedelta(days=2),
            plate_tokens=plates,
            limit=30,
        ),
        # ... or neither does, and the whole window is read.
        PassageFilter(
            since=AT, until=AT + timedelta(hours=34), plate_tokens=plates, limit=50, offset=40
        ),
        PassageFilter(
            since=AT - timedelta(days=3),
            until=AT + timedelta(hours=13),
            plate_tokens=plates,
            direction="in",
            limit=100,
        ),
        # A subject's newest page, its times found first through the index and then read
        # by time (`DuckDbPassages`): a plate, a person, both, narrowed and paged.
        PassageFilter(**window, plate_tokens=plates[:1], limit=10),
        PassageFilter(**window, plate_tokens=plates[:1], limit=5, offset=7, direction="in"),
        PassageFilter(**window, plate_tokens=plates[:2], limit=6, device_ids=("gate-0", "gate-3")),
        PassageFilter(**window, subject_tokens=person, limit=12, offset=3),
        PassageFilter(**window, subject_tokens=person, limit=8, device_ids=("door-1", "cam-1")),
        PassageFilter(**window, plate_tokens=plates[:1], subject_tokens=person, limit=20),
        PassageFilter(**window, plate_tokens=(plates[0], plates[0]), limit=9),
    ]


def _expected(events: list[Event], search: PassageFilter, vault: MemoryVault) -> list[str]:
    """A search's page by plate or subject tokens computed from the events themselves."""

    def token(event: Event) -> str | None:
        kind = {VehicleEvent: "vehicle", AccessEvent: "access", FaceEvent: "face"}[type(event)]
        if kind not in search.types:
            return None
        if isinstance(event, VehicleEvent) and search.plate_tokens is not None:
            return vault.token("plate", event.plate)
        if (
            isinstance(event, AccessEvent | FaceEvent)
            and event.subject is not None
            and search.subject_tokens is not None
        ):
            return vault.token("subject", event.subject.ref)
        return None

    wanted = {*(search.plate_tokens or ()), *(search.subject_tokens or ())}
    found = sorted(
        (
            e
            for e in events
            if token(e) in wanted
            and search.since <= e.time < search.until
            and search.direction in (None, getattr(e, "direction", None))
            and (search.device_ids is None or e.device_id in search.device_ids)
        ),
        key=lambda e: e.time,
        reverse=True,
    )
    return [e.id for e in found[search.offset : search.offset + search.limit]]


def _answers(store: EventStore, vault: MemoryVault) -> list[list[PassageRecord]]:
    return [store.passages.passages(search) for search in _filters(vault)]


def test_passage_searches_answer_the_same_with_the_indexes_or_without(tmp_path: Path) -> None:
    vault = MemoryVault()
    events = _events(900)
    answers = []
    for indexes in (True, False):
        with _open(tmp_path / str(indexes), vault, indexes=indexes) as store:
            store.apply(_logged(events))
            assert bool(_indexes(store)) is indexes
            answers.append(_answers(store, vault))
    assert answers[0] == answers[1]
    # And they are the right ones: each subject's passages in the window, newest first.
    searches = _filters(vault)
    for search, answer in zip(searches, answers[0], strict=True):
        assert [r.event_id for r in answer] == _expected(events, search, vault), search
    assert len(answers[0][0]) == 50 and len(answers[0][11]) == 50 and answers[0][12]
    assert len(answers[0][10]) == 30
    assert all(
        len(answer) == search.limit
        for search, answer in zip(searches[13:], answers[0][13:], strict=True)
    )
    person = answers[0][4]
    assert {r.type for r in person} == {"access", "face"}
    assert all(r.subject is not None and r.subject.startswith(("card", "resident")) for r in person)


def test_trajectories_read_the_same_with_the_indexes_or_without(tmp_path: Path) -> None:
    vault = MemoryVault()
    events = _events(600)
    read = []
    for indexes in (True, False):
        with _open(tmp_path / str(indexes), vault, indexes=indexes) as store:
            store.apply(_logged(events))
            keys = [
                ("resident", vault.token("subject", RESIDENTS[0])),
                ("card", vault.token("subject", CARDS[1])),
            ]
            since, until = AT + timedelta(hours=1), AT + timedelta(hours=8)
            person = store.subject_passages(keys, since, until, 1000)
            plate = store.plate_passages(vault.token("plate", TYPED), since, until, 1000)
            read.append(([(p.event_id, p.type) for p in person], [p.event_id for p in plate]))
    assert read[0] == read[1]
    person_ids, plate_ids = read[0]
    expected_person = [
        e.id
        for e in events
        if isinstance(e, AccessEvent | FaceEvent)
        and e.subject is not None
        and (e.subject.kind, e.subject.ref) in {("resident", RESIDENTS[0]), ("card", CARDS[1])}
        and AT + timedelta(hours=1) <= e.time < AT + timedelta(hours=8)
    ]
    assert [event_id for event_id, _ in person_ids] == expected_person
    assert {kind for _, kind in person_ids} == {"access", "face"}
    expected_plate = [
        e.id
        for e in events
        if isinstance(e, VehicleEvent)
        and e.plate == TYPED
        and AT + timedelta(hours=1) <= e.time < AT + timedelta(hours=8)
    ]
    assert plate_ids == expected_plate and plate_ids


def _plan(store: EventStore, sql: str, parameters: dict[str, object]) -> str:
    return "\n".join(str(row[1]) for row in store.query("EXPLAIN ANALYZE " + sql, parameters))


def test_the_lookups_go_through_the_indexes(tmp_path: Path) -> None:
    vault = MemoryVault()
    with _open(tmp_path, vault, indexes=True) as store:
        store.apply(_logged(_events(300)))
        for search in _filters(vault):
            statement = passages_statement(search)
            assert statement is not None
            plan = _plan(store, *statement)
            looked_up = int(bool(search.plate_tokens)) + 2 * int(bool(search.subject_tokens))
            if search.types == ("face",):
                looked_up = 1
            assert plan.count("Index Scan") == looked_up, plan
            assert "Sequential Scan" not in plan
        keys = [("resident", vault.token("subject", RESIDENTS[0]))]
        since, until = AT, AT + timedelta(days=1)
        plan = _plan(store, *subject_passages_statement(keys, since, until, 100))
        assert plan.count("Index Scan") == 2 and "Sequential Scan" not in plan
        window = {"plate": vault.token("plate", TYPED), "since": since, "until": until}
        plan = _plan(store, plate_passages_sql(), {**window, "limit": 100})
        assert plan.count("Index Scan") == 1 and "Sequential Scan" not in plan


def test_an_index_a_store_gains_is_built_at_start_with_its_progress_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vault = MemoryVault()
    with _open(tmp_path, vault, indexes=False) as store:
        store.apply(_logged(_events(90)))
        assert _indexes(store) == set()
    logged = caplog.at_level(logging.INFO, logger="zhian.store.maintenance")
    with logged, _open(tmp_path, vault, indexes=True) as store:
        assert _indexes(store) == {
            "vehicle_events_plate",
            "access_events_subject",
            "face_events_subject",
        }
        assert store.last_seq() == 90
    messages = [record.getMessage() for record in caplog.records]
    assert (
        "building the index access_events_subject on access_events (subject_ref) over 30 "
        "rows; intake waits until it is built"
    ) in messages
    assert any(m.startswith("built the index face_events_subject in ") for m in messages)
    caplog.clear()
    path = tmp_path / "events.duckdb"
    logged = caplog.at_level(logging.INFO, logger="zhian.store.maintenance")
    with logged, EventStore(path, vault, plate_index=True, subject_index=False) as store:
        assert _indexes(store) == {"vehicle_events_plate"}
    assert [r.getMessage() for r in caplog.records] == [
        "dropped the index access_events_subject (store.subject_index is off)",
        "dropped the index face_events_subject (store.subject_index is off)",
    ]


def _compression(path: Path) -> dict[str, set[str]]:
    """How DuckDB stores each column of vehicle_events in the file (after a checkpoint)."""
    with closing(duckdb.connect(str(path), read_only=True)) as connection:
        rows = connection.execute(
            "SELECT column_name, compression FROM pragma_storage_info('vehicle_events') "
            "WHERE segment_type <> 'VALIDITY'"
        ).fetchall()
    found: dict[str, set[str]] = {}
    for column, compression in rows:
        found.setdefault(column, set()).add(compression.lower())
    return found


def test_an_older_store_is_rewritten_with_the_looked_up_columns_uncompressed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A plate's rows are fetched one by one through the plate index: the plate and event id
    # are stored uncompressed, which makes each fetch far cheaper (docs/search.md).
    vault = MemoryVault()
    events = _events(1500)
    path = tmp_path / "events.duckdb"
    with _open(tmp_path, vault, indexes=True) as store:
        store.apply(_logged(events))
    assert _compression(path)["plate"] == {"uncompressed"}
    assert _compression(path)["event_id"] == {"uncompressed"}
    assert _compression(path)["device_id"] != {"uncompressed"}
    # A store created before: the same rows in a table without the columns' compression.
    with closing(duckdb.connect(str(path))) as connection:
        connection.execute("CREATE TABLE older AS SELECT * FROM vehicle_events ORDER BY rowid")
        connection.execute("DROP TABLE vehicle_events")
        connection.execute("ALTER TABLE older RENAME TO vehicle_events")
        connection.execute("CHECKPOINT")
        before = connection.execute("SELECT * FROM vehicle_events ORDER BY rowid").fetchall()
    assert _compression(path)["plate"] != {"uncompressed"}
    plate = vault.token("plate", TYPED)
    since, until = AT + timedelta(hours=2), AT + timedelta(hours=20)
    logged = caplog.at_level(logging.INFO, logger="zhian.store.maintenance")
    with logged, _open(tmp_path, vault, indexes=True) as store:
        assert store.query("SELECT * FROM vehicle_events ORDER BY rowid") == before
        assert "vehicle_events_plate" in _indexes(store)
        trajectory = [p.event_id for p in store.plate_passages(plate, since, until, 1000)]
        window = {"plate": plate, "since": since, "until": until, "limit": 1000}
        plan = _plan(store, plate_passages_sql(), window)
        assert plan.count("Index Scan") == 1 and "Sequential Scan" not in plan
    messages = [record.getMessage() for record in caplog.records]
    assert (
        "rewriting vehicle_events (500 rows) to store plate, event_id uncompressed; "
        "intake waits until it is done"
    ) in messages
    assert any(m.startswith("rewrote vehicle_events in ") for m in messages)
    assert _compression(path)["plate"] == {"uncompressed"}
    assert trajectory == [
        e.id
        for e in events
        if isinstance(e, VehicleEvent) and e.plate == TYPED and since <= e.time < until
    ]
    assert trajectory
    # Once rewritten, a later start leaves it as it is.
    caplog.clear()
    logged = caplog.at_level(logging.INFO, logger="zhian.store.maintenance")
    with logged, _open(tmp_path, vault, indexes=True) as store:
        assert store.last_seq() == len(events)
    assert caplog.records == []


class _RecordingCursor:
    """A cursor that keeps the parameters of each statement it runs."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, seen: list[dict[str, object]]) -> None:
        self._cursor, self._seen = cursor, seen

    def execute(self, sql: str, parameters: dict[str, object]) -> duckdb.DuckDBPyConnection:
        self._seen.append(parameters)
        return self._cursor.execute(sql, parameters)

    def close(self) -> None:
        self._cursor.close()


class _Recording:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection, self.seen = connection, list[dict[str, object]]()

    def cursor(self) -> _RecordingCursor:
        return _RecordingCursor(self.connection.cursor(), self.seen)


def test_a_subjects_newest_page_is_read_over_its_own_span_of_time(tmp_path: Path) -> None:
    vault = MemoryVault()
    with _open(tmp_path, vault, indexes=True) as store:
        store.apply(_logged(_events(900)))
        path = store.path
    window = {"since": AT - timedelta(days=30), "until": AT + timedelta(days=2)}
    searches = [
        PassageFilter(**window, plate_tokens=(vault.token("plate", TYPED),), limit=10),
        PassageFilter(
            **window, subject_tokens=(vault.token("subject", CARDS[0]),), limit=20, offset=4
        ),
    ]
    with closing(duckdb.connect(str(path))) as connection:
        recording = _Recording(connection)
        indexed = DuckDbPassages(
            recording,  # type: ignore[arg-type]
            indexed=["vehicle_events", "access_events", "face_events"],
        )
        for search in searches:
            page = indexed.passages(search)
            assert page == DuckDbPassages(connection).passages(search)
            assert len(page) == search.limit
            # The page's times first, then only the span from its oldest row to its newest
            # (the offset's rows before it included), not the 32 days asked.
            newest = DuckDbPassages(connection).passages(
                msgspec.structs.replace(search, limit=1, offset=0)
            )[0]
            assert recording.seen[-1]["since"] == page[-1].time
            assert recording.seen[-1]["until"] == newest.time + timedelta(microseconds=1)
