"""A node whose log is the NATS stream: intake → log → event store and rules, in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance.test_retention_log import NEW_PLATE, caught_up, submit, vehicle_raw
from tests.ingest.factories import load_master_data
from tests.log.nats_server import nats_config  # noqa: F401 (a fixture)
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.log import SealedEventLog
from zhian.log.nats import NatsEventLog, NatsLogConfig
from zhian.node import Node


def test_a_node_takes_events_through_the_nats_log_and_resumes_after_a_restart(
    tmp_path: Path,
    database_url: str,
    clock: ManualClock,
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    settings = load_settings(
        tmp_path / "ws",
        database={"url": database_url},
        log={
            "type": "nats",
            "nats_url": ",".join(nats_config.servers),
            "nats_stream": nats_config.stream,
            "nats_subject": nats_config.subject,
        },
        governance={"retention_daily": False},
    )
    with Node.open(settings, clock) as node:
        assert isinstance(node.log, SealedEventLog)
        load_master_data(node, now=clock.now())
        assert submit(node, [vehicle_raw("one", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        assert submit(node, [vehicle_raw("one", clock.now(), NEW_PLATE)]) == (0, 1, 0)
        caught_up(node)
        assert node.store.has_event("CAM1", "one")
        assert [(p.name, p.seq) for p in node.log.readers.positions()] == [
            ("rules", 1),
            ("store", 1),
        ]
        # Sealed at rest in the stream too: the plate is not in the stored record.
        with NatsEventLog(nats_config) as raw:
            assert NEW_PLATE.encode() not in raw.read(0, 1)[0][1]
    assert not settings.log_dir.exists() or not any(settings.log_dir.iterdir())

    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        # The duplicate index is rebuilt from the stream; numbering goes on.
        assert submit(node, [vehicle_raw("one", clock.now(), NEW_PLATE)]) == (0, 1, 0)
        assert submit(node, [vehicle_raw("two", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        caught_up(node)
        assert node.log.durable_seq == 2 and node.store.last_seq() == 2
        assert node.store.has_event("CAM1", "two")


def test_zhian_log_shows_and_drops_the_nats_readers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    from typer.testing import CliRunner

    from zhian.cli.main import app

    with NatsEventLog(nats_config) as log:
        log.append([b"one", b"two"])
        log.readers.register("store", 2)
    monkeypatch.setenv("ZHIAN_LOG__TYPE", "nats")
    monkeypatch.setenv("ZHIAN_LOG__NATS_URL", ",".join(nats_config.servers))
    monkeypatch.setenv("ZHIAN_LOG__NATS_STREAM", nats_config.stream)
    monkeypatch.setenv("ZHIAN_LOG__NATS_SUBJECT", nats_config.subject)
    runner = CliRunner()
    workspace = str(tmp_path / "ws")

    shown = runner.invoke(app, ["log", "readers", "-w", workspace])
    assert shown.exit_code == 0, shown.output
    assert "store" in shown.output and "through record 2" in shown.output
    dropped = runner.invoke(app, ["log", "drop-reader", "store", "-w", workspace])
    assert dropped.exit_code == 0, dropped.output
    with NatsEventLog(nats_config) as log:
        assert log.readers.positions() == []
