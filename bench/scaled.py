"""HTTP intake of the scaled tier: 1, 2 and 4 intake processes on the NATS log against the
embedded node, in the same run.

Run: .venv/bin/python bench/scaled.py [--events 200000] [--senders 4] [--processes 1,2,4]

- embedded: `zhian serve` on a fresh workspace, the default tier (local log with fsync,
  the store feeder and rules running in the same process);
- nats × N: `zhian serve --workers N --web-only` on a workspace whose log is a fresh
  JetStream stream on the loopback server (127.0.0.1:4222, file storage, 1 replica): N
  web processes share the port (SO_REUSEPORT) and append to the one stream. No worker
  runs: this measures intake (acknowledged = stored by JetStream), not the store.

Events are the demo district's, in JSON arrays of 500, posted by `--senders` client
processes (each its own interpreter, so the load generator is not one GIL). Every figure is
events per second acknowledged; the ratio is against the embedded node in this run. The
load generator, the servers and nats-server share this machine's cores: `os.cpu_count()`
and the load average are printed, and they bound what any figure here can show.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec

from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.ingest.events import Event
from zhian.kit.clock import SystemClock
from zhian.log.nats import NatsLogConfig, delete_nats_log
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim import District, build_district, stream_events

NATS_URL = os.environ.get("ZHIAN_TEST_NATS", "nats://127.0.0.1:4222")
BATCH = 500  # events per request, as bench/ingest.py
GATEWAY = "BENCH-GATEWAY"


def make_events(district: District, count: int) -> list[Event]:
    now = SystemClock().now()
    stream = stream_events(district, start=now - timedelta(days=20), end=now, seed=11)
    return list(itertools.islice(stream, count))


def prepare(root: Path, name: str, district: District) -> str:
    """A fresh workspace with the district loaded, every device behind one gateway (as
    bench/ingest.py); returns the gateway's token. The node is closed again: the server
    under test opens it."""
    workspace = root / name
    prepare_workspace(workspace, fresh=True)
    with Node.open(load_settings(workspace), feed=False) as node:
        load_district(node, district)
        devices = district.tables["devices"]
        with node.db.session() as session:
            registry = RegistryService(session)
            gateway = dict(devices[0], id=GATEWAY, kind="gateway", gateway_id=None)
            registry.load_rows("devices", [gateway])
            registry.load_rows("devices", [dict(row, gateway_id=GATEWAY) for row in devices])
        with node.db.session() as session:
            tokens = DeviceService(session).issue_tokens([GATEWAY], now=node.clock.now())
    return tokens[GATEWAY]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SyncEvent = multiprocessing.synchronize.Event


def send_share(
    url: str,
    token: str,
    bodies: list[bytes],
    ready: SyncEvent,
    go: SyncEvent,
    out: multiprocessing.queues.Queue[int],
) -> None:
    """One sender process: post its bodies one after the other; puts the accepted count."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = 0
    with httpx.Client(timeout=120) as client:
        ready.set()
        go.wait()
        for body in bodies:
            response = client.post(url, content=body, headers=headers)
            response.raise_for_status()
            accepted += int(response.json()["accepted"])
    out.put(accepted)


def post_all(port: int, token: str, bodies: Sequence[bytes], senders: int) -> float:
    """Events per second for every body acknowledged, timed from the senders' start."""
    context = multiprocessing.get_context("spawn")
    url = f"http://127.0.0.1:{port}/api/v1/events"
    go = context.Event()
    out: multiprocessing.queues.Queue[int] = context.Queue()
    readies = [context.Event() for _ in range(senders)]
    processes = [
        context.Process(
            target=send_share, args=(url, token, list(bodies[s::senders]), readies[s], go, out)
        )
        for s in range(senders)
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(timeout=60)
    started = time.perf_counter()
    go.set()
    accepted = sum(out.get(timeout=600) for _ in processes)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    events = len(bodies) * BATCH
    if accepted != events:
        raise RuntimeError(f"only {accepted} of {events} events accepted")
    return accepted / elapsed


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not become ready")


def serve(
    workspace: Path, port: int, extra: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "zhian", "serve", "--workspace", str(workspace),
         "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32), **env},
    )  # fmt: skip


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_embedded(root: Path, district: District, bodies: Sequence[bytes], senders: int) -> float:
    token = prepare(root, "embedded", district)
    port = free_port()
    server = serve(root / "embedded", port, ["--all"], {})
    try:
        wait_ready(port, server)
        return post_all(port, token, bodies, senders)
    finally:
        stop(server)


def run_nats(
    root: Path, district: District, bodies: Sequence[bytes], senders: int, processes: int
) -> float:
    name = f"nats-{processes}"
    token = prepare(root, name, district)
    config = NatsLogConfig(
        servers=(NATS_URL,),
        stream=f"BENCH_{uuid.uuid4().hex[:10].upper()}",
        subject=f"zhian.bench.{uuid.uuid4().hex[:10]}",
    )
    env = {
        "ZHIAN_LOG__TYPE": "nats",
        "ZHIAN_LOG__NATS_URL": NATS_URL,
        "ZHIAN_LOG__NATS_STREAM": config.stream,
        "ZHIAN_LOG__NATS_SUBJECT": config.subject,
    }
    port = free_port()
    server = serve(root / name, port, ["--workers", str(processes), "--web-only"], env)
    try:
        wait_ready(port, server)
        # Every web process answers before the clock starts (the kernel spreads connections).
        time.sleep(2.0)
        return post_all(port, token, bodies, senders)
    finally:
        stop(server)
        delete_nats_log(config)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=4, help="client processes")
    parser.add_argument("--processes", default="1,2,4", help="intake processes on NATS")
    args = parser.parse_args()
    counts = [int(part) for part in args.processes.split(",")]

    district = build_district(seed=7, scale=1.0)
    events: list[Event] = make_events(district, args.events)
    encoder = msgspec.json.Encoder()
    bodies = [encoder.encode(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
    load = os.getloadavg()
    print(
        f"events: {len(events):,} in {len(bodies)} requests of {BATCH}; {args.senders} sender "
        f"processes; {os.cpu_count()} cores; load average {load[0]:.1f} {load[1]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="zhian-bench-scaled-") as folder:
        root = Path(folder)
        embedded = run_embedded(root, district, bodies, args.senders)
        print(f"embedded node (local log, fsync), 1 process : {embedded:10,.0f} events/s  x 1.00")
        figures: dict[int, float] = {}
        for processes in counts:
            figures[processes] = run_nats(root, district, bodies, args.senders, processes)
            rate = figures[processes]
            print(
                f"NATS log, {processes} intake process{'es' if processes > 1 else '  '}        "
                f"  : {rate:10,.0f} events/s  x {rate / embedded:4.2f}"
            )
    best = max(figures.values())
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for label, met in [
        ("scaled tier >= 100,000 events/s", best >= 100_000),
        ("scaled tier >= 2x the embedded HTTP figure", best >= 2 * embedded),
    ]:
        print(f"target {label}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
