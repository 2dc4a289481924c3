"""Opening the event store the settings name (`store.type`)."""

from __future__ import annotations

from pathlib import Path

from zhian.store.events import EventStore
from zhian.store.features import StoreProtector
from zhian.store.parquet import MANIFEST, ParquetEventStore
from zhian.store.parquet_files import ParquetFolder, is_s3_url
from zhian.store.settings import StoreSettings


def parquet_location(settings: StoreSettings) -> ParquetFolder | None:
    """The bucket and prefix of an `s3://` parquet_path (None: a local folder)."""
    if not is_s3_url(settings.parquet_path):
        return None
    return ParquetFolder.s3(
        settings.parquet_path,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key.get_secret_value(),
    )


def open_event_store(
    settings: StoreSettings, duckdb_path: Path, parquet_path: Path, protector: StoreProtector
) -> EventStore:
    """The DuckDB file at `duckdb_path` or the Parquet store: the folder at `parquet_path`,
    or the bucket of an `s3://` parquet_path (then `parquet_path` is the local folder of
    the writer's lock)."""
    if settings.type == "parquet":
        bucket = parquet_location(settings)
        return ParquetEventStore(
            parquet_path if bucket is None else bucket,
            protector,
            compact_files=settings.parquet_compact_files,
            lock_folder=None if bucket is None else parquet_path,
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
        bucket = parquet_location(settings)
        return parquet_path.is_dir() if bucket is None else bucket.exists(MANIFEST)
    return duckdb_path.exists()
