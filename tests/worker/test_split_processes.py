"""`zhian serve` and `zhian worker` as two real processes on one workspace, and `serve --all`."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.ingest.factories import load_master_data
from tests.ingest.test_durability import free_port
from zhian.access.service import AccessService
from zhian.alerts.models import Alert
from zhian.config import Settings, load_settings
from zhian.db.engine import Database, make_engine
from zhian.devices.service import DeviceService
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.store.remote import RemoteEventStore

SOS_DEVICE = {
    "id": "SOS1",
    "kind": "sos_button",
    "name": "Lobby SOS button",
    "gateway_id": None,
    "community_id": "C1",
    "building_id": None,
    "unit_id": None,
    "zone_id": None,
    "latitude": 30.27,
    "longitude": 120.15,
    "is_enabled": True,
}


# How long a wait polls before giving up: a limit for a process that never gets there, not
# a timing; two processes starting on a loaded machine can take well over a minute.
WAIT_LIMIT_SECONDS = 300.0


def wait_for(
    check: Callable[[], bool], what: str, timeout_seconds: float = WAIT_LIMIT_SECONDS
) -> None:
    """Poll `check` every 0.2 s until it holds; fail naming `what` past the limit."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def zhian_process(
    workspace: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m zhian ARGS` on the workspace; SIGTERM and wait at the end."""
    log = workspace / f"{args[0]}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhian", *args, "--workspace", str(workspace)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32), **(env or {})},
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(log.read_text(errors="replace"))  # shown by pytest when the test fails


def run_cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zhian", *args, "--workspace", str(workspace)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    def answers() -> bool:
        assert process.poll() is None, "the server exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success
        except httpx.TransportError:
            return False

    wait_for(answers, "the web process")


def post_sos(port: int, token: str, event_id: str, device_id: str = "SOS1") -> dict[str, object]:
    event = {
        "type": "alarm",
        "id": event_id,
        "device_id": device_id,
        "time": SystemClock().now().isoformat(),
        "kind": "sos",
        "level": 3,
    }
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/events",
        json=event,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def sos_alerts(settings: Settings, device_id: str = "SOS1") -> list[str]:
    db = Database(make_engine(settings.database_url))
    try:
        with db.session() as session:
            return list(
                session.scalars(
                    select(Alert.kind).where(
                        Alert.device_id == device_id, Alert.kind == "alarm_sos"
                    )
                )
            )
    finally:
        db.dispose()


def add_sos_device(settings: Settings, device_id: str) -> str:
    """Import a device and issue its token from this (another) process; returns the token."""
    db = Database(make_engine(settings.database_url))
    try:
        with db.session() as session:
            report = RegistryService(session).load_rows(
                "devices", [{**SOS_DEVICE, "id": device_id}]
            )
            assert report.rejected == 0, report.errors
            return DeviceService(session).issue_tokens([device_id], now=SystemClock().now())[
                device_id
            ]
    finally:
        db.dispose()


def add_user_token(
    settings: Settings, role: str = "admin", jurisdiction_id: str | None = None
) -> str:
    """A user created from this (another) process, and an API token of theirs."""
    db = Database(make_engine(settings.database_url))
    try:
        with db.session() as session:
            access = AccessService(session)
            now = SystemClock().now()
            name = f"ops-{role}"
            access.create_user(
                name, "a long enough passphrase 42", role=role, jurisdiction_id=jurisdiction_id,
                now=now,
            )  # fmt: skip
            return access.issue_api_token(name, "split test", now=now)
    finally:
        db.dispose()


@pytest.fixture
def master_data(settings: Settings) -> None:
    """The intake tests' community, loaded before any process starts."""
    with Node.open(settings, feed=False) as node:
        load_master_data(node, now=SystemClock().now())


@pytest.mark.slow
def test_an_event_posted_to_the_web_process_is_stored_and_alerted_by_the_worker(
    settings: Settings, master_data: None
) -> None:
    sos_token = add_sos_device(settings, "SOS1")
    port = free_port()
    workspace = settings.workspace
    with zhian_process(workspace, "serve", "--web-only", "--port", str(port)) as web:
        wait_healthy(port, web)
        # Split on the default in-process live feed: said at start, not discovered later.
        assert 'live.type = "memory"' in (workspace / "serve.log").read_text()
        with zhian_process(workspace, "worker") as worker:
            wait_for(settings.worker_endpoint_file.exists, "the worker")
            assert worker.poll() is None

            assert post_sos(port, sos_token, "sos-split-1")["accepted"] == 1
            wait_for(lambda: sos_alerts(settings) == ["alarm_sos"], "the worker's SOS alert")

            # The worker stored it, and answers the web's (and this test's) store queries.
            reads = RemoteEventStore(settings.worker_endpoint_file)
            try:
                wait_for(
                    lambda: any(e.event_id == "sos-split-1" for e in reads.recent_events(10)),
                    "the event in the store",
                )
                assert reads.device_last_seen()["SOS1"] is not None
            finally:
                reads.close()

            # A user added while both run reads the status page, which the web process
            # serves from the worker's store.
            user_token = add_user_token(settings)
            status = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/status",
                headers={"Authorization": f"Bearer {user_token}"},
                timeout=10,
            )
            assert status.status_code == 200, status.text
            assert status.json()["worker"]["state"] == "up"
            assert status.json()["stored_by_type"]["alarm"] == 1
            assert [e["event_id"] for e in status.json()["recent"]] == ["sos-split-1"]

            # A device imported by another process while both run: accepted, no restart.
            late_token = add_sos_device(settings, "SOS2")
            assert post_sos(port, late_token, "sos-late-1", device_id="SOS2")["accepted"] == 1
            wait_for(lambda: sos_alerts(settings, "SOS2") == ["alarm_sos"], "the late alert")

            # Commands beside the split node: the web process answers what it can (quality
            # figures come from the worker's store) and refuses, in one line, what needs
            # the store itself.
            quality = run_cli(workspace, "quality", "report")
            assert quality.returncode == 0, quality.stderr
            assert "sending to it" in quality.stderr and "SOS1" in quality.stdout
            retention = run_cli(workspace, "retention", "apply", "--dry-run")
            assert retention.returncode == 2, retention.stdout
            assert "zhian worker" in retention.stderr and "Traceback" not in retention.stderr
        assert worker.returncode == 0
        assert not settings.worker_endpoint_file.exists()  # withdrawn on the way out
        # The worker gone, the web process still answers its status: the worker down.
        status = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/status",
            headers={"Authorization": f"Bearer {user_token}"},
            timeout=10,
        )
        assert status.status_code == 200, status.text
        assert status.json()["worker"] == {"state": "down", "seen_at": None}
        assert status.json()["event_store"]["state"] == "unreachable"


def next_sse_alert(lines: Iterator[str]) -> dict[str, object]:
    """The data of the next `alert` event of an SSE stream, past comments and others (the
    stream's keep-alive comments come often: the limit is checked at each line)."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    event = None
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for an alert on the live stream")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "alert":
            message: dict[str, object] = json.loads(line.removeprefix("data: "))
            return message
    raise AssertionError("the live stream ended without an alert")


@pytest.mark.slow
def test_an_alert_the_worker_raises_reaches_the_live_feed_the_web_process_serves(
    tmp_path: Path, postgres_url: str
) -> None:
    """The whole path across processes: a device posts to the web process, the worker's
    rule engine raises the alert, and the web process's SSE stream delivers it (through the
    postgres live feed), to a user who opened the stream before the event was sent."""
    workspace = tmp_path / "workspace"
    env = {"ZHIAN_DATABASE__URL": postgres_url, "ZHIAN_LIVE__TYPE": "postgres"}
    settings = load_settings(workspace, database={"url": postgres_url}, live={"type": "postgres"})
    with Node.open(settings, feed=False) as node:
        load_master_data(node, now=SystemClock().now())
    sos_token = add_sos_device(settings, "SOS1")
    # The duty officer of the city: the live feed of the whole jurisdiction tree.
    officer_token = add_user_token(settings, "command_centre", "J-CITY")
    port = free_port()
    with zhian_process(workspace, "serve", "--web-only", "--port", str(port), env=env) as web:
        wait_healthy(port, web)
        assert 'live.type = "memory"' not in (workspace / "serve.log").read_text()
        with zhian_process(workspace, "worker", env=env) as worker:
            wait_for(settings.worker_endpoint_file.exists, "the worker")
            with httpx.stream(
                "GET",
                f"http://127.0.0.1:{port}/api/v1/live",
                headers={"Authorization": f"Bearer {officer_token}"},
                timeout=httpx.Timeout(10, read=WAIT_LIMIT_SECONDS),
            ) as stream:
                assert stream.status_code == 200
                lines = stream.iter_lines()
                assert next(lines).startswith("retry: ")  # subscribed from here on
                assert post_sos(port, sos_token, "sos-live-1")["accepted"] == 1
                message = next_sse_alert(lines)
            assert worker.poll() is None
    assert message["type"] == "alert.created"
    alert = message["alert"]
    assert isinstance(alert, dict)
    assert alert["kind"] == "alarm_sos" and alert["device_id"] == "SOS1"
    assert sos_alerts(settings) == ["alarm_sos"]  # raised once, by the worker


@pytest.mark.slow
def test_serve_all_still_runs_everything_in_one_process(
    settings: Settings, master_data: None
) -> None:
    sos_token = add_sos_device(settings, "SOS1")
    port = free_port()
    with zhian_process(settings.workspace, "serve", "--all", "--port", str(port)) as server:
        wait_healthy(port, server)
        assert post_sos(port, sos_token, "sos-all-1")["accepted"] == 1
        wait_for(lambda: sos_alerts(settings) == ["alarm_sos"], "the SOS alert")
        # A device imported while the node runs is known to it without a restart.
        late_token = add_sos_device(settings, "SOS2")
        assert post_sos(port, late_token, "sos-late-1", device_id="SOS2")["accepted"] == 1


def test_several_web_processes_with_the_local_log_are_refused(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zhian", "serve", "--workspace", str(settings.workspace)],
        capture_output=True,
        env={
            **os.environ,
            "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32),
            "ZHIAN_WEB__WORKERS": "3",
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert b"3 web processes" in result.stderr and b'log.type = "nats"' in result.stderr
