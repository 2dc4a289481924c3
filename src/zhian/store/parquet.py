"""The event store on Parquet files (the scaled tier): one folder per event table, one
sub-folder per UTC day of event time (`vehicle_events/day=2026-11-01/part-….parquet`,
Hive-style, so DuckDB and Spark both prune by it).

What the store holds is what its manifest (`_manifest.json`) names: the files and the log
position they reach. A batch is written as new files, each flushed to disk, and then the
manifest is replaced atomically (written beside, fsynced, renamed, the folder fsynced).
A crash before the rename leaves files no manifest names: the next open deletes them and
the log is read again from the manifest's position, so each event is stored exactly once.
Compaction and retention follow the same order: new files, manifest, then the old files go.

Rows hold the same columns as the DuckDB store (`zhian.store.schema`): identifiers as
tokens with their masked form, face features sealed. Within a file rows are sorted by
device and time, so a device's day reads a few row groups of one day's files.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TextIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from zhian.ingest.events import Event, LoggedEvent
from zhian.store import maintenance
from zhian.store.duckdb_queries import DuckDbEventQueries
from zhian.store.events import EventStore
from zhian.store.features import StoreProtector
from zhian.store.maintenance import RetentionKeep
from zhian.store.parquet_files import ParquetFolder
from zhian.store.passages import DuckDbPassages
from zhian.store.queries import EventQueries
from zhian.store.schema import EVENT_TABLES, TABLE_BY_TYPE, EventTable
from zhian.store.writer import ARROW_TYPES, arrow_rows, seq_of

MANIFEST: Final = "_manifest.json"
MANIFEST_FORMAT: Final = 1
# Rows per row group: small enough that a device's rows of a day span few of them.
ROW_GROUP_ROWS: Final = 128 * 1024
# A file below this size is "small": compaction merges the small files of a partition.
SMALL_FILE_BYTES: Final = 64 * 1024 * 1024
# How long files that compaction, retention or re-sealing replaced stay on disk (unlisted)
# for queries that began before the change; a restart deletes them at once.
RETIRED_SECONDS: Final = 300.0


def arrow_schema(table: EventTable) -> pa.Schema:
    """The Arrow schema of an event table's files (the DuckDB store's columns, in order)."""
    return pa.schema([(name, ARROW_TYPES[sql_type]) for name, sql_type in table.sql_columns()])


@dataclass
class Manifest:
    """What the store holds: for each table its files (paths relative to the store's
    folder), and the newest log sequence number applied."""

    last_seq: int = 0
    files: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: ParquetFolder) -> Manifest:
        text = folder.read_text(MANIFEST)
        if text is None:
            return cls()
        data = json.loads(text)
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(
                f"{folder.shown}/{MANIFEST}: manifest format {data.get('format')!r} "
                "is not supported"
            )
        return cls(int(data["last_seq"]), {k: list(v) for k, v in data["files"].items()})

    def save(self, folder: ParquetFolder) -> None:
        """Replace the manifest atomically and durably."""
        body = {"format": MANIFEST_FORMAT, "last_seq": self.last_seq, "files": self.files}
        folder.replace_text(MANIFEST, json.dumps(body, sort_keys=True))

    def copy(self) -> Manifest:
        return Manifest(self.last_seq, {k: list(v) for k, v in self.files.items()})


@dataclass(frozen=True)
class DayRange:
    """The UTC days of the partitions a time window touches (either end open: None)."""

    first: date | None
    last: date | None

    def holds(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)


def window_days(since: datetime | None, until: datetime | None) -> DayRange | None:
    """The partition days of the event times in [since, until) (None: no bound at all)."""
    if since is None and until is None:
        return None
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    first = None if since is None else since.astimezone(UTC).date()
    # `until` is excluded: a window ending at midnight UTC does not touch that day.
    last = None if until is None else (until.astimezone(UTC) - timedelta(microseconds=1)).date()
    return DayRange(first, last)


def _day_of(relative: str) -> date:
    """The partition day of a file (`<table>/day=YYYY-MM-DD/<name>`)."""
    return date.fromisoformat(relative.split("/")[1].removeprefix("day="))


class ParquetEventStore(EventStore):
    """Every accepted event in Parquet files by event type and day; this process alone
    writes them. Reads (the named queries, operational reads) run on DuckDB over the files
    the manifest names, through one view per event table."""

    def __init__(
        self,
        root: Path | ParquetFolder,
        protector: StoreProtector,
        *,
        compact_files: int = 8,
        lock_folder: Path | None = None,
    ) -> None:
        """`root`: a local folder, or a `ParquetFolder` (an S3-compatible bucket and
        prefix); `lock_folder` holds the writer's lock (default: the folder itself; a
        bucket needs a local one)."""
        folder = ParquetFolder.local(root) if isinstance(root, Path) else root
        if lock_folder is None:
            if not folder.is_local:
                raise ValueError("a Parquet store in a bucket needs a local lock_folder")
            lock_folder = Path(folder.root)
        lock_folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._path = Path(folder.root) if folder.is_local else lock_folder
        self._lock_file = _hold_writer_lock(lock_folder, folder.shown)
        self.protector = protector
        self._compact_files = compact_files
        self._write_lock = threading.Lock()
        # Files a commit replaced, deleted once no query can still be reading them.
        self._retired: list[tuple[float, list[str]]] = []
        self._manifest = Manifest.load(folder)
        self._remove_unlisted_files()
        self._connection = duckdb.connect(":memory:")
        folder.attach(self._connection)
        # Footers are read once per file, not once per query.
        self._connection.execute("SET enable_object_cache = true")
        self._reader_root = self._connection.cursor()
        self._refresh_views(EVENT_TABLES.values())
        self.queries: EventQueries = DuckDbEventQueries(self._reader_root)
        self.passages = DuckDbPassages(self._reader_root)
        self._last_seq = self._manifest.last_seq

    # --- the files ------------------------------------------------------------------------

    @property
    def location(self) -> ParquetFolder:
        """Where the files live (a folder, or a bucket and prefix)."""
        return self._folder

    def table_files(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, list[Path]]:
        """The files the store holds now, by table name (every table, empty lists too):
        local paths, which Spark reads (a store in a bucket has none to give). With
        `since` and/or `until`, only the files of the UTC days that can hold an event time
        in [since, until): the manifest names each file's day, so a query over a window
        is handed that window's files and never opens the others."""
        if not self._folder.is_local:
            raise ValueError(
                f"{self._folder.shown} is in a bucket: Spark here reads a folder (a local "
                "disk or a mount every executor sees)"
            )
        days = window_days(since, until)
        with self._write_lock:
            manifest = self._manifest.copy()
        return {
            t.name: [
                Path(self._folder.full(f))
                for f in manifest.files.get(t.name, [])
                if days is None or days.holds(_day_of(f))
            ]
            for t in EVENT_TABLES.values()
        }

    def _remove_unlisted_files(self) -> None:
        """Delete what a crash left: files written for a batch whose manifest never came."""
        listed = {f for files in self._manifest.files.values() for f in files}
        for relative in self._folder.files(".parquet"):
            if relative not in listed:
                self._folder.delete(relative)
        self._folder.delete(MANIFEST + ".tmp")
        self._remove_empty_folders()

    def _remove_empty_folders(self) -> None:
        self._folder.remove_empty_folders([table.name for table in EVENT_TABLES.values()])

    def _write_file(self, table: EventTable, day: date, rows: pa.Table) -> str:
        """Write one new file of `table` for `day` (flushed to disk); returns its path
        relative to the store's folder."""
        relative = f"{table.name}/day={day.isoformat()}/part-{uuid.uuid4().hex}.parquet"
        rows = rows.sort_by([("device_id", "ascending"), ("time", "ascending")])
        self._folder.write_table(
            relative,
            rows.cast(arrow_schema(table)),
            row_group_size=ROW_GROUP_ROWS,
            compression="zstd",
        )
        return relative

    def _commit(self, manifest: Manifest, tables: set[str], gone: Sequence[str] = ()) -> None:
        """Make `manifest` the store's (atomically) and refresh the changed tables' views.
        The files it no longer names are deleted `RETIRED_SECONDS` later: a query that
        began on the old list (DuckDB, Spark) may still be reading them."""
        manifest.save(self._folder)
        self._manifest = manifest
        self._refresh_views(TABLE_BY_NAME[name] for name in tables)
        # Only then the position: a reader told the store holds a record reads it (the
        # views over a bucket take a round trip or more to bind).
        self._last_seq = manifest.last_seq
        now = time.monotonic()
        if gone:
            self._retired.append((now, list(gone)))
        due = [files for at, files in self._retired if now - at >= RETIRED_SECONDS]
        self._retired = [(at, files) for at, files in self._retired if now - at < RETIRED_SECONDS]
        self._delete([f for files in due for f in files])

    def _delete(self, files: Sequence[str]) -> None:
        for relative in files:
            self._folder.delete(relative)
        if files:
            self._remove_empty_folders()

    def _refresh_views(self, tables: Any) -> None:
        for table in tables:
            files = self._manifest.files.get(table.name, [])
            columns = ", ".join(name for name, _ in table.sql_columns())
            if files:
                listed = ", ".join(_sql_text(self._folder.query_path(f)) for f in files)
                source = f"SELECT {columns} FROM read_parquet([{listed}], hive_partitioning = true)"
            else:
                source = "SELECT " + ", ".join(
                    f"CAST(NULL AS {sql_type}) AS {name}" for name, sql_type in table.sql_columns()
                )
                source += " LIMIT 0"
            self._connection.execute(f"CREATE OR REPLACE VIEW {table.name} AS {source}")

    # --- writing --------------------------------------------------------------------------

    def apply(self, batch: Sequence[tuple[int, LoggedEvent]]) -> None:
        """Store a batch of logged events as new files and one manifest commit; seqs
        already applied are skipped."""
        with self._write_lock:
            if not batch:
                return
            last_seq = self._last_seq
            if min(map(seq_of, batch)) <= last_seq:  # a replay after a crash
                batch = [pair for pair in batch if pair[0] > last_seq]
                if not batch:
                    return
            groups: dict[type[Event], list[tuple[int, LoggedEvent]]] = {}
            for pair in batch:
                groups.setdefault(type(pair[1].event), []).append(pair)
            protect, seal = self.protector.protect, self.protector.seal_feature
            written: list[tuple[EventTable, date, pa.Table]] = []
            for kind, pairs in groups.items():
                table = EVENT_TABLES[kind]
                rows = arrow_rows(table, pairs, protect, seal)
                for day, part in _by_day(rows):
                    written.append((table, day, part))
            # Sealed values are durable before the rows that carry only their tokens.
            self.protector.flush()
            manifest = self._manifest.copy()
            for table, day, part in written:
                manifest.files.setdefault(table.name, []).append(self._write_file(table, day, part))
            manifest.last_seq = max(map(seq_of, batch))
            self._commit(manifest, {table.name for table, _, _ in written})
            self._compact_where_due({(table, day) for table, day, _ in written})

    # --- compaction -----------------------------------------------------------------------

    def compact(self) -> int:
        """Merge the small files of every partition now; returns how many files went."""
        with self._write_lock:
            partitions = {
                (TABLE_BY_NAME[name], _day_of(f))
                for name, files in self._manifest.files.items()
                for f in files
            }
            return self._compact(partitions, at_least=2)

    def _compact_where_due(self, partitions: set[tuple[EventTable, date]]) -> None:
        self._compact(partitions, at_least=self._compact_files)

    def _compact(self, partitions: set[tuple[EventTable, date]], *, at_least: int) -> int:
        manifest = self._manifest.copy()
        gone: list[str] = []
        changed: set[str] = set()
        merged_into = 0
        for table, day in sorted(partitions, key=lambda p: (p[0].name, p[1])):
            files = manifest.files.get(table.name, [])
            small = [
                f for f in files if _day_of(f) == day and self._folder.size(f) < SMALL_FILE_BYTES
            ]
            if len(small) < at_least:
                continue
            merged = pa.concat_tables([self._folder.read_table(f) for f in small])
            kept = [f for f in files if f not in small]
            manifest.files[table.name] = [*kept, self._write_file(table, day, merged)]
            gone.extend(small)
            changed.add(table.name)
            merged_into += 1
        if changed:
            self._commit(manifest, changed, gone)
        return len(gone) - merged_into

    # --- maintenance ----------------------------------------------------------------------

    def delete_before(
        self,
        event_type: str,
        cutoff: datetime,
        keep: RetentionKeep | None = None,
        *,
        dry_run: bool = False,
    ) -> int:
        """Remove events of `event_type` before `cutoff` except those `keep` names: a day
        folder with nothing kept goes whole; a file holding kept rows is rewritten with
        them alone. Returns how many events went, or would go with `dry_run`."""
        keep = keep or RetentionKeep()
        table = TABLE_BY_TYPE[event_type]
        where, parameters = maintenance.retention_filter(table, cutoff, keep)
        if dry_run:
            ((count,),) = self._read(f"SELECT count(*) FROM {table.name} WHERE {where}", parameters)
            return int(count)
        last_day = cutoff.astimezone(UTC).date()
        removed = 0
        with self._write_lock:
            manifest = self._manifest.copy()
            files = manifest.files.get(table.name, [])
            kept_files: list[str] = []
            gone: list[str] = []
            with closing(self._connection.cursor()) as cursor:
                for relative in files:
                    if _day_of(relative) > last_day:
                        kept_files.append(relative)
                        continue
                    source = (
                        f"(SELECT * FROM read_parquet("
                        f"{_sql_text(self._folder.query_path(relative))}, "
                        "hive_partitioning = false))"
                    )
                    ((total, leaving),) = cursor.execute(
                        f"SELECT count(*), count(*) FILTER (WHERE {where}) FROM {source}",
                        parameters,
                    ).fetchall()
                    if not leaving:
                        kept_files.append(relative)
                        continue
                    removed += int(leaving)
                    gone.append(relative)
                    if leaving < total:
                        remaining = cursor.sql(
                            f"SELECT * FROM {source} WHERE ({where}) IS NOT TRUE",
                            params=parameters,
                        ).to_arrow_table()
                        kept_files.append(self._write_file(table, _day_of(relative), remaining))
            if gone:
                manifest.files[table.name] = kept_files
                self._commit(manifest, {table.name}, gone)
        return removed

    def reseal_features(self) -> int:
        """Seal every face feature not under the active key anew (key rotation): each file
        holding one is rewritten, and one manifest commit swaps them; returns how many
        features were re-sealed."""
        changed = 0
        with self._write_lock:
            manifest = self._manifest.copy()
            gone: list[str] = []
            tables: set[str] = set()
            for table in EVENT_TABLES.values():
                if not table.sealed_columns:
                    continue
                files = manifest.files.get(table.name, [])
                replaced: list[str] = []
                for relative in files:
                    rows = self._folder.read_table(relative)
                    fresh_rows, count = _resealed(rows, table, self.protector)
                    if not count:
                        replaced.append(relative)
                        continue
                    changed += count
                    gone.append(relative)
                    replaced.append(self._write_file(table, _day_of(relative), fresh_rows))
                if replaced != files:
                    manifest.files[table.name] = replaced
                    tables.add(table.name)
            if gone:
                self.protector.flush()
                self._commit(manifest, tables, gone)
        return changed

    def close(self) -> None:
        try:
            super().close()
            with self._write_lock:
                self._delete([f for _, files in self._retired for f in files])
                self._retired = []
        finally:
            self._lock_file.close()

    def bytes_on_disk(self) -> int:
        """The size of every file the store holds."""
        with self._write_lock:
            manifest = self._manifest.copy()
        return sum(self._folder.size(f) for files in manifest.files.values() for f in files)


def _hold_writer_lock(folder: Path, shown: str) -> TextIO:
    """One writing process per store, as DuckDB enforces for its file: a second opener gets
    the same `duckdb.IOException` (a `serve --all` beside a worker is told so). For a
    store in a bucket the lock is a local file: one writer per machine is enforced, one
    writer per bucket prefix is the deployment's (one worker per node)."""
    handle = (folder / ".lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise duckdb.IOException(
            f"Could not set lock on {shown}: the Parquet store is held by another process"
        ) from None
    return handle


TABLE_BY_NAME: Final = {table.name: table for table in EVENT_TABLES.values()}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _by_day(rows: pa.Table) -> Iterator[tuple[date, pa.Table]]:
    """The rows of a batch split by the UTC day of their event time."""
    days = pc.cast(rows.column("time"), pa.date32())
    for day in pc.unique(days).to_pylist():
        yield day, rows.filter(pc.equal(days, pa.scalar(day, pa.date32())))


def _resealed(rows: pa.Table, table: EventTable, protector: StoreProtector) -> tuple[pa.Table, int]:
    changed = 0
    devices = rows.column("device_id").to_pylist()
    events = rows.column("event_id").to_pylist()
    for column in table.sealed_columns:
        values = rows.column(column.name).to_pylist()
        fresh: list[bytes | None] = []
        for device_id, event_id, value in zip(devices, events, values, strict=True):
            new = None if value is None else protector.reseal_feature(device_id, event_id, value)
            if new is not None:
                changed += 1
            fresh.append(new if new is not None else value)
        index = rows.schema.get_field_index(column.name)
        rows = rows.set_column(index, column.name, pa.array(fresh, type=pa.binary()))
    return rows, changed
