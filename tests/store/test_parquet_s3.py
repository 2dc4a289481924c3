"""The Parquet event store in an S3-compatible bucket (`store.parquet_path = "s3://…"`),
against a real S3 server on loopback (moto's, in this process's threads): files written as
objects, read back by DuckDB through the same file system, the manifest replaced in one
upload, a crash's stray objects removed, compaction and retention by day, a whole node on
it, and the settings refused with the field named."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from pydantic import SecretStr

from tests.ingest.factories import load_master_data
from tests.store.factories import START, make_logged
from tests.store.test_parquet_store import _passages, numbered, stored_ids
from tests.store.vault import MemoryVault
from tests.web.conftest import alarm_event, submit
from zhian.config import Settings, load_settings
from zhian.ingest.events import EVENT_TYPES
from zhian.kit.clock import SystemClock
from zhian.models.engines import BatchEngineError, batch_queries
from zhian.models.settings import BatchSettings
from zhian.node import Node
from zhian.store.engines import open_event_store, store_exists
from zhian.store.maintenance import RetentionKeep
from zhian.store.parquet import MANIFEST, ParquetEventStore
from zhian.store.parquet_files import ParquetFolder, ParquetLocationError

moto_server = pytest.importorskip("moto.server")

ACCESS_KEY = "zhian-test"
SECRET_KEY = "zhian-test-secret"


class S3Server:
    """An S3-compatible server on 127.0.0.1 with a bucket of the test's own."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.fs = pafs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            endpoint_override=endpoint.removeprefix("http://"),
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
        )

    def objects(self, prefix: str) -> list[str]:
        selector = pafs.FileSelector(f"{self.bucket}/{prefix}", recursive=True)
        return sorted(
            info.path.removeprefix(f"{self.bucket}/{prefix}/")
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        )

    def folder(self, prefix: str) -> ParquetFolder:
        return ParquetFolder.s3(
            f"s3://{self.bucket}/{prefix}",
            endpoint_url=self.endpoint,
            region="us-east-1",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> S3Server:
    server = S3Server(s3_endpoint, f"zhian-{secrets.token_hex(4)}")
    server.fs.create_dir(server.bucket)
    return server


def test_events_are_objects_in_the_bucket_and_read_back_after_reopening(
    s3: S3Server, tmp_path: Path
) -> None:
    vault = MemoryVault()
    logged = make_logged(600) + make_logged(600, first=601, start=START + timedelta(days=1))
    with ParquetEventStore(s3.folder("city/events"), vault, lock_folder=tmp_path) as store:
        store.apply(numbered(logged[:600]))
        store.apply(numbered(logged[600:], first_seq=601))
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 200)
        assert store.bytes_on_disk() > 0
    objects = s3.objects("city/events")
    assert MANIFEST in objects
    assert {name.rsplit("/", 1)[0] for name in objects if name.endswith(".parquet")} == {
        f"{t}_events/day={day}" for t in EVENT_TYPES for day in ("2025-03-01", "2025-03-02")
    }
    # Nothing on the local disk but the writer's lock.
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]
    with ParquetEventStore(s3.folder("city/events"), vault, lock_folder=tmp_path) as store:
        assert store.last_seq() == 1200
        assert store.count_event("DEV001", "E000000001") == 1
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 200)
        store.apply(numbered(logged))  # a replay adds nothing
        assert set(stored_ids(store).values()) == {1}
        recent = store.queries.recent_events(limit=5)
        assert len(recent) == 5


def test_objects_no_manifest_names_are_removed_at_open(s3: S3Server, tmp_path: Path) -> None:
    vault = MemoryVault()
    with ParquetEventStore(s3.folder("pq"), vault, lock_folder=tmp_path) as store:
        store.apply(numbered(make_logged(60)))
    first = next(name for name in s3.objects("pq") if name.endswith(".parquet"))
    stray = f"{s3.bucket}/pq/access_events/day=2025-03-09/part-crashed.parquet"
    s3.fs.copy_file(f"{s3.bucket}/pq/{first}", stray)  # a batch whose manifest never came
    with ParquetEventStore(s3.folder("pq"), vault, lock_folder=tmp_path) as store:
        assert "access_events/day=2025-03-09/part-crashed.parquet" not in s3.objects("pq")
        assert sum(store.queries.count_by_type().values()) == 60


def test_compaction_and_retention_in_the_bucket(s3: S3Server, tmp_path: Path) -> None:
    vault = MemoryVault()
    with ParquetEventStore(s3.folder("pq"), vault, compact_files=4, lock_folder=tmp_path) as store:
        for first in range(1, 361, 60):
            store.apply(numbered(make_logged(60, first=first), first_seq=first))
        assert store.compact() == 12
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 60)
        assert set(stored_ids(store).values()) == {1}
    listed = [name for name in s3.objects("pq") if name.endswith(".parquet")]
    assert len(listed) == 6  # the merged-away objects went when the store closed

    days = [datetime(2026, 1, d, 9, 0, tzinfo=UTC) for d in (1, 2, 3)]
    logged = [item for n, day in enumerate(days) for item in _passages(day, 10, f"d{n}-")]
    with ParquetEventStore(s3.folder("held"), vault, lock_folder=tmp_path) as store:
        store.apply(numbered(logged))
        cutoff = datetime(2026, 1, 3, 0, 0, tzinfo=UTC)
        keep = RetentionKeep(device_ids=frozenset({"door-held"}))
        assert store.delete_before("access", cutoff, keep) == 18
        kept = [i for (i,) in store.query("SELECT event_id FROM access_events ORDER BY 1")]
        assert kept == ["d0-0", "d1-0", *sorted(f"d2-{n}" for n in range(10))]
    days_left = Counter(
        name.split("/")[1] for name in s3.objects("held") if name.startswith("access_events/")
    )
    assert set(days_left) == {"day=2026-01-01", "day=2026-01-02", "day=2026-01-03"}


def test_one_writer_per_lock_folder(s3: S3Server, tmp_path: Path) -> None:
    with (
        ParquetEventStore(s3.folder("pq"), MemoryVault(), lock_folder=tmp_path),
        pytest.raises(Exception, match="held by another process"),
    ):
        ParquetEventStore(s3.folder("pq"), MemoryVault(), lock_folder=tmp_path)


def s3_settings(workspace: Path, s3: S3Server, prefix: str) -> Settings:
    return load_settings(
        workspace,
        store={
            "type": "parquet",
            "parquet_path": f"s3://{s3.bucket}/{prefix}",
            "s3_endpoint_url": s3.endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        },
    )


def test_a_node_stores_its_events_in_the_bucket(s3: S3Server, tmp_path: Path) -> None:
    settings = s3_settings(tmp_path / "ws", s3, "node/events")
    clock = SystemClock()
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        submit(node, *(alarm_event(f"s3-{n}", clock.now(), kind="fire") for n in range(5)))
        assert node.feeder.wait_caught_up(60), "the store feeder did not store the events"
        counts = [node.event_reads.count_by_type()["alarm"] for _ in range(20)]
        assert counts == [5] * 20
        assert store_exists(settings.store, settings.event_store_path, settings.parquet_store_path)
    assert any(name.startswith("alarm_events/day=") for name in s3.objects("node/events"))
    # Only the writer's lock is local; the workspace holds no Parquet file.
    assert not list(settings.workspace.rglob("*.parquet"))
    with Node.open(settings, clock, feed=False) as node:
        assert node.event_reads.count_by_type()["alarm"] == 5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"parquet_path": "s3://"}, "store.parquet_path"),
        ({"parquet_path": "s3://bucket/p?x=1"}, "store.parquet_path"),
        ({"s3_endpoint_url": "127.0.0.1:9000"}, "store.s3_endpoint_url"),
        ({"s3_secret_access_key": ""}, "store.s3_access_key_id"),
    ],
)
def test_settings_of_a_bucket_are_refused_naming_the_field(
    s3: S3Server, tmp_path: Path, changes: dict[str, str], field: str
) -> None:
    settings = s3_settings(tmp_path, s3, "pq")
    update: dict[str, object] = {
        key: SecretStr(value) if key == "s3_secret_access_key" else value
        for key, value in changes.items()
    }
    store = settings.store.model_copy(update=update)
    with pytest.raises(ParquetLocationError, match=field.replace(".", r"\.")):
        open_event_store(store, tmp_path / "x.duckdb", tmp_path / "lock", MemoryVault())


def test_spark_is_refused_for_a_store_in_a_bucket(s3: S3Server, tmp_path: Path) -> None:
    with ParquetEventStore(s3.folder("pq"), MemoryVault(), lock_folder=tmp_path) as store:
        assert batch_queries(BatchSettings(engine="duckdb"), store) is store.queries
        with pytest.raises(BatchEngineError, match="hadoop-aws"):
            batch_queries(BatchSettings(engine="spark"), store)
