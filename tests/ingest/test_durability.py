"""Acknowledged means durable: kill -9 the server during sustained intake, lose nothing."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.ingest.factories import access_event, load_master_data
from zhian.config import Settings
from zhian.kit.clock import SystemClock
from zhian.node import Node


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    log = workspace / "server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zhian",
                "serve",
                "--workspace",
                str(workspace),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # A served node refuses to start without a real session key.
            env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32)},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"server did not start: {log.read_text(errors='replace')}")


def post_until_killed(port: int, token: str, acknowledged: list[str], stop: threading.Event) -> int:
    """Send batches until the server dies; record every id the server acknowledged."""
    now = SystemClock().now()
    sent = 0
    with httpx.Client(timeout=10) as client:
        batch_number = 0
        while not stop.is_set():
            ids = [f"k{batch_number}-{i}" for i in range(200)]
            body = b"\n".join(msgspec.json.encode(access_event(i, now)) for i in ids)
            batch_number += 1
            try:
                response = client.post(
                    f"http://127.0.0.1:{port}/api/v1/events",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/x-ndjson",
                    },
                )
            except httpx.TransportError:
                return sent
            sent += len(ids)
            result = response.json()
            acknowledged.extend(i["id"] for i in result["items"] if i["status"] == "accepted")
    return sent


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_seconds", [1.0, 2.3])
def test_acknowledged_events_survive_kill_9(settings: Settings, kill_after_seconds: float) -> None:
    with Node.open(settings) as node:
        tokens = load_master_data(node, now=SystemClock().now())
    port = free_port()
    server = start_server(settings.workspace, port)
    acknowledged: list[str] = []
    stop = threading.Event()
    killer = threading.Timer(kill_after_seconds, lambda: os.kill(server.pid, signal.SIGKILL))
    killer.start()
    try:
        post_until_killed(port, tokens["DOOR1"], acknowledged, stop)
    finally:
        stop.set()
        killer.join()
        server.wait(timeout=10)
    assert server.returncode == -signal.SIGKILL
    assert len(acknowledged) > 1000, "the server was killed before sustained intake began"

    with Node.open(settings) as node:
        assert node.feeder.wait_caught_up(timeout_seconds=60)
        stored = node.store.event_id_counts("DOOR1")
        lost = [i for i in acknowledged if stored.get(i, 0) == 0]
        doubled = [i for i, n in stored.items() if n > 1]
        assert lost == []
        assert doubled == []
        # Re-sending after the restart: every acknowledged event is a duplicate now.
        replay = node.intake.submit_raw(
            [msgspec.json.encode(access_event(i, SystemClock().now())) for i in acknowledged[:500]],
            source="test",
            sender_id="DOOR1",
            content_type="application/json",
        )
        assert replay.duplicate == 500
