"""The contract every event log backend must meet, written once.

A backend's test module subclasses `LogContract` and provides `open_log`: a function that
opens (or reopens) the backend's log at the test's place, with segments small enough that a
few records roll one. The local log and the sealed wrapper run it today; the NATS JetStream
log (the issue "The scaled tier") joins with a subclass of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from zhian.log.base import LogClosedError, PrunableLog
from zhian.log.readers import slowest_reader

OpenLog = Callable[[], PrunableLog]


def record(n: int) -> bytes:
    # About 60 bytes: with the contract's small segments, a few records fill one.
    return f"record {n:04d} ".encode() * 5


class LogContract:
    """Append, read, reader positions, durability across a restart, pruning."""

    @pytest.fixture
    def open_log(self) -> Iterator[OpenLog]:
        raise NotImplementedError("a backend's test class provides open_log")

    @pytest.fixture
    def log(self, open_log: OpenLog) -> Iterator[PrunableLog]:
        opened = open_log()
        yield opened
        opened.close()

    # --- append and read ---------------------------------------------------------------

    def test_records_are_numbered_from_one_without_gaps(self, log: PrunableLog) -> None:
        assert (log.durable_seq, log.first_seq) == (0, 1)
        assert log.append([record(1)]) == 1
        assert log.append([record(2), record(3)]) == 3
        assert log.durable_seq == 3
        assert log.read(0, 10) == [(1, record(1)), (2, record(2)), (3, record(3))]

    def test_read_starts_after_a_position_and_stops_at_a_limit(self, log: PrunableLog) -> None:
        log.append([record(n) for n in range(1, 11)])
        assert [seq for seq, _ in log.read(4, 3)] == [5, 6, 7]
        assert log.read(10, 5) == []
        assert [seq for seq, _ in log.iter_records(8)] == [9, 10]

    def test_append_async_resolves_once_durable(self, log: PrunableLog) -> None:
        async def append_both() -> list[int]:
            return list(
                await asyncio.gather(log.append_async([record(1)]), log.append_async([record(2)]))
            )

        assert sorted(asyncio.run(append_both())) == [1, 2]
        assert sorted(payload for _, payload in log.read(0, 10)) == [record(1), record(2)]

    def test_a_closed_log_refuses_appends(self, open_log: OpenLog) -> None:
        log = open_log()
        log.close()
        with pytest.raises(LogClosedError):
            log.append([record(1)])

    # --- durability ---------------------------------------------------------------------

    def test_records_and_numbering_survive_a_restart(self, open_log: OpenLog) -> None:
        log = open_log()
        log.append([record(n) for n in range(1, 6)])
        log.close()
        reopened = open_log()
        try:
            assert reopened.durable_seq == 5
            assert [payload for _, payload in reopened.iter_records()] == [
                record(n) for n in range(1, 6)
            ]
            assert reopened.append([record(6)]) == 6
        finally:
            reopened.close()

    # --- named readers ------------------------------------------------------------------

    def test_readers_register_acknowledge_and_come_slowest_first(self, log: PrunableLog) -> None:
        assert log.readers.positions() == []
        assert slowest_reader(log.readers) is None
        log.readers.register("store", 0)
        log.readers.register("rules", 0)
        log.readers.ack("store", 7)
        log.readers.ack("rules", 3)

        assert [(p.name, p.seq) for p in log.readers.positions()] == [("rules", 3), ("store", 7)]
        slowest = slowest_reader(log.readers)
        assert slowest is not None and (slowest.name, slowest.seq) == ("rules", 3)

    def test_a_reader_registered_again_takes_its_own_checkpoint(self, log: PrunableLog) -> None:
        log.readers.ack("store", 9)
        log.readers.register("store", 4)  # a store rebuilt from an older copy
        assert [(p.name, p.seq) for p in log.readers.positions()] == [("store", 4)]

    def test_a_dropped_reader_is_gone(self, log: PrunableLog) -> None:
        log.readers.register("cascade", 2)
        assert log.readers.drop("cascade") is True
        assert log.readers.drop("cascade") is False
        assert log.readers.positions() == []

    def test_reader_positions_survive_a_restart(self, open_log: OpenLog) -> None:
        log = open_log()
        log.append([record(1), record(2)])
        log.readers.ack("store", 2)
        log.readers.ack("rules", 1)
        log.close()
        reopened = open_log()
        try:
            assert [(p.name, p.seq) for p in reopened.readers.positions()] == [
                ("rules", 1),
                ("store", 2),
            ]
        finally:
            reopened.close()

    @pytest.mark.parametrize("name", ["", "Store", "../escape", "a b", "x" * 65])
    def test_a_reader_name_must_be_plain(self, log: PrunableLog, name: str) -> None:
        with pytest.raises(ValueError, match="name"):
            log.readers.register(name, 0)

    # --- pruning -------------------------------------------------------------------------

    def test_pruning_below_the_slowest_reader_keeps_what_it_still_needs(
        self, log: PrunableLog
    ) -> None:
        for n in range(1, 31):
            log.append([record(n)])
        log.readers.ack("store", 30)
        log.readers.ack("rules", 12)
        slowest = slowest_reader(log.readers)
        assert slowest is not None

        removed = log.prune_through(slowest.seq)

        assert removed, "small segments: some lie wholly at or below record 12"
        assert all(segment.last_seq <= 12 for segment in removed)
        assert 1 < log.first_seq <= 13
        # Everything the slowest reader has not read is still there, in order.
        assert [seq for seq, _ in log.read(12, 100)] == list(range(13, 31))
        # A read from before the first kept record starts at it, without an error.
        assert log.read(0, 1)[0][0] == log.first_seq

    def test_the_active_segment_is_never_pruned(self, log: PrunableLog) -> None:
        for n in range(1, 11):
            log.append([record(n)])
        log.prune_through(10)
        active = log.segments()[-1]
        assert active.is_active and active.last_seq == 10
        assert log.read(9, 1) == [(10, record(10))]

    def test_numbering_goes_on_after_pruning_and_a_restart(self, open_log: OpenLog) -> None:
        log = open_log()
        for n in range(1, 21):
            log.append([record(n)])
        log.prune_through(20)
        first = log.first_seq
        log.close()
        reopened = open_log()
        try:
            assert (reopened.first_seq, reopened.durable_seq) == (first, 20)
            assert reopened.append([record(21)]) == 21
        finally:
            reopened.close()
