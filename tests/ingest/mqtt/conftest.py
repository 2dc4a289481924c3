"""Fixtures for the MQTT adapter: the real Mosquitto broker on loopback, a node subscribed to it."""

from __future__ import annotations

import fcntl
import json
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import services_required
from tests.ingest.factories import load_master_data
from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883


def broker_is_up() -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout_seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# The broker is shared by every test process (pytest-xdist runs one per core): a test that
# restarts it must not run while another process's test talks to it. Tests hold this lock
# shared; the restart test (marked `broker_restart`) holds it alone.
BROKER_LOCK = Path(tempfile.gettempdir()) / "zhian-tests-mosquitto.lock"


@pytest.fixture(autouse=True)
def broker_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    alone = request.node.get_closest_marker("broker_restart") is not None
    with BROKER_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def broker() -> None:
    if not broker_is_up():
        message = f"Mosquitto unreachable on {BROKER_HOST}:{BROKER_PORT}"
        if services_required():
            pytest.fail(f"{message}; it is required in CI")
        pytest.skip(message)


@pytest.fixture
def prefix() -> str:
    """A topic prefix and client id of this test alone: the broker is shared."""
    return f"t{uuid.uuid4().hex[:7]}"


def mqtt_settings(workspace: Path, prefix: str, **mqtt_overrides: Any) -> Settings:
    section: dict[str, Any] = {
        "enabled": True,
        "client_id": f"zhian-{prefix}",
        "topic_prefix": prefix,
        "batch_max_ms": 5.0,
        "session_expiry_seconds": 120,  # the sessions tests leave behind expire soon
    }
    section.update(mqtt_overrides)
    return load_settings(workspace, mqtt=section)


@pytest.fixture
def mqtt_node(broker: None, workspace: Path, clock: ManualClock, prefix: str) -> Iterator[Node]:
    with Node.open(mqtt_settings(workspace, prefix), clock) as node:
        load_master_data(node, now=clock.now())
        assert node.mqtt is not None
        assert node.mqtt.wait_subscribed(10), node.mqtt.stats.last_error
        yield node


class Publisher:
    """A sensor (or a test) publishing with QoS 1 over its own persistent MQTT 5 session."""

    def __init__(self, client_id: str) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(1, 2)
        self.client.on_publish = self._on_publish
        self.acknowledged: set[int] = set()  # message ids the broker sent PUBACK for
        self.client.connect(BROKER_HOST, BROKER_PORT, clean_start=False)
        self.client.loop_start()

    def publish(self, topic: str, payload: dict[str, Any] | bytes) -> mqtt.MQTTMessageInfo:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.client.publish(topic, data, qos=1)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        if not reason_code.is_failure:
            self.acknowledged.add(mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: None, prefix: str) -> Iterator[Publisher]:
    sender = Publisher(f"pub-{prefix}")
    yield sender
    sender.close()
