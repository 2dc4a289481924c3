"""Two nodes on either side of a one-way gateway, with events of every type on the first."""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from PIL import Image

from tests.ingest.factories import access_event, load_master_data
from zhian.config import load_settings
from zhian.ingest.events import Event, LoggedBatch
from zhian.ingest.ferry.service import FerryService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.node_operations import ferry_service

# Cells a spreadsheet would run as formulas, and a literal leading apostrophe.
RISKY_REFS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "'quoted"]


def ferry_of(node: Node) -> FerryService:
    return ferry_service(node)


def logged_events(node: Node) -> list[Event]:
    """Every event the node's durable log holds, in (device, id) order."""
    decoder = msgspec.msgpack.Decoder(LoggedBatch)
    records = node.log.iter_records()
    events = [event for _seq, record in records for event in decoder.decode(record).events]
    return sorted(events, key=lambda e: (e.device_id, e.id))


def image_bytes(colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def sample_events(node: Node, clock: ManualClock) -> list[dict[str, Any]]:
    now = clock.now()
    plate_image = node.images.save(image_bytes((10, 20, 30)), "image/png")
    face_image = node.images.save(image_bytes((40, 50, 60), "JPEG"), "image/jpeg")
    feature = base64.b64encode(struct.pack("<128f", *[i / 128 for i in range(128)])).decode()
    events: list[dict[str, Any]] = [
        access_event(f"a{i}", now - timedelta(minutes=i), subject={"kind": "card", "ref": ref})
        for i, ref in enumerate(RISKY_REFS)
    ]
    events += [
        {
            "type": "vehicle",
            "id": "v1",
            "device_id": "CAM1",
            "time": (now - timedelta(minutes=3)).isoformat(),
            "plate": "浙A12345",
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
            "image": plate_image,
        },
        {
            "type": "face",
            "id": "f1",
            "device_id": "CAM1",
            "time": (now - timedelta(minutes=4)).isoformat(),
            "quality": 0.875,
            "feature": feature,
            "image": face_image,
        },
        {
            "type": "face",
            "id": "f2",
            "device_id": "CAM1",
            "time": (now - timedelta(minutes=5)).isoformat(),
            "quality": 0.5,
            "subject": {"kind": "face_cluster", "ref": "FC-9"},
        },
        {
            "type": "alarm",
            "id": "al1",
            "device_id": "DOOR1",
            "time": (now - timedelta(minutes=6)).isoformat(),
            "kind": "smoke",
            "level": 3,
            "detail": "3楼烟感, \"报警\"\nline two; =cmd|' /C calc'!A0",
        },
        {
            "type": "alarm",
            "id": "al2",
            "device_id": "DOOR1",
            "time": (now - timedelta(minutes=7)).isoformat(),
            "kind": "sos",
            "level": 1,
        },
        {
            "type": "heartbeat",
            "id": "h1",
            "device_id": "DOOR1",
            "time": (now - timedelta(minutes=8)).isoformat(),
            "status": "fault",
            "fault_code": "E42",
        },
        {
            "type": "heartbeat",
            "id": "h2",
            "device_id": "DOOR1",
            "time": (now - timedelta(minutes=9)).isoformat(),
            "status": "ok",
        },
        {
            "type": "crowd",
            "id": "c1",
            "device_id": "CNT1",
            "time": (now - timedelta(minutes=10)).isoformat(),
            "zone_id": "Z-PLAZA",
            "occupancy": 120,
        },
        {
            "type": "crowd",
            "id": "c2",
            "device_id": "CNT1",
            "time": (now - timedelta(minutes=11)).isoformat(),
            "zone_id": "Z-PLAZA",
            "count_in": 12,
            "count_out": 0,
            "interval_seconds": 60,
        },
    ]
    return events


@pytest.fixture
def outer(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    """The internet side: a node holding events of every type, with images."""
    with Node.open(load_settings(tmp_path / "outer"), clock) as node:
        load_master_data(node, now=clock.now())
        raws = [msgspec.json.encode(event) for event in sample_events(node, clock)]
        result = node.intake.submit_raw(
            raws, source="test", sender_id=None, content_type="application/json"
        )
        assert result.accepted == len(raws), result
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        yield node


@pytest.fixture
def inner(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    """The police network side: the same master data, no events yet."""
    with Node.open(load_settings(tmp_path / "inner"), clock) as node:
        load_master_data(node, now=clock.now())
        yield node


@pytest.fixture
def package(outer: Node, clock: ManualClock, tmp_path: Path) -> Path:
    """One package of the last hour, exported from the outer node."""
    now = clock.now()
    exported = ferry_of(outer).export(
        since=now - timedelta(hours=1), until=now + timedelta(seconds=1), out_dir=tmp_path / "out"
    )
    assert len(exported) == 1
    return exported[0].path
