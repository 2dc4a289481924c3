"""Latency from an alarm's arrival at the intake to its alert on the live feed, under load.

Run: .venv/bin/python bench/alert_latency.py [--seconds 30] [--rate 5000]

A node on the embedded default (SQLite, the in-process durable log with fsync, DuckDB) with
the demo district loaded runs every background part: the store feeder, the rule engine,
the SLA monitor and the webhook worker. A thread pushes simulator events through the
in-process intake at `--rate` events/s. Meanwhile a probe submits one tamper alarm at a
time and waits for its alert on the live feed (`alert.created` or `alert.updated`); the
time from just before `submit_events` to the message is one sample. Prints p50 and p99
(target p99 <= 250 ms). Ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.ingest.events import AlarmEvent, Event
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.sim import build_district, stream_events

BATCH = 250
WARM_UP_SECONDS = 3.0
PROBE_TIMEOUT_SECONDS = 5.0


def _background(
    node: Node, events: list[Event], rate: float, stop: threading.Event, sent: list[int]
) -> None:
    """Submit `rate` events per second in batches, on a steady schedule."""
    interval = BATCH / rate
    next_at = time.perf_counter()
    for start in range(0, len(events), BATCH):
        if stop.is_set():
            return
        node.intake.submit_events(events[start : start + BATCH], source="bench")
        sent[0] += BATCH
        next_at += interval
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)


async def _probe(node: Node, devices: list[str], seconds: float) -> list[float]:
    subscription = node.live_feed.subscribe()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    clock = SystemClock()
    for n in itertools.count():
        if time.perf_counter() >= deadline:
            break
        device = devices[n % len(devices)]
        alarm = AlarmEvent(
            id=f"PROBE-{n}",
            device_id=device,
            time=clock.now(),
            kind="tamper",
            level=2,
            detail="latency probe",
        )
        began = time.perf_counter()
        await asyncio.to_thread(node.intake.submit_events, [alarm], source="bench-probe")
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                async for message in subscription:
                    alert = message.alert
                    if (
                        alert is not None
                        and alert.device_id == device
                        and alert.kind == "alarm_tamper"
                        and message.type in ("alert.created", "alert.updated")
                    ):
                        samples.append(time.perf_counter() - began)
                        break
        except TimeoutError:
            samples.append(PROBE_TIMEOUT_SECONDS)
        await asyncio.sleep(0.05)
    subscription.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5000.0)
    args = parser.parse_args()

    district = build_district(seed=7, scale=1.0)
    needed = int(args.rate * (args.seconds + WARM_UP_SECONDS + 5))
    now = SystemClock().now()
    events = list(
        itertools.islice(
            stream_events(district, start=now - timedelta(days=20), end=now, seed=11), needed
        )
    )
    probes = [str(r["id"]) for r in district.tables["devices"] if r["kind"] == "sos_button"]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "bench"
        prepare_workspace(workspace, fresh=True)
        node = Node.open(load_settings(workspace))
        try:
            load_district(node, district)
            node.rule_engine.refresh()
            stop = threading.Event()
            sent = [0]
            loader = threading.Thread(
                target=_background, args=(node, events, args.rate, stop, sent), daemon=True
            )
            loader.start()
            time.sleep(WARM_UP_SECONDS)
            first_sent, began = sent[0], time.perf_counter()
            samples = asyncio.run(_probe(node, probes, args.seconds))
            achieved = (sent[0] - first_sent) / (time.perf_counter() - began)
            stop.set()
            loader.join()
        finally:
            node.close()
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1000
    print(f"background intake: {achieved:,.0f} events/s (target {args.rate:,.0f})")
    print(
        f"alarm -> live feed: {len(samples)} probes, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {samples[-1] * 1000:.1f} ms (target p99 <= 250 ms)"
    )


if __name__ == "__main__":
    main()
