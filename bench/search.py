"""Passage search latency: a plate's passages, a person's and a device-day, on the embedded
DuckDB store.

Run: .venv/bin/python bench/search.py [--events 10000000] [--repeats 40] [--threads 2]
     [--store FILE] [--fill-only] [--scan-repeats N] [--memory 4GB]

The store's own tables (`zhian.store.schema`) are filled straight in SQL with synthetic
passages in time order, as a node appends them: half vehicle passages, 40 % door passages,
10 % face captures, over one year, 2,000 devices, 100,000 plates and 200,000 door
subjects (identifiers are token-shaped strings). Filling through the intake would take
hours at this size and measures the intake, not the search. With `--store FILE` the filled
store is kept and reused by the next run (its indexes dropped first): 3 × 10^7 events fill
in about 9 minutes on a shared two-core machine, 10^8 in about half an hour.

Each question then runs `--repeats` times through the page's own code path
(`zhian.store.passages.DuckDbPassages`, the SQL the passages page runs, and the store's
trajectory statements in `zhian.store.events`) with a different subject or device each
time, and p50/p95 are printed:
- a plate's passages over the whole store, newest 50 (exact token), and its trajectory
  (all its passages, oldest first);
- the same with the one-character misread tolerance (the typed plate and every plate one
  character away: 237 tokens), at worst every variant a plate seen as often as any other,
  and as is likelier three of them seen, the others never;
- a person's passages (two tokens: the page's search by resident) and a resident's
  trajectory (door passages by card, matched face captures);
- a device-day: one device's passages of one day, newest 50, and the whole day (an export).

The subject reads are measured first on the bare tables (a scan, `--scan-repeats` times),
then again once the indexes the store keeps by default (`store.plate_index`,
`store.subject_index`) are built, as the store builds them (its progress logged).

The issue's target is p95 ≤ 300 ms over 10^8 events; results in bench/results/search-*.txt.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from zhian.search.plates import plate_query
from zhian.store import maintenance
from zhian.store.events import plate_passages_sql, subject_passages_statement
from zhian.store.passages import DuckDbPassages, PassageFilter
from zhian.store.schema import index_statements, schema_statements

START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 24 * 3600
DEVICES = 2000
PLATES = 100_000
SUBJECTS = 200_000
FILL_SLICE = 5_000_000
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
        # In slices of 5 million rows, checkpointed, so that a 10^8 fill stays in memory.
        for first in range(0, rows, FILL_SLICE):
            last = min(rows, first + FILL_SLICE)
            connection.execute(f"INSERT INTO {table} {select} FROM range({first}, {last}) t(i)")
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
        f"{label:<48} p50 {statistics.median(timings):8.1f} ms   p95 {p95:8.1f} ms   "
        f"rows/query {rows / repeats:8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the filled store in this file and reuse it when it exists (a 10^8 fill "
        "takes a quarter of an hour); default: a temporary file",
    )
    parser.add_argument(
        "--scan-repeats", type=int, help="queries of each scan without indexes (default: --repeats)"
    )
    parser.add_argument("--memory", default="4GB", help="DuckDB's memory_limit")
    parser.add_argument("--fill-only", action="store_true", help="fill the store and stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as folder:
        path = args.store or Path(folder) / "events.duckdb"
        reused = path.exists()
        connection = duckdb.connect(str(path))
        connection.execute(f"SET threads = {args.threads}")
        connection.execute(f"SET memory_limit = '{args.memory}'")
        began = time.perf_counter()
        if reused:
            for statement in index_statements(plate_index=False, subject_index=False):
                connection.execute(statement)
        else:
            fill(connection, args.events)
        size_mb = path.stat().st_size / 1e6
        print(
            f"store: {args.events:,} events {'reused' if reused else 'filled'} in "
            f"{time.perf_counter() - began:.0f} s, {size_mb:,.0f} MB on disk, "
            f"DuckDB {duckdb.__version__}, {args.threads} threads"
        )
        if args.fill_only:
            connection.close()
            return
        search = DuckDbPassages(connection.cursor())
        reader = connection.cursor()
        whole = (START, START + timedelta(seconds=SPAN_SECONDS + 1))
        plates = [_token_value(rng.randrange(PLATES)) for _ in range(args.repeats)]
        people = [_token_value(rng.randrange(SUBJECTS)) for _ in range(args.repeats)]
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
            # Worst case: every variant is a plate seen as often as any other.
            near = tuple(_token_value(rng.randrange(PLATES)) for _ in range(near_count))
            found = search.passages(
                PassageFilter(since=whole[0], until=whole[1], plate_tokens=(plates[attempt], *near))
            )
            return len(found)

        def plate_with_few_misreads(attempt: int) -> int:
            # Likelier: three of the variants are plates in the store, the others never seen.
            seen = tuple(_token_value(rng.randrange(PLATES)) for _ in range(3))
            unseen = tuple(f"tok_unseen_{attempt}_{n}" for n in range(near_count - 3))
            tokens = (plates[attempt], *seen, *unseen)
            found = search.passages(
                PassageFilter(since=whole[0], until=whole[1], plate_tokens=tokens)
            )
            return len(found)

        def person_passages(attempt: int) -> int:
            # The page's search by a resident: their card's and their reference's tokens.
            tokens = (people[attempt], _token_value(rng.randrange(SUBJECTS)))
            found = search.passages(
                PassageFilter(since=whole[0], until=whole[1], subject_tokens=tokens)
            )
            return len(found)

        def plate_trajectory(attempt: int) -> int:
            # `EventStore.plate_passages` (the trajectory page): every passage, oldest first.
            parameters = {"plate": plates[attempt], "since": whole[0], "until": whole[1]}
            return len(
                reader.execute(plate_passages_sql(), {**parameters, "limit": 5000}).fetchall()
            )

        def resident_trajectory(attempt: int) -> int:
            # `EventStore.subject_passages`: door passages by card and matched face captures.
            keys = [("card", people[attempt]), ("face", _token_value(rng.randrange(SUBJECTS)))]
            statement = subject_passages_statement(keys, whole[0], whole[1], 5000)
            return len(reader.execute(*statement).fetchall())

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

        scans = args.scan_repeats or args.repeats
        print(f"without indexes ({scans} queries each where a subject is looked up):")
        measure("plate's passages, whole store, newest 50", scans, plate_passages)
        measure(f"plate + {near_count} misread variants, newest 50", scans, plate_with_misreads)
        measure("person's passages (2 tokens), newest 50", scans, person_passages)
        measure("resident's trajectory (card + face)", scans, resident_trajectory)
        measure("device-day, newest 50", args.repeats, device_day(50))
        measure("device-day, whole day (export, ≤ 5000)", args.repeats, device_day(5000))
        # The store keeps its indexes by default (`store.plate_index`, `store.subject_index`),
        # built as it builds them, with their progress logged.
        began = time.perf_counter()
        maintenance.build_indexes(connection, plate_index=True, subject_index=True)
        print(f"indexes built in {time.perf_counter() - began:.0f} s; with them:")
        measure("plate's passages, with the plate index", args.repeats, plate_passages)
        measure("plate's trajectory (all, oldest first)", args.repeats, plate_trajectory)
        measure(
            f"plate + {near_count} misread variants, indexed", args.repeats, plate_with_misreads
        )
        measure(
            f"plate + {near_count} misreads, 3 of them seen", args.repeats, plate_with_few_misreads
        )
        measure("person's passages, with the subject index", args.repeats, person_passages)
        measure("resident's trajectory, with the subject index", args.repeats, resident_trajectory)
        measure("device-day, newest 50, with the indexes", args.repeats, device_day(50))
        connection.close()


def _token_value(number: int) -> str:
    return "tok_" + str(number).rjust(32, "a")


if __name__ == "__main__":
    main()
