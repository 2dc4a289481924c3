"""What handing Spark only a window's files saves when the store keeps many more days than
the window: one Spark query over a 60-day window of a store of 480 day files (the days a
store of 10^8 events at scale 2 holds), given every file, then given the window's files
(`ParquetEventStore.table_files(since, until)`, as the batch models now are), in the same
run and session, alternately.

Run: .venv/bin/python -u bench/spark_files.py [--days 480] [--window-days 60]
         [--rows-per-day 2000] [--rounds 3] [--master local[2]]

The store is the Parquet store's own layout and write path (`ParquetEventStore.apply`,
access events, `--rows-per-day` each day, one file a day: fewer rows than a district's
16,000 access events a day, so that the store builds in minutes; what is measured is the
cost of the files, not of the rows); the query is `passage_counts` (passages by device,
hour and direction over the window) through `SparkEventQueries`. Prints each round's
seconds and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scaled_models import bench_vault
from zhian.ingest.events import AccessEvent, LoggedEvent, Subject
from zhian.store.parquet import ParquetEventStore
from zhian.store.spark_queries import SparkEventQueries, spark_session

START = datetime(2025, 1, 1, tzinfo=UTC)


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def fill(store: ParquetEventStore, days: int, per_day: int) -> None:
    """`per_day` access events a day on 40 doors, one batch (one file) per day."""
    seq = 0
    for day in range(days):
        start = START + timedelta(days=day)
        step = 86400 / per_day
        batch = []
        for n in range(per_day):
            seq += 1
            event = AccessEvent(
                id=f"e{seq}", device_id=f"DOOR{n % 40:02d}",
                time=start + timedelta(seconds=n * step),
                subject=Subject(kind="card", ref=f"c{n % 900}"),
                direction="in" if n % 2 else "out", method="card", result="granted",
            )  # fmt: skip
            batch.append((seq, LoggedEvent(event.time, "bench", event)))
        store.apply(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=480)
    parser.add_argument("--window-days", type=int, default=60)
    parser.add_argument("--rows-per-day", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    print(f"load average at start {load_average()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="zhian-bench-spark-files-", dir=args.folder))
    try:
        with closing(
            ParquetEventStore(folder / "events", bench_vault(), compact_files=10**6)
        ) as store:
            began = time.perf_counter()
            fill(store, args.days, args.rows_per_day)
            files = len(store.table_files()["access_events"])
            print(f"store  {args.days} days × {args.rows_per_day:,} access events → {files} "
                  f"files in {time.perf_counter() - began:.1f} s", flush=True)  # fmt: skip
            session = spark_session(args.master)
            every = SparkEventQueries(lambda: session, lambda since, until: store.table_files())
            window = SparkEventQueries(lambda: session, store.table_files)
            until = START + timedelta(days=args.days)
            since = until - timedelta(days=args.window_days)
            handed = len(store.table_files(since, until)["access_events"])
            expected = sum(c.count for c in store.queries.passage_counts(since, until))
            for queries in (window, every):  # warm-up: the first queries compile and load
                queries.passage_counts(since, until)
            for round_ in range(1, args.rounds + 1):
                seconds = {}
                for name, queries in (("every", every), ("window", window)):
                    began = time.perf_counter()
                    rows = queries.passage_counts(since, until)
                    seconds[name] = time.perf_counter() - began
                    assert sum(r.count for r in rows) == expected, name
                print(f"round {round_}  {args.window_days}-day window of {args.days} days: "
                      f"every file ({files}) {seconds['every']:6.2f} s   window's files "
                      f"({handed}) {seconds['window']:6.2f} s   × "
                      f"{seconds['every'] / seconds['window']:.1f}   load average "
                      f"{load_average()}", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
