"""Deterministic logged events of every type, for store and feeder tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import msgspec

from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    LoggedBatch,
    LoggedEvent,
    Subject,
    VehicleEvent,
)

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DEVICES = [f"DEV{n:03d}" for n in range(20)]
_FEATURE = "AACAPwAAAEAAAEBA"  # base64 of float32 [1.0, 2.0, 3.0]
_encoder = msgspec.msgpack.Encoder()


def make_event(n: int, rng: random.Random, start: datetime = START) -> Event:
    """Event number `n`: its type cycles through all six, its time one second after n-1."""
    event_id = f"E{n:09d}"
    device_id = DEVICES[n % len(DEVICES)]
    time = start + timedelta(seconds=n)
    kind = n % 6
    if kind == 0:
        return AccessEvent(
            id=event_id,
            device_id=device_id,
            time=time,
            subject=Subject(kind="resident", ref=f"R{rng.randrange(100_000):05d}"),
            direction=rng.choice(["in", "out"]),
            method=rng.choice(["card", "face", "qr"]),
            result=rng.choice(["granted", "granted", "denied"]),
        )
    if kind == 1:
        return VehicleEvent(
            id=event_id,
            device_id=device_id,
            time=time,
            plate=f"粤B{rng.randrange(100_000):05d}",
            plate_color="blue",
            vehicle_class=rng.choice(["car", "suv", "truck"]),
            direction=rng.choice(["in", "out"]),
            image=f"img:{rng.getrandbits(256):064x}.jpg",
        )
    if kind == 2:
        matched = rng.random() < 0.5
        return FaceEvent(
            id=event_id,
            device_id=device_id,
            time=time,
            quality=round(rng.random(), 3),
            subject=Subject(kind="face_cluster", ref=f"C{n}") if matched else None,
            feature=_FEATURE,
        )
    if kind == 3:
        return AlarmEvent(
            id=event_id,
            device_id=device_id,
            time=time,
            kind="smoke",
            level=rng.randrange(1, 5),
            detail="3F corridor",
        )
    if kind == 4:
        return HeartbeatEvent(id=event_id, device_id=device_id, time=time, status="ok")
    return CrowdEvent(
        id=event_id, device_id=device_id, time=time, zone_id="Z01", occupancy=rng.randrange(500)
    )


def make_logged(
    count: int, *, first: int = 1, seed: int = 1, start: datetime = START
) -> list[LoggedEvent]:
    rng = random.Random(seed)
    return [
        LoggedEvent(
            received_at=start + timedelta(seconds=n, milliseconds=250),
            source="native",
            event=make_event(n, rng, start),
        )
        for n in range(first, first + count)
    ]


def encode(logged: list[LoggedEvent]) -> list[bytes]:
    """One log record per event (a batch of one), as a sender posting singly produces."""
    return [
        _encoder.encode(LoggedBatch(item.received_at, item.source, [item.event])) for item in logged
    ]
