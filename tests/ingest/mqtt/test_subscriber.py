"""The MQTT subscriber against the real Mosquitto broker on loopback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.ingest.factories import MASTER_DATA, access_event, load_master_data
from tests.ingest.mqtt.broker import restarted_broker
from tests.ingest.mqtt.conftest import Publisher, mqtt_settings, wait_until
from zhian.access.scope import JurisdictionScope
from zhian.ingest.mqtt import MqttSubscriber
from zhian.ingest.quarantine.service import QuarantineStore
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService


def subscriber_of(node: Node) -> MqttSubscriber:
    assert node.mqtt is not None
    return node.mqtt


def test_qos1_events_arrive_in_the_store_exactly_once(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    events = [access_event(f"m{i}", clock.now() - timedelta(seconds=i)) for i in range(60)]
    infos = [publisher.publish(topic, event) for event in events]
    # A sensor that lost its PUBACK sends again: the resends must not be stored twice.
    infos += [publisher.publish(topic, event) for event in events[:10]]
    for info in infos:
        info.wait_for_publish(10)
    subscriber = subscriber_of(mqtt_node)

    assert wait_until(lambda: subscriber.stats.acked == 70), subscriber.stats
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    counts = mqtt_node.store.event_id_counts("DOOR1")
    assert counts == {f"m{i}": 1 for i in range(60)}
    assert (subscriber.stats.accepted, subscriber.stats.duplicate) == (60, 10)
    stored = mqtt_node.store.queries.recent_events(limit=1, device_id="DOOR1")
    assert stored[0].source == "mqtt"


def test_a_bad_payload_is_quarantined_with_its_topic_and_reason(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    publisher.publish(topic, access_event("bad-direction", clock.now(), direction=5))
    publisher.publish(topic, b"{not json").wait_for_publish(10)
    subscriber = subscriber_of(mqtt_node)

    assert wait_until(lambda: subscriber.stats.acked == 2), subscriber.stats
    held = {
        item.event_id: item
        for item in mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    }
    assert set(held) == {"bad-direction", None}
    for item in held.values():
        assert item.source == f"mqtt:{topic}"
        assert item.sender_device_id == "DOOR1"
    assert held["bad-direction"].reasons == [
        {"field": "direction", "reason": "Expected `str`, got `int`"}
    ]
    assert held["bad-direction"].reason_code == "invalid"
    assert held[None].reason_code == "malformed"
    assert held[None].raw == b"{not json"
    assert mqtt_node.store.event_id_counts("DOOR1") == {}


def test_a_payload_that_contradicts_its_topic_is_refused(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    # CAM1 is authenticated for its own topic and claims to be DOOR1.
    publisher.publish(f"{prefix}/C1/CAM1/access", access_event("spoof", clock.now()))
    publisher.publish(f"{prefix}/C1/DOOR1/alarm", access_event("wrong-type", clock.now()))
    publisher.publish(f"{prefix}/C1/DOOR1/weather", access_event("no-type", clock.now()))
    subscriber = subscriber_of(mqtt_node)

    assert wait_until(lambda: subscriber.stats.acked == 3), subscriber.stats
    held = {
        item.event_id: item
        for item in mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    }
    spoof = held["spoof"]
    assert spoof.reason_code == "topic_mismatch"
    assert spoof.sender_device_id == "CAM1"
    assert [r["field"] for r in spoof.reasons] == ["device_id"]
    assert "does not match the device 'CAM1'" in spoof.reasons[0]["reason"]
    assert f"{prefix}/C1/CAM1/access" in spoof.reasons[0]["reason"]
    assert [r["field"] for r in held["wrong-type"].reasons] == ["type"]
    assert held["no-type"].reason_code == "topic"
    assert [r["field"] for r in held["no-type"].reasons] == ["topic"]
    assert "'weather'" in held["no-type"].reasons[0]["reason"]
    assert mqtt_node.store.event_id_counts("DOOR1") == {}
    assert subscriber.stats.rejected == 3


class DownQuarantine:
    """A quarantine whose database is down: every hold fails."""

    def __init__(self) -> None:
        self.attempts = 0

    def hold(self, entries: object) -> None:
        self.attempts += 1
        raise ConnectionError("quarantine database unreachable")


def test_unacknowledged_messages_come_back_after_a_restart_and_are_stored_once(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    settings = mqtt_node.settings.mqtt
    # The node's own subscriber steps aside; a first "Zhian" whose quarantine is down takes
    # the session: the batch with the bad payload can never be answered, so it is not acked.
    subscriber_of(mqtt_node).stop()
    first = MqttSubscriber(
        intake=mqtt_node.intake,
        quarantine=(down := DownQuarantine()),
        clock=clock,
        settings=settings.model_copy(update={"batch_max_ms": 300.0}),
    )
    first.start()
    try:
        assert first.wait_subscribed(10)
        good = [access_event(f"r{i}", clock.now() - timedelta(seconds=i)) for i in range(20)]
        for event in good[:10]:
            publisher.publish(topic, event)
        # Refused at the topic check, which needs the (down) quarantine before any ack.
        publisher.publish(topic, access_event("r-bad", clock.now(), device_id="CAM1"))
        for event in good[10:]:
            publisher.publish(topic, event).wait_for_publish(10)
        assert wait_until(lambda: down.attempts >= 1)
    finally:
        first.stop()
    assert first.stats.acked < 21
    unacked = 21 - first.stats.acked
    # Published while no Zhian is connected: queued in Zhian's session at the broker.
    publisher.publish(topic, access_event("r-late", clock.now())).wait_for_publish(10)

    second = MqttSubscriber(
        intake=mqtt_node.intake,
        quarantine=QuarantineStore(mqtt_node.db, cipher=mqtt_node.governance.cipher()),
        clock=clock,
        settings=settings,
    )
    second.start()
    try:
        assert wait_until(lambda: second.stats.acked >= unacked + 1), second.stats
    finally:
        second.stop()

    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    expected = {f"r{i}": 1 for i in range(20)} | {"r-late": 1}
    assert mqtt_node.store.event_id_counts("DOOR1") == expected
    # Events the first one made durable came back and were recognised, not stored again.
    assert second.stats.duplicate >= 1
    held = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert [(item.event_id, item.reason_code) for item in held] == [("r-bad", "topic_mismatch")]


@pytest.mark.slow
@pytest.mark.broker_restart
def test_a_broker_restart_during_intake_loses_nothing_acknowledged(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    subscriber = subscriber_of(mqtt_node)
    infos = {}
    with restarted_broker() as restart:
        for i in range(400):
            event_id = f"b{i}"
            infos[event_id] = publisher.publish(topic, access_event(event_id, clock.now()))
            if i == 150:
                restart()  # the broker goes down and comes back while messages flow
    # Published while the broker was down: the client sends them once it is back.
    wait_until(lambda: len(publisher.acknowledged) == len(infos), 20)
    acked_mids = set(publisher.acknowledged)
    broker_acknowledged = {event_id for event_id, info in infos.items() if info.mid in acked_mids}
    assert len(broker_acknowledged) > 150
    assert wait_until(
        lambda: (
            mqtt_node.feeder.wait_caught_up(timeout_seconds=1)
            and broker_acknowledged <= set(mqtt_node.store.event_id_counts("DOOR1"))
        ),
        timeout_seconds=30,
    ), subscriber.stats
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    counts = mqtt_node.store.event_id_counts("DOOR1")
    assert set(counts.values()) == {1}
    assert broker_acknowledged <= set(counts)
    assert subscriber.stats.connects >= 2  # it really lived through a restart


def test_a_message_from_an_unknown_device_is_replayable_once_the_device_exists(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/NEW1/access"
    publisher.publish(topic, access_event("n1", clock.now(), device_id="NEW1"))
    subscriber = subscriber_of(mqtt_node)
    assert wait_until(lambda: subscriber.stats.acked == 1), subscriber.stats
    (held,) = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert (held.reason_code, held.source, held.sender_device_id) == (
        "unknown_device",
        f"mqtt:{topic}",
        "NEW1",
    )
    assert held.reasons == [{"field": "device_id", "reason": "unknown device 'NEW1'"}]

    door = next(row for row in MASTER_DATA["devices"] if row["id"] == "DOOR1")
    with mqtt_node.db.session() as session:
        RegistryService(session).load_rows("devices", [dict(door, id="NEW1", gateway_id=None)])
    report = mqtt_node.replay_quarantine(reason_code="unknown_device")

    assert (report.replayed, report.accepted) == (1, 1)
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    assert mqtt_node.store.count_event("NEW1", "n1") == 1


def test_a_prefix_of_two_levels_receives_its_devices_events(
    broker: None, workspace: Path, clock: ManualClock, prefix: str
) -> None:
    two_levels = f"hz/{prefix}"
    with Node.open(mqtt_settings(workspace, two_levels), clock) as node:
        load_master_data(node, now=clock.now())
        subscriber = subscriber_of(node)
        assert subscriber.wait_subscribed(10), subscriber.stats.last_error
        sender = Publisher(f"pub-{prefix}")
        try:
            sender.publish(f"{two_levels}/C1/DOOR1/access", access_event("deep", clock.now()))
            sender.publish(f"{two_levels}/C1/DOOR1", access_event("short", clock.now()))
            assert wait_until(lambda: subscriber.stats.acked == 2), subscriber.stats
        finally:
            sender.close()
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        assert node.store.event_id_counts("DOOR1") == {"deep": 1}
        held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
        assert [(item.event_id, item.source) for item in held] == [
            ("short", f"mqtt:{two_levels}/C1/DOOR1")
        ]
