"""Evaluation of the crowd rule against the temple-fair scenario's ground truth.

One simulated weekday of the district with the temple fair added, streamed minute by minute
through the real intake into a node on a manual clock; the rule engine drains the log and
ticks every minute, and the open crowd alerts are read back through the alert service
after each tick. Only crowd events are submitted: the crowd rule reads nothing else, and
the other events of the district would only cost time.

Lead time per zone = the truth's crossing of 1.5 persons/m² minus the first minute the
zone's alert stood at tier `general` or above (a forecast warning or the warning level).
A false warning is such an alert for a zone without a planted crossing (the shopping
street, the plaza and the school gate, whose counting lines drift; the fair's quiet zones).

With `difficulty="hard"` the day also holds the hard simulator's crowd noise
(`zhian.sim.hard`): a wedding crowd at the street or the plaza (a steep surge declared
nowhere, peaking below the threshold) and a counting line that counts nobody for hours
while beating as healthy. The device alerts (offline, fault) raised over the day are
counted per device, so the report says whether the devices' health checks saw the failure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.ingest.events import CrowdEvent, Event
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.rules.crowd import CROWD_KIND
from zhian.rules.crowd_data import CrowdDataService, FlowPointIn
from zhian.sim import TZ, Simulation, build_district
from zhian.sim.hard import CountingLineFails, Difficulty, WeddingCrowd
from zhian.sim.scenarios import Scenario
from zhian.sim.scenarios_crowd import (
    TEMPLE_FAIR_SURGE,
    CountingLineDrift,
    TempleFair,
    fair_flow_points,
    with_temple_fair,
)

DAY = datetime(2026, 11, 16, tzinfo=TZ)  # a Monday: the school runs happen
WARNING_TIERS = frozenset({"general", "major"})
DEVICE_KINDS = ("device_offline", "device_fault")


@dataclass
class CrowdEvalResult:
    """Lead time (minutes) per zone that crossed the threshold (None: never warned before
    the end), the false warnings as (zone, time) and the crossings planted."""

    lead_minutes_per_zone: dict[str, float | None]
    false_warnings: list[tuple[str, datetime]] = field(default_factory=list)
    crossings: dict[str, datetime] = field(default_factory=dict)
    events: int = 0
    # Crowd counters that a device alert (offline or fault) named over the day.
    device_alerts: list[str] = field(default_factory=list)
    # The hard day's crowd noise: scenario name -> subjects (zone or counting line).
    noise: dict[str, list[str]] = field(default_factory=dict)
    # When each named counter's first device alert was raised, and when each failing
    # line began to count nobody (the truth): the time to detect.
    device_alert_at: dict[str, datetime] = field(default_factory=dict)
    failure_start: dict[str, datetime] = field(default_factory=dict)

    def detect_minutes(self, line: str) -> float | None:
        """Minutes from a failing line's first zero to its first device alert."""
        alerted, failed = self.device_alert_at.get(line), self.failure_start.get(line)
        if alerted is None or failed is None:
            return None
        return (alerted - failed).total_seconds() / 60

    @property
    def min_lead_minutes(self) -> float | None:
        leads = list(self.lead_minutes_per_zone.values())
        if not leads or any(lead is None for lead in leads):
            return None
        return min(lead for lead in leads if lead is not None)


def evaluate(
    seed: int = 7,
    *,
    from_hour: float = 0.0,
    to_hour: float = 24.0,
    workspace: Path | None = None,
    difficulty: Difficulty = "standard",
) -> CrowdEvalResult:
    """Run the crowd rule over one simulated fair day (hours of DAY) and score it."""
    if workspace is None:
        with tempfile.TemporaryDirectory(prefix="zhian-crowd-eval-") as folder:
            return _run(seed, from_hour, to_hour, Path(folder) / "workspace", difficulty)
    return _run(seed, from_hour, to_hour, workspace, difficulty)


def _run(
    seed: int, from_hour: float, to_hour: float, workspace: Path, difficulty: Difficulty
) -> CrowdEvalResult:
    district = with_temple_fair(build_district(seed=seed, scale=0.1))
    start = DAY + timedelta(hours=from_hour)
    end = DAY + timedelta(hours=to_hour)
    scenarios: list[type[Scenario]] = [TempleFair, CountingLineDrift]
    if difficulty == "hard":  # only the crowd noise: the rest of the hard day is not read
        scenarios += [WeddingCrowd, CountingLineFails]
    simulation = Simulation(district, start=start, end=end, seed=seed, scenarios=scenarios)
    clock = ManualClock(start)
    first_warning: dict[str, datetime] = {}
    device_alerts: dict[str, datetime] = {}
    total = 0
    settings = load_settings(workspace, log={"fsync": False})
    with Node.open(settings, clock, feed=False) as node:
        folder = workspace / "masterdata"
        district.write_csv(folder)
        # Cards and plates are sealed on import with the node's key ring (#12).
        import_paths(
            node.db, sorted(folder.glob("*.csv")), identity=node.governance.require_sealer()
        )
        with node.db.session() as session:
            DeviceService(session).issue_tokens(
                [str(r["id"]) for r in district.tables["devices"]], now=clock.now()
            )
            CrowdDataService(session).put_flow_points(
                [FlowPointIn.model_validate(row) for row in fair_flow_points()]
            )
        node.refresh_directory()
        engine = node.rule_engine
        chunk: list[Event] = []
        minute_end = start + timedelta(minutes=1)

        def tick() -> None:
            nonlocal total
            clock.set(minute_end)
            if chunk:
                result = node.intake.submit_events(chunk, source="sim")
                if result.rejected:
                    raise RuntimeError(f"the intake refused {result.rejected} crowd events")
                total += len(chunk)
                chunk.clear()
            engine.drain()
            engine.evaluate(minute_end)
            with node.alerts() as alerts:
                page = alerts.list_alerts(
                    AlertFilter(kind=CROWD_KIND, is_open=True),
                    scope=JurisdictionScope.unscoped(),
                    per_page=500,
                )
            for alert in page.items:
                if alert.tier in WARNING_TIERS and alert.place_id is not None:
                    first_warning.setdefault(alert.place_id, minute_end)

        for event in simulation.events():
            if not isinstance(event, CrowdEvent):
                continue
            while event.time >= minute_end:
                tick()
                minute_end += timedelta(minutes=1)
            chunk.append(event)
        while minute_end <= end:
            tick()
            minute_end += timedelta(minutes=1)
        # Every device alert of the day, open or closed, on a crowd counter (the other
        # devices send nothing here and are offline by design).
        counters = {c.device_id for c in district.public.crowd_counters}
        with node.alerts() as alerts:
            for kind in DEVICE_KINDS:
                devices = alerts.list_alerts(
                    AlertFilter(kind=kind), scope=JurisdictionScope.unscoped(), per_page=500
                )
                for alert in devices.items:
                    if alert.device_id in counters:
                        first = device_alerts.get(alert.device_id, alert.created_at)
                        device_alerts[alert.device_id] = min(first, alert.created_at)
    crossings = {r.subject: r.start for r in simulation.truth if r.scenario == TEMPLE_FAIR_SURGE}
    crossings = {zone: at for zone, at in crossings.items() if start <= at < end}
    leads: dict[str, float | None] = {}
    for zone, crossed in crossings.items():
        warned = first_warning.get(zone)
        leads[zone] = (
            None if warned is None or warned > crossed else (crossed - warned).total_seconds() / 60
        )
    false = sorted((z, at) for z, at in first_warning.items() if z not in crossings)
    noise: dict[str, list[str]] = {}
    failure_start: dict[str, datetime] = {}
    for record in simulation.truth:
        if record.scenario in (WeddingCrowd.name, CountingLineFails.name):
            noise.setdefault(record.scenario, []).append(record.subject)
        if record.scenario == CountingLineFails.name:
            failure_start[record.subject] = record.start
    return CrowdEvalResult(
        leads, false, crossings, total, sorted(device_alerts), noise, device_alerts, failure_start
    )
