"""A web-only process (`zhian serve --web-only`) whose worker is down still answers its
status, page and JSON, with the worker shown down (no heartbeat) or stale (a heartbeat, no
answer) and the event store's figures missing; `/readyz` stays ready (docs/operations.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from tests.web.conftest import FAST_HASHER, PASSWORD
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node, NodeRole
from zhian.processes.heartbeat import Heartbeat, ProcessFigures
from zhian.web.app import create_app


@pytest.fixture
def web(settings: Settings, clock: ManualClock) -> Iterator[Node]:
    """The web role of a node, and no worker running beside it."""
    web_settings = load_settings(settings.workspace, web={"secret_key": "k" * 40})
    with Node.open(web_settings, clock, feed=False, role=NodeRole.WEB) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(session, password_hasher=FAST_HASHER).create_user(
                "command", PASSWORD, role="command_centre", jurisdiction_id="J-CITY",
                now=clock.now(),
            )  # fmt: skip
        yield node


@pytest.fixture
def client(web: Node) -> Iterator[TestClient]:
    with TestClient(create_app(web), follow_redirects=False) as test_client:
        sign_in(test_client, "command", PASSWORD)
        yield test_client


def test_the_status_answers_with_the_worker_down_and_the_store_figures_missing(
    client: TestClient,
) -> None:
    answer = client.get("/api/v1/status")
    assert answer.status_code == 200, answer.text
    status = answer.json()
    assert status["worker"] == {"state": "down", "seen_at": None}
    assert status["event_store"]["state"] == "unreachable"
    assert "zhian worker" in status["event_store"]["reason"]
    assert status["store_lag"] is None and status["stored_by_type"] == {}
    assert status["recent"] == []
    # The devices are listed from the database, their last report unknown (not "silent").
    assert status["devices"] and {d["is_silent"] for d in status["devices"]} == {None}
    assert status["intake"]["accepted"] == 0 and status["process"]["role"] == "web"

    page = client.get("/status?lang=en")
    assert page.status_code == 200
    assert 'id="store-unreachable"' in page.text and "not running" in page.text
    zh = client.get("/status?lang=zh")
    assert zh.status_code == 200 and "未运行" in zh.text and "事件库暂不可用" in zh.text
    # Ready all the same: intake goes to the durable log, the store catches up later.
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["event_store"] == "degraded"


def test_a_worker_that_beats_but_does_not_answer_is_shown_stale(
    client: TestClient, web: Node
) -> None:
    Heartbeat(web.db, NodeRole.WORKER.value, lambda: (None, ProcessFigures())).beat()
    status = client.get("/api/v1/status").json()
    assert status["worker"]["state"] == "stale" and status["worker"]["seen_at"] is not None
    assert "worker" in [p["role"] for p in status["processes"]]
    assert "starting or stuck" in client.get("/status?lang=en").text
