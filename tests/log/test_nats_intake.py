"""The intake on the NATS log: large requests split into records, a switched log refused,
and the node in several processes (`serve --web-only` + `worker`, `serve --workers 2`)."""

from __future__ import annotations

import concurrent.futures
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.governance.test_retention_log import NEW_PLATE, caught_up, submit, vehicle_raw
from tests.ingest.factories import load_master_data
from tests.ingest.test_durability import free_port
from tests.log.nats_server import nats_config  # noqa: F401 (a fixture)
from tests.worker.test_split_processes import (
    add_sos_device,
    add_user_token,
    sos_alerts,
    wait_for,
    wait_healthy,
    zhian_process,
)
from zhian.cli.main import app
from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock, SystemClock
from zhian.log.nats import LogSwitchedError, NatsEventLog, NatsLogConfig
from zhian.node import Node
from zhian.store.remote import RemoteEventStore


def nats_log_settings(config: NatsLogConfig, **extra: object) -> dict[str, object]:
    return {
        "type": "nats",
        "nats_url": ",".join(config.servers),
        "nats_stream": config.stream,
        "nats_subject": config.subject,
        **extra,
    }


def nats_env(config: NatsLogConfig, database_url: str | None = None) -> dict[str, str]:
    env = {
        "ZHIAN_LOG__TYPE": "nats",
        "ZHIAN_LOG__NATS_URL": ",".join(config.servers),
        "ZHIAN_LOG__NATS_STREAM": config.stream,
        "ZHIAN_LOG__NATS_SUBJECT": config.subject,
    }
    if database_url is not None:
        env["ZHIAN_DATABASE__URL"] = database_url
    return env


def test_a_request_larger_than_a_message_is_split_into_records_all_acknowledged(
    tmp_path: Path,
    clock: ManualClock,
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    settings = load_settings(
        tmp_path / "ws",
        log=nats_log_settings(nats_config, nats_max_message_bytes=64 * 1024),
        governance={"retention_daily": False},
    )
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        limit = node.log.max_record_bytes
        assert limit is not None and limit < 64 * 1024
        raws = [vehicle_raw(f"big-{n}", clock.now(), NEW_PLATE) for n in range(1500)]
        assert sum(len(raw) for raw in raws) > 2 * 64 * 1024  # several messages' worth
        assert submit(node, raws) == (1500, 0, 0)
        records = node.log.durable_seq
        assert records >= 3
        with NatsEventLog(nats_config) as stored:
            assert all(len(record) <= limit + 512 for _, record in stored.iter_records())
        caught_up(node)
        assert all(node.store.has_event("CAM1", f"big-{n}") for n in range(1500))
        assert node.store.last_seq() == records
        # The same request again: every event a duplicate, no record added.
        assert submit(node, raws) == (0, 1500, 0)
        assert node.log.durable_seq == records


def local_workspace_with_three_records(workspace: Path, clock: ManualClock) -> None:
    local = load_settings(workspace, governance={"retention_daily": False})
    with Node.open(local, clock) as node:
        load_master_data(node, now=clock.now())
        for n in range(3):
            assert submit(node, [vehicle_raw(f"local-{n}", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        caught_up(node)
        assert node.store.last_seq() == 3


def test_a_workspace_switched_to_an_empty_nats_stream_numbers_on_after_its_readers(
    tmp_path: Path,
    clock: ManualClock,
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    workspace = tmp_path / "ws"
    local_workspace_with_three_records(workspace, clock)
    switched = load_settings(
        workspace, log=nats_log_settings(nats_config), governance={"retention_daily": False}
    )
    with Node.open(switched, clock) as node:
        assert submit(node, [vehicle_raw("nats-1", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        caught_up(node)
        # Numbered past the store's checkpoint, so the store takes it (not skipped as "3").
        assert node.log.durable_seq == 4 and node.store.last_seq() == 4
        assert node.store.has_event("CAM1", "nats-1") and node.store.has_event("CAM1", "local-2")


def test_a_workspace_switched_to_a_stream_holding_records_is_refused_at_start(
    tmp_path: Path,
    clock: ManualClock,
    nats_config: NatsLogConfig,  # noqa: F811
) -> None:
    workspace = tmp_path / "ws"
    local_workspace_with_three_records(workspace, clock)
    # A record already in the stream (a web process took a request before the worker's
    # first start): numbered 1, under the store's checkpoint, it would never be stored.
    with NatsEventLog(nats_config) as stream:
        stream.append([b"taken before the readers came"])
    switched = load_settings(
        workspace, log=nats_log_settings(nats_config), governance={"retention_daily": False}
    )
    with pytest.raises(LogSwitchedError, match=r"read through record 3.*ends at record 1"):
        Node.open(switched, clock)

    result = CliRunner().invoke(
        app, ["worker", "--workspace", str(workspace)], env=nats_env(nats_config)
    )
    assert result.exit_code == 2
    assert "Refusing to start" in result.output and "nats stream purge" in result.output
    with NatsEventLog(nats_config) as stream:
        assert stream.durable_seq == 1  # nothing purged or numbered by the refused starts


@pytest.fixture
def nats_node(
    tmp_path: Path,
    postgres_url: str,
    nats_config: NatsLogConfig,  # noqa: F811
) -> tuple[Settings, dict[str, str]]:
    """A workspace on PostgreSQL and the test's NATS stream, its master data loaded."""
    settings = load_settings(
        tmp_path / "ws", database={"url": postgres_url}, log=nats_log_settings(nats_config)
    )
    with Node.open(settings, feed=False) as node:
        load_master_data(node, now=SystemClock().now())
    return settings, nats_env(nats_config, postgres_url)


def post_events(
    port: int, token: str, event_ids: list[str], client: httpx.Client | None = None
) -> dict[str, int]:
    now = SystemClock().now().isoformat()
    body = [
        {"type": "alarm", "id": event_id, "device_id": "SOS1", "time": now, "kind": "sos",
         "level": 3}
        for event_id in event_ids
    ]  # fmt: skip
    response = (client or httpx).post(
        f"http://127.0.0.1:{port}/api/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    return {key: int(result[key]) for key in ("accepted", "duplicate", "rejected")}


@pytest.mark.slow
def test_web_only_and_a_worker_on_nats_store_and_alert_what_came_over_http(
    nats_node: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = nats_node
    sos_token = add_sos_device(settings, "SOS1")
    port = free_port()
    workspace = settings.workspace
    with zhian_process(workspace, "serve", "--web-only", "--port", str(port), env=env) as web:
        wait_healthy(port, web)
        with zhian_process(workspace, "worker", env=env) as worker:
            wait_for(settings.worker_endpoint_file.exists, "the worker")
            assert post_events(port, sos_token, ["sos-nats-1"])["accepted"] == 1
            wait_for(lambda: sos_alerts(settings) == ["alarm_sos"], "the worker's SOS alert")
            # The alert, raised by the worker, is on the alert list the web process serves.
            officer = add_user_token(settings, "command_centre", "J-CITY")
            alerts = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/alerts",
                headers={"Authorization": f"Bearer {officer}"},
                timeout=10,
            )
            assert alerts.status_code == 200, alerts.text
            assert [a["kind"] for a in alerts.json()["items"]] == ["alarm_sos"]
            assert worker.poll() is None
    assert not settings.log_dir.exists() or not any(settings.log_dir.iterdir())


@pytest.mark.slow
def test_two_intake_processes_store_every_acknowledged_event_exactly_once(
    nats_node: tuple[Settings, dict[str, str]],
) -> None:
    """`serve --workers 2` with its own loops: events sent to both processes (connections
    spread by the kernel), the same batches sent twice at once; each event stored once."""
    settings, env = nats_node
    sos_token = add_sos_device(settings, "SOS1")
    port = free_port()
    workspace = settings.workspace
    with zhian_process(workspace, "serve", "--workers", "2", "--port", str(port), env=env) as web:
        wait_healthy(port, web)
        served_by: set[int] = set()

        def pid_of_answer() -> int:
            response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            return int(response.json()["process"]["pid"])

        wait_for(
            lambda: served_by.add(pid_of_answer()) or len(served_by) == 2,  # type: ignore[func-returns-value]
            "answers from both web processes",
        )
        batches = [[f"ev-{b}-{n}" for n in range(50)] for b in range(40)]
        acknowledged: set[str] = set()
        # Every batch twice, concurrently, on fresh connections: the two copies often go
        # to different processes, whose duplicate indexes do not see each other's claims.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = {
                pool.submit(post_events, port, sos_token, batch): batch
                for batch in batches
                for _ in range(2)
            }
            for future in concurrent.futures.as_completed(futures):
                counts = future.result()
                assert counts["rejected"] == 0
                assert counts["accepted"] + counts["duplicate"] == 50
                acknowledged.update(futures[future])
        wanted = {event_id for batch in batches for event_id in batch}
        assert acknowledged == wanted
        wait_for(settings.worker_endpoint_file.exists, "the loops")
        reads = RemoteEventStore(settings.worker_endpoint_file)
        try:

            def stored() -> list[str]:
                return [
                    e.event_id for e in reads.recent_events(5000) if e.event_id.startswith("ev-")
                ]

            wait_for(lambda: len(set(stored())) == len(wanted), "every event in the store")
            assert sorted(stored()) == sorted(wanted)  # each exactly once
        finally:
            reads.close()


def clients_of_two_processes(port: int) -> list[httpx.Client]:
    """Two kept-alive connections answered by different web processes of one `serve`."""
    by_pid: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []

    def connect() -> bool:
        client = httpx.Client(timeout=30)
        answer = client.get(f"http://127.0.0.1:{port}/api/v1/health")
        pid = int(answer.json()["process"]["pid"])
        if pid in by_pid:
            spare.append(client)
        else:
            by_pid[pid] = client
        return len(by_pid) == 2

    wait_for(connect, "connections to both web processes")
    for client in spare:
        client.close()
    return list(by_pid.values())


def keys_in_index_file(settings: Settings, event_ids: list[str]) -> int:
    """How many of SOS1's events the shared duplicate index file holds (WAL: read beside)."""
    with closing(sqlite3.connect(settings.duplicate_index_path)) as connection:
        marks = ",".join("?" * len(event_ids))
        row = connection.execute(
            f"SELECT count(*) FROM event_keys WHERE key IN ({marks})",
            [f"SOS1\x1f{event_id}" for event_id in event_ids],
        ).fetchone()
    return int(row[0])


@pytest.mark.slow
def test_an_event_resent_in_another_batch_to_another_process_is_a_duplicate(
    nats_node: tuple[Settings, dict[str, str]],
) -> None:
    """The stream's message id stores a batch sent again whole once; an event sent again
    in a different batch, to the other intake process, is caught by the shared index."""
    settings, env = nats_node
    sos_token = add_sos_device(settings, "SOS1")
    port = free_port()
    workspace = settings.workspace
    with zhian_process(workspace, "serve", "--workers", "2", "--port", str(port), env=env) as web:
        wait_healthy(port, web)
        first, second = clients_of_two_processes(port)
        try:
            sent = ["resent-1", "resent-2"]
            assert post_events(port, sos_token, sent, first)["accepted"] == 2
            # The first process writes its keys to the shared file (about once a second).
            wait_for(lambda: keys_in_index_file(settings, sent) == 2, "the first's flush")
            again = post_events(port, sos_token, ["resent-2", "fresh-3", "resent-1"], second)
            assert again == {"accepted": 1, "duplicate": 2, "rejected": 0}
        finally:
            first.close()
            second.close()
        wait_for(settings.worker_endpoint_file.exists, "the loops")
        reads = RemoteEventStore(settings.worker_endpoint_file)
        try:

            def stored() -> list[str]:
                return sorted(
                    e.event_id
                    for e in reads.recent_events(100)
                    if e.event_id.startswith(("resent-", "fresh-"))
                )

            wait_for(lambda: len(stored()) >= 3, "the events in the store")
            assert stored() == ["fresh-3", "resent-1", "resent-2"]  # each exactly once
        finally:
            reads.close()
