"""HTTP intake of the scaled tier: 1, 2 and 4 intake processes on the NATS log against the
embedded node, in the same run.

Run: .venv/bin/python bench/scaled.py [--events 200000] [--senders 4] [--processes 1,2,4]

- embedded: `zhian serve` on a fresh workspace, the default tier (local log with fsync,
  the store feeder and rules running in the same process);
- nats × N: `zhian serve --workers N --web-only` on a workspace whose log is a fresh
  JetStream stream on the loopback server (127.0.0.1:4222, file storage, 1 replica): N
  web processes share the port (SO_REUSEPORT) and append to the one stream. No worker
  runs: this measures intake (acknowledged = stored by JetStream), not the store. The
  clock starts once every web process has answered (none is still starting up).

Events are the demo district's, in JSON arrays of 500, posted by `--senders` client
processes (each its own interpreter, so the load generator is not one GIL). Each run
prints events per second acknowledged, its ratio against the embedded node in this run,
and the CPU time per event of the server's processes and of nats-server (user + system,
from /proc; nats-server's includes whatever else uses it meanwhile). The load generator,
the servers and nats-server share this machine's cores: `os.cpu_count()` and the load
average are printed. Events/s is bounded by the cores this run got; CPU per event is not,
and gives events/s per core (1,000,000 / µs) for sizing (docs/capacity.md).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (name) "


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of a process and every descendant alive now (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    ticks = 0
    for pid in tree:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def nats_server_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if command.endswith(b"nats-server"):
                return int(entry.name)
    return None


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


@dataclass(frozen=True)
class Figure:
    """One run: events/s acknowledged, and CPU microseconds per event spent by the server
    processes (all web processes of a `serve`) and by nats-server (shared with whatever
    else uses it meanwhile)."""

    events_per_second: float
    server_cpu_us_per_event: float
    nats_cpu_us_per_event: float | None


def post_all(
    port: int, token: str, bodies: Sequence[bytes], senders: int, server_pid: int
) -> Figure:
    """Every body posted and acknowledged, timed from the senders' start."""
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
        ready.wait(timeout=120)
    nats_pid = nats_server_pid()
    server_before = tree_cpu_seconds(server_pid)
    nats_before = tree_cpu_seconds(nats_pid) if nats_pid else 0.0
    started = time.perf_counter()
    go.set()
    accepted = 0
    for _ in processes:
        while True:
            try:
                accepted += out.get(timeout=5)
                break
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("a sender failed (its error is above)") from None
    elapsed = time.perf_counter() - started
    server_cpu = tree_cpu_seconds(server_pid) - server_before
    nats_cpu = tree_cpu_seconds(nats_pid) - nats_before if nats_pid else None
    for process in processes:
        process.join()
    events = len(bodies) * BATCH
    if accepted != events:
        raise RuntimeError(f"only {accepted} of {events} events accepted")
    return Figure(
        accepted / elapsed,
        server_cpu / accepted * 1e6,
        None if nats_cpu is None else nats_cpu / accepted * 1e6,
    )


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    # Generous: at a load average of 25-30 on 2 cores, starting web processes took over 90 s.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not become ready within 300 s")


def wait_all_answer(port: int, processes: int) -> None:
    """Until `processes` distinct web processes have answered /api/v1/health."""
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while len(seen) < processes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {processes} web processes answered")
        with httpx.Client(timeout=10) as client:  # a fresh connection each time
            answer = client.get(f"http://127.0.0.1:{port}/api/v1/health")
            seen.add(int(answer.json()["process"]["pid"]))
        time.sleep(0.1)


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


def run_embedded(root: Path, token: str, bodies: Sequence[bytes], senders: int) -> Figure:
    shutil.copytree(root / "template", root / "embedded")
    port = free_port()
    server = serve(root / "embedded", port, ["--all"], {})
    try:
        wait_ready(port, server)
        return post_all(port, token, bodies, senders, server.pid)
    finally:
        stop(server)


def run_nats(
    root: Path, token: str, bodies: Sequence[bytes], senders: int, processes: int
) -> Figure:
    name = f"nats-{processes}"
    shutil.copytree(root / "template", root / name)
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
        # Every web process answers before the clock starts (the kernel spreads connections),
        # so no process still starting up (imports, index catch-up) is counted as intake.
        wait_all_answer(port, processes)
        return post_all(port, token, bodies, senders, server.pid)
    finally:
        stop(server)
        delete_nats_log(config)


def show(label: str, figure: Figure, embedded: Figure) -> None:
    nats = "" if figure.nats_cpu_us_per_event is None else f"{figure.nats_cpu_us_per_event:5.1f}"
    print(
        f"{label:<44}: {figure.events_per_second:9,.0f} events/s  "
        f"x {figure.events_per_second / embedded.events_per_second:4.2f}   CPU per event: "
        f"server {figure.server_cpu_us_per_event:5.1f} µs, nats-server {nats} µs"
    )


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
        # One workspace prepared, copied for each run (before any server opens it).
        token = prepare(root, "template", district)
        embedded = run_embedded(root, token, bodies, args.senders)
        show("embedded node (local log, fsync), 1 process", embedded, embedded)
        figures: dict[int, Figure] = {}
        for processes in counts:
            figures[processes] = run_nats(root, token, bodies, args.senders, processes)
            plural = "es" if processes > 1 else ""
            show(f"NATS log, {processes} intake process{plural}", figures[processes], embedded)
    best = max(figure.events_per_second for figure in figures.values())
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for label, met in [
        ("scaled tier >= 100,000 events/s", best >= 100_000),
        ("scaled tier >= 2x the embedded HTTP figure", best >= 2 * embedded.events_per_second),
    ]:
        print(f"target {label}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
