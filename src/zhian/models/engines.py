"""The engine the batch models' named queries run on (`batch.engine`)."""

from __future__ import annotations

import functools

from zhian.models.settings import BatchSettings
from zhian.store.events import EventStore
from zhian.store.parquet import ParquetEventStore
from zhian.store.queries import EventQueries


class BatchEngineError(RuntimeError):
    """The batch engine the settings name cannot run here."""


def batch_queries(settings: BatchSettings, store: EventStore) -> EventQueries:
    """The store's own queries (DuckDB, over its file or its Parquet files), or Spark's
    over the Parquet store's files."""
    if settings.engine == "duckdb":
        return store.queries
    if not isinstance(store, ParquetEventStore):
        raise BatchEngineError('batch.engine = "spark" reads the Parquet store (store.type)')
    if not store.location.is_local:
        raise BatchEngineError(
            'batch.engine = "spark" reads a folder (a local disk or a mount every executor '
            f"sees), not the bucket {store.location.shown}: Spark's S3 connector (hadoop-aws) "
            'is not part of pyspark; use batch.engine = "duckdb" with an s3:// store'
        )
    try:
        from zhian.store.spark_queries import SparkEventQueries, spark_session
    except ImportError as exc:
        raise BatchEngineError(
            'batch.engine = "spark" needs pyspark: install the `spark` extra '
            f"(pip install 'zhian[spark]') and Java 17 ({exc})"
        ) from exc
    session = functools.partial(spark_session, settings.spark_master)
    return SparkEventQueries(session, store.table_files)
