"""`/api/v1/health` says unhealthy (503) when the node cannot keep what it acknowledges."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.store.factories import encode, make_logged
from zhian import __version__
from zhian.cli.main import app
from zhian.config import load_settings
from zhian.db.engine import make_engine
from zhian.kit.clock import ManualClock
from zhian.kit.loopback import PeerUnreachableError
from zhian.log import LocalEventLog
from zhian.log.damage import DAMAGED_FOLDER
from zhian.log.segments import HEADER
from zhian.node import Node
from zhian.web import health
from zhian.web.app import create_app


def test_a_healthy_node_says_ok_without_login(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"disk": "ok", "database": "ok", "event_store": "ok", "event_log": "ok"},
        # Which process answered (one of several behind `serve --workers`).
        "process": {"role": "all", "pid": os.getpid(), "version": __version__},
    }


@pytest.mark.parametrize(
    ("total", "free"),
    [(10 * 2**30, 50 * 2**20), (10 * 2**40, 50 * 2**30), (10 * 2**30, 0)],
    ids=["under 100 MiB", "under 1 percent", "full"],
)
def test_a_nearly_full_disk_is_unhealthy(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, total: int, free: int
) -> None:
    monkeypatch.setattr(health, "disk_usage", lambda _path: (total, free))
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["disk"] == "failed"
    assert body["checks"]["database"] == "ok"


def test_enough_free_space_is_healthy(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "disk_usage", lambda _path: (10 * 2**30, 5 * 2**30))
    assert client.get("/api/v1/health").status_code == 200


def test_a_database_that_does_not_answer_is_unhealthy(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Point the node's engine at a damaged SQLite file, as a failing disk leaves it.
    damaged = Path(node.settings.workspace) / "damaged.db"
    damaged.write_bytes(b"\x13" * 8192)
    monkeypatch.setattr(node.db, "engine", make_engine(f"sqlite:///{damaged}"))
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failed"
    # Public body: no path, no exception text.
    assert str(node.settings.workspace) not in response.text
    assert "damaged" not in json.dumps(response.json())


def store_read_failing_with(error: Exception) -> object:
    def recent_events(limit: int = 50, device_id: str | None = None) -> object:
        raise error

    return recent_events


def test_an_event_store_that_does_not_answer_is_unhealthy(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = store_read_failing_with(duckdb.IOException("read error in /secret/path"))
    monkeypatch.setattr(node.event_reads, "recent_events", failing)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["event_store"] == "failed"
    assert "secret" not in response.text


def test_a_worker_that_does_not_answer_is_degraded_not_down(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A web process in split mode: intake still goes to the durable log meanwhile.
    failing = store_read_failing_with(PeerUnreachableError("start `zhian worker`"))
    monkeypatch.setattr(node.event_reads, "recent_events", failing)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["event_store"] == "degraded"


def lose_records(node: Node, count: int) -> int:
    """Make the serving log record a loss of `count` records; returns the seq before it.

    A reader registers past the log's end (the log lost records it had read): the log
    numbers on after it and records the gap."""
    end = node.log.durable_seq
    node.log.readers.register("probe", end + count)
    node.log.readers.drop("probe")
    return end


def test_a_loss_the_log_records_while_serving_makes_the_node_degraded(
    client: TestClient, node: Node
) -> None:
    end = lose_records(node, 3)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["event_log"] == "degraded"
    lost = body["details"]["event_log"]["lost"]
    assert [(item["first_seq"], item["last_seq"], item["kept_aside"]) for item in lost] == [
        (end + 1, end + 3, None)
    ]


def test_an_acknowledged_loss_is_no_longer_reported_and_a_later_one_is(
    client: TestClient, node: Node
) -> None:
    lose_records(node, 3)
    assert client.get("/api/v1/health").json()["checks"]["event_log"] == "degraded"

    result = CliRunner().invoke(
        app,
        [
            "log",
            "acknowledge-damage",
            "--note",
            "accepted",
            "--workspace",
            str(node.settings.workspace),
        ],
    )
    assert result.exit_code == 0, result.output
    healthy = client.get("/api/v1/health").json()
    assert healthy["checks"]["event_log"] == "ok"
    assert "event_log" not in healthy.get("details", {})

    later = lose_records(node, 2)
    body = client.get("/api/v1/health").json()
    assert body["checks"]["event_log"] == "degraded"
    assert [
        (item["first_seq"], item["last_seq"]) for item in body["details"]["event_log"]["lost"]
    ] == [(later + 1, later + 2)]


def test_a_damaged_segment_is_named_with_its_range_and_the_file_kept_aside(
    workspace: Path, clock: ManualClock
) -> None:
    settings = load_settings(workspace, web={"secret_key": "k" * 40})
    Node.open(settings, clock, feed=False).close()  # a workspace with its key ring
    # Records in the clear (as before sealing), in segments of about three records.
    with LocalEventLog(settings.log_dir, segment_bytes=600) as log:
        for record in encode(make_logged(10)):
            log.append([record])
    segments = sorted(settings.log_dir.glob("*.seg"))
    assert len(segments) >= 3
    middle = segments[1]
    next_first = int(segments[2].name.removesuffix(".seg"))
    data = bytearray(middle.read_bytes())
    data[HEADER.size + 7] ^= 0x5A  # the middle segment's first record no longer reads back
    middle.write_bytes(bytes(data))
    first_lost = int(middle.name.removesuffix(".seg"))

    with Node.open(settings, clock) as opened, TestClient(create_app(opened)) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["event_log"] == "degraded"
    detail = body["details"]["event_log"]
    assert detail["damaged_folder"] == DAMAGED_FOLDER
    [lost] = detail["lost"]
    assert (lost["first_seq"], lost["last_seq"]) == (first_lost, next_first - 1)
    assert lost["kept_aside"].startswith(middle.name)
    assert (settings.log_dir / DAMAGED_FOLDER / lost["kept_aside"]).is_file()
    # A file name, never the workspace's path.
    assert str(workspace) not in response.text
