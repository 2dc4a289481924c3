"""Passage search latency: a plate's passages and a device-day, on the embedded DuckDB store.

Run: .venv/bin/python bench/search.py [--events 10000000] [--repeats 40] [--threads 2]

The store's own tables (`zhian.store.schema`) are filled straight in SQL with synthetic
passages in time order, as a node appends them: half vehicle passages, 40 % door passages,
10 % face captures, over one year, 2,000 devices, 100,000 plates and 200,000 door
subjects (identifiers are token-shaped strings). Filling through the intake would take
hours at this size and measures the intake, not the search.

Each question then runs `--repeats` times through the page's own code path
(`zhian.store.passages.DuckDbPassages`, the SQL the passages page runs) with a different
plate or device each time, and p50/p95 are printed:
- a plate's passages over the whole store, newest 50 (exact token);
- the same with the one-character misread tolerance (the typed plate and every plate one
  character away: a few hundred tokens);
- a device-day: one device's passages of one day, newest 50, and the whole day (an export).

The plate reads are measured first on the bare tables (a scan), then again once the plate
index the store keeps by default (`store.plate_index`) is built.

The issue's target is p95 ≤ 300 ms over 10^8 events. This script runs at the size given
(10^7 by default, what a shared two-core machine fills in a few minutes); 10^8 needs ten
times the disk and a machine of its own, and is not measured here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from zhian.search.plates import plate_query
from zhian.store.passages import DuckDbPassages, PassageFilter
from zhian.store.schema import index_statements, schema_statements

START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 24 * 3600
DEVICES = 2000
PLATES = 100_000
SUBJECTS = 200_000
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def _token(number_sql: str) -> str:
    # A token-shaped string (tok_ + 32 characters) unique per number.
    return f"'tok_' || lpad(({number_sql})::VARCHAR, 32, 'a')"


def fill(connection: duckdb.DuckDBPyConnection, events: int) -> None:
    """Synthetic passages in time order; seconds per million rows."""
    for statement in schema_statements():
        connection.execute(statement)
    shares = {"vehicle_events": 0.5, "access_events": 0.4, "face_events": 0.1}
    for table, share in shares.items():
        rows = int(events * share)
        step = SPAN_SECONDS / rows
        time_sql = (
            f"TIMESTAMPTZ '{START.isoformat()}' + to_microseconds((i * {step * 1e6})::BIGINT)"
        )
        device = f"'D' || lpad((hash(i) % {DEVICES})::VARCHAR, 5, '0')"
        common = f"i, 'e' || i, {device}, {time_sql}, {time_sql}, 'native'"
        if table == "vehicle_events":
            plate = _token(f"hash(i * 7) % {PLATES}")
            select = (
                f"SELECT {common}, {plate}, 'blue', 'car', "
                "CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, NULL, '浙A***45'"
            )
        elif table == "access_events":
            subject = _token(f"hash(i * 13) % {SUBJECTS}")
            select = (
                f"SELECT {common}, 'card', {subject}, "
                "CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, 'card', 'granted', 'C***01'"
            )
        else:
            subject = _token(f"hash(i * 17) % {SUBJECTS}")
            select = f"SELECT {common}, 0.9, 'face', {subject}, NULL, NULL, 'F***01'"
        connection.execute(f"INSERT INTO {table} {select} FROM range({rows}) t(i)")
    connection.execute("CHECKPOINT")


def measure(label: str, repeats: int, run: Callable[[int], int]) -> None:
    timings, rows = [], 0
    for attempt in range(repeats):
        began = time.perf_counter()
        rows += run(attempt)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(
        f"{label:<44} p50 {statistics.median(timings):8.1f} ms   p95 {p95:8.1f} ms   "
        f"rows/query {rows / repeats:8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.duckdb"
        connection = duckdb.connect(str(path))
        connection.execute(f"SET threads = {args.threads}")
        began = time.perf_counter()
        fill(connection, args.events)
        size_mb = path.stat().st_size / 1e6
        print(
            f"store: {args.events:,} events in {time.perf_counter() - began:.0f} s, "
            f"{size_mb:,.0f} MB on disk, DuckDB {duckdb.__version__}, {args.threads} threads"
        )
        search = DuckDbPassages(connection.cursor())
        whole = (START, START + timedelta(seconds=SPAN_SECONDS + 1))
        plates = [_token_value(rng.randrange(PLATES)) for _ in range(args.repeats)]
        # The misread variants of a typed plate: as many tokens as the page asks for.
        typed = plate_query(f"{PROVINCES[3]}A12345")
        assert typed is not None
        near_count = len(typed.near)

        def plate_passages(attempt: int) -> int:
            found = search.passages(
                PassageFilter(since=whole[0], until=whole[1], plate_tokens=(plates[attempt],))
            )
            return len(found)

        def plate_with_misreads(attempt: int) -> int:
            near = tuple(_token_value(rng.randrange(PLATES)) for _ in range(near_count))
            found = search.passages(
                PassageFilter(since=whole[0], until=whole[1], plate_tokens=(plates[attempt], *near))
            )
            return len(found)

        def device_day(limit: int) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                device = f"D{rng.randrange(DEVICES):05d}"
                day = START + timedelta(days=rng.randrange(364))
                found = search.passages(
                    PassageFilter(
                        since=day,
                        until=day + timedelta(days=1),
                        device_ids=(device,),
                        limit=limit,
                    )
                )
                return len(found)

            return run

        measure("plate's passages, whole store, newest 50", args.repeats, plate_passages)
        measure(
            f"plate + {near_count} misread variants, newest 50",
            args.repeats,
            plate_with_misreads,
        )
        measure("device-day, newest 50", args.repeats, device_day(50))
        measure("device-day, whole day (export, ≤ 5000)", args.repeats, device_day(5000))
        # The store keeps an index on the plate token by default (`store.plate_index`).
        began = time.perf_counter()
        for statement in index_statements(plate_index=True):
            connection.execute(statement)
        print(f"plate index built in {time.perf_counter() - began:.0f} s; the same reads:")
        measure("plate's passages, with the plate index", args.repeats, plate_passages)
        measure(
            f"plate + {near_count} misread variants, with the plate index",
            args.repeats,
            plate_with_misreads,
        )
        connection.close()


def _token_value(number: int) -> str:
    return "tok_" + str(number).rjust(32, "a")


if __name__ == "__main__":
    main()
