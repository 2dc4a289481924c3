"""The NATS log on a cluster of three: one node killed during intake loses nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.log.nats_server import NatsCluster
from zhian.log.base import EventLogError
from zhian.log.nats import NatsEventLog, NatsLogConfig

BATCHES = 120
KILL_AFTER = 40


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    started = NatsCluster(tmp_path / "nats")
    try:
        started.start()
        yield started
    finally:
        started.stop()


def _leader_index(log: NatsEventLog, cluster: NatsCluster) -> int:
    async def leader() -> str:
        info = await log._jetstream().stream_info(log.config.stream)
        assert info.cluster is not None and info.cluster.leader is not None
        return info.cluster.leader

    return int(log.run(leader()).removeprefix("n"))


def test_every_acknowledged_append_survives_a_killed_node_exactly_once(
    cluster: NatsCluster,
) -> None:
    config = NatsLogConfig(
        servers=tuple(cluster.urls),
        stream="CLUSTERED",
        subject="zhian.cluster.log",
        replicas=3,
        timeout_seconds=3.0,
    )
    acknowledged: dict[str, int] = {}
    killed = threading.Event()
    with NatsEventLog(config) as log:
        # The stream's leader goes: the hardest case (a new one must be elected).
        victim = _leader_index(log, cluster)
        for n in range(BATCHES):
            if n == KILL_AFTER:
                cluster.kill(victim)
                killed.set()
            batch_id = f"batch-{n:04d}"
            payload = f"record {n:04d}".encode() * 4
            # An intake process retries a refused request with the same batch id.
            for _attempt in range(10):
                try:
                    acknowledged[batch_id] = log.append([payload], ids=[batch_id])
                    break
                except EventLogError:
                    continue
        assert killed.is_set()
        assert len(acknowledged) == BATCHES, "the cluster of two kept taking appends"

        stored = list(log.iter_records())

    # Gapless numbering, and every acknowledged record exactly once, at its number.
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
    payloads = [payload for _, payload in stored]
    assert len(payloads) == len(set(payloads)) == BATCHES
    by_seq = dict(stored)
    for batch_id, seq in acknowledged.items():
        n = int(batch_id.removeprefix("batch-"))
        assert by_seq[seq] == f"record {n:04d}".encode() * 4
