"""Interop throughput, durability on: native API, MQTT (QoS 1) and GA/T 1400 face uploads.

Run: .venv/bin/python bench/interop.py [--events 20000] [--single 2000] [--faces 500]

One node in this process (embedded tier, fsync on) with its HTTP server on loopback (uvicorn
in a thread) and its MQTT subscriber on the Mosquitto broker at 127.0.0.1:1883; the demo
district's devices send. Each path is timed from the first send until the node answered
for the last event (HTTP reply, MQTT acknowledgement after durability):

- native, one event per request  — a device posting each event as it happens;
- native, 500 events per request — a gateway posting batches (bench/ingest.py's path);
- MQTT, one event per message    — sensors publishing QoS 1 to zhian/{community}/{device}/{type};
- GA/T 1400, one FaceObject per POST /VIID/Faces with a ~20 KB JPEG sub-image (Type 11).

Senders run in this process too (one thread each), so every path pays the same interpreter.
The ratios are against the native path with the same framing (one event per request). The
MQTT ceiling is the same traffic through paho and the broker with nothing behind it: what
one Python process can move at all, for judging the MQTT figure.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import random
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from PIL import Image

from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.ingest.events import Event
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim import District, build_district, stream_events
from zhian.web.app import create_app

BROKER = ("127.0.0.1", 1883)
GATEWAY = "BENCH-GATEWAY"
CAMERA = "34020000001190000077"
CAMERA_PASSWORD = "bench-camera-secret"
SERVER_ID = "34000000005030000001"
BATCH = 500
# Mosquitto queues at most 1000 messages per client beyond those in flight (its default
# max_queued_messages) and drops the rest: the publisher stays within that of the node.
MQTT_WINDOW = 1000
SIDE = 180  # pixels: a noise JPEG of this side is about 20 KB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_node(root: Path, district: District, prefix: str, *, with_viid: bool) -> tuple[Node, str]:
    workspace = root / "node"
    prepare_workspace(workspace, fresh=True)
    overrides: dict[str, Any] = {
        "mqtt": {
            "enabled": True,
            "client_id": f"zhian-bench-{prefix}",
            "topic_prefix": prefix,
            "session_expiry_seconds": 60,
        }
    }
    if with_viid:
        overrides["viid"] = {"push_enabled": False, "server_id": SERVER_ID}
    node = Node.open(load_settings(workspace, **overrides))
    load_district(node, district)
    devices = district.tables["devices"]
    with node.db.session() as session:
        registry = RegistryService(session)
        registry.load_rows("devices", [dict(devices[0], id=GATEWAY, kind="gateway")])
        registry.load_rows("devices", [dict(row, gateway_id=GATEWAY) for row in devices])
        if with_viid:
            camera = dict(devices[0], id=CAMERA, kind="face_camera", name="bench camera")
            registry.load_rows("devices", [dict(camera, gateway_id=None)])
    with node.db.session() as session:
        token = DeviceService(session).issue_tokens([GATEWAY], now=node.clock.now())[GATEWAY]
    node.refresh_directory()
    if with_viid:
        with node.db.session() as session:
            node.viid.service.set_password(session, CAMERA, CAMERA_PASSWORD)
    return node, token


class ServerThread:
    """The node's web app on a loopback port, in a thread of this process."""

    def __init__(self, node: Node) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(node), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def bench_native(url: str, token: str, events: Sequence[Event], per_request: int) -> float:
    encoder = msgspec.json.Encoder()
    bodies = [
        encoder.encode(events[i] if per_request == 1 else events[i : i + per_request])
        for i in range(0, len(events), per_request)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/events", content=body, headers=headers)
            response.raise_for_status()
            accepted += response.json()["accepted"]
        elapsed = time.perf_counter() - started
    assert accepted == len(events), f"native: {accepted} of {len(events)} accepted"
    return len(events) / elapsed


def bench_mqtt(
    node: Node, prefix: str, events: Sequence[Event], community: dict[str, str]
) -> float:
    subscriber = node.mqtt
    assert subscriber is not None
    if not subscriber.wait_subscribed(15):
        raise RuntimeError(f"MQTT subscriber not connected: {subscriber.stats.last_error}")
    encoder = msgspec.json.Encoder()
    messages = [
        (
            f"{prefix}/{community[e.device_id]}/{e.device_id}/{type(e).__struct_config__.tag}",
            encoder.encode(e),
        )
        for e in events
    ]
    publisher = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{prefix}", protocol=mqtt.MQTTv5
    )
    publisher.max_inflight_messages_set(500)
    publisher.connect(*BROKER)
    publisher.loop_start()
    base = subscriber.stats.acked
    try:
        started = time.perf_counter()
        for sent, (topic, payload) in enumerate(messages):
            while sent - (subscriber.stats.acked - base) >= MQTT_WINDOW:
                time.sleep(0.0005)
            publisher.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 120
        while subscriber.stats.acked - base < len(messages):
            if time.monotonic() > deadline:
                raise RuntimeError(f"MQTT: only {subscriber.stats.acked - base} answered")
            time.sleep(0.001)
        elapsed = time.perf_counter() - started
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    stats = subscriber.stats
    assert stats.accepted >= len(messages), f"MQTT: {stats}"
    per_batch = stats.received / max(stats.batches, 1)
    topics = len({topic for topic, _ in messages})
    print(f"  MQTT: {topics} topics, {stats.batches} intake batches of {per_batch:.0f} messages")
    return len(messages) / elapsed


def bench_paho_ceiling(count: int, prefix: str) -> float:
    """The same QoS 1 traffic with no Zhian behind it: a subscriber that acks at once."""
    answered = [0]

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        client.ack(message.mid, message.qos)
        answered[0] += 1

    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.ReceiveMaximum = 500
    receiver = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-ceiling-sub-{prefix}",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    receiver.on_message = on_message
    receiver.connect(*BROKER, properties=properties)
    receiver.subscribe(f"{prefix}-ceiling/#", options=SubscribeOptions(qos=1))
    receiver.loop_start()
    sender = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-ceiling-pub-{prefix}", protocol=mqtt.MQTTv5
    )
    sender.max_inflight_messages_set(500)
    sender.connect(*BROKER)
    sender.loop_start()
    payload = b"x" * 300
    try:
        time.sleep(0.5)  # the subscription is in place
        started = time.perf_counter()
        for sent in range(count):
            while sent - answered[0] >= MQTT_WINDOW:
                time.sleep(0.0005)
            sender.publish(f"{prefix}-ceiling/C1/D1/alarm", payload, qos=1)
        deadline = time.monotonic() + 60
        while answered[0] < count and time.monotonic() < deadline:
            time.sleep(0.001)
        return answered[0] / (time.perf_counter() - started)
    finally:
        sender.disconnect()
        sender.loop_stop()
        receiver.disconnect()
        receiver.loop_stop()


def face_images(count: int, seed: int = 3) -> list[bytes]:
    """Distinct noisy JPEGs of about 20 KB (noise barely compresses, like a real crop)."""
    generator = random.Random(seed)
    images = []
    for _ in range(count):
        pixels = generator.randbytes(SIDE * SIDE * 3)
        buffer = io.BytesIO()
        Image.frombytes("RGB", (SIDE, SIDE), pixels).save(buffer, format="JPEG", quality=75)
        images.append(buffer.getvalue())
    return images


def bench_viid(url: str, faces: int) -> tuple[float, int]:
    from zhian.ingest.viid.fake import DeviceEmulator, statuses

    images = face_images(faces)
    now = SystemClock().now()
    with httpx.Client(base_url=url, timeout=60) as client:
        camera = DeviceEmulator(client, CAMERA, CAMERA_PASSWORD)
        _challenge, answer = camera.register()
        answer.raise_for_status()
        bodies = []
        for i, data in enumerate(images):
            shot_at = now - timedelta(seconds=faces - i)
            face = camera.face(shot_at, with_images=False)
            crop = camera.sub_image(camera.image_id(shot_at), "11", shot_at, data)
            face["SubImageList"] = {"SubImageInfoObject": [crop]}
            bodies.append(json.dumps({"FaceListObject": {"FaceObject": [face]}}))
        started = time.perf_counter()
        for body in bodies:
            response = camera.post("/VIID/Faces", body)
            codes = [s["StatusCode"] for s in statuses(response.json())]
            assert codes == [0], f"VIID upload refused: {response.text[:300]}"
        elapsed = time.perf_counter() - started
    return faces / elapsed, sum(map(len, images)) // faces


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per native/MQTT run")
    parser.add_argument("--single", type=int, default=2_000, help="events for one-per-request")
    parser.add_argument("--faces", type=int, default=500, help="GA/T 1400 face uploads")
    args = parser.parse_args()

    try:
        import zhian.ingest.viid  # noqa: F401

        has_viid = True
    except ImportError:
        has_viid = False
    district = build_district(seed=7, scale=1.0)
    now = SystemClock().now()
    needed = 2 * args.events + args.single
    events = list(
        itertools.islice(
            stream_events(district, start=now - timedelta(days=20), end=now, seed=11), needed
        )
    )
    single, batched, published = (
        events[: args.single],
        events[args.single : args.single + args.events],
        events[args.single + args.events :],
    )
    community = {str(row["id"]): str(row["community_id"]) for row in district.tables["devices"]}
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    print(f"node: embedded tier, fsync on; {len(events):,} demo-district events")
    with tempfile.TemporaryDirectory(prefix="zhian-interop-") as folder:
        node, token = open_node(Path(folder), district, prefix, with_viid=has_viid)
        with node, ServerThread(node) as url:
            native_one = bench_native(url, token, single, 1)
            print(f"native API, 1 event/request    : {native_one:10,.0f} events/s")
            native_batch = bench_native(url, token, batched, BATCH)
            print(f"native API, {BATCH} events/request : {native_batch:10,.0f} events/s")
            mqtt_rate = bench_mqtt(node, prefix, published, community)
            print(f"MQTT QoS 1, 1 event/message    : {mqtt_rate:10,.0f} events/s")
            ceiling = bench_paho_ceiling(len(published), prefix)
            print(
                f"  MQTT ceiling, no Zhian behind: {ceiling:10,.0f} messages/s"
                "  (paho publisher and subscriber in this process, ack at once)"
            )
            viid_rate: float | None = None
            if has_viid:
                viid_rate, image_bytes = bench_viid(url, args.faces)
                print(
                    f"GA/T 1400 faces, 1/request    : {viid_rate:10,.0f} events/s"
                    f"  (one {image_bytes / 1024:.1f} KB sub-image each)"
                )
            else:
                print("GA/T 1400 faces: skipped, zhian.ingest.viid is not in this tree")
            node.feeder.wait_caught_up(timeout_seconds=120)
    print(f"ratio MQTT / native (1 per request)      : {mqtt_rate / native_one:6.2f}x")
    print(f"ratio MQTT / native ({BATCH} per request)  : {mqtt_rate / native_batch:6.2f}x")
    print(f"ratio MQTT / MQTT ceiling                : {mqtt_rate / ceiling:6.2f}x")
    if viid_rate is not None:
        print(f"ratio GA/T 1400 / native (1 per request) : {viid_rate / native_one:6.2f}x")


if __name__ == "__main__":
    main()
