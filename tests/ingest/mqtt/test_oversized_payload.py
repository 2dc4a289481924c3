"""An MQTT payload over the intake's body limit, against the real Mosquitto broker.

It is refused as too large, kept in the quarantine cut to the limit with its original size
and sha256, acknowledged, not replayed, and the stream goes on. (The same bound on the
other paths: tests/web/test_quarantine_bound.py.)
"""

from __future__ import annotations

from hashlib import sha256

from tests.ingest.factories import access_event
from tests.ingest.mqtt.conftest import Publisher, wait_until
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node

MIB = 1024 * 1024


def test_a_20_mib_payload_is_refused_and_quarantined_bounded_and_the_stream_goes_on(
    mqtt_node: Node, publisher: Publisher, prefix: str, clock: ManualClock
) -> None:
    limit = mqtt_node.settings.intake.max_body_bytes
    assert limit < 20 * MIB
    payload = b'{"note": "' + b"x" * (20 * MIB - 12) + b'"}'
    topic = f"{prefix}/C1/DOOR1/access"
    publisher.publish(topic, payload)
    publisher.publish(topic, access_event("next", clock.now())).wait_for_publish(30)
    subscriber = mqtt_node.mqtt
    assert subscriber is not None

    assert wait_until(lambda: subscriber.stats.acked == 2, 60), subscriber.stats
    assert (subscriber.stats.accepted, subscriber.stats.rejected) == (1, 1)
    [item] = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert item.reason_code == "too_large"
    assert item.source == f"mqtt:{topic}" and item.sender_device_id == "DOOR1"
    assert item.raw == payload[:limit]
    assert (item.raw_size, item.raw_sha256) == (len(payload), sha256(payload).hexdigest())
    reasons = [reason["reason"] for reason in item.reasons]
    assert (
        reasons[0]
        == f"payload of {len(payload):,} bytes is larger than the {limit:,} bytes accepted"
    )
    assert reasons[1].startswith(
        f"payload of {len(payload):,} bytes over the {limit // MIB} MiB limit"
    )

    report = mqtt_node.replay_quarantine(ids=[item.id])
    assert (report.accepted, report.still_rejected) == (0, 1)
    [still] = mqtt_node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert (
        still.replay_outcome is not None and "cannot be resubmitted whole" in still.replay_outcome
    )
