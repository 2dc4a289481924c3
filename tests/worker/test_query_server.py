"""The worker's store-query endpoint: allow-listed names, a token, loopback only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.ingest.factories import access_event, load_master_data
from zhian.config import Settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.store.remote import (
    ENDPOINT_FILE_NAME,
    TOKEN_HEADER,
    RemoteEventStore,
    StoreUnreachableError,
    WorkerEndpoint,
)
from zhian.worker.query_server import QueryEndpointError, StoreQueryServer


@pytest.fixture
def node(settings: Settings, clock: ManualClock) -> Iterator[Node]:
    with Node.open(settings, clock, feed=False) as running:
        tokens = load_master_data(running, now=clock.now())
        assert tokens
        result = running.intake.submit_raw(
            [
                json.dumps(access_event(f"e{i}", clock.now() - timedelta(minutes=3 - i))).encode()
                for i in range(3)
            ],
            source="test",
            sender_id="DOOR1",
            content_type="application/json",
        )
        assert result.accepted == 3
        running.feeder.feed_once()
        yield running


@pytest.fixture
def server(node: Node, settings: Settings) -> Iterator[StoreQueryServer]:
    running = StoreQueryServer(node.store, host="127.0.0.1", port=0)
    running.start()
    running.endpoint.publish(settings.workspace)
    yield running
    running.stop()


def test_remote_reads_answer_what_the_store_holds(
    node: Node, server: StoreQueryServer, settings: Settings, clock: ManualClock
) -> None:
    remote = RemoteEventStore(settings.workspace)
    try:
        assert remote.recent_events(10) == node.store.recent_events(10)
        assert [e.event_id for e in remote.recent_events(2, "DOOR1")] == ["e2", "e1"]
        assert remote.device_last_seen() == node.store.device_last_seen()
        assert remote.count_by_type() == node.store.count_by_type()
        assert remote.last_seq() == node.store.last_seq() > 0
        since = clock.now() - timedelta(hours=1)
        until = clock.now() + timedelta(hours=1)
        assert remote.arrival_stats(
            since, until, late_after_seconds=60
        ) == node.store.arrival_stats(since, until, late_after_seconds=60)
    finally:
        remote.close()


def test_the_endpoint_wants_the_token_and_a_known_query_name(server: StoreQueryServer) -> None:
    url = server.endpoint.url + "/store/"
    good = {TOKEN_HEADER: server.endpoint.token}
    assert httpx.post(url + "count_by_type", content=b"{}").status_code == 403
    assert (
        httpx.post(url + "count_by_type", content=b"{}", headers={TOKEN_HEADER: "guess"})
    ).status_code == 403
    assert (
        httpx.post(url + "query", content=b'{"sql": "SELECT 1"}', headers=good).status_code == 404
    )
    assert httpx.post(url + "recent_events", content=b'{"sql": 1}', headers=good).status_code == 422
    assert httpx.post(url + "count_by_type", content=b"{}", headers=good).status_code == 200


def test_without_a_worker_the_web_says_so(settings: Settings) -> None:
    settings.workspace.mkdir(parents=True, exist_ok=True)
    remote = RemoteEventStore(settings.workspace)
    with pytest.raises(StoreUnreachableError, match="zhian worker"):
        remote.recent_events()
    # A stale endpoint file (the worker died): an answer the web can show, not a traceback.
    WorkerEndpoint.new("127.0.0.1", 9).publish(settings.workspace)
    assert (settings.workspace / ENDPOINT_FILE_NAME).stat().st_mode & 0o077 == 0
    with pytest.raises(StoreUnreachableError, match="did not answer"):
        remote.count_by_type()
    remote.close()


def test_the_endpoint_listens_on_loopback_only(node: Node) -> None:
    with pytest.raises(QueryEndpointError, match="loopback"):
        StoreQueryServer(node.store, host="0.0.0.0", port=0)  # noqa: S104 - refused on purpose
