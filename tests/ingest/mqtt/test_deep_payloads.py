"""A payload nested too deeply to decode, against the real Mosquitto broker on loopback.

It is refused as malformed naming the depth, kept verbatim in the quarantine, acknowledged,
and the stream goes on. (The HTTP paths: tests/ingest/test_json_depth.py.)
"""

from __future__ import annotations

from tests.ingest.factories import access_event
from tests.ingest.mqtt.conftest import Publisher, wait_until
from tests.ingest.test_json_depth import deep_bodies
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node


def test_a_deep_payload_is_quarantined_and_the_stream_goes_on(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    topic = f"{prefix}/C1/DOOR1/access"
    payloads = deep_bodies()
    for payload in payloads.values():
        publisher.publish(topic, payload)
    publisher.publish(topic, access_event("next", clock.now())).wait_for_publish(10)
    subscriber = mqtt_node.mqtt
    assert subscriber is not None

    assert wait_until(lambda: subscriber.stats.acked == len(payloads) + 1), subscriber.stats
    held = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert sorted(item.raw for item in held) == sorted(payloads.values())
    for item in held:
        assert item.reason_code == "malformed"
        assert "deeper than 64 levels" in item.reasons[0]["reason"], item.reasons
    assert subscriber.stats.failed_batches == 0
    assert mqtt_node.feeder.wait_caught_up(timeout_seconds=10)
    assert mqtt_node.store.event_id_counts("DOOR1") == {"next": 1}
