"""The NATS JetStream log: the log contract against a real server, and what is its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.log.contract import LogContract, OpenLog, record
from tests.log.nats_server import nats_config  # noqa: F401 (a fixture)
from zhian.governance.crypto import FieldCipher
from zhian.governance.keys import generate_keyring
from zhian.log import SealedEventLog
from zhian.log.base import EventLogError
from zhian.log.nats import NatsEventLog, NatsLogConfig


class TestNatsLog(LogContract):
    @pytest.fixture
    def open_log(self, nats_config: NatsLogConfig) -> Iterator[OpenLog]:  # noqa: F811
        yield lambda: NatsEventLog(nats_config)


class TestSealedNatsLog(LogContract):
    @pytest.fixture
    def open_log(self, nats_config: NatsLogConfig) -> Iterator[OpenLog]:  # noqa: F811
        cipher = FieldCipher(generate_keyring())
        yield lambda: SealedEventLog(NatsEventLog(nats_config), cipher)


def test_the_same_message_id_is_stored_once_across_processes(
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    """Two intake processes (two connections) appending the same batch id: one record."""
    with NatsEventLog(nats_config) as first, NatsEventLog(nats_config) as second:
        assert first.append([record(1)], ids=["batch-a"]) == 1
        # Sent again, by the other process, with other bytes (sealed afresh, say).
        assert second.append([record(99)], ids=["batch-a"]) == 1
        assert second.append([record(2)], ids=["batch-b"]) == 2
        assert first.read(0, 10) == [(1, record(1)), (2, record(2))]


def test_concurrent_async_appends_are_all_acknowledged(
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    with NatsEventLog(nats_config) as log:

        async def append_many() -> list[int]:
            return list(
                await asyncio.gather(
                    *(log.append_async([record(2 * n), record(2 * n + 1)]) for n in range(50))
                )
            )

        lasts = asyncio.run(append_many())
        assert log.durable_seq == 100
        stored = [payload for _, payload in log.iter_records()]
        assert sorted(stored) == sorted(record(n) for n in range(100))
        # Each batch's records were stored in the order given.
        for n, last in enumerate(lasts):
            assert log.read(last - 1, 1) == [(last, record(2 * n + 1))]


def test_a_record_over_the_message_limit_is_refused(
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    with NatsEventLog(nats_config) as log:
        with pytest.raises(ValueError, match="nats_max_message_bytes"):
            log.append([b"x" * (log.max_record_bytes + 1)])
        assert log.append([b"x" * log.max_record_bytes]) == 1
        assert log.durable_seq == 1


def test_reader_positions_are_durable_consumers(
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    with NatsEventLog(nats_config) as log:
        log.append([record(n) for n in range(1, 6)])
        log.readers.register("store", 2)

        async def consumers(log: NatsEventLog) -> list[tuple[str, int]]:
            infos = await log._jetstream().consumers_info(nats_config.stream)
            return [(info.name, info.num_pending) for info in infos]

        assert log.run(consumers(log)) == [("store", 3)]
        assert log.readers.drop("store")
        assert log.run(consumers(log)) == []


def test_a_server_that_does_not_answer_is_an_event_log_error() -> None:
    config = NatsLogConfig(
        servers=("nats://127.0.0.1:1",), stream="NOWHERE", subject="zhian.none", timeout_seconds=1
    )
    with pytest.raises(EventLogError, match="no NATS server answered"):
        NatsEventLog(config)
