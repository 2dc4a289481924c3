"""Where an intake process spends its CPU when several append to one NATS log.

Run: .venv/bin/python bench/scaled_profile.py [--events 100000] [--processes 1,2]

No HTTP: each intake process opens the node as a web process (`NodeRole.WEB`, the role of
`zhian serve --web-only`) on a fresh JetStream stream of the loopback server and submits its
share of the demo district's events in batches of 500 through the in-process intake API.
Process 0 is profiled (cProfile) on its intake thread and on the duplicate index's
background flushes; the CPU time of each part, per event that process took, is printed,
then the functions that took the most. This is the profile behind docs/capacity.md's
"What limits intake here".
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import multiprocessing.queues
import os
import pstats
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaled import BATCH, NATS_URL, make_events, prepare
from zhian.config import load_settings
from zhian.ingest.dedupe import DuplicateIndex
from zhian.ingest.events import Event
from zhian.log.nats import NatsLogConfig, delete_nats_log
from zhian.node import Node, NodeRole
from zhian.sim import build_district


def nats_env(config: NatsLogConfig) -> dict[str, str]:
    return {
        "ZHIAN_LOG__TYPE": "nats",
        "ZHIAN_LOG__NATS_URL": NATS_URL,
        "ZHIAN_LOG__NATS_STREAM": config.stream,
        "ZHIAN_LOG__NATS_SUBJECT": config.subject,
    }


def profiled_flushes(profile: cProfile.Profile, spent: list[float]) -> None:
    """Profile every flush of the duplicate index (it runs on its own thread)."""
    original: Callable[..., int] = DuplicateIndex._catch_up

    def catch_up(self: DuplicateIndex, **options: Any) -> int:
        started = time.thread_time()
        profile.enable()
        try:
            return original(self, **options)
        finally:
            profile.disable()
            spent.append(time.thread_time() - started)

    DuplicateIndex._catch_up = catch_up  # type: ignore[method-assign]


def intake_process(
    index: int,
    workspace: str,
    env: dict[str, str],
    events: list[Event],
    out: multiprocessing.queues.Queue[Any],
) -> None:
    os.environ.update(env)
    flush_profile, flush_spent = cProfile.Profile(), [0.0]
    if index == 0:
        profiled_flushes(flush_profile, flush_spent)
    node = Node.open(load_settings(Path(workspace)), feed=False, role=NodeRole.WEB)
    intake_profile = cProfile.Profile()
    process_before, thread_before = time.process_time(), time.thread_time()
    if index == 0:
        intake_profile.enable()
    for start in range(0, len(events), BATCH):
        node.intake.submit_events(events[start : start + BATCH], source="bench")
    intake_profile.disable()
    intake_cpu = time.thread_time() - thread_before
    time.sleep(2.0)  # the other processes' last records reach this one's index
    process_cpu = time.process_time() - process_before
    node.close()
    if index != 0:
        out.put(None)
        return
    per_event = 1e6 / len(events)
    flush_cpu = sum(flush_spent)
    report = io.StringIO()
    for title, profile in [("intake thread", intake_profile), ("index flushes", flush_profile)]:
        report.write(f"--- {title}: top functions by cumulative time ---\n")
        stats = pstats.Stats(profile, stream=report)
        stats.sort_stats("cumulative").print_stats(18)
    out.put(
        (
            intake_cpu * per_event,
            flush_cpu * per_event,
            (process_cpu - intake_cpu - flush_cpu) * per_event,
            report.getvalue(),
        )
    )


def run(root: Path, district_events: list[Event], processes: int, show: bool) -> None:
    config = NatsLogConfig(
        servers=(NATS_URL,),
        stream=f"PROFILE_{uuid.uuid4().hex[:10].upper()}",
        subject=f"zhian.profile.{uuid.uuid4().hex[:10]}",
    )
    workspace = root / f"nats-{processes}"
    shutil.copytree(root / "template", workspace)
    env = nats_env(config)
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.queues.Queue[Any] = context.Queue()
    share = len(district_events) // processes
    workers = [
        context.Process(
            target=intake_process,
            args=(i, str(workspace), env, district_events[i * share : (i + 1) * share], out),
        )
        for i in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        results = [out.get(timeout=900) for _ in workers]
        for worker in workers:
            worker.join()
    finally:
        delete_nats_log(config)
    intake, flush, other, report = next(r for r in results if r is not None)
    print(
        f"{processes} intake process(es), CPU µs per event taken by process 0: intake "
        f"thread {intake:5.1f}, index flushes {flush:5.1f}, other threads (NATS client) "
        f"{other:5.1f}, total {intake + flush + other:5.1f}"
    )
    if show:
        print(report)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--functions", action="store_true", help="print the profiles")
    args = parser.parse_args()
    district = build_district(seed=7, scale=1.0)
    events = make_events(district, args.events)
    load = os.getloadavg()
    print(f"events: {len(events):,}; load average {load[0]:.1f} {load[1]:.1f}")
    with tempfile.TemporaryDirectory(prefix="zhian-bench-profile-") as folder:
        root = Path(folder)
        prepare(root, "template", district)
        for processes in [int(part) for part in args.processes.split(",")]:
            run(root, events, processes, args.functions)


if __name__ == "__main__":
    main()
