"""Opening the event store the settings name (`store.type`)."""

from __future__ import annotations

from pathlib import Path

from zhian.store.events import EventStore
from zhian.store.features import StoreProtector
from zhian.store.parquet import ParquetEventStore
from zhian.store.settings import StoreSettings


def open_event_store(
    settings: StoreSettings, duckdb_path: Path, parquet_path: Path, protector: StoreProtector
) -> EventStore:
    """The DuckDB file at `duckdb_path` or the Parquet folder at `parquet_path`."""
    if settings.type == "parquet":
        return ParquetEventStore(
            parquet_path, protector, compact_files=settings.parquet_compact_files
        )
    if settings.type == "duckdb":
        return EventStore(
            duckdb_path,
            protector,
            plate_index=settings.plate_index,
            subject_index=settings.subject_index,
        )
    raise ValueError(f'store.type must be "duckdb" or "parquet", not {settings.type!r}')


def store_exists(settings: StoreSettings, duckdb_path: Path, parquet_path: Path) -> bool:
    """Whether the store the settings name has been created."""
    if settings.type == "parquet":
        return parquet_path.is_dir()
    return duckdb_path.exists()
