"""The event store's maintenance: upgrading older files in place, compaction, re-sealing
face features under a new key, and deleting by age for retention.

A second engine meets the same contract: no clear identifier or face feature survives an
upgrade (compaction rewrites the file), a key rotation re-seals every feature, and a
retention delete spares what legal holds keep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from zhian.store.features import StoreProtector
from zhian.store.schema import (
    EVENT_TABLES,
    TABLE_BY_TYPE,
    EventTable,
    StoreColumn,
    StoreIndex,
    wanted_indexes,
)

logger = logging.getLogger(__name__)

# Rows read and rewritten per round when face features are sealed anew (upgrade, rotation).
RESEAL_BATCH_ROWS: Final = 10_000

# (device id, event id, stored value) -> the value to store instead, or None to keep it.
SealedRewrite = Callable[[str, str, bytes], bytes | None]


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back if it raises
    (keeping the block's error, not the rollback's)."""
    connection.begin()
    try:
        yield
        connection.commit()
    except BaseException:
        with suppress(duckdb.Error):
            connection.rollback()
        raise


# --- indexes ---------------------------------------------------------------------------------

# How often a long index build logs how far it has got.
INDEX_PROGRESS_SECONDS: Final = 10.0


def build_indexes(
    connection: duckdb.DuckDBPyConnection,
    *,
    plate_index: bool,
    subject_index: bool,
    progress_seconds: float = INDEX_PROGRESS_SECONDS,
) -> list[str]:
    """Create the indexes the settings keep and drop the others; returns the names built.

    A store that grew without an index (an older version, or the setting off) gets it at
    this start: about 20 s per 10^7 rows on two cores, while nothing is applied, so each
    build is logged when it starts (with its rows), every `progress_seconds` while it runs
    (DuckDB's own progress) and when it ends."""
    existing = {
        name for (name,) in connection.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    }
    built = []
    for index, keep in wanted_indexes(plate_index=plate_index, subject_index=subject_index).items():
        if not keep:
            if index.name in existing:
                connection.execute(index.drop())
                logger.info("dropped the index %s (store.%s is off)", index.name, index.setting)
            continue
        if index.name in existing:
            continue
        _build_index(connection, index, progress_seconds)
        built.append(index.name)
    return built


def _build_index(
    connection: duckdb.DuckDBPyConnection, index: StoreIndex, progress_seconds: float
) -> None:
    ((rows,),) = connection.execute(f"SELECT count(*) FROM {index.table}").fetchall()
    logger.info(
        "building the index %s on %s (%s) over %s rows; intake waits until it is built",
        index.name,
        index.table,
        index.column,
        f"{rows:,}",
    )
    began = time.monotonic()
    finished = threading.Event()

    def report() -> None:
        while not finished.wait(progress_seconds):
            done = connection.query_progress()  # -1 when DuckDB cannot tell
            logger.info(
                "building the index %s: %s after %.0f s",
                index.name,
                f"{done:.0f} %" if done >= 0 else "still running",
                time.monotonic() - began,
            )

    reporter = threading.Thread(target=report, name=f"index {index.name}", daemon=True)
    connection.execute("SET enable_progress_bar_print = false")
    reporter.start()
    try:
        connection.execute(index.create())
    finally:
        finished.set()
        reporter.join()
    logger.info("built the index %s in %.1f s", index.name, time.monotonic() - began)


# --- upgrading an older file ---------------------------------------------------------------


def store_columns_uncompressed(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Rewrite each table created before some of its columns were stored uncompressed
    (`EventTable.uncompressed`): DuckDB cannot change a column's compression in place, so
    the rows move to a table created as the schema says, in one transaction, in their
    order. Its indexes go with the old table; `build_indexes` builds them again after.
    Returns the tables rewritten; each is logged with its rows and the time it took."""
    rewritten = []
    for table in EVENT_TABLES.values():
        if not table.uncompressed:
            continue
        ((sql,),) = connection.execute(
            "SELECT sql FROM duckdb_tables() WHERE table_name = ?", [table.name]
        ).fetchall()
        declared = sql.lower()
        if all(f"{c} varchar using compression uncompressed" in declared
               for c in table.uncompressed):  # fmt: skip
            continue
        ((rows,),) = connection.execute(f"SELECT count(*) FROM {table.name}").fetchall()
        logger.info(
            "rewriting %s (%s rows) to store %s uncompressed; intake waits until it is done",
            table.name,
            f"{rows:,}",
            ", ".join(table.uncompressed),
        )
        began = time.monotonic()
        connection.execute("SET enable_progress_bar_print = false")
        columns = ", ".join(name for name, _ in table.sql_columns())
        fresh = f"{table.name}_rewritten"
        with transaction(connection):
            connection.execute(table.create_sql(fresh))
            connection.execute(
                f"INSERT INTO {fresh} ({columns}) SELECT {columns} FROM {table.name} ORDER BY rowid"
            )
            connection.execute(f"DROP TABLE {table.name}")
            connection.execute(f"ALTER TABLE {fresh} RENAME TO {table.name}")
        connection.execute("CHECKPOINT")
        logger.info("rewrote %s in %.1f s", table.name, time.monotonic() - began)
        rewritten.append(table.name)
    return rewritten


def compaction_marker(path: Path) -> Path:
    """Present from before an upgrade commits until the file is rewritten: a crash in
    between leaves it, and the next open finishes the rewrite."""
    return path.with_name(path.name + ".compact")


def upgrade_older_rows(
    connection: duckdb.DuckDBPyConnection, path: Path, protector: StoreProtector
) -> None:
    """Tokenise identifiers and seal face features a store written by an older version
    still holds in the clear, marking the file for compaction when anything changed."""
    for table in EVENT_TABLES.values():
        _tokenise_older_rows(connection, path, protector, table)
        _seal_older_rows(connection, path, protector, table)


def compact(connection: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """Rewrite the store into a fresh file that replaces this one, closing `connection`
    and returning one to the new file. DuckDB leaves the blocks an update frees as they
    were, so after an upgrade the clear identifiers and face features would otherwise stay
    readable in the file's free space."""
    fresh = path.with_name(path.name + ".fresh")
    fresh.unlink(missing_ok=True)
    ((database,),) = connection.execute("SELECT current_database()").fetchall()
    connection.execute("ATTACH ? AS fresh", [str(fresh)])
    connection.execute(f'COPY FROM DATABASE "{database}" TO fresh')
    connection.execute("DETACH fresh")
    connection.close()
    fresh.replace(path)
    compaction_marker(path).unlink()
    return duckdb.connect(str(path))


def _tokenise_older_rows(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    protector: StoreProtector,
    table: EventTable,
) -> None:
    """Bring a store written before identifiers were tokenised up to date, in place:
    each stored value becomes its token, and its masked form fills the new column."""
    present = {
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table.name]
        ).fetchall()
    }
    for column in table.identifier_columns:
        if column.masked_name in present:
            continue
        compaction_marker(path).touch()
        with transaction(connection):
            connection.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.masked_name} VARCHAR")
            values = [
                value
                for (value,) in connection.execute(
                    f"SELECT DISTINCT {column.name} FROM {table.name} "
                    f"WHERE {column.name} IS NOT NULL"
                ).fetchall()
            ]
            kind = column.identifier
            assert kind is not None  # identifier_columns holds only these
            protected = [protector.protect(kind, value) for value in values]
            mapping = pa.table(
                {
                    "value": pa.array(values, type=pa.string()),
                    "token": pa.array([p.token for p in protected], type=pa.string()),
                    "masked": pa.array([p.masked for p in protected], type=pa.string()),
                }
            )
            connection.register("tokenised", mapping)
            connection.execute(
                f"UPDATE {table.name} SET {column.name} = t.token, "
                f"{column.masked_name} = t.masked FROM tokenised t "
                f"WHERE {table.name}.{column.name} = t.value"
            )
            connection.unregister("tokenised")
            protector.flush()  # the sealed values first: the rows lose theirs


def _seal_older_rows(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    protector: StoreProtector,
    table: EventTable,
) -> None:
    """Bring a store written before face features were sealed up to date, in place: the
    column becomes a BLOB (same position, so positional inserts still line up) and
    each clear value is replaced by its sealed value, all in one transaction."""
    seal = protector.seal_feature
    for column in table.sealed_columns:
        ((data_type,),) = connection.execute(
            "SELECT data_type FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
            [table.name, column.name],
        ).fetchall()
        if data_type == "BLOB":
            continue
        compaction_marker(path).touch()
        with transaction(connection):
            # encode(): the clear base64 text as bytes, until each row is sealed below.
            connection.execute(
                f"ALTER TABLE {table.name} ALTER COLUMN {column.name} "
                f"SET DATA TYPE BLOB USING encode({column.name})"
            )
            rewrite_sealed(
                connection,
                table,
                column,
                lambda device_id, event_id, clear: seal(device_id, event_id, clear.decode("ascii")),
            )


# --- face features under a new key ----------------------------------------------------------


def reseal_features(connection: duckdb.DuckDBPyConnection, protector: StoreProtector) -> int:
    """Seal every face feature not under the active key anew (key rotation), in one
    transaction; returns how many were re-sealed. The caller holds the write lock."""
    with transaction(connection):
        return sum(
            rewrite_sealed(connection, table, column, protector.reseal_feature)
            for table in EVENT_TABLES.values()
            for column in table.sealed_columns
        )


def sealed_key_counts(
    cursor: duckdb.DuckDBPyConnection, key_of: Callable[[bytes], str]
) -> Counter[str]:
    """How many sealed face features each key id holds (the key census)."""
    census: Counter[str] = Counter()
    for table in EVENT_TABLES.values():
        for column in table.sealed_columns:
            cursor.execute(
                f"SELECT {column.name} FROM {table.name} WHERE {column.name} IS NOT NULL"
            )
            while rows := cursor.fetchmany(RESEAL_BATCH_ROWS):
                census.update(key_of(value) for (value,) in rows)
    return census


def rewrite_sealed(
    connection: duckdb.DuckDBPyConnection,
    table: EventTable,
    column: StoreColumn,
    rewrite: SealedRewrite,
) -> int:
    """Pass every stored value of a sealed column through `rewrite`, in rounds by `seq`
    (unique per stored event), inside the caller's transaction; returns rows changed."""
    changed = 0
    after = -1
    while True:
        rows = connection.execute(
            f"SELECT seq, device_id, event_id, {column.name} FROM {table.name} "
            f"WHERE {column.name} IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
            [after, RESEAL_BATCH_ROWS],
        ).fetchall()
        if not rows:
            return changed
        after = rows[-1][0]
        updates = [
            (seq, fresh)
            for seq, device_id, event_id, value in rows
            if (fresh := rewrite(device_id, event_id, value)) is not None
        ]
        if not updates:
            continue
        connection.register(
            "rewritten",
            pa.table(
                {
                    "seq": pa.array([seq for seq, _ in updates], type=pa.int64()),
                    "value": pa.array([value for _, value in updates], type=pa.binary()),
                }
            ),
        )
        connection.execute(
            f"UPDATE {table.name} SET {column.name} = r.value FROM rewritten r "
            f"WHERE {table.name}.seq = r.seq"
        )
        connection.unregister("rewritten")
        changed += len(updates)


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionKeep:
    """Events a purge must leave alone (legal holds): by device, subject or plate (their
    tokens, as the store holds them) or event (`device_id/event_id`)."""

    device_ids: frozenset[str] = frozenset()
    subject_refs: frozenset[str] = frozenset()
    plates: frozenset[str] = frozenset()
    event_keys: frozenset[str] = frozenset()


def delete_before(
    connection: duckdb.DuckDBPyConnection,
    event_type: str,
    cutoff: datetime,
    keep: RetentionKeep,
    *,
    dry_run: bool,
) -> int:
    """Remove events of `event_type` whose time lies before `cutoff`, except those `keep`
    names; returns how many went, or would go with `dry_run` (which only reads, so the
    caller may pass a reader's cursor)."""
    table = TABLE_BY_TYPE[event_type]
    where, parameters = retention_filter(table, cutoff, keep)
    if dry_run:
        ((count,),) = connection.execute(
            f"SELECT count(*) FROM {table.name} WHERE {where}", parameters
        ).fetchall()
        return int(count)
    rows = connection.execute(f"DELETE FROM {table.name} WHERE {where}", parameters).fetchall()
    return int(rows[0][0]) if rows else 0


def retention_filter(
    table: EventTable, cutoff: datetime, keep: RetentionKeep
) -> tuple[str, dict[str, object]]:
    columns = {column.name for column in table.columns}
    where = ["time < $cutoff"]
    parameters: dict[str, object] = {"cutoff": cutoff}
    if keep.device_ids:
        where.append("NOT list_contains($devices, device_id)")
        parameters["devices"] = sorted(keep.device_ids)
    if keep.event_keys:
        where.append("NOT list_contains($events, device_id || '/' || event_id)")
        parameters["events"] = sorted(keep.event_keys)
    if keep.subject_refs and "subject_ref" in columns:
        where.append("(subject_ref IS NULL OR NOT list_contains($subjects, subject_ref))")
        parameters["subjects"] = sorted(keep.subject_refs)
    if keep.plates and "plate" in columns:
        where.append("NOT list_contains($plates, plate)")
        parameters["plates"] = sorted(keep.plates)
    return " AND ".join(where), parameters
