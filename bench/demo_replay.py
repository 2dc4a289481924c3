"""What the demo's replay leaves on the wall: device-offline alerts against planted outages,
and every model's and rule's alert count, at a chosen scale.

Run: .venv/bin/python bench/demo_replay.py [--scale 0.3] [--days 22] [--seed 7]

The demo's own steps (`zhian.cli.demo`: district with the temple fair, master data, accounts,
watchlist, the stage, the replay as history with the models run along it, with the node's
background rule engine and feeder running as in `zhian demo`), without the web server.
Prints the replay's events and seconds, the outages the simulator planted, the
device-offline alerts raised (and how many the device's return closed), and the alerts
per kind; a kind with none is flagged (the demo's crowd warning is staged in its first
live minutes, after the replay: bench/demo_first_page.py sees it). The full demo is
`--scale 1 --days 22`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from zhian.alerts.models import Alert
from zhian.cli.demo import (
    demo_district,
    load_district,
    place_demo_accounts,
    replay,
    seed_watchlist,
    stage,
)
from zhian.config import load_settings
from zhian.kit.clock import SystemClock
from zhian.models.catalogue import MODELS
from zhian.node import Node
from zhian.rules.crowd import CROWD_KIND
from zhian.sim import Simulation
from zhian.sim.replay import ArrivalClock
from zhian.sim.stream import default_start
from zhian.sim.truth import DEVICE_OFFLINE

RULE_KINDS = (
    "device_offline",
    "device_fault",
    "alarm_smoke",
    "alarm_fire",
    "alarm_sos",
    "alarm_perimeter",
    "denied_access",
    "watchlist_plate",
    "watchlist_person",
    "tailgating",
    CROWD_KIND,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--days", type=float, default=22.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    now = datetime.now(UTC)
    district = demo_district(args.seed, args.scale)
    start = default_start(now, args.days)
    scenarios = stage(district, now)
    arrival = ArrivalClock(start, live=SystemClock())
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(Path(folder) / "demo")
        with Node.open(settings, arrival) as node:
            load_district(node, district)
            place_demo_accounts(node, district)
            seed_watchlist(node, district)
            history = Simulation(
                district, start=start, end=now, seed=args.seed, scenarios=scenarios
            )
            began = time.perf_counter()
            accepted = replay(node, history, arrival, show_progress=False)
            arrival.go_live()
            assert node.rule_engine.wait_caught_up(timeout_seconds=600)
            seconds = time.perf_counter() - began
            with node.db.session() as session:
                kinds = Counter(
                    dict(
                        session.execute(select(Alert.kind, func.count()).group_by(Alert.kind)).all()
                    )
                )
                closed_offline = session.scalar(
                    select(func.count()).where(
                        Alert.kind == "device_offline", Alert.state == "closed"
                    )
                )
    planted = sum(1 for record in history.truth if record.scenario == DEVICE_OFFLINE)
    print(f"scale {args.scale}, {args.days} days: {accepted:,} events in {seconds:.1f} s")
    print(f"planted outages: {planted}")
    print(f"device_offline alerts: {kinds['device_offline']} ({closed_offline} closed by return)")
    for kind in (*RULE_KINDS, *(m.name.removeprefix("model.") for m in MODELS)):
        print(f"  {kind:24} {kinds[kind]:>7}{'' if kinds[kind] else '   <- none'}")


if __name__ == "__main__":
    main()
