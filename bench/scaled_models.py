"""Every batch model at 10^7–10^8 events: on the Parquet store with Spark local and with
DuckDB over the files, and on the embedded DuckDB store as baseline, in the same run.

Run: .venv/bin/python -u bench/scaled_models.py [--events 10000000] [--scale 2]
         [--master local[2]] [--folder DIR] [--keep] [--spark-all-files]

Filling a store of 10^8 events through the simulator and each store's `apply` takes about
half an hour per store on this machine (bench/results/models-1e8.txt), so the stores are
built from one simulated week instead:

1. The simulator streams a district (scale `--scale`) for one week (`--week-days`, 7 so
   that weekdays stay weekdays); those events go through the embedded store's own write
   path (`EventStore.apply`, batches of 200,000: plates and subject refs tokenised, face
   features sealed, as in a node).
2. The week is repeated in SQL inside that DuckDB file, each copy shifted by a whole week
   (time and received_at), with fresh event ids and log positions, until `--events` rows:
   the same residents keep using the same doors, the same vehicles the same gates, the same
   faces the same cameras, week after week; the simulator's scenarios (welfare opt-ins,
   group rentals, restricted vehicles...) recur every week. A copied face feature is
   re-sealed for its new row (features are sealed bound to device and event id).
3. The Parquet store is exported from that file with DuckDB's `COPY ... (FORMAT PARQUET,
   PARTITION_BY (day))` in the layout `ParquetEventStore` writes (`<table>/day=YYYY-MM-DD/
   part-<uuid>.parquet`, zstd, row groups of 128k rows, rows by day, device and time), and
   its manifest is written with the store's own `Manifest`, so `ParquetEventStore` opens it
   and its readers (DuckDB views, Spark's through `batch_queries`) read exactly those files.

Each model then runs once at the last event's time, alone, on each engine, through the
production path (`model.run` on the named analytical queries); its wall time and the peak
resident memory of this process and its children (Spark's JVM) are printed, with the ratio
against the embedded store and the alerts of each engine (the two Parquet engines must
agree). Spark is timed apart before the models: importing pyspark, starting the session
(the JVM), and a first query over every file. Spark is handed only the files of each
query's window (the manifest's days); `--spark-all-files` also runs every model on Spark
handed every file of each table, as before that pruning, in the same run. The stores are
deleted at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from duckdb import func

from zhian.alerts.drafts import AlertDraft
from zhian.devices.models import Device
from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import generate_keyring
from zhian.governance.tokens import Tokeniser
from zhian.governance.vault import IdentifierVault
from zhian.ingest.events import Event, LoggedEvent
from zhian.models.base import ModelRun
from zhian.models.catalogue import MODELS
from zhian.models.engines import batch_queries
from zhian.models.master import MasterData, TokenOf, build_master
from zhian.models.orm import WelfareOptin
from zhian.models.settings import BatchSettings, ModelSettings
from zhian.registry.models import (
    Building,
    Community,
    House,
    PlaceRestriction,
    Resident,
    Unit,
    Vehicle,
)
from zhian.sim import TZ, District, Simulation, build_district
from zhian.sim.scenarios_housing import WELFARE_OPTIN
from zhian.store.events import EventStore
from zhian.store.parquet import MANIFEST, ROW_GROUP_ROWS, Manifest, ParquetEventStore
from zhian.store.parquet_files import ParquetFolder
from zhian.store.queries import EventQueries
from zhian.store.schema import EVENT_TABLES, STORE_CONSUMER, EventTable

BATCH = 200_000
START = datetime(2026, 1, 1, tzinfo=TZ)


def _rss_of(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/status").open() as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process has ended
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss() -> int:
    """Resident memory of this process and every descendant (Spark's JVM)."""
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += _rss_of(pid)
        todo += _children(pid)
    return total


class PeakMemory:
    """The highest resident memory of the process tree while a block runs (every 20 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, tree_rss())

    def __enter__(self) -> PeakMemory:
        self.peak = tree_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(action: Callable[[], object]) -> tuple[float, int]:
    with PeakMemory() as memory:
        began = time.perf_counter()
        action()
        seconds = time.perf_counter() - began
    return seconds, memory.peak


def resident(row: dict[str, Any], tokens: TokenOf) -> Resident:
    """A simulated resident as the registry holds it: the access card as its token."""
    fields = {k: v for k, v in row.items() if k != "card_ref"}
    card = row.get("card_ref")
    return Resident(**fields, card_ref_token=None if card is None else tokens("subject", card))


def vehicle(row: dict[str, Any], tokens: TokenOf) -> Vehicle:
    """A simulated vehicle as the registry holds it: the plate as its token."""
    fields = {k: v for k, v in row.items() if k != "plate"}
    return Vehicle(**fields, plate_token=tokens("plate", str(row["plate"])))


def restricted_gate(devices: list[dict[str, Any]]) -> PlaceRestriction:
    """A gate only its community's vehicles may pass, by day (as in the engine contract
    test), so that `model.restricted_vehicle` has a rule to apply."""
    gate = next(str(d["id"]) for d in devices if d["kind"] == "vehicle_gate")
    return PlaceRestriction(
        id="G1", device_id=gate, zone_id=None, name="仅限本社区车辆白天通行",
        governs_classes="", direction=None, allowed_classes="", allowed_owners="community",
        allowed_from_hour=6, allowed_until_hour=22,
    )  # fmt: skip


def master_of(district: District, optins: list[str], tokens: TokenOf) -> MasterData:
    t = district.tables
    return build_master(
        {str(r["id"]): Community(**r) for r in t["communities"]},
        {str(r["id"]): Building(**r) for r in t["buildings"]},
        {str(r["id"]): Unit(**r) for r in t["units"]},
        [House(**r) for r in t["houses"]],
        [resident(r, tokens) for r in t["residents"]],
        [Device(**r) for r in t["devices"]],
        [vehicle(r, tokens) for r in t["vehicles"]],
        [WelfareOptin(resident_id=r, requested_by="self", since=START) for r in optins],
        tokens,
        restrictions=[restricted_gate(t["devices"])],
    )


def bench_vault() -> IdentifierVault:
    """A vault with a fresh key ring; sealed values are discarded, tokens and sealing cost
    what they cost."""
    ring = generate_keyring()
    sealer = IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key))
    return IdentifierVault(sealer, lambda rows: None, lambda: datetime.now(UTC))


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def simulate_week(
    store: EventStore, events: Iterator[Event], until: datetime, limit: int
) -> tuple[int, float]:
    """The simulator's events before `until` (at most `limit`) through the store's own
    write path; returns how many and the seconds `apply` took."""
    now = datetime.now(UTC)
    stream = itertools.takewhile(lambda e: e.time < until, events)
    seq, seconds = 0, 0.0
    while chunk := list(itertools.islice(stream, min(BATCH, limit - seq))):
        batch = [(seq + i + 1, LoggedEvent(now, "bench", e)) for i, e in enumerate(chunk)]
        began = time.perf_counter()
        store.apply(batch)
        seconds += time.perf_counter() - began
        seq += len(chunk)
    return seq, seconds


def _columns(table: EventTable) -> list[str]:
    return [name for name, _ in table.sql_columns()]


def repeat_week(
    connection: duckdb.DuckDBPyConnection, vault: IdentifierVault, week: int, days: int, total: int
) -> None:
    """Copies 1, 2, ... of the week's rows (seq ≤ `week`) shifted by `days` each, until
    `total` rows: copy k has seq + k·week, event id `<id>~k`, times + k·days; face
    features are re-sealed for their new row."""

    def reseal(devices: pa.Array, old: pa.Array, new: pa.Array, sealed: pa.Array) -> pa.Array:
        out: list[bytes | None] = []
        for device, before, after, value in zip(
            devices.to_pylist(), old.to_pylist(), new.to_pylist(), sealed.to_pylist(), strict=True
        ):
            if value is None:
                out.append(None)
                continue
            out.append(vault.seal_feature(device, after, vault.open_feature(device, before, value)))
        return pa.array(out, type=pa.binary())

    connection.create_function(
        "bench_reseal",
        reseal,
        ["VARCHAR", "VARCHAR", "VARCHAR", "BLOB"],
        "BLOB",
        type=func.PythonUDFType.ARROW,
    )
    copies = math.ceil(total / week)
    for table in EVENT_TABLES.values():
        shifted = {
            "seq": "seq + k * $week",
            "event_id": "event_id || '~' || k",
            "time": "time + k * $days * INTERVAL 1 DAY",
            "received_at": "received_at + k * $days * INTERVAL 1 DAY",
        }
        for column in table.sealed_columns:
            shifted[column.name] = (
                f"bench_reseal(device_id, event_id, event_id || '~' || k, {column.name})"
            )
        select = ", ".join(shifted.get(name, name) for name in _columns(table))
        began = time.perf_counter()
        connection.execute(
            f"INSERT INTO {table.name} SELECT {select} FROM {table.name}, "
            f"range(1, $copies) AS copies(k) WHERE seq <= $week AND seq + k * $week <= $total",
            {"week": week, "days": days, "copies": copies, "total": total},
        )
        print(f"  repeated {table.name:17} in {time.perf_counter() - began:6.1f} s", flush=True)
    connection.execute(
        "UPDATE store_state SET last_seq = $total WHERE consumer = $consumer",
        {"total": total, "consumer": STORE_CONSUMER},
    )


def export_parquet(connection: duckdb.DuckDBPyConnection, root: Path, last_seq: int) -> None:
    """The embedded store's rows as a Parquet store: files by table and UTC day, and the
    manifest that names them."""
    root.mkdir(parents=True)
    files: dict[str, list[str]] = {}
    for table in EVENT_TABLES.values():
        columns = ", ".join(_columns(table))
        began = time.perf_counter()
        ((count,),) = connection.execute(f"SELECT count(*) FROM {table.name}").fetchall()
        if count:
            target = str(root / table.name).replace("'", "''")
            connection.execute(
                f"COPY (SELECT {columns}, CAST(time AS DATE) AS day FROM {table.name} "
                f"ORDER BY day, device_id, time) TO '{target}' (FORMAT PARQUET, "
                f"PARTITION_BY (day), COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}, "
                "FILENAME_PATTERN 'part-{uuid}')"
            )
        files[table.name] = sorted(
            p.relative_to(root).as_posix() for p in (root / table.name).glob("day=*/*.parquet")
        )
        print(f"  exported {table.name:17} in {time.perf_counter() - began:6.1f} s "
              f"→ {len(files[table.name])} files", flush=True)  # fmt: skip
    Manifest(last_seq, files).save(ParquetFolder.local(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--week-days", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--folder", type=Path, default=None, help="where the stores go")
    parser.add_argument("--keep", action="store_true", help="leave the stores on disk")
    parser.add_argument("--duckdb-memory", default="4GB", help="DuckDB memory while building")
    parser.add_argument(
        "--spark-all-files", action="store_true", help="also run Spark on every file (no pruning)"
    )
    args = parser.parse_args()
    # `timeout` or `kill` still deletes the stores (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average at start {load_average()}", flush=True)

    district = build_district(seed=args.seed, scale=args.scale)
    simulation = Simulation(district, start=START, end=None, seed=args.seed)
    folder = Path(tempfile.mkdtemp(prefix="zhian-bench-models-", dir=args.folder))
    try:
        vault = bench_vault()
        duck_path = folder / "events.duckdb"
        week_end = START + timedelta(days=args.week_days)
        with EventStore(duck_path, vault) as store:
            began = time.perf_counter()
            week, apply_seconds = simulate_week(store, simulation.events(), week_end, args.events)
            simulate_seconds = time.perf_counter() - began
        print(f"week   {week:,} events in {args.week_days} days at scale {args.scale}: "
              f"{simulate_seconds:.1f} s (store apply {apply_seconds:.1f} s)",
              flush=True)  # fmt: skip

        began = time.perf_counter()
        with duckdb.connect(str(duck_path)) as connection:
            connection.execute(f"SET memory_limit = '{args.duckdb_memory}'")
            connection.execute("SET TimeZone = 'UTC'")
            repeat_week(connection, vault, week, args.week_days, args.events)
            repeat_seconds = time.perf_counter() - began
            connection.execute("CHECKPOINT")
            began = time.perf_counter()
            parquet_root = folder / "parquet"
            total = min(args.events, week * math.ceil(args.events / week))
            export_parquet(connection, parquet_root, total)
            export_seconds = time.perf_counter() - began

        embedded = EventStore(duck_path, vault)
        parquet = ParquetEventStore(parquet_root, vault)
        counts = embedded.queries.count_by_type()
        stored = sum(counts.values())
        ((first, last),) = embedded.query(
            "SELECT min(time), max(time) FROM heartbeat_events"
        )  # the most regular table
        days = (last - first).total_seconds() / 86400
        files = sum(len(f) for f in parquet.table_files().values())
        same_rows = parquet.queries.count_by_type() == counts
        print(f"{stored:,} events over {days:.0f} days; {counts}; Parquet rows equal: "
              f"{'yes' if same_rows else 'NO'}")  # fmt: skip
        print(f"build  week repeated in DuckDB {repeat_seconds:.1f} s; Parquet export "
              f"{export_seconds:.1f} s → {files} files", flush=True)  # fmt: skip
        duck_bytes = duck_path.stat().st_size
        print(f"disk   embedded DuckDB {duck_bytes / stored:6.1f} bytes/event "
              f"({duck_bytes / 2**30:.2f} GiB)   Parquet {parquet.bytes_on_disk() / stored:6.1f} "
              f"bytes/event ({parquet.bytes_on_disk() / 2**30:.2f} GiB)")  # fmt: skip
        assert (parquet_root / MANIFEST).exists()

        began = time.perf_counter()
        from zhian.store.spark_queries import SparkEventQueries, spark_session

        imported = time.perf_counter() - began
        seconds, peak = timed(lambda: spark_session(args.master))
        print(f"spark  import pyspark {imported:.1f} s; session start (JVM) {seconds:.1f} s, "
              f"{peak / 2**30:.1f} GiB (master {args.master}); load average {load_average()}",
              flush=True)  # fmt: skip
        spark = batch_queries(BatchSettings(engine="spark", spark_master=args.master), parquet)
        seconds, peak = timed(spark.count_by_type)
        print(f"spark  first query (count by type, every file) {seconds:.1f} s, "
              f"{peak / 2**30:.1f} GiB", flush=True)  # fmt: skip
        seconds, peak = timed(spark.count_by_type)
        print(f"spark  the same query again {seconds:.1f} s", flush=True)

        optins = [r.subject for r in simulation.truth if r.scenario == WELFARE_OPTIN]
        master = master_of(district, optins, vault.token)
        now = last.astimezone(UTC)
        engines: dict[str, EventQueries] = {
            "embedded": embedded.queries,
            "parquet-duckdb": batch_queries(BatchSettings(engine="duckdb"), parquet),
            "parquet-spark": spark,
        }
        if args.spark_all_files:
            # Before #14's pruning: Spark handed every file of each table, whatever the window.
            engines["spark-all-files"] = SparkEventQueries(
                lambda: spark_session(args.master), lambda since, until: parquet.table_files()
            )
        settings = ModelSettings()
        for model in MODELS:
            results: dict[str, tuple[float, int, list[AlertDraft]]] = {}
            for name, queries in engines.items():
                run = ModelRun(queries=queries, sealer=vault, master=master,
                               settings=settings, now=now, overrides={})  # fmt: skip
                drafts: list[AlertDraft] = []

                def run_model(model: Any = model, run: ModelRun = run,
                              out: list[AlertDraft] = drafts) -> None:  # fmt: skip
                    out.extend(model.run(run))

                seconds, peak = timed(run_model)
                results[name] = (seconds, peak, drafts)
            base = results["embedded"][0]
            line = f"{model.name:26}"
            for name, (seconds, peak, drafts) in results.items():
                line += (f"  {name} {seconds:6.2f} s ×{seconds / max(base, 1e-9):5.1f} "
                         f"{peak / 2**30:4.1f} GiB {len(drafts):4d} alerts")  # fmt: skip
            key = lambda d: (d.rule, d.subject, d.place_id)  # noqa: E731
            agree = [sorted(r[2], key=key) for r in results.values()]
            same = all(a == agree[1] for a in agree[2:])
            print(line + f"  spark=duckdb alerts: {'yes' if same else 'NO'}"
                  f"  =embedded: {'yes' if agree[0] == agree[1] else 'NO'}",
                  flush=True)  # fmt: skip
        print(f"load average at end {load_average()}")
        embedded.close()
        parquet.close()
    finally:
        if args.keep:
            print(f"stores kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
