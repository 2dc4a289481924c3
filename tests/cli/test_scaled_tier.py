"""The scaled tier end to end: PostgreSQL, a NATS JetStream stream and the Parquet store;
`zhian serve --workers 2 --web-only` and `zhian worker` as separate processes; sustained
intake over HTTP while one web process and the worker are killed with SIGKILL, the worker
started again. Every acknowledged event ends in the Parquet store exactly once, every
expected alert exists exactly once, and `/metrics` sums both web processes' counters."""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.ingest.factories import load_master_data
from tests.ingest.test_durability import free_port
from tests.log.nats_server import nats_config  # noqa: F401 (a fixture)
from tests.log.test_nats_intake import nats_env, nats_log_settings
from tests.web.session import sign_in
from tests.worker.test_split_processes import (
    add_sos_device,
    add_user_token,
    sos_alerts,
    wait_for,
    zhian_process,
)
from zhian.config import Settings, load_settings
from zhian.kit.clock import SystemClock
from zhian.kit.loopback import PeerUnreachableError
from zhian.log.nats import NatsLogConfig
from zhian.node import Node
from zhian.store.remote import RemoteEventStore

DEVICES = ("SOS1", "SOS2", "SOS3")
# Processes start in seconds; on a loaded machine (a load average of 20 on 2 cores) in
# tens of seconds: generous, since nothing here measures time.
STARTING_SECONDS = 150.0
EVENTS_PER_BATCH = 20


@pytest.fixture
def scaled_node(
    tmp_path: Path,
    postgres_url: str,
    nats_config: NatsLogConfig,  # noqa: F811
) -> tuple[Settings, dict[str, str]]:
    """A workspace on PostgreSQL, this test's own NATS stream and the Parquet store."""
    settings = load_settings(
        tmp_path / "ws",
        database={"url": postgres_url},
        log=nats_log_settings(nats_config),
        store={"type": "parquet"},
    )
    with Node.open(settings, feed=False) as node:
        load_master_data(node, now=SystemClock().now())
    env = {**nats_env(nats_config, postgres_url), "ZHIAN_STORE__TYPE": "parquet"}
    return settings, env


def batch_body(batch: int) -> list[dict[str, object]]:
    now = SystemClock().now().isoformat()
    device = DEVICES[batch % len(DEVICES)]
    return [
        {"type": "alarm", "id": f"e2e-{batch}-{n}", "device_id": device, "time": now,
         "kind": "sos", "level": 3}
        for n in range(EVENTS_PER_BATCH)
    ]  # fmt: skip


def send_until_acknowledged(port: int, tokens: dict[str, str], batch: int) -> int:
    """Post one batch until the node acknowledges it (a killed process's connection fails,
    a process starting answers 503): what a device does. Returns its accepted count."""
    body = batch_body(batch)
    token = tokens[str(body[0]["device_id"])]
    for _attempt in range(200):
        try:
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/events",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.TransportError:
            continue
        if response.status_code == 503:
            continue
        assert response.status_code == 200, response.text
        counts = response.json()
        assert counts["rejected"] == 0, counts
        assert counts["accepted"] + counts["duplicate"] == EVENTS_PER_BATCH
        return int(counts["accepted"])
    raise AssertionError(f"batch {batch} never acknowledged")


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    def ready() -> bool:
        assert server.poll() is None, "zhian serve exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, "zhian serve", timeout_seconds=STARTING_SECONDS)


def web_pids(port: int, parent: int) -> set[int]:
    """The web processes' ids, from their `/healthz` answers (the kernel spreads
    connections between them)."""
    seen: set[int] = set()

    def both_answered() -> bool:
        try:
            pid = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["process"]["pid"]
        except httpx.TransportError:
            return False
        seen.add(int(pid))
        return len(seen) >= 2

    wait_for(both_answered, "answers from both web processes", timeout_seconds=STARTING_SECONDS)
    assert parent not in seen
    return seen


def accepted_in_metrics(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "zhian_intake_events_total" and sample.labels["outcome"] == "accepted"
    )


def stored_ids(settings: Settings) -> list[str]:
    reads = RemoteEventStore(settings.worker_endpoint_file)
    try:
        return [e.event_id for e in reads.recent_events(10_000) if e.event_id.startswith("e2e-")]
    finally:
        reads.close()


def one_sos_alert(settings: Settings, device: str) -> Callable[[], bool]:
    return lambda: sos_alerts(settings, device) == ["alarm_sos"]


def start_worker(workspace: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`zhian worker`, held here (not a context) so that the test can kill it."""
    log = (workspace / "worker.log").open("ab")
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "zhian", "worker", "--workspace", str(workspace)],
            env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def answers(settings: Settings) -> bool:
    try:
        stored_ids(settings)
    except PeerUnreachableError:
        return False
    return True


@pytest.mark.slow
def test_the_scaled_tier_stores_every_acknowledged_event_once_through_kill_9(
    scaled_node: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = scaled_node
    tokens = {device: add_sos_device(settings, device) for device in DEVICES}
    port = free_port()
    workspace = settings.workspace
    serve_args = ("serve", "--workers", "2", "--web-only", "--port", str(port))
    with zhian_process(workspace, *serve_args, env=env) as web:
        wait_ready(port, web)
        pids = web_pids(port, web.pid)
        worker = start_worker(workspace, env)
        try:
            wait_for(lambda: answers(settings), "the worker", timeout_seconds=STARTING_SECONDS)
            # Before any kill: each batch once, one after the other; whichever web process
            # took it, a scrape of either reports every accepted event.
            first = [send_until_acknowledged(port, tokens, batch) for batch in range(6)]
            assert sum(first) == 6 * EVENTS_PER_BATCH
            assert accepted_in_metrics(port) == 6 * EVENTS_PER_BATCH
            assert accepted_in_metrics(port) == 6 * EVENTS_PER_BATCH  # either process

            # Sustained intake from four devices at once; halfway, SIGKILL one web process
            # and the worker, then start the worker again.
            batches = range(6, 90)
            sent = itertools.count()
            halfway = threading.Event()

            def send(batch: int) -> None:
                send_until_acknowledged(port, tokens, batch)
                if next(sent) == len(batches) // 2:
                    halfway.set()

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(send, batch) for batch in batches]
                assert halfway.wait(timeout=120), "intake stalled before the kills"
                os.kill(min(pids), signal.SIGKILL)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                worker = start_worker(workspace, env)
                for future in futures:
                    future.result()  # every batch acknowledged, whoever took it

            wanted = {f"e2e-{batch}-{n}" for batch in range(90) for n in range(EVENTS_PER_BATCH)}
            wait_for(
                lambda: answers(settings), "the restarted worker", timeout_seconds=STARTING_SECONDS
            )
            wait_for(
                lambda: set(stored_ids(settings)) == wanted,
                "every acknowledged event in the Parquet store",
                timeout_seconds=120,
            )
            stored = stored_ids(settings)
            assert len(stored) == len(wanted)  # each exactly once
            # One SOS alert per device, raised once by the rules, whichever worker ran them.
            for device in DEVICES:
                wait_for(one_sos_alert(settings, device), f"{device}'s alert")
            # The killed web process was started again by `serve`.
            assert web.poll() is None
            assert web_pids(port, web.pid) - pids, "a new web process took the killed one's place"
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
            print((workspace / "worker.log").read_text(errors="replace"))  # shown on failure


def listed_processes(port: int, token: str) -> list[dict[str, object]]:
    response = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/status",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    processes: list[dict[str, object]] = response.json()["processes"]
    return processes


def metric_series(port: int, name: str) -> list[dict[str, str]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return [
        {**sample.labels, "value": str(sample.value)}
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


@pytest.mark.slow
def test_every_process_of_the_node_is_on_the_status_page_and_in_metrics(
    scaled_node: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = scaled_node
    tokens = {device: add_sos_device(settings, device) for device in DEVICES}
    admin = add_user_token(settings, "admin")
    port = free_port()
    workspace = settings.workspace
    serve_args = ("serve", "--workers", "2", "--web-only", "--port", str(port))
    with zhian_process(workspace, *serve_args, env=env) as web:
        wait_ready(port, web)
        pids = web_pids(port, web.pid)
        worker = start_worker(workspace, env)
        try:
            wait_for(lambda: answers(settings), "the worker", timeout_seconds=STARTING_SECONDS)
            assert send_until_acknowledged(port, tokens, 0) == EVENTS_PER_BATCH
            wait_for(one_sos_alert(settings, DEVICES[0]), "the worker's SOS alert")

            def all_three() -> bool:
                listed = listed_processes(port, admin)
                accepted = sum(int(str(p["intake_accepted"] or 0)) for p in listed)
                return accepted == EVENTS_PER_BATCH and sorted(
                    (str(p["role"]), int(str(p["pid"]))) for p in listed
                ) == sorted([("web", pid) for pid in pids] + [("worker", worker.pid)])

            # Whichever web process answers lists both web processes and the worker, each
            # with its own figures (a heartbeat's worth late).
            wait_for(all_three, "both web processes and the worker listed", timeout_seconds=60)
            for _ in range(4):
                listed = listed_processes(port, admin)
                assert sum(1 for p in listed if p["is_self"]) == 1
                (from_worker,) = [p for p in listed if p["role"] == "worker"]
                assert from_worker["is_self"] is False
                assert set(from_worker["readers"]) >= {"rules", "store"}  # type: ignore[arg-type]
                assert isinstance(from_worker["lag_records"], int)
                webs = [p for p in listed if p["role"] == "web"]
                assert all(p["lag_records"] is None for p in webs)
                assert sum(int(str(p["intake_accepted"])) for p in webs) == EVENTS_PER_BATCH
            # The page, signed in as a person (pages take no API token).
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
                sign_in(cast(TestClient, browser), "ops-admin", "a long enough passphrase 42")
                page = browser.get("/status?lang=en")
            assert "Processes of this node" in page.text
            assert str(worker.pid) in page.text and all(str(pid) in page.text for pid in pids)

            # The worker's rule latency reaches /metrics through its heartbeat: the alert
            # was raised after the events' arrival.
            def worker_latency() -> list[dict[str, str]]:
                return [
                    series
                    for series in metric_series(port, "zhian_rule_latency_seconds_count")
                    if series["role"] == "worker" and series["since"] == "arrival"
                ]

            # The series appears with the worker's heartbeat, before its first alert is
            # counted: wait for a count, not only for the series.
            wait_for(
                lambda: any(float(s["value"]) >= 1 for s in worker_latency()),
                "the worker's rule latency in /metrics",
            )
            (latency,) = worker_latency()
            assert latency["pid"] == str(worker.pid) and float(latency["value"]) >= 1
            beats = metric_series(port, "zhian_process_heartbeat_timestamp_seconds")
            assert sorted(series["role"] for series in beats) == ["web", "web", "worker"]

            # A worker that stops cleanly takes its row with it.
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
            # (The status page needs the worker for its store figures; /metrics does not.)
            beats = metric_series(port, "zhian_process_heartbeat_timestamp_seconds")
            assert sorted(series["role"] for series in beats) == ["web", "web"]
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
            print((workspace / "worker.log").read_text(errors="replace"))  # shown on failure
