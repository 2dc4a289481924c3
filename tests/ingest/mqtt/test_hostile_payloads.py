"""Hostile and poison MQTT messages against the real Mosquitto broker on loopback.

Every message the intake cannot accept is refused with its reason, kept verbatim in the
quarantine with its topic, acknowledged, and the stream goes on; nothing of it is stored
or alerted. (The HTTP paths: tests/ingest/test_one_value_per_payload.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.ingest.factories import access_event
from tests.ingest.mqtt.conftest import Publisher, wait_until
from tests.ingest.test_one_value_per_payload import encoded, fire_alarm, hostile_payloads
from zhian.access.scope import JurisdictionScope
from zhian.alerts.models import Alert
from zhian.ingest.mqtt import MqttSubscriber
from zhian.ingest.quarantine.service import QuarantineStore
from zhian.kit.clock import ManualClock
from zhian.node import Node


def subscriber_of(node: Node) -> MqttSubscriber:
    assert node.mqtt is not None
    return node.mqtt


def alert_count(node: Node) -> int:
    node.rule_engine.drain()
    with node.db.session() as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def test_a_payload_that_is_not_exactly_one_event_of_its_device_is_quarantined(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    payloads = hostile_payloads(clock.now())
    payloads["empty"] = b""
    payloads["for another device"] = encoded(fire_alarm("fire-2", clock.now(), "CAM1"))
    # A repeated key: the topic is checked against the value the intake itself reads.
    payloads["device_id twice"] = (
        encoded(fire_alarm("fire-3", clock.now(), "DOOR1"))[:-1] + b', "device_id": "CAM1"}'
    )
    for payload in payloads.values():
        publisher.publish(topic, payload)
    publisher.publish(topic, access_event("next", clock.now())).wait_for_publish(10)
    subscriber = subscriber_of(mqtt_node)

    assert wait_until(lambda: subscriber.stats.acked == len(payloads) + 1), subscriber.stats
    held = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert sorted(item.raw for item in held) == sorted(payloads.values())
    codes = {item.raw: item.reason_code for item in held}
    assert codes[payloads["empty"]] == "malformed"
    assert codes[payloads["comma-joined"]] == "malformed"
    assert codes[payloads["an array in one item"]] == "invalid"
    assert codes[payloads["for another device"]] == "topic_mismatch"
    assert codes[payloads["device_id twice"]] == "topic_mismatch"
    for item in held:
        assert (item.source, item.sender_device_id) == (f"mqtt:{topic}", "DOOR1")
        assert item.reasons, item
    [empty] = [item for item in held if item.raw == b""]
    assert "empty" in empty.reasons[0]["reason"]
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    assert mqtt_node.store.event_id_counts("DOOR1") == {"next": 1}
    assert mqtt_node.store.event_id_counts("CAM1") == {}
    assert alert_count(mqtt_node) == 0


def test_a_refusal_is_filed_against_its_own_message(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    # The stall of issue 12: two objects, the second for an unknown device, between valid
    # messages of one batch. Each refusal must name its own message, not a neighbour.
    now = clock.now()
    topic = f"{prefix}/C1/DOOR1/access"
    poison = encoded(access_event("p1", now)) + b"," + encoded(access_event("p2", now, "NOPE"))
    publisher.publish(topic, access_event("v1", now))
    publisher.publish(topic, poison)
    publisher.publish(topic, access_event("v3", now))
    publisher.publish(topic, access_event("v4", now)).wait_for_publish(10)
    subscriber = subscriber_of(mqtt_node)

    assert wait_until(lambda: subscriber.stats.acked == 4), subscriber.stats
    held = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert [(item.raw, item.reason_code) for item in held] == [(poison, "malformed")]
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    assert mqtt_node.store.event_id_counts("DOOR1") == {"v1": 1, "v3": 1, "v4": 1}
    assert subscriber.stats.failed_batches == 0


class PoisonedIntake:
    """An intake that cannot process one payload (a fault of its own, not of the storage)."""

    def __init__(self, real: Any, poison: bytes) -> None:
        self._real = real
        self._poison = poison
        self.directory = real.directory

    def submit_raw(self, items: list[bytes], **kwargs: Any) -> Any:
        if self._poison in items:
            raise IndexError("list index out of range")
        return self._real.submit_raw(items, **kwargs)


@pytest.mark.parametrize("poison_first", [True, False])
def test_a_poison_message_is_quarantined_and_the_stream_goes_on(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock, poison_first: bool
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    node_subscriber = subscriber_of(mqtt_node)
    node_subscriber.stop()
    poison = encoded(access_event("poison", clock.now()))
    subscriber = MqttSubscriber(
        intake=PoisonedIntake(mqtt_node.intake, poison),  # type: ignore[arg-type]
        quarantine=QuarantineStore(mqtt_node.db, cipher=mqtt_node.governance.cipher()),
        clock=clock,
        settings=mqtt_node.settings.mqtt.model_copy(update={"batch_max_ms": 200.0}),
    )
    subscriber.start()
    try:
        assert subscriber.wait_subscribed(10)
        good = [access_event(f"g{i}", clock.now()) for i in range(6)]
        if poison_first:
            publisher.publish(topic, poison)
        for event in good[:3]:
            publisher.publish(topic, event)
        if not poison_first:
            publisher.publish(topic, poison)
        for event in good[3:]:
            publisher.publish(topic, event).wait_for_publish(10)
        assert wait_until(lambda: subscriber.stats.acked == 7), subscriber.stats
    finally:
        subscriber.stop()

    [held] = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert (held.raw, held.reason_code) == (poison, "unprocessable")
    assert (held.source, held.sender_device_id) == (f"mqtt:{topic}", "DOOR1")
    assert "IndexError" in held.reasons[0]["reason"]
    assert subscriber.stats.unprocessable == 1
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    assert mqtt_node.store.event_id_counts("DOOR1") == {f"g{i}": 1 for i in range(6)}
