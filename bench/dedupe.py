"""The duplicate index: start-up with N events in the log, and the cost per batch.

Run: .venv/bin/python bench/dedupe.py [--events 500000] [--batch 500]
                                     [--filter-keys 1000000,10000000]

Before: the intake rebuilt an in-memory index at every start-up by reading the whole
duplicate window of the (sealed) log. After: keys live in `intake-keys.sqlite3`, written
behind the log; a start-up reads only the records not indexed yet. Printed:
- start-up: the old full scan; the new index after a clean stop (nothing to read), after a
  crash (one flush interval of records to read), and built from nothing (a lost file);
- per batch: reserving `--batch` fresh keys in the old in-memory dict and in the new index
  (with N keys on disk; the Bloom filter spares SQLite the fresh keys); the flush that writes
  the handed-over keys, amortised per batch, runs on the index's background thread (SQLite
  with the GIL released), not in the intake's request;
- the Bloom filter's build from an index file of each `--filter-keys` keys, which the
  index's thread does first after a start-up (until then new keys are looked up in SQLite);
  the files are made directly in SQL, so large ones take a while to make, not to read.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from zhian.governance.crypto import FieldCipher
from zhian.governance.keys import generate_keyring
from zhian.ingest.dedupe import DuplicateIndex, event_key
from zhian.ingest.events import Event, HeartbeatEvent, LoggedBatch, LoggedBatchKeys
from zhian.ingest.service import record_keys
from zhian.log import LocalEventLog, SealedEventLog
from zhian.log.base import EventLog

NOW = datetime.now(UTC)
DEVICES = 2_000


def make_records(events: int, batch: int, *, days: float) -> list[tuple[bytes, list[str]]]:
    """Intake records of `batch` heartbeats each, arrived over the last `days`, with the
    duplicate keys of their events."""
    encoder = msgspec.msgpack.Encoder()
    count = max(1, events // batch)
    made: list[tuple[bytes, list[str]]] = []
    for n in range(count):
        at = NOW - timedelta(days=days) * (1 - n / count)
        items: list[Event] = [
            HeartbeatEvent(
                id=str(uuid.uuid4()),
                device_id=f"DEV{(n * batch + i) % DEVICES:05d}",
                time=at,
                status="ok",
            )
            for i in range(batch)
        ]
        keys = [event_key(e.device_id, e.id) for e in items]
        made.append((encoder.encode(LoggedBatch(at, "native", items)), keys))
    return made


def fill_log(log: EventLog, records: list[tuple[bytes, list[str]]]) -> None:
    for record, _keys in records:
        log.append([record])


def old_scan(log: EventLog) -> dict[str, float]:
    """The start-up of the old in-memory index (IntakeService.recover before #11)."""
    decoder = msgspec.msgpack.Decoder(LoggedBatchKeys)
    cutoff = (NOW - timedelta(days=30, minutes=10)).timestamp()

    def keys() -> Iterable[tuple[str, float]]:
        for _seq, record in log.iter_records():
            batch = decoder.decode(record)
            received = batch.received_at.timestamp()
            if received >= cutoff:
                for event in batch.events:
                    yield event_key(event.device_id, event.id), received

    seen: dict[str, float] = {}
    seen.update(keys())
    return seen


def old_reserve(seen: dict[str, float], lock: threading.Lock) -> Callable[[list[str]], None]:
    """The old in-memory reservation, as it was."""

    def reserve(keys: list[str]) -> None:
        with lock:
            for key in keys:
                if key not in seen:
                    seen[key] = 0.0

    return reserve


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def per_batch_us(reserve: Callable[[list[str]], object], batches: list[list[str]]) -> float:
    start = time.perf_counter()
    for keys in batches:
        reserve(keys)
    return (time.perf_counter() - start) / len(batches) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--measured-batches", type=int, default=400)
    parser.add_argument(
        "--filter-keys",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[1_000_000],
        help="comma-separated key counts to time the filter's build for",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zhian-dedupe-") as root_name:
        root = Path(root_name)
        cipher = FieldCipher(generate_keyring())
        log = SealedEventLog(LocalEventLog(root / "log", fsync=False), cipher)
        print(f"filling a sealed log with {args.events:,} events in records of {args.batch} …")
        fill_log(log, make_records(args.events, args.batch, days=20))
        index_path = root / "intake-keys.sqlite3"

        scan_s, seen = timed(lambda: old_scan(log))
        assert isinstance(seen, dict)
        build_s, _ = timed(lambda: _opened(index_path, log).close())
        size_mb = index_path.stat().st_size / 1e6
        clean_s, _ = timed(lambda: _opened(index_path, log).close())

        # A crash one flush interval after the last flush: the records of that second.
        tail_records = max(1, 20_000 // args.batch)  # about a second of a busy node's intake
        index = _opened(index_path, log)
        fill_log(log, make_records(tail_records * args.batch, args.batch, days=0))
        # The index is dropped without close(): as if the process died here.
        crash_s, read_keys = timed(lambda: _opened(index_path, log))
        assert isinstance(read_keys, DuplicateIndex)
        index.close()

        fresh = make_records(args.measured_batches * args.batch, args.batch, days=0)
        fresh_keys = [keys for _record, keys in fresh]
        old_us = per_batch_us(old_reserve(dict(seen), threading.Lock()), fresh_keys)
        # No automatic flush while measuring: the flush is timed on its own below.
        durable = DuplicateIndex(index_path, log, record_keys, flush_keys=10**9)
        durable.build_filter()  # as the background thread does first
        reserve_us = per_batch_us(lambda keys: durable.reserve(keys, NOW.timestamp()), fresh_keys)
        # The intake appends each batch and hands its keys over; a flush writes them from
        # memory (what the background thread does about once a second), spread over them.
        for record, keys in fresh:
            durable.logged(log.append([record]), keys, NOW.timestamp())
        flush_s, _ = timed(durable.catch_up)
        flush_us = flush_s / len(fresh) * 1e6
        durable.close()
        log.close()
        with LocalEventLog(root / "empty-log", fsync=False) as empty:
            filter_builds = [
                (count, *filter_build(root / f"keys-{count}.sqlite3", count, empty))
                for count in args.filter_keys
            ]

    events_m = args.events / 1e6
    print(f"\nstart-up with {args.events:,} events ({events_m:.2f} M) in the log")
    print(
        f"  before, full scan into memory:          {scan_s:8.2f} s  ({scan_s / events_m:.2f} s/M)"
    )
    print(f"  after, clean stop (nothing to read):    {clean_s:8.3f} s")
    print(f"  after, crash ({tail_records * args.batch:,} events unindexed):   {crash_s:8.3f} s")
    print(f"  after, index file lost (built again):   {build_s:8.2f} s  (once; {size_mb:.0f} MB)")
    print(f"\nper batch of {args.batch} fresh keys, {args.events:,} keys held")
    print(f"  before, in-memory dict:                 {old_us:8.0f} µs")
    print(f"  after, lookup + claim:                  {reserve_us:8.0f} µs")
    print(f"  after, flush on its thread (amortised): {flush_us:8.0f} µs")
    print(f"  memory before: every key of the window ({len(seen):,}); after: unflushed keys only")
    for count, build_s, size in filter_builds:
        print(
            f"\nBloom filter of {count:,} stored keys, built after start-up: {build_s:6.2f} s"
            f" ({size / 2**20:.0f} MiB)"
        )


def filter_build(path: Path, count: int, log: EventLog) -> tuple[float, int]:
    """Seconds to open an index file holding `count` keys (its filter built), and the
    filter's size; the file is filled in SQL, with an empty log behind it."""
    DuplicateIndex(path, log, record_keys).close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO event_keys (key, seq, received_at) "
            "SELECT printf('DEV%05d', i % 2000) || char(31) || lower(hex(randomblob(16))), "
            "i, 0 FROM n ORDER BY 1",
            (count,),
        )
    index = DuplicateIndex(path, log, record_keys)
    build_s, _ = timed(index.build_filter)
    size = index.filter_bytes
    index.close()
    path.unlink()
    return build_s, size


def _opened(path: Path, log: EventLog) -> DuplicateIndex:
    index = DuplicateIndex(path, log, record_keys)
    index.catch_up()
    return index


if __name__ == "__main__":
    main()
