"""Passage records (门禁/过车/人脸): the search pages' read of access, vehicle and face events.

One question, answered on DuckDB over the store's file or its Parquet files: the passages
in a time window, narrowed by device, direction and subject (plate or person tokens), newest
first, one page at a time. Subjects are the store's keyed tokens, never values; rows carry
the masked forms only. The caller decides which devices the user may see (their scope).

It is not one of the batch models' named queries (`zhian.store.queries.EventQueries`): no
model asks it, so Spark does not answer it; pages in another process ask it by name
(`zhian.store.remote`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import duckdb
import msgspec

from zhian.store.schema import EVENT_TABLES

PassageType = Literal["access", "vehicle", "face"]
PASSAGE_TYPES: Final[tuple[PassageType, ...]] = ("access", "vehicle", "face")
MAX_PAGE_ROWS: Final = 5000  # an export's page; a screen shows far fewer
# A many-plate search tries its last day, then its last 8 days, before the whole window.
RECENT_FIRST: Final = (timedelta(days=1), timedelta(days=8))
# A subject's newest page is read by time (a scan of the rows between its oldest and newest
# passage) rather than through the index when that scan reads at most this many rows per
# passage the index would fetch: fetching one row through the index costs about as much as
# scanning 3,000 to 4,000 (an exploratory store of 10^7 events, docs/search.md, *Latency*).
SCAN_ROWS_PER_FETCH: Final = 2000
# Up to this many tokens, a read by time checks each token on its own (`_lookup_sql`).
EQUALITY_TOKENS: Final = 8


class PassageFilter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to search: a time window [since, until) and optional narrowing.

    `device_ids` None means every device (an unscoped user); an empty list means none.
    `plate_tokens` narrow vehicle passages, `subject_tokens` access and face passages;
    giving either leaves out the types it cannot match.
    """

    since: datetime
    until: datetime
    types: tuple[PassageType, ...] = PASSAGE_TYPES
    device_ids: tuple[str, ...] | None = None
    direction: Literal["in", "out"] | None = None
    plate_tokens: tuple[str, ...] | None = None
    subject_tokens: tuple[str, ...] | None = None
    limit: int = 50
    offset: int = 0
    # Set by `DuckDbPassages.passages` on its first tries of a many-plate search: the lookup
    # reads the window by time (its last days), not through the index.
    recent: bool = False


class PassageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One passage as the list shows it: identifiers masked, the image only as a flag."""

    type: str
    seq: int
    event_id: str
    device_id: str
    time: datetime
    direction: str | None
    subject: str | None  # masked plate or `<kind> <masked ref>`
    detail: str  # the remaining fields of the type, joined
    has_image: bool

    @property
    def summary(self) -> str:
        """One line, as the workbench shows an event: direction, subject, detail."""
        return " · ".join(part for part in (self.direction, self.subject, self.detail) if part)


class PassageDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One passage for its own page: the list's row and the reference of its image (a
    capture, a vehicle snapshot, a GA/T 1400 sub-image), opened only by an audited read."""

    record: PassageRecord
    image: str | None


class CaptureWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Face captures with a feature in [since, until), at `device_ids` (None: any), newest
    first, at most `limit` (a face search compares each)."""

    since: datetime
    until: datetime
    device_ids: tuple[str, ...] | None = None
    limit: int = 20_000


class SealedFaceCapture(msgspec.Struct, frozen=True, kw_only=True):
    """A face capture with its feature still sealed to its row (opened only by an audited
    face search) and its subject masked."""

    device_id: str
    event_id: str
    time: datetime
    subject: str | None
    has_image: bool
    feature: bytes


# Per type: the columns the list shows and which subject filter applies.
_SELECTS: Final[dict[PassageType, str]] = {
    "access": (
        "SELECT 'access' AS type, seq, event_id, device_id, time, direction, "
        "subject_kind || ' ' || subject_masked AS subject, concat_ws(' · ', method, result) "
        "AS detail, FALSE AS has_image FROM access_events"
    ),
    "vehicle": (
        "SELECT 'vehicle' AS type, seq, event_id, device_id, time, direction, "
        "plate_masked AS subject, concat_ws(' · ', plate_color, vehicle_class) AS detail, "
        "image IS NOT NULL AS has_image FROM vehicle_events"
    ),
    "face": (
        "SELECT 'face' AS type, seq, event_id, device_id, time, NULL AS direction, "
        "subject_kind || ' ' || subject_masked AS subject, "
        "'quality ' || printf('%.2f', quality) AS detail, image IS NOT NULL AS has_image "
        "FROM face_events"
    ),
}
_SUBJECT_COLUMN: Final[dict[PassageType, tuple[str, str]]] = {
    "access": ("subject_ref", "subject_tokens"),
    "vehicle": ("plate", "plate_tokens"),
    "face": ("subject_ref", "subject_tokens"),
}


def _wanted_types(search: PassageFilter) -> list[PassageType]:
    types = [t for t in PASSAGE_TYPES if t in search.types]
    if search.plate_tokens is not None or search.subject_tokens is not None:
        types = [t for t in types if getattr(search, _SUBJECT_COLUMN[t][1]) is not None]
    if search.plate_tokens == ():
        types = [t for t in types if t != "vehicle"]  # no plate: no vehicle passage
    if search.direction is not None:
        types = [t for t in types if t != "face"]  # a capture has no direction
    return types


# A subject's passages are looked up first, on their own, in a materialised CTE per table: a
# lookup by `plate IN (...)` (or `subject_ref IN (...)`) alone is what the store's ART
# indexes answer (`store.plate_index`, `store.subject_index`), while the same filter inside
# the newest-first UNION lets DuckDB's top-N rewrite (late materialisation) scan the whole
# table: p95 ≈ 300 ms at 2 × 10^6 events with the index or without it (bench/search.py,
# docs/search.md). Each token is a constant of the IN list (an unnested list parameter is
# a join, which scans), and the lookup fetches only the columns the list shows: every row
# it finds is fetched through the index one by one, column by column.
_LOOKUP_COLUMNS: Final[dict[PassageType, str]] = {
    "access": "seq, event_id, device_id, time, direction, subject_kind, subject_masked, "
    "method, result",
    "vehicle": "seq, event_id, device_id, time, direction, plate_masked, plate_color, "
    "vehicle_class, image",
    "face": "seq, event_id, device_id, time, subject_kind, subject_masked, quality, image",
}
_TABLES: Final[dict[PassageType, str]] = {
    "access": "access_events",
    "vehicle": "vehicle_events",
    "face": "face_events",
}
_PARAMETER_PREFIX: Final = {"plate_tokens": "plate", "subject_tokens": "subject"}


def _token_parameters(search: PassageFilter) -> dict[str, str]:
    """One named parameter per plate or subject token, so each lookup is a constant IN list."""
    parameters = {}
    for field, prefix in _PARAMETER_PREFIX.items():
        for i, token in enumerate(getattr(search, field) or ()):
            parameters[f"{prefix}{i}"] = token
    return parameters


# A search narrowed to its most recent days (`PassageFilter.recent`) reads their rows
# by time, which the store's zone maps prune to a few blocks, not through the index.
_RECENT: Final = " AND time >= $since AND time < $until"


def _lookup_name(kind: PassageType) -> str:
    return f"{kind}_lookup"


def _looked_up(kind: PassageType, search: PassageFilter) -> bool:
    """Whether `kind`'s passages are narrowed by tokens (and so read by a lookup)."""
    return bool(getattr(search, _SUBJECT_COLUMN[kind][1]))


def _lookup_sql(kind: PassageType, search: PassageFilter) -> str:
    column, field = _SUBJECT_COLUMN[kind]
    prefix = _PARAMETER_PREFIX[field]
    tokens: tuple[str, ...] = getattr(search, field)
    select = f"SELECT {_LOOKUP_COLUMNS[kind]} FROM {_TABLES[kind]} WHERE "
    if search.recent and len(set(tokens)) <= EQUALITY_TOKENS:
        # Read by time, a few tokens are each their own equality, which the scan checks on
        # the token column alone before it reads any other; an IN list is checked after
        # every column of every row in the span has been read.
        first = {token: i for i, token in reversed(list(enumerate(tokens)))}
        reads = " UNION ALL ".join(
            f"{select}{column} = ${prefix}{i}{_RECENT}" for i in sorted(first.values())
        )
        return f"{_lookup_name(kind)} AS MATERIALIZED ({reads})"
    names = ", ".join(f"${prefix}{i}" for i in range(len(tokens)))
    return (
        f"{_lookup_name(kind)} AS MATERIALIZED ({select}{column} IN ({names})"
        f"{_RECENT if search.recent else ''})"
    )


def _part(kind: PassageType, search: PassageFilter) -> str:
    conditions = ["time >= $since", "time < $until"]
    if search.device_ids is not None:
        conditions.append("device_id IN (SELECT unnest($devices))")
    if search.direction is not None:
        conditions.append("direction = $direction")
    select = _SELECTS[kind]
    tokens = _SUBJECT_COLUMN[kind][1]
    if _looked_up(kind, search):
        select = select.replace(f" FROM {_TABLES[kind]}", f" FROM {_lookup_name(kind)}")
    elif getattr(search, tokens) is not None:
        conditions.append("FALSE")  # an empty token list matches nothing
    return f"{select} WHERE {' AND '.join(conditions)}"


def _page_times_sql(search: PassageFilter, kinds: list[PassageType]) -> str:
    """The first step of a subject's newest page: the time, token and row id of each of its
    passages, looked up through the index with no other column fetched (the costly part of
    an index read is fetching each row's columns, the event id above all), narrowed as the
    page is, newest first, `$limit` of them; and how many passages the lookup found."""
    extra = ""
    if search.device_ids is not None:
        extra += ", device_id"
    if search.direction is not None:
        extra += ", direction"
    lookups, parts = [], []
    for kind in kinds:
        column, field = _SUBJECT_COLUMN[kind]
        prefix = _PARAMETER_PREFIX[field]
        names = ", ".join(f"${prefix}{i}" for i in range(len(getattr(search, field))))
        lookups.append(
            f"{kind}_times AS MATERIALIZED (SELECT rowid AS row_id, seq, time, "
            f"{column} AS token{extra} FROM {_TABLES[kind]} WHERE {column} IN ({names}))"
        )
        conditions = ["time >= $since", "time < $until"]
        if search.device_ids is not None:
            conditions.append("device_id IN (SELECT unnest($devices))")
        if search.direction is not None:
            conditions.append("direction = $direction")
        parts.append(
            f"SELECT '{kind}' AS type, row_id, seq, time, token FROM {kind}_times "
            f"WHERE {' AND '.join(conditions)}"
        )
    found = " + ".join(f"(SELECT count(*) FROM {kind}_times)" for kind in kinds)
    return (
        f"WITH {', '.join(lookups)} SELECT type, row_id, timezone('UTC', time), token, {found} "
        f"FROM ({' UNION ALL '.join(parts)}) ORDER BY time DESC, seq DESC LIMIT $limit"
    )


def passages_sql(search: PassageFilter) -> str | None:
    """The DuckDB statement for `search`; None when no event type can match."""
    types = _wanted_types(search)
    if not types or search.device_ids == ():
        return None
    lookups = [_lookup_sql(kind, search) for kind in types if _looked_up(kind, search)]
    with_clause = f"WITH {', '.join(lookups)} " if lookups else ""
    union = " UNION ALL ".join(_part(kind, search) for kind in types)
    return (
        f"{with_clause}SELECT type, seq, event_id, device_id, timezone('UTC', time), "
        f"direction, subject, detail, has_image FROM ({union}) ORDER BY time DESC, seq DESC "
        "LIMIT $limit OFFSET $offset"
    )


def passages_statement(search: PassageFilter) -> tuple[str, dict[str, object]] | None:
    """The statement for `search` with the parameters it names; None when nothing can match."""
    sql = passages_sql(search)
    if sql is None:
        return None
    return sql, _parameters(search, sql)


def _parameters(search: PassageFilter, sql: str) -> dict[str, object]:
    parameters: dict[str, object] = {
        "since": search.since,
        "until": search.until,
        "devices": list(search.device_ids or ()),
        "direction": search.direction,
        "limit": search.limit,
        "offset": search.offset,
        **_token_parameters(search),
    }
    # DuckDB refuses a parameter the statement does not name; `$plate1` is not `$plate10`.
    return {k: v for k, v in parameters.items() if re.search(rf"\${k}\b", sql)}


def check_filter(search: PassageFilter) -> None:
    """ValueError naming the field when the filter cannot be run as given."""
    if search.since.tzinfo is None or search.until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    if not 1 <= search.limit <= MAX_PAGE_ROWS:
        raise ValueError(f"limit must be 1 to {MAX_PAGE_ROWS}")
    if search.offset < 0:
        raise ValueError("offset must not be negative")


def _detail_sql() -> str:
    """One event of a device by its id, of any type: a passage as the list shows it, and an
    alarm, heartbeat or crowd count with its table's one-line summary (no subject, no
    direction, no image)."""
    parts = []
    for kind in PASSAGE_TYPES:
        image = "NULL::VARCHAR" if kind == "access" else "image"
        select = _SELECTS[kind].replace(" FROM ", f", {image} AS image_ref FROM ", 1)
        parts.append(f"{select} WHERE device_id = $device AND event_id = $event")
    for table in EVENT_TABLES.values():
        if table.event_type in PASSAGE_TYPES:
            continue
        parts.append(
            f"SELECT '{table.event_type}' AS type, seq, event_id, device_id, time, "
            f"NULL::VARCHAR AS direction, NULL::VARCHAR AS subject, {table.summary_sql} AS "
            f"detail, FALSE AS has_image, NULL::VARCHAR AS image_ref FROM {table.name} "
            "WHERE device_id = $device AND event_id = $event"
        )
    return (
        "SELECT type, seq, event_id, device_id, timezone('UTC', time), direction, subject, "
        f"detail, has_image, image_ref FROM ({' UNION ALL '.join(parts)}) "
        "ORDER BY seq LIMIT 1"
    )


class DuckDbPassages:
    """Passage search over a DuckDB store (its file, or views over its Parquet files);
    each call reads through a cursor of its own taken from `reader_root`.

    `indexed` names the tables whose subject column an index answers (`store.plate_index`,
    `store.subject_index`): a search by subject there reads its newest page first."""

    def __init__(
        self, reader_root: duckdb.DuckDBPyConnection, *, indexed: Iterable[str] = ()
    ) -> None:
        self._root = reader_root
        self._indexed = frozenset(indexed)

    def passages(self, search: PassageFilter) -> list[PassageRecord]:
        """Newest first; `limit` rows from `offset` on."""
        check_filter(search)
        if len(search.plate_tokens or ()) > 1:
            # A plate with its misreads: its newest page is most often within the last days
            # (a few hundred plates pass every day), found there by a short scan, while the
            # index fetches every passage of every plate one by one (bench/search.py). The
            # page is the same if the last days hold it whole; else the whole window is read.
            for span in RECENT_FIRST:
                if search.until - search.since <= span:
                    break
                recent = msgspec.structs.replace(search, since=search.until - span, recent=True)
                rows = self._rows(recent)
                if len(rows) == search.limit:
                    return [_record(row) for row in rows]
        whole = msgspec.structs.replace(search, recent=False)
        return [_record(row) for row in self._rows(self._newest_page(whole) or whole)]

    def _newest_page(self, search: PassageFilter) -> PassageFilter | None:
        """The same search narrowed to the span of time that holds its page, to be read by
        time, when that is cheaper than reading every passage of its subjects through the
        index; None to read the search as it is.

        Through the index, every passage of the subjects is fetched, column by column, row
        by row, before the window narrows them and the page keeps `limit`: a subject seen
        daily costs its whole history for a page of its last days. So the index first gives
        only the time of each passage (`_page_times_sql`); the page's rows are then the
        newest `offset + limit` of them, between their oldest and newest time, and a read of
        that span by time (the zone maps prune the rest) finds the same rows, and with
        them every other passage of the span, which the time order then leaves off the
        page. The span's rows are estimated by its row ids (rows are stored in about their
        time order); a span longer than `SCAN_ROWS_PER_FETCH` rows per passage found is read
        through the index after all, as is a window holding fewer than `offset + limit` and a
        search by more than `EQUALITY_TOKENS` tokens of a kind."""
        kinds = [kind for kind in _wanted_types(search) if _looked_up(kind, search)]
        if not kinds or search.device_ids == ():
            return None
        if max(len(search.plate_tokens or ()), len(search.subject_tokens or ())) > (
            EQUALITY_TOKENS
        ):
            # A plate with its misreads: finding the times of every variant's passages
            # cost more than it saved (bench/search.py at 10^8: p50 1.14 s → 1.84 s with
            # three variants seen); its last days are tried first instead (`passages`).
            return None
        if any(_TABLES[kind] not in self._indexed for kind in kinds):
            return None  # without the index, finding the times scans the tables
        wanted = search.offset + search.limit
        sql = _page_times_sql(search, kinds)
        parameters = _parameters(msgspec.structs.replace(search, limit=wanted, offset=0), sql)
        with closing(self._root.cursor()) as cursor:
            times = cursor.execute(sql, parameters).fetchall()
        if len(times) < wanted:
            return None
        on_page = sorted({kind for kind, _, _, _, _ in times})
        plates = tuple(sorted({token for kind, _, _, token, _ in times if kind == "vehicle"}))
        subjects = tuple(sorted({token for kind, _, _, token, _ in times if kind != "vehicle"}))
        if len(plates) > EQUALITY_TOKENS or len(subjects) > EQUALITY_TOKENS:
            return None
        span = 0  # the rows a read by time scans: each token's, in each table on the page
        for kind in on_page:
            row_ids = [row_id for k, row_id, _, _, _ in times if k == kind]
            span += (max(row_ids) - min(row_ids) + 1) * len(
                plates if kind == "vehicle" else subjects
            )
        if span > times[0][4] * SCAN_ROWS_PER_FETCH:
            return None
        newest, oldest = (times[i][2].replace(tzinfo=UTC) for i in (0, -1))
        # Only the types and tokens with a passage on the page are kept: [oldest, newest]
        # holds every row of the page, so the same rows come first in the same order.
        return msgspec.structs.replace(
            search,
            since=oldest,
            until=newest + timedelta(microseconds=1),
            types=tuple(on_page),
            plate_tokens=plates if search.plate_tokens is not None else None,
            subject_tokens=subjects if search.subject_tokens is not None else None,
            recent=True,
        )

    def _rows(self, search: PassageFilter) -> list[tuple[Any, ...]]:
        statement = passages_statement(search)
        if statement is None:
            return []
        with closing(self._root.cursor()) as cursor:
            return cursor.execute(*statement).fetchall()

    def passage(self, device_id: str, event_id: str) -> PassageDetail | None:
        """One event of a device by its event id (the first stored), or None: a passage,
        or an alarm, heartbeat or crowd count (`_detail_sql`)."""
        with closing(self._root.cursor()) as cursor:
            rows = cursor.execute(
                _detail_sql(), {"device": device_id, "event": event_id}
            ).fetchall()
        if not rows:
            return None
        return PassageDetail(record=_record(rows[0]), image=rows[0][9])

    def sealed_captures(self, window: CaptureWindow) -> list[SealedFaceCapture]:
        """Face captures with a feature in the window, newest first."""
        if window.since.tzinfo is None or window.until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        if window.device_ids == ():
            return []
        devices = "" if window.device_ids is None else " AND device_id IN (SELECT unnest($d))"
        sql = (
            "SELECT device_id, event_id, timezone('UTC', time), "
            "subject_kind || ' ' || subject_masked, image IS NOT NULL, feature "
            "FROM face_events WHERE feature IS NOT NULL AND time >= $since AND time < $until"
            f"{devices} ORDER BY time DESC, seq DESC LIMIT $limit"
        )
        parameters: dict[str, object] = {
            "since": window.since,
            "until": window.until,
            "limit": window.limit,
        }
        if window.device_ids is not None:
            parameters["d"] = list(window.device_ids)
        with closing(self._root.cursor()) as cursor:
            rows = cursor.execute(sql, parameters).fetchall()
        return [
            SealedFaceCapture(
                device_id=row[0],
                event_id=row[1],
                time=row[2].replace(tzinfo=UTC),
                subject=row[3],
                has_image=bool(row[4]),
                feature=bytes(row[5]),
            )
            for row in rows
        ]


def _record(row: tuple[Any, ...]) -> PassageRecord:
    return PassageRecord(
        type=row[0],
        seq=row[1],
        event_id=row[2],
        device_id=row[3],
        time=row[4].replace(tzinfo=UTC),
        direction=row[5],
        subject=row[6],
        detail=row[7] or "",
        has_image=bool(row[8]),
    )
