"""The worker's query endpoint: allow-listed store queries, a token, loopback only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import msgspec
import pytest

from tests.ingest.factories import access_event, load_master_data
from zhian.config import Settings
from zhian.kit.clock import ManualClock
from zhian.kit.loopback import TOKEN_HEADER, LoopbackEndpoint, PeerUnreachableError
from zhian.kit.loopback_server import QueryEndpointError, QueryServer
from zhian.node import CROWD_SNAPSHOT_QUERY, Node, NodeRole, NodeRoleError
from zhian.store.passages import CaptureWindow, PassageFilter
from zhian.store.remote import RemoteEventStore, answer_query


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
def server(node: Node, settings: Settings) -> Iterator[QueryServer]:
    store = node.store
    running = QueryServer(
        lambda name, body: answer_query(store, name, body), host="127.0.0.1", port=0
    )
    running.start()
    running.endpoint.publish(settings.worker_endpoint_file)
    yield running
    running.stop()


def test_remote_reads_answer_what_the_store_holds(
    node: Node, server: QueryServer, settings: Settings, clock: ManualClock
) -> None:
    remote = RemoteEventStore(settings.worker_endpoint_file)
    try:
        assert remote.recent_events(10) == node.store.queries.recent_events(10)
        assert [e.event_id for e in remote.recent_events(2, "DOOR1")] == ["e2", "e1"]
        assert remote.device_last_seen() == node.store.queries.device_last_seen()
        assert remote.count_by_type() == node.store.queries.count_by_type()
        assert remote.last_seq() == node.store.last_seq() > 0
        since = clock.now() - timedelta(hours=1)
        until = clock.now() + timedelta(hours=1)
        assert remote.arrival_stats(
            since, until, late_after_seconds=60
        ) == node.store.queries.arrival_stats(since, until, late_after_seconds=60)
        # The search pages' reads (#15): passages, one passage, sealed face captures.
        search = PassageFilter(since=since, until=until, device_ids=("DOOR1",), limit=2)
        passages = remote.passages(search)
        assert passages == node.store.passages.passages(search)
        assert [p.event_id for p in passages] == ["e2", "e1"]
        assert remote.passage("DOOR1", "e0") == node.store.passages.passage("DOOR1", "e0")
        assert remote.passage("DOOR1", "missing") is None
        assert remote.sealed_captures(CaptureWindow(since=since, until=until)) == []
        # Trajectory reads travel with their arguments (tuples of device and time) intact.
        assert remote.plate_passages("token", since, until, 10) == node.store.plate_passages(
            "token", since, until, 10
        )
        moments = [("DOOR1", clock.now()), ("CAM1", clock.now() - timedelta(minutes=5))]
        assert remote.plate_passages_near(moments, 60, 10) == node.store.plate_passages_near(
            moments, 60, 10
        )
        keys = [("resident", node.governance.sealer.token("subject", "R0001"))]
        subject_passages = remote.subject_passages(keys, since, until, 10)
        assert subject_passages == node.store.subject_passages(keys, since, until, 10)
        assert [p.event_id for p in subject_passages] == ["e0", "e1", "e2"]
        near = remote.subject_passages_near(moments, 60, 10)
        assert near == node.store.subject_passages_near(moments, 60, 10)
        assert near != [] and {p.device_id for p in near} == {"DOOR1"}
        passages = remote.passage_counts(since, until)
        assert passages == node.store.queries.passage_counts(since, until) != []
        assert remote.plates_seen(since, until) == node.store.queries.plates_seen(since, until)
    finally:
        remote.close()


def test_the_endpoint_wants_the_token_and_a_known_query_name(server: QueryServer) -> None:
    url = server.endpoint.url + "/query/"
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
    remote = RemoteEventStore(settings.worker_endpoint_file)
    with pytest.raises(PeerUnreachableError, match="zhian worker"):
        remote.recent_events()
    # A stale endpoint file (the worker died): an answer the web can show, not a traceback.
    LoopbackEndpoint.new("127.0.0.1", 9).publish(settings.worker_endpoint_file)
    assert settings.worker_endpoint_file.stat().st_mode & 0o077 == 0
    with pytest.raises(PeerUnreachableError, match="did not answer"):
        remote.count_by_type()
    remote.close()


def test_the_endpoint_listens_on_loopback_only(node: Node) -> None:
    with pytest.raises(QueryEndpointError, match="loopback"):
        QueryServer(lambda _name, _body: b"", host="0.0.0.0", port=0)  # noqa: S104 - refused on purpose


def test_a_web_node_reads_through_the_worker_in_the_same_workspace(
    settings: Settings, clock: ManualClock
) -> None:
    """Both roles in one test process: the web writes the log, the worker follows it."""
    with Node.open(settings, clock, feed=False, role=NodeRole.WEB) as web:
        load_master_data(web, now=clock.now())
        with Node.open(settings, clock, feed=False, role=NodeRole.WORKER) as worker:
            store, crowd = worker.store, worker.crowd

            def answer(name: str, body: bytes) -> bytes:
                if name == CROWD_SNAPSHOT_QUERY:
                    return msgspec.json.encode(crowd.snapshot())
                return answer_query(store, name, body)

            server = QueryServer(answer, host="127.0.0.1", port=0)
            server.start()
            server.endpoint.publish(settings.worker_endpoint_file)
            try:
                counts = {"occupancy": 900, "zone_id": "Z-PLAZA"}
                event = access_event("w1", clock.now(), device_id="CNT1", type="crowd", **counts)
                for key in ("subject", "direction", "method", "result"):
                    del event[key]
                result = web.intake.submit_raw(
                    [json.dumps(event).encode()],
                    source="test",
                    sender_id="CNT1",
                    content_type="application/json",
                )
                assert result.accepted == 1, result
                worker.feeder.feed_once()
                worker.rule_engine.drain()
                worker.rule_engine.evaluate(clock.now() + timedelta(minutes=2))  # a crowd tick
                assert [e.event_id for e in web.event_reads.recent_events(5)] == ["w1"]
                snapshot = web.crowd.snapshot()
                assert [zone.zone_id for zone in snapshot.zones] == ["Z-PLAZA"]
                assert snapshot == worker.crowd.snapshot()
                with pytest.raises(NodeRoleError, match="zhian worker"):
                    _ = web.store
            finally:
                server.stop()


def test_the_worker_prunes_the_log_through_the_process_that_writes_it(
    settings: Settings, clock: ManualClock
) -> None:
    # Small segments (below the configurable minimum, for the test): a few records each.
    log = settings.log.model_copy(update={"segment_bytes": 2000, "fsync": False})
    small = settings.model_copy(update={"log": log})
    with Node.open(small, clock, feed=False, role=NodeRole.WEB) as web:
        load_master_data(web, now=clock.now())
        for i in range(50):
            raw = json.dumps(access_event(f"p{i}", clock.now())).encode()
            assert web.intake.submit_raw(
                [raw], source="test", sender_id="DOOR1", content_type="application/json"
            ).accepted
        web.start()  # in the web role: the loopback endpoint the worker prunes through
        with Node.open(small, clock, feed=False, role=NodeRole.WORKER) as worker:
            firsts = [segment.first_seq for segment in worker.log.segments()]
            assert len(firsts) > 2
            removed = worker.log.prune_through(firsts[2] - 1)
            assert [segment.first_seq for segment in removed] == firsts[:2]
            assert web.log.first_seq == worker.log.first_seq == firsts[2]
            assert worker.log.read(0, 1)[0][0] == firsts[2]
    assert not settings.web_endpoint_file.exists()  # withdrawn when the web closed
