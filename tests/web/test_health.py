"""`/api/v1/health` says unhealthy (503) when the node cannot keep what it acknowledges."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from zhian.db.engine import make_engine
from zhian.kit.loopback import PeerUnreachableError
from zhian.node import Node
from zhian.web import health


def test_a_healthy_node_says_ok_without_login(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"disk": "ok", "database": "ok", "event_store": "ok"},
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
