"""Operations endpoints: `/healthz`, `/readyz`, `/metrics` (loopback), `/api/v1/metrics`
(API token with `operations.metrics`), request ids, JSON logs and reader lag on the status
page. The scaled tier's processes are in tests/cli/test_scaled_tier.py."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import sessionmaker

from tests.ingest.factories import access_event
from tests.ingest.mqtt.conftest import wait_until
from tests.web.conftest import FAST_HASHER, alarm_event, log_in, submit
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.db.engine import make_engine
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.kit.logs import configure_logging
from zhian.log.base import EventLogError
from zhian.models.catalogue import MODELS
from zhian.node import Node
from zhian.web.app import create_app


@pytest.fixture
def loopback(node: Node) -> Iterator[TestClient]:
    """A client on this machine, as a Prometheus agent beside the node."""
    with TestClient(create_app(node), client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def api_token(node: Node, clock: ManualClock, role: str) -> str:
    with node.db.session() as session:
        access = AccessService(session, password_hasher=FAST_HASHER)
        access.create_user(
            f"ops-{role}",
            "correct horse battery",
            role=role,
            jurisdiction_id=None if role == "admin" else "J-CITY",
            now=clock.now(),
        )
        return access.issue_api_token(f"ops-{role}", "prometheus", now=clock.now())


def device_token(node: Node, clock: ManualClock, device_id: str = "DOOR1") -> str:
    with node.db.session() as session:
        token = DeviceService(session).issue_tokens([device_id], now=clock.now())[device_id]
    node.refresh_directory()
    return token


def post_events(client: TestClient, token: str, *events: dict[str, object]) -> None:
    response = client.post(
        "/api/v1/events",
        content=json.dumps(list(events)),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 207), response.text


# --- liveness and readiness -----------------------------------------------------------------


def test_liveness_answers_without_login_and_names_the_process(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "alive"
    assert body["process"]["role"] == "all" and body["process"]["pid"] == os.getpid()


def test_a_ready_node_says_which_parts_it_checked(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["failing"] == []
    assert response.json()["checks"] == {"event_log": "ok", "event_store": "ok", "database": "ok"}


def test_not_ready_names_the_failing_part_without_paths(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = Path(node.settings.workspace) / "damaged.db"
    damaged.write_bytes(b"\x13" * 8192)
    monkeypatch.setattr(node.db, "engine", make_engine(f"sqlite:///{damaged}"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["failing"] == ["database"]
    assert "damaged" not in response.text and str(node.settings.workspace) not in response.text


class UnansweringLog:
    """The node's log as it is when its NATS cluster has lost its quorum: every read fails
    as zhian.log.nats translates a timeout."""

    def __init__(self, log: object) -> None:
        self._log = log

    @property
    def durable_seq(self) -> int:
        raise EventLogError("the NATS log is unavailable: nats: timeout")

    def __getattr__(self, name: str) -> object:
        return getattr(self._log, name)


def test_an_event_log_that_does_not_answer_makes_the_process_not_ready(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node, "log", UnansweringLog(node.log))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "event_log" in response.json()["failing"]


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_are_refused_to_clients_elsewhere(client: TestClient) -> None:
    # TestClient's default client address ("testclient") is not this machine.
    response = client.get("/metrics", headers={"Accept": "text/plain"})
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "client"
    assert "/api/v1/metrics" in response.json()["error"]["message"]


def test_metrics_on_loopback_can_be_turned_off(node: Node) -> None:
    node.settings.web.metrics_on_loopback = False
    with TestClient(create_app(node), client=("127.0.0.1", 40000)) as test_client:
        assert test_client.get("/metrics").status_code == 403


def test_metrics_count_intake_by_outcome_and_reason_and_time_requests_by_route(
    loopback: TestClient, node: Node, clock: ManualClock
) -> None:
    token = device_token(node, clock)
    good = access_event("ops-1", clock.now())
    bad = {**access_event("ops-2", clock.now()), "direction": "sideways"}
    post_events(loopback, token, good, bad)
    post_events(loopback, token, good)  # the same event again: a duplicate

    figures = samples(loopback.get("/metrics").text)
    assert (
        figures[("zhian_intake_events_total", (("outcome", "accepted"), ("source", "native")))] == 1
    )
    assert (
        figures[("zhian_intake_events_total", (("outcome", "duplicate"), ("source", "native")))]
        == 1
    )
    assert (
        figures[("zhian_intake_events_total", (("outcome", "rejected"), ("source", "native")))] == 1
    )
    assert figures[("zhian_intake_requests_total", (("source", "native"),))] == 2
    assert (
        sum(v for (name, _), v in figures.items() if name == "zhian_intake_rejections_total") == 1
    )
    route = ("method", "POST"), ("route", "/api/v1/events"), ("status", "200")
    counted = [
        value
        for (name, labels), value in figures.items()
        if name == "zhian_http_request_duration_seconds_count"
        and ("route", "/api/v1/events") in labels
    ]
    assert sum(counted) == 2, route
    # Raw paths never become series: an unknown address is counted as unmatched.
    loopback.get("/no/such/page/12345")
    text = loopback.get("/metrics").text
    assert "/no/such/page" not in text and 'route="unmatched"' in text


def test_metrics_show_each_readers_lag_the_store_lag_and_alerts_by_state(
    loopback: TestClient, node: Node, fire: AlertSummary
) -> None:
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    # Each reader acknowledges its position just after committing its work.
    assert wait_until(
        lambda: all(r.seq == node.log.durable_seq for r in node.log.readers.positions())
    )
    figures = samples(loopback.get("/metrics").text)
    durable = figures[("zhian_log_durable_seq", ())]
    assert durable == node.log.durable_seq >= 1
    readers = {
        dict(labels)["reader"]: value
        for (name, labels), value in figures.items()
        if name == "zhian_log_reader_lag_records"
    }
    assert readers == {"rules": 0, "store": 0}
    assert figures[("zhian_store_lag_records", ())] == 0
    assert (
        figures[("zhian_alerts", (("breached", "false"), ("state", "new"), ("tier", "major")))] == 1
    )
    assert figures[("zhian_part_up", (("part", "database"),))] == 1
    assert figures[("zhian_part_up", (("part", "event_log"),))] == 1


def test_metrics_report_a_part_that_does_not_answer_as_down(
    loopback: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = Path(node.settings.workspace) / "damaged.db"
    damaged.write_bytes(b"\x13" * 8192)
    # Every session of the node on a damaged file, as a failing disk leaves it.
    monkeypatch.setattr(node.db, "_sessions", sessionmaker(make_engine(f"sqlite:///{damaged}")))
    response = loopback.get("/metrics")
    assert response.status_code == 200
    assert samples(response.text)[("zhian_part_up", (("part", "database"),))] == 0


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 401), ("command_centre", 403), ("integrator", 200), ("admin", 200)],
)
def test_metrics_over_the_api_need_a_token_holding_operations_metrics(
    client: TestClient, node: Node, clock: ManualClock, role: str | None, expected: int
) -> None:
    headers = {} if role is None else {"Authorization": f"Bearer {api_token(node, clock, role)}"}
    response = client.get("/api/v1/metrics", headers=headers)
    assert response.status_code == expected
    if expected == 200:
        assert response.headers["content-type"].startswith("text/plain")
        assert "zhian_log_durable_seq" in response.text


# --- request ids and JSON logs ------------------------------------------------------------------


def test_every_response_carries_a_request_id_and_a_plain_client_id_is_kept(
    client: TestClient,
) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/healthz").headers["x-request-id"] != generated
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9"})
    assert kept.headers["x-request-id"] == "lb-7f3a.9"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """What the process logs, as `logging.format = "json"` writes it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    written = io.StringIO()
    configure_logging("json", "INFO", stream=written)
    yield written
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_logs_name_the_request_that_caused_each_line(
    client: TestClient,
    node: Node,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: io.StringIO,
) -> None:
    damaged = Path(node.settings.workspace) / "damaged.db"
    damaged.write_bytes(b"\x13" * 8192)
    monkeypatch.setattr(node.db, "engine", make_engine(f"sqlite:///{damaged}"))
    client.get("/readyz", headers={"X-Request-ID": "probe-42"})
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    failing = [line for line in lines if line["logger"] == "zhian.web.health"]
    assert failing, lines
    assert failing[0]["request_id"] == "probe-42"
    assert failing[0]["level"] == "ERROR" and "exception" in failing[0]
    assert {"time", "message", "pid"} <= failing[0].keys()


# --- status page ----------------------------------------------------------------------------------


def test_the_status_page_shows_each_readers_lag_and_this_process(
    client: TestClient, node: Node, fire: AlertSummary
) -> None:
    log_in(client)
    status = client.get("/api/v1/status").json()
    readers = {reader["name"]: reader for reader in status["readers"]}
    assert set(readers) == {"rules", "store"}
    assert readers["rules"]["lag"] == 0
    assert status["process"]["role"] == "all"
    page = client.get("/status?lang=en")
    assert "Log readers" in page.text and "rules" in page.text
    assert "日志读取方" in client.get("/status?lang=zh").text


def test_the_status_page_lists_this_process_from_its_heartbeat(
    client: TestClient, node: Node, fire: AlertSummary
) -> None:
    log_in(client)
    # The first heartbeat was written at start; the next one (within 5 s) has the fire.
    assert wait_until(
        lambda: (
            [
                (p["lag_records"], p["intake_accepted"])
                for p in client.get("/api/v1/status").json()["processes"]
            ]
            == [(0, 1)]
        ),
        timeout_seconds=20,
    )
    (process,) = client.get("/api/v1/status").json()["processes"]
    assert process["role"] == "all" and process["pid"] == os.getpid()
    assert process["is_self"] is True
    assert process["readers"] == {"rules": 0, "store": 0}
    assert node.intake.stats.accepted == 1
    page = client.get("/status?lang=en")
    assert "Processes of this node" in page.text and "(served this page)" in page.text
    assert "节点进程" in client.get("/status?lang=zh").text


def _series(loopback: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        labels: value
        for (sample, labels), value in samples(loopback.get("/metrics").text).items()
        if sample == name
    }


def test_metrics_report_rule_latency_from_event_time_and_from_arrival(
    loopback: TestClient, node: Node, clock: ManualClock
) -> None:
    # The device's clock says three seconds ago; the intake stamps its arrival now, and the
    # node's clock stands still: three seconds from event time, none from arrival.
    submit(node, alarm_event("latency-1", clock.now() - timedelta(seconds=3), kind="sos"))
    assert wait_until(
        lambda: (
            sorted(_series(loopback, "zhian_rule_latency_seconds_count").values()) == [1.0, 1.0]
        ),
        timeout_seconds=20,
    )
    sums = {
        dict(labels)["since"]: value
        for labels, value in _series(loopback, "zhian_rule_latency_seconds_sum").items()
    }
    assert sums == {"event_time": 3.0, "arrival": 0.0}
    buckets = {
        (dict(labels)["since"], dict(labels)["le"]): value
        for labels, value in _series(loopback, "zhian_rule_latency_seconds_bucket").items()
    }
    assert buckets[("event_time", "2.5")] == 0 and buckets[("event_time", "5.0")] == 1
    assert buckets[("arrival", "0.01")] == 1
    labels = dict(next(iter(_series(loopback, "zhian_rule_latency_seconds_count"))))
    assert labels["role"] == "all" and labels["pid"] == str(os.getpid())


def test_metrics_report_each_batch_models_run_time(loopback: TestClient, node: Node) -> None:
    assert _series(loopback, "zhian_model_run_seconds_count") == {}
    node.models.run()
    names = {model.name for model in MODELS}
    assert wait_until(
        lambda: (
            {
                dict(labels)["model"]: value
                for labels, value in _series(loopback, "zhian_model_run_seconds_count").items()
            }
            == dict.fromkeys(names, 1.0)
        ),
        timeout_seconds=20,
    )
    assert all(v >= 0 for v in _series(loopback, "zhian_model_run_seconds_sum").values())
    seen = _series(loopback, "zhian_process_heartbeat_timestamp_seconds")
    assert [dict(labels)["role"] for labels in seen] == ["all"]
