"""The event store's settings (`[store]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class StoreSettings(BaseModel):
    """The analytical event store: one DuckDB file (the embedded tier) or Parquet files
    partitioned by event type and day (the scaled tier, docs/deploy-scaled.md)."""

    type: Literal["duckdb", "parquet"] = Field(
        default="duckdb",
        description='Engine that holds the events: "duckdb" (one file in the workspace) or '
        '"parquet" (files by event type and day under `parquet_path`).',
    )
    parquet_path: str = Field(
        default="",
        description='Where the Parquet store lives (store.type = "parquet"): a local or mounted '
        "folder, or an S3-compatible bucket and prefix as `s3://bucket/prefix` (endpoint and "
        "keys below); empty: `events-parquet` in the workspace.",
    )
    s3_endpoint_url: str = Field(
        default="",
        description="Endpoint of the S3-compatible store for an `s3://` parquet_path, as "
        "`http(s)://host:port` (MinIO, Ceph, a cloud's); empty: AWS's own.",
    )
    s3_region: str = Field(
        default="", description="Region of the bucket (`s3://` parquet_path); empty: the default."
    )
    s3_access_key_id: str = Field(
        default="",
        description="Access key id for an `s3://` parquet_path; empty (with the secret empty "
        "too): the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment or profile.",
    )
    s3_secret_access_key: SecretStr = Field(
        default=SecretStr(""),
        description="Secret access key for an `s3://` parquet_path: set it in the environment "
        "(ZHIAN_STORE__S3_SECRET_ACCESS_KEY), not in zhian.toml.",
    )
    parquet_compact_files: int = Field(
        default=8,
        ge=2,
        description="Small files of one event type and day that the Parquet store merges into "
        "one as soon as there are this many.",
    )
    plate_index: bool = Field(
        default=True,
        description="Keep an index on vehicle passages' plate tokens in the DuckDB store: a "
        "plate's passages (trajectories, search, follow list) are read in milliseconds "
        "instead of a scan of every passage, for slower appends of vehicle passages "
        "(bench/trajectory.py). Turning it off drops the index at the next start; turning it "
        "on builds it then, with progress in the log.",
    )
    subject_index: bool = Field(
        default=True,
        description="Keep an index on the subject tokens of door passages and face captures "
        "in the DuckDB store: a resident's passages (trajectories, passage search, follow "
        "list) are read through it instead of a scan of every door passage and capture, for "
        "slower appends of those events (bench/trajectory.py). Turning it off drops the index "
        "at the next start; turning it on builds it then, with progress in the log.",
    )
    batch_events: int = Field(
        default=20_000, ge=1, description="Most events the store appends in one transaction."
    )
    poll_seconds: float = Field(
        default=0.2, gt=0, description="How often the store looks for new events in the log."
    )
