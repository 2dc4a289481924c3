"""Passage search latency: a plate's passages, a person's and a device-day, on the embedded
DuckDB store; a plate's trajectory and its co-travellers.

Run: .venv/bin/python bench/search.py [--events 10000000] [--repeats 40] [--threads 2]
     [--store FILE] [--fill-only] [--keep-indexes] [--no-subject-index] [--frequent 20]
     [--scan-repeats N] [--memory 4GB] [--layout-before]

The store's own tables (`zhian.store.schema`) are filled straight in SQL with synthetic
passages in time order, as a node appends them: half vehicle passages, 40 % door passages,
10 % face captures, over one year, 2,000 devices, 100,000 plates and 200,000 door
subjects (identifiers are token-shaped strings); every plate is seen about as often as any
other (about 500 times a year at 10^8 events). Filling through the intake would take
hours at this size and measures the intake, not the search. With `--store FILE` the filled
store is kept and reused by the next run (its indexes dropped first, unless
`--keep-indexes`): 3 × 10^7 events fill in about 9 minutes on a shared two-core machine,
10^8 in 23 minutes (1.9 GB). `--frequent N` plants N plates seen every 2 hours all year
(4,380 passages each), appended once after the fill as late rows: the subjects a page is
most often asked about, whose newest page lies in their last days. 20 more plates are
seen every 2 hours among the fill's own rows (every K-th vehicle passage, in time order):
a frequent plate whose passages lie scattered over the whole table, as a real one's do.
The plate and event id of vehicle passages are stored uncompressed, as the store stores
them (`EventTable.uncompressed`); `--layout-before` fills the table as stores were before
(every column compressed as DuckDB chooses), to compare.

Each question then runs `--repeats` times through the page's own code path
(`zhian.store.passages.DuckDbPassages`, the SQL the passages page runs, and the store's
trajectory statements in `zhian.store.events`) with a different subject or device each
time, and p50/p95 are printed:
- a plate's passages over the whole store, newest 50 (exact token), for a plate and for a
  frequent one, read as before (every passage of the plate through the index) and newest
  page first (the page's times through the index, then its span of time read by time);
- a plate's trajectory (all its passages, oldest first) over the whole year and over 92
  days (the longest the trajectory page asks), and a frequent plate's over 92 days;
- the one-character misread tolerance (the typed plate and every plate one character
  away: 237 tokens), at worst every variant a plate seen as often as any other, and as is
  likelier three of them seen, the others never;
- a person's passages (two tokens: the page's search by resident) and a resident's
  trajectory (door passages by card, matched face captures), unless `--no-subject-index`;
- a device-day: one device's passages of one day, newest 50, and the whole day (an export);
- co-travellers over 30 days (Δt 30 s, k 3) of a plate and of a frequent plate, through the
  service's statements (`plate_passages_sql`, `plate_passages_near_statement`) and its
  grouping (`zhian.trajectories.analysis.co_travellers`), best and worst of 3.

Unless `--keep-indexes`, the subject reads are measured first on the bare tables (a scan,
`--scan-repeats` times); then once the indexes the store keeps by default
(`store.plate_index`, `store.subject_index`) are built, as the store builds them (its
progress logged), or found.

The issues' targets: a plate's passages and a device-day p95 ≤ 300 ms over 10^8 events
(#15), a plate's trajectory p95 ≤ 300 ms and co-travellers over 30 days ≤ 5 s (#16);
results in bench/results/search-*.txt.
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
from zhian.store.events import (
    plate_passages_near_statement,
    plate_passages_sql,
    subject_passages_statement,
)
from zhian.store.passages import DuckDbPassages, PassageFilter
from zhian.store.schema import index_statements, schema_statements
from zhian.trajectories.analysis import Passage, co_travellers

START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 24 * 3600
DEVICES = 2000
PLATES = 100_000
SUBJECTS = 200_000
FILL_SLICE = 5_000_000
FREQUENT_SEQ = 10**12  # the planted frequent plates' rows: seq from here on
FREQUENT_EVERY = timedelta(hours=2)
SPREAD_PLATES = 20  # frequent plates among the fill's own rows (every 2 hours, 4,380 a year)
SPREAD_PASSAGES = 4380
TRAJECTORY_DAYS = 92  # the longest window the trajectory page asks (trajectories.service)
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def _token(number_sql: str) -> str:
    # A token-shaped string (tok_ + 32 characters) unique per number.
    return f"'tok_' || lpad(({number_sql})::VARCHAR, 32, 'a')"


def fill(connection: duckdb.DuckDBPyConnection, events: int, *, layout_before: bool) -> None:
    """Synthetic passages in time order; with `layout_before`, in a vehicle_events table
    whose columns DuckDB compresses as it chooses (as stores were created before the plate
    and event id were stored uncompressed: `EventTable.uncompressed`)."""
    for statement in schema_statements():
        if layout_before:
            statement = statement.replace(" USING COMPRESSION uncompressed", "")
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
            # Every `every`-th passage is one of the spread frequent plates, in turn.
            every = max(1, round(rows / (SPREAD_PLATES * SPREAD_PASSAGES)))
            plate = (
                f"CASE WHEN i % {every} = 0 THEN 'tok_spread_' || "
                f"lpad(((i // {every}) % {SPREAD_PLATES})::VARCHAR, 25, '0') "
                f"ELSE {_token(f'hash(i * 7) % {PLATES}')} END"
            )
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


def spread_token(number: int) -> str:
    return "tok_spread_" + str(number).rjust(25, "0")


def frequent_token(number: int) -> str:
    return "tok_frequent_" + str(number).rjust(23, "0")


def plant_frequent(connection: duckdb.DuckDBPyConnection, plates: int) -> int:
    """`plates` plates seen every 2 hours all year (4,380 passages each, against about 500
    for the others at 10^8 events), appended once after the fill, as late rows would be:
    a subject seen daily, whose newest page lies in its last days. Returns the rows added
    (0 when they are there already)."""
    ((present,),) = connection.execute(
        f"SELECT count(*) FROM vehicle_events WHERE seq >= {FREQUENT_SEQ}"
    ).fetchall()
    if present or not plates:
        return 0
    each = int(timedelta(seconds=SPAN_SECONDS) / FREQUENT_EVERY)
    step_us = int(FREQUENT_EVERY.total_seconds() * 1e6)
    plate = f"'tok_frequent_' || lpad((i % {plates})::VARCHAR, 23, '0')"
    # Each plate at its own minute of the hour, so that no two share a moment.
    time_sql = (
        f"TIMESTAMPTZ '{START.isoformat()}' + to_microseconds((i // {plates}) * {step_us} "
        f"+ (i % {plates}) * 60000000)"
    )
    connection.execute(
        f"INSERT INTO vehicle_events SELECT {FREQUENT_SEQ} + i, 'f' || i, "
        f"'D' || lpad((hash(i) % {DEVICES})::VARCHAR, 5, '0'), {time_sql}, {time_sql}, "
        f"'native', {plate}, 'blue', 'car', CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, "
        f"NULL, '浙A***45' FROM range({each * plates}) t(i)"
    )
    connection.execute("CHECKPOINT")
    return each * plates


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
        "takes half an hour); default: a temporary file",
    )
    parser.add_argument(
        "--scan-repeats", type=int, help="queries of each scan without indexes (default: --repeats)"
    )
    parser.add_argument("--memory", default="4GB", help="DuckDB's memory_limit")
    parser.add_argument("--fill-only", action="store_true", help="fill the store and stop")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="reuse the store with the indexes it has (built by an earlier run) and skip the "
        "reads without them",
    )
    parser.add_argument(
        "--no-subject-index",
        action="store_true",
        help="build the plate index only and skip the person's reads (the subject indexes "
        "take as long again to build)",
    )
    parser.add_argument(
        "--frequent",
        type=int,
        default=20,
        help="plates seen every 2 hours, planted after the fill (default 20; 0: none)",
    )
    parser.add_argument(
        "--layout-before",
        action="store_true",
        help="fill vehicle_events with every column compressed as DuckDB chooses, as stores "
        "were before the plate and event id were kept uncompressed (to compare)",
    )
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
        if reused and not args.keep_indexes:
            for statement in index_statements(plate_index=False, subject_index=False):
                connection.execute(statement)
        elif not reused:
            fill(connection, args.events, layout_before=args.layout_before)
        size_mb = path.stat().st_size / 1e6
        ((ddl,),) = connection.execute(
            "SELECT sql FROM duckdb_tables() WHERE table_name = 'vehicle_events'"
        ).fetchall()
        layout = "before" if "USING COMPRESSION" not in ddl else "plate, event_id uncompressed"
        print(
            f"store: {args.events:,} events {'reused' if reused else 'filled'} in "
            f"{time.perf_counter() - began:.0f} s, {size_mb:,.0f} MB on disk, "
            f"DuckDB {duckdb.__version__}, {args.threads} threads; vehicle_events layout: "
            f"{layout}"
        )
        if args.fill_only:
            connection.close()
            return
        planted = plant_frequent(connection, args.frequent)
        if planted:
            print(f"planted {args.frequent} frequent plates: {planted:,} passages appended")
        # `before` reads as the store did until now: every passage of the subject through
        # the index; `search` reads its newest page first where it has the index.
        before = DuckDbPassages(connection.cursor())
        reader = connection.cursor()
        whole = (START, START + timedelta(seconds=SPAN_SECONDS + 1))
        plates = [_token_value(rng.randrange(PLATES)) for _ in range(args.repeats)]
        # Other plates for the second of two reads compared, so that it finds none of them
        # in the cache the first read left.
        others = [_token_value(rng.randrange(PLATES)) for _ in range(args.repeats)]
        people = [_token_value(rng.randrange(SUBJECTS)) for _ in range(args.repeats)]
        frequent = [frequent_token(n % max(args.frequent, 1)) for n in range(args.repeats)]
        spread = [spread_token(n % SPREAD_PLATES) for n in range(args.repeats)]
        # The misread variants of a typed plate: as many tokens as the page asks for.
        typed = plate_query(f"{PROVINCES[3]}A12345")
        assert typed is not None
        near_count = len(typed.near)

        def passages(reads: DuckDbPassages, tokens: list[str]) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                found = reads.passages(
                    PassageFilter(since=whole[0], until=whole[1], plate_tokens=(tokens[attempt],))
                )
                return len(found)

            return run

        def with_misreads(reads: DuckDbPassages) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                # Worst case: every variant is a plate seen as often as any other.
                near = tuple(_token_value(rng.randrange(PLATES)) for _ in range(near_count))
                tokens = (plates[attempt], *near)
                found = reads.passages(
                    PassageFilter(since=whole[0], until=whole[1], plate_tokens=tokens)
                )
                return len(found)

            return run

        def with_few_misreads(reads: DuckDbPassages) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                # Likelier: three of the variants are plates in the store, the others never.
                seen = tuple(_token_value(rng.randrange(PLATES)) for _ in range(3))
                unseen = tuple(f"tok_unseen_{attempt}_{n}" for n in range(near_count - 3))
                tokens = (plates[attempt], *seen, *unseen)
                found = reads.passages(
                    PassageFilter(since=whole[0], until=whole[1], plate_tokens=tokens)
                )
                return len(found)

            return run

        def person_passages(reads: DuckDbPassages) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                # The page's search by a resident: their card's and their reference's tokens.
                tokens = (people[attempt], _token_value(rng.randrange(SUBJECTS)))
                found = reads.passages(
                    PassageFilter(since=whole[0], until=whole[1], subject_tokens=tokens)
                )
                return len(found)

            return run

        def plate_trajectory(tokens: list[str], days: int | None) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                # `EventStore.plate_passages` (the trajectory page): every passage in the
                # window, oldest first; the page asks at most 92 days.
                since = whole[0]
                if days is not None:
                    since += timedelta(days=rng.randrange(365 - days))
                until = whole[1] if days is None else since + timedelta(days=days)
                parameters = {"plate": tokens[attempt], "since": since, "until": until}
                return len(
                    reader.execute(plate_passages_sql(), {**parameters, "limit": 5000}).fetchall()
                )

            return run

        def resident_trajectory(attempt: int) -> int:
            # `EventStore.subject_passages`: door passages by card and matched face captures.
            keys = [("card", people[attempt]), ("face", _token_value(rng.randrange(SUBJECTS)))]
            statement = subject_passages_statement(keys, whole[0], whole[1], 5000)
            return len(reader.execute(*statement).fetchall())

        def device_day(reads: DuckDbPassages, limit: int) -> Callable[[int], int]:
            def run(attempt: int) -> int:
                device = f"D{rng.randrange(DEVICES):05d}"
                day = START + timedelta(days=rng.randrange(364))
                found = reads.passages(
                    PassageFilter(
                        since=day,
                        until=day + timedelta(days=1),
                        device_ids=(device,),
                        limit=limit,
                    )
                )
                return len(found)

            return run

        def co_travelling(token: str) -> tuple[float, int, int, int]:
            # The service's path (`TrajectoryService.co_travellers`): the subject's passages
            # of 30 days, the passages within 30 s of each at the same device, grouped.
            began = time.perf_counter()
            since = START + timedelta(days=200)
            parameters = {"plate": token, "since": since, "until": since + timedelta(days=30)}
            mine = reader.execute(plate_passages_sql(), {**parameters, "limit": 5000}).fetchall()
            moments = [(row[2], row[3].replace(tzinfo=UTC)) for row in mine]
            near = []
            if moments:
                statement = plate_passages_near_statement(moments, 30, 200_000)
                near = reader.execute(*statement).fetchall()
            found = co_travellers(
                [Passage(row[4], row[2], row[3]) for row in mine],
                (Passage(row[4], row[2], row[3]) for row in near),
                window_seconds=30,
                min_places=3,
            )
            return time.perf_counter() - began, len(mine), len(near), len(found)

        subject_index = not args.no_subject_index
        scans = args.scan_repeats or args.repeats
        if not args.keep_indexes:
            print(f"without indexes ({scans} queries each where a subject is looked up):")
            measure("plate's passages, whole store, newest 50", scans, passages(before, plates))
            measure(f"plate + {near_count} misread variants, newest 50", scans,
                    with_misreads(before))  # fmt: skip
            if subject_index:
                measure("person's passages (2 tokens), newest 50", scans,
                        person_passages(before))  # fmt: skip
                measure("resident's trajectory (card + face)", scans, resident_trajectory)
            measure("device-day, newest 50", args.repeats, device_day(before, 50))
            measure("device-day, whole day (export, ≤ 5000)", args.repeats,
                    device_day(before, 5000))  # fmt: skip
        # The store keeps its indexes by default (`store.plate_index`, `store.subject_index`),
        # built as it builds them, with their progress logged.
        began = time.perf_counter()
        maintenance.build_indexes(connection, plate_index=True, subject_index=subject_index)
        indexed = ["vehicle_events"] + (["access_events", "face_events"] if subject_index else [])
        search = DuckDbPassages(connection.cursor(), indexed=indexed)
        print(f"indexes built (or found) in {time.perf_counter() - began:.0f} s; with them, "
              "'before' reads every passage of the subject through the index, 'newest page' "
              "finds the page's times first:")  # fmt: skip
        n = args.repeats
        measure("plate's passages, before", n, passages(before, plates))
        measure("plate's passages, newest page", n, passages(search, others))
        measure("frequent plate's passages, before", n, passages(before, frequent))
        measure("frequent plate's passages, newest page", n, passages(search, frequent))
        measure("plate's trajectory (whole year)", n, plate_trajectory(plates, None))
        measure(f"plate's trajectory ({TRAJECTORY_DAYS} days)", n,
                plate_trajectory(plates, TRAJECTORY_DAYS))  # fmt: skip
        measure(f"frequent plate's trajectory ({TRAJECTORY_DAYS} days)", n,
                plate_trajectory(frequent, TRAJECTORY_DAYS))  # fmt: skip
        measure(f"spread frequent plate's trajectory ({TRAJECTORY_DAYS} days)", n,
                plate_trajectory(spread, TRAJECTORY_DAYS))  # fmt: skip
        measure(f"plate + {near_count} misreads, worst, before", n, with_misreads(before))
        measure(f"plate + {near_count} misreads, worst, newest page", n, with_misreads(search))
        measure(f"plate + {near_count} misreads, 3 seen, before", n, with_few_misreads(before))
        measure(f"plate + {near_count} misreads, 3 seen, newest page", n,
                with_few_misreads(search))  # fmt: skip
        if subject_index:
            measure("person's passages, before", n, person_passages(before))
            measure("person's passages, newest page", n, person_passages(search))
            measure("resident's trajectory", n, resident_trajectory)
        measure("device-day, newest 50", n, device_day(search, 50))
        measure("device-day, whole day (export, ≤ 5000)", n, device_day(search, 5000))
        for label, token in (("a plate", plates[0]), ("a frequent plate", frequent[0])):
            runs = [co_travelling(token) for _ in range(3)]
            seconds, mine, near, found = min(runs)
            print(f"co-travellers of {label} over 30 days (Δt 30 s, k 3): best of 3 "
                  f"{seconds:.2f} s, worst {max(runs)[0]:.2f} s; its passages {mine}, "
                  f"passages near them {near}, co-travellers {found}")  # fmt: skip
        connection.close()


def _token_value(number: int) -> str:
    return "tok_" + str(number).rjust(32, "a")


if __name__ == "__main__":
    main()
