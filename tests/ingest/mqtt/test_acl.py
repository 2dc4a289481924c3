"""What a device may publish reaches Zhian: the subscription covers the documented ACL.

A broker acknowledges a QoS 1 publish whether anyone subscribes or not, so a topic a
device may write to but Zhian does not subscribe to would be acknowledged and lost.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.ingest.factories import access_event, load_master_data
from tests.ingest.mqtt.conftest import Publisher, mqtt_settings, wait_until
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "deploy-mqtt.md"
NODE_USER, NODE_PASSWORD = "zhian-node", "node-secret"
DOOR_PASSWORD = "door-secret"


def held_by_event_id(node: Node) -> dict[str | None, Any]:
    items = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    return {item.event_id: item for item in items}


def test_a_topic_outside_the_scheme_is_quarantined_not_lost(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    # Both are under the device's own id, which the documented ACL lets it write to.
    publisher.publish(f"{prefix}/C1/DOOR1", access_event("short", clock.now()))
    extra = publisher.publish(f"{prefix}/C1/DOOR1/access/x", access_event("long", clock.now()))
    extra.wait_for_publish(10)
    subscriber = mqtt_node.mqtt
    assert subscriber is not None

    assert wait_until(lambda: subscriber.stats.acked == 2), subscriber.stats
    held = held_by_event_id(mqtt_node)
    assert {held["short"].reason_code, held["long"].reason_code} == {"topic"}
    assert "does not follow" in held["long"].reasons[0]["reason"]


# --- the documented ACL, on a Mosquitto of this test's own ---------------------------------


def documented_acl() -> str:
    """The ACL file of the deployment guide, as written there."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("ACL (`/etc/mosquitto/zhian.acl`):", 1)[1]
    return block.split("```", 2)[1].strip("\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[int]:
    """Mosquitto on a free loopback port with passwords and the guide's ACL."""
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto is not installed")
    passwd, acl, conf = tmp_path / "zhian.passwd", tmp_path / "zhian.acl", tmp_path / "m.conf"
    passwd.touch()
    for user, password in ((NODE_USER, NODE_PASSWORD), ("DOOR1", DOOR_PASSWORD)):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    acl.write_text(documented_acl() + "\n", encoding="utf-8")
    port = free_port()
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
        f"acl_file {acl}\npersistence false\nuser root\n",
        encoding="utf-8",
    )
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        assert wait_until(up, 10), "the test's mosquitto did not start"
        yield port
    finally:
        broker.terminate()
        broker.wait(timeout=10)


class Device:
    """A sensor logged in under its own id (MQTT 5), recording each PUBACK's reason code."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )  # fmt: skip
        self.client.username_pw_set(username, password)
        self.reasons: dict[int, int] = {}
        self._acked = threading.Condition()
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._acked:
            self.reasons[mid] = int(reason.value)
            self._acked.notify_all()

    def publish(self, topic: str, payload: dict[str, Any]) -> int:
        """The PUBACK reason code the broker answered (0: taken)."""
        info = self.client.publish(topic, json.dumps(payload).encode(), qos=1)
        with self._acked:
            assert self._acked.wait_for(lambda: info.mid in self.reasons, 10)
            return self.reasons[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_documented_acl_and_the_subscription_agree(
    acl_broker: int, workspace: Path, clock: ManualClock
) -> None:
    assert re.search(r"^pattern write zhian/\+/%u/#$", documented_acl(), re.MULTILINE)
    settings = mqtt_settings(
        workspace,
        "zhian",  # the prefix the guide's ACL names
        port=acl_broker,
        username=NODE_USER,
        password=NODE_PASSWORD,
        client_id=f"zhian-{uuid.uuid4().hex[:8]}",
    )
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        subscriber = node.mqtt
        assert subscriber is not None
        # The broker granted Zhian's subscription under the guide's read rule.
        assert subscriber.wait_subscribed(10), subscriber.stats.last_error
        door = Device(acl_broker, "DOOR1", DOOR_PASSWORD)
        try:
            own = door.publish("zhian/C1/DOOR1/access", access_event("own", clock.now()))
            odd = door.publish("zhian/C1/DOOR1/access/x", access_event("odd", clock.now()))
            other = door.publish(
                "zhian/C1/CAM1/access", access_event("other", clock.now(), device_id="CAM1")
            )
        finally:
            door.close()
        # Whatever the broker took from the device reached Zhian; what it refused, it said.
        assert (own, odd) == (0, 0)
        assert other == 135  # not authorized: the device knows it was not taken
        assert wait_until(lambda: subscriber.stats.acked == 2), subscriber.stats
        assert subscriber.stats.accepted == 1
        held = held_by_event_id(node)
        assert set(held) == {"odd"} and held["odd"].reason_code == "topic"
