"""Sustained intake on the embedded default, durability on: HTTP, in-process, and a baseline.

Run: .venv/bin/python bench/ingest.py [--events 200000] [--baseline-events 3000]

- in-process: `IntakeService.submit_events` in batches of 500 (the simulator's path);
- HTTP: `POST /api/v1/events`, JSON arrays of 500, from client threads to a server process;
- baseline: the same events inserted row by row into PostgreSQL with psycopg, one commit
  per event (what a naive service does).
Every figure is events per second; the ratios are against the baseline, in this same run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec
import psycopg

from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.ingest.events import Event
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim import District, build_district, stream_events

BATCH = 500
GATEWAY = "BENCH-GATEWAY"
POSTGRES_ADMIN = os.environ.get(
    "ZHIAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def make_events(district: District, count: int) -> list[Event]:
    now = SystemClock().now()
    start = now - timedelta(days=20)
    return list(itertools.islice(stream_events(district, start=start, end=now, seed=11), count))


def open_workspace(
    root: Path, name: str, district: District, *, feed: bool = True
) -> tuple[Node, str]:
    """A fresh workspace with the district loaded; every device posts through one gateway."""
    workspace = root / name
    prepare_workspace(workspace, fresh=True)
    node = Node.open(load_settings(workspace), feed=feed)
    load_district(node, district)
    with node.db.session() as session:
        registry = RegistryService(session)
        gateway = dict(district.tables["devices"][0], id=GATEWAY, kind="gateway", gateway_id=None)
        registry.load_rows("devices", [gateway])
        registry.load_rows(
            "devices",
            [dict(row, gateway_id=GATEWAY) for row in district.tables["devices"]],
        )
    from zhian.devices.service import DeviceService

    with node.db.session() as session:
        token = DeviceService(session).issue_tokens([GATEWAY], now=node.clock.now())[GATEWAY]
    node.refresh_directory()
    return node, token


def bench_in_process(node: Node, events: Sequence[Event], batch: int) -> float:
    started = time.perf_counter()
    accepted = 0
    for offset in range(0, len(events), batch):
        chunk = events[offset : offset + batch]
        accepted += node.intake.submit_events(chunk, source="bench").accepted
    elapsed = time.perf_counter() - started
    assert accepted == len(events), f"only {accepted} of {len(events)} accepted"
    return len(events) / elapsed


def bench_http(workspace: Path, token: str, events: Sequence[Event], clients: int) -> float:
    port = 18600 + os.getpid() % 1000
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zhian",
            "serve",
            "--workspace",
            str(workspace),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        # A served node refuses to start without a real session key.
        env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32)},
    )
    url = f"http://127.0.0.1:{port}/api/v1/events"
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/v1/health")
        encoder = msgspec.json.Encoder()
        bodies = [encoder.encode(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
        accepted = [0] * clients
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def send(worker: int) -> None:
            with httpx.Client(timeout=60) as client:
                for body in bodies[worker::clients]:
                    response = client.post(url, content=body, headers=headers)
                    response.raise_for_status()
                    accepted[worker] += response.json()["accepted"]

        threads = [threading.Thread(target=send, args=(w,)) for w in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        assert sum(accepted) == len(events), f"only {sum(accepted)} of {len(events)} accepted"
        return len(events) / elapsed
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


def bench_postgres_baseline(events: Sequence[Event]) -> float:
    """Row by row, one commit per event: the naive way, for the ratio."""
    name = f"zhian_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url) as connection:
            connection.execute(
                "CREATE TABLE events (device_id text, event_id text, type text, time timestamptz,"
                " received_at timestamptz, body jsonb, PRIMARY KEY (device_id, event_id))"
            )
            connection.commit()
            encode = msgspec.json.encode
            started = time.perf_counter()
            for event in events:
                connection.execute(
                    "INSERT INTO events VALUES (%s, %s, %s, %s, now(), %s)",
                    (
                        event.device_id,
                        event.id,
                        type(event).__name__,
                        event.time,
                        encode(event).decode(),
                    ),
                )
                connection.commit()
            return len(events) / (time.perf_counter() - started)
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--baseline-events", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=4, help="HTTP client threads")
    parser.add_argument(
        "--in-process-batch", type=int, default=5000, help="events per in-process call"
    )
    args = parser.parse_args()

    district = build_district(seed=7, scale=1.0)
    events = make_events(district, args.events)
    print(f"events: {len(events):,} from the demo district (batches of {BATCH}, fsync on)")
    with tempfile.TemporaryDirectory(prefix="zhian-bench-") as folder:
        root = Path(folder)
        # Intake and the node's background work (store feeder, rule engine, schedulers)
        # share one interpreter (one GIL): first the intake alone (the feeder started
        # afterwards, catch-up timed), then with the whole node running.
        node, _ = open_workspace(root, "in-process", district, feed=False)
        with node:
            alone = bench_in_process(node, events, args.in_process_batch)
            node.feeder.start()
            lag_started = time.perf_counter()
            node.feeder.wait_caught_up(timeout_seconds=600)
            catch_up = time.perf_counter() - lag_started
        print(
            f"in-process intake, background paused : {alone:10,.0f} events/s"
            f"  (batches of {args.in_process_batch}; store caught up in {catch_up:.1f} s,"
            f" {len(events) / catch_up:,.0f} events/s)"
        )
        node, _ = open_workspace(root, "in-process-fed", district)
        with node:
            in_process = bench_in_process(node, events, args.in_process_batch)
            lag_started = time.perf_counter()
            node.feeder.wait_caught_up(timeout_seconds=600)
            catch_up = time.perf_counter() - lag_started
        print(
            f"in-process intake, whole node running: {in_process:10,.0f} events/s"
            f"  (store caught up {catch_up:.1f} s after the last batch)"
        )

        node, token = open_workspace(root, "http", district)
        node.close()
        http = bench_http(root / "http", token, events, args.clients)
        print(f"HTTP intake       : {http:12,.0f} events/s  ({args.clients} client threads)")

    baseline = bench_postgres_baseline(events[: args.baseline_events])
    print(f"PostgreSQL baseline: {baseline:11,.0f} events/s  (row by row, commit per event)")
    print(f"ratio in-process / baseline: {in_process / baseline:8.1f}x")
    print(f"ratio HTTP / baseline      : {http / baseline:8.1f}x")
    targets = [
        ("HTTP >= 50,000/s", http >= 50_000),
        ("in-process >= 250,000/s (background paused)", alone >= 250_000),
        ("in-process >= 250,000/s (whole node running)", in_process >= 250_000),
        ("HTTP >= 10x baseline", http >= 10 * baseline),
    ]
    for label, met in targets:
        print(f"target {label}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
