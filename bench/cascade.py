"""Forwarding to a parent node: throughput over one link, and the back-fill after an outage.

Run: .venv/bin/python bench/cascade.py [--live 20000] [--outage 60000] [--mode structured]

The parent is a real `zhian serve` process on loopback (the embedded default: SQLite, the
local durable log with fsync, DuckDB) with the demo district's master data and an
integrator's node credential (`cascade.forward`). The child is a node in this process with
the same district; its forwarder (the log reader `parent`) is stepped by this script over
real HTTP.

1. Throughput: the child takes in `--live` simulator events (in requests of 250, as devices
   and gateways send them), then the forwarder sends them up; events/s from the first batch
   to the last acknowledgement.
2. Back-fill: the parent is killed (SIGKILL); the child takes in `--outage` events while the
   link is down (the default 60,000 stands for an hour of a district sending ~17 events/s,
   scaled down from the issue's hour at city rates); the parent is started again; events/s
   from the moment the forwarder registered again until its cache is empty.

Figures are printed; the script ends by itself. Nothing is compared against a baseline: the
issue names none for this figure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from zhian.access.service import AccessService
from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.ingest.events import Event
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.sim import build_district, stream_events
from zhian.sim.district import District

REQUEST_EVENTS = 250
PASSWORD = "bench-password-long-enough"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_parent(workspace: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    with (workspace / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhian", "serve", "-w", str(workspace), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "ZHIAN_WEB__SECRET_KEY": secret},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the parent did not start: see " + str(workspace / "server.log"))


def root_jurisdiction(district: District) -> str:
    return next(str(r["id"]) for r in district.tables["jurisdictions"] if not r["parent_id"])


def prepare_parent(workspace: Path, district: District) -> str:
    """The parent's workspace with the district and a node credential; returns the token."""
    prepare_workspace(workspace, fresh=True)
    clock = SystemClock()
    with Node.open(load_settings(workspace), feed=False) as node:
        load_district(node, district)
        with node.db.session() as session:
            access = AccessService(session)
            access.create_user(
                "installer",
                PASSWORD,
                role="integrator",
                jurisdiction_id=root_jurisdiction(district),
                display_name="bench installer",
                now=clock.now(),
            )
            return access.issue_api_token(
                "installer", "bench-child", now=clock.now(), permissions=("cascade.forward",)
            )


def take_in(node: Node, events: list[Event]) -> None:
    for start in range(0, len(events), REQUEST_EVENTS):
        result = node.intake.submit_events(events[start : start + REQUEST_EVENTS], source="bench")
        if result.rejected:
            raise SystemExit(f"the child refused {result.rejected} simulator events")


def forward_all(node: Node) -> tuple[int, float]:
    """Step the forwarder until its cache is empty; (events sent, seconds)."""
    forwarder = node.parent_forwarder
    assert forwarder is not None
    sent_before = forwarder.events_sent
    began = time.perf_counter()
    while forwarder.health().cache_records > 0:
        if forwarder.step() == 0 and not forwarder.link.is_up:
            time.sleep(0.05)
    return forwarder.events_sent - sent_before, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--live", type=int, default=20_000)
    parser.add_argument("--outage", type=int, default=60_000)
    parser.add_argument("--mode", choices=("structured", "all", "thumbnails"), default="structured")
    parser.add_argument("--batch-events", type=int, default=500)
    args = parser.parse_args()

    district = build_district(seed=7, scale=1.0)
    now = SystemClock().now()
    stream = stream_events(district, start=now - timedelta(days=2), end=now, seed=11)
    events = list(itertools.islice(stream, args.live + args.outage))
    live, outage = events[: args.live], events[args.live :]
    print(f"cascade bench: {len(live)} live + {len(outage)} outage events, mode {args.mode}")

    with tempfile.TemporaryDirectory() as tmp:
        parent_ws, child_ws = Path(tmp) / "parent", Path(tmp) / "child"
        token = prepare_parent(parent_ws, district)
        port, secret = free_port(), secrets.token_urlsafe(32)
        parent = start_parent(parent_ws, port, secret)
        try:
            prepare_workspace(child_ws, fresh=True)
            settings = load_settings(
                child_ws,
                parent={
                    "url": f"http://127.0.0.1:{port}",
                    "node_id": "bench-child",
                    "token": token,
                    "events": args.mode,
                    "batch_events": args.batch_events,
                    "alerts": False,
                    "device_online": False,
                    "orders": False,
                    "backoff_initial_seconds": 0.5,
                    "backoff_max_seconds": 2.0,
                },
            )
            with Node.open(settings, feed=False) as child:
                load_district(child, district)
                take_in(child, live)
                count, seconds = forward_all(child)
                print(
                    f"throughput over one link: {count} events in {seconds:.2f} s = "
                    f"{count / seconds:,.0f} events/s"
                )

                parent.send_signal(signal.SIGKILL)
                parent.wait()
                take_in(child, outage)
                forwarder = child.parent_forwarder
                assert forwarder is not None
                forwarder.step()  # three tries, then the link is down
                health = forwarder.health()
                print(
                    f"outage: link up={health.is_up}, cache {health.cache_records} records, "
                    f"{health.cache_bytes / 2**20:.1f} MiB"
                )
                parent = start_parent(parent_ws, port, secret)
                while not forwarder.link.may_try(child.clock.now()):  # the back-off's pause
                    time.sleep(0.05)
                count, seconds = forward_all(child)  # registers, then back-fills
                print(
                    f"back-fill after the outage: {count} events in {seconds:.2f} s = "
                    f"{count / seconds:,.0f} events/s "
                    f"(an hour at {len(outage) / 3600:.1f} events/s back-filled in {seconds:.1f} s)"
                )
        finally:
            parent.send_signal(signal.SIGTERM)
            try:
                parent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                parent.kill()


if __name__ == "__main__":
    main()
