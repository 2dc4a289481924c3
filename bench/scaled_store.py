"""The scaled tier's event store: each batch model on the Parquet store, on Spark local and
on DuckDB over the files, with the embedded DuckDB store as baseline in the same run;
point lookups that pages make; bytes per event on disk.

Run: .venv/bin/python bench/scaled_store.py [--events 1000000] [--scale 1] [--master local[2]]

The simulator streams a district until `--events` events; the same events are stored
through each store's own write path (`apply`, batches of 200,000: tokens and sealed
features as in a node) into the embedded DuckDB file and into the Parquet store (then
compacted). Each model then runs once at the stream's end, alone, on each engine; its wall
time and the peak resident memory of this process and its children (Spark's JVM) are
printed, and the ratio against the embedded store. Spark's first query includes starting
its JVM; it is started by a warm-up query before the models run. The alerts of the two
Parquet engines are compared (they must be identical).

Point lookups: a device's events of one day (`recent_events` by device, and a day's rows by
device), a plate's passages over the whole store, median of 20 each.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scaled_models import master_of  # the registry as a node holds it: tokens
from zhian.alerts.drafts import AlertDraft
from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import generate_keyring
from zhian.governance.tokens import Tokeniser
from zhian.governance.vault import IdentifierVault
from zhian.ingest.events import Event, LoggedEvent
from zhian.models.base import ModelRun
from zhian.models.catalogue import MODELS
from zhian.models.settings import ModelSettings
from zhian.sim import TZ, Simulation, build_district
from zhian.sim.scenarios_housing import WELFARE_OPTIN
from zhian.store.events import EventStore
from zhian.store.parquet import ParquetEventStore
from zhian.store.queries import EventQueries
from zhian.store.spark_queries import SparkEventQueries, spark_session

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
    for task in Path(f"/proc/{pid}/task").glob("*"):
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


def bench_vault() -> IdentifierVault:
    """A vault with a fresh key ring; sealed values are discarded, tokens and sealing cost
    what they cost."""
    ring = generate_keyring()
    sealer = IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key))
    return IdentifierVault(sealer, lambda rows: None, lambda: datetime.now(UTC))


def load(stores: list[EventStore], events: Iterator[Event]) -> tuple[int, datetime, list[float]]:
    """The same batches into every store; the seconds each store's `apply` took."""
    now = datetime.now(UTC)
    seq, last = 0, START
    seconds = [0.0] * len(stores)
    while chunk := list(itertools.islice(events, BATCH)):
        batch = [(seq + i + 1, LoggedEvent(now, "bench", e)) for i, e in enumerate(chunk)]
        for n, store in enumerate(stores):
            began = time.perf_counter()
            store.apply(batch)
            seconds[n] += time.perf_counter() - began
        seq += len(chunk)
        last = chunk[-1].time
    return seq, last, seconds


def timed(action: Callable[[], object]) -> tuple[float, int]:
    with PeakMemory() as memory:
        began = time.perf_counter()
        action()
        seconds = time.perf_counter() - began
    return seconds, memory.peak


def median_ms(action: Callable[[], object], times: int = 20) -> float:
    action()  # warm: footers and the object cache
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    district = build_district(seed=args.seed, scale=args.scale)
    simulation = Simulation(district, start=START, end=None, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="zhian-bench-scaled-") as folder:
        vault = bench_vault()
        embedded = EventStore(Path(folder) / "events.duckdb", vault)
        parquet = ParquetEventStore(Path(folder) / "parquet", vault)
        stored, last, load_seconds = load(
            [embedded, parquet], itertools.islice(simulation.events(), args.events)
        )
        began = time.perf_counter()
        parquet.compact()
        compact_seconds = time.perf_counter() - began
        files = sum(len(f) for f in parquet.table_files().values())
        duck_bytes = (Path(folder) / "events.duckdb").stat().st_size
        days = (last - START).total_seconds() / 86400
        print(f"{stored:,} events ({days:.1f} days at scale {args.scale}); "
              f"{embedded.queries.count_by_type()}")  # fmt: skip
        duck_load, parquet_load = load_seconds
        print(f"load   embedded DuckDB {duck_load:6.1f} s ({stored / duck_load:,.0f} ev/s)   "
              f"Parquet {parquet_load:6.1f} s ({stored / parquet_load:,.0f} ev/s), "
              f"compaction {compact_seconds:.1f} s → {files} files")  # fmt: skip
        print(f"disk   embedded DuckDB {duck_bytes / stored:6.1f} bytes/event   "
              f"Parquet {parquet.bytes_on_disk() / stored:6.1f} bytes/event")  # fmt: skip

        spark = SparkEventQueries(lambda: spark_session(args.master), parquet.table_files)
        began = time.perf_counter()
        spark.count_by_type()
        print(f"spark  session start and first query {time.perf_counter() - began:.1f} s "
              f"(master {args.master})")  # fmt: skip

        optins = [r.subject for r in simulation.truth if r.scenario == WELFARE_OPTIN]
        master = master_of(district, optins, vault.token)
        now = last.astimezone(UTC)
        engines: dict[str, EventQueries] = {
            "embedded": embedded.queries,
            "parquet-duckdb": parquet.queries,
            "parquet-spark": spark,
        }
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
                line += (f"  {name} {seconds:6.2f} s ×{seconds / max(base, 1e-9):4.1f} "
                         f"{peak / 2**30:4.1f} GiB {len(drafts):4d} alerts")  # fmt: skip
            key = lambda d: (d.rule, d.subject, d.place_id)  # noqa: E731
            same = sorted(results["parquet-spark"][2], key=key) == sorted(
                results["parquet-duckdb"][2], key=key
            )
            print(line + f"  spark=duckdb alerts: {'yes' if same else 'NO'}")

        # Point lookups that pages make.
        device = embedded.query(
            "SELECT device_id FROM access_events GROUP BY device_id ORDER BY count(*) DESC LIMIT 1"
        )[0][0]
        ((plate,),) = embedded.query(
            "SELECT plate FROM vehicle_events WHERE plate IS NOT NULL "
            "GROUP BY plate ORDER BY count(*) DESC LIMIT 1"
        )
        day = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        lookups: dict[str, tuple[str, dict[str, object]]] = {
            "device-day": (
                "SELECT event_id, time FROM access_events WHERE device_id = $d "
                "AND time >= $since AND time < $until ORDER BY time",
                {"d": device, "since": day, "until": day + timedelta(days=1)},
            ),
            "plate-passages": (
                "SELECT event_id, device_id, time FROM vehicle_events WHERE plate = $p "
                "ORDER BY time",
                {"p": plate},
            ),
        }
        for name, store in (("embedded", embedded), ("parquet-duckdb", parquet)):
            recent = median_ms(lambda store=store: store.queries.recent_events(50, device))  # type: ignore[misc]
            line = f"lookup {name:15} recent_events(device) {recent:7.1f} ms"
            for label, (sql, params) in lookups.items():
                ms = median_ms(lambda store=store, sql=sql, params=params: store.query(sql, params))  # type: ignore[misc]
                line += f"  {label} {ms:7.1f} ms"
            print(line)
        embedded.close()
        parquet.close()


if __name__ == "__main__":
    main()
