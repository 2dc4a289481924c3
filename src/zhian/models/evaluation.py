"""Evaluation against the simulator's ground truth: precision, recall, time to detect.

A district is simulated, its master data imported and its events sent through the real
in-process intake of a node in a temporary workspace; the models then run every few
simulated hours over what the store held by then, and their first alert per subject is
compared with what the simulator planted.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zhian.config import load_settings
from zhian.ingest.events import AccessEvent, FaceEvent, VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.models.base import BatchModel
from zhian.models.catalogue import MODELS
from zhian.models.master import load_master
from zhian.models.orm import WelfareOptin
from zhian.models.runner import prepare_run, run_models
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, Simulation, TruthRecord, build_district
from zhian.sim.scenarios_housing import WELFARE_OPTIN

# The batch models read passages and captures only; heartbeats, alarms and crowd counts
# are left out of the evaluation's intake to keep it quick.
_MODEL_EVENTS = (AccessEvent, VehicleEvent, FaceEvent)
_CHUNK = 5000


@dataclass
class ModelScore:
    """One model's results over one or more simulated streams."""

    model: str
    alerts: int = 0  # distinct subjects alerted
    true_alerts: int = 0
    planted: int = 0  # situations the stream let the model see
    detected: int = 0
    delays_hours: list[float] = field(default_factory=list)
    false_subjects: list[str] = field(default_factory=list)
    missed_subjects: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.planted if self.planted else 1.0

    @property
    def median_delay_hours(self) -> float | None:
        return statistics.median(self.delays_hours) if self.delays_hours else None

    def add(self, other: ModelScore) -> None:
        self.alerts += other.alerts
        self.true_alerts += other.true_alerts
        self.planted += other.planted
        self.detected += other.detected
        self.delays_hours += other.delays_hours
        self.false_subjects += other.false_subjects
        self.missed_subjects += other.missed_subjects


def evaluate_seed(
    seed: int,
    *,
    days: int,
    scale: float,
    step_hours: float = 6.0,
    start: datetime | None = None,
    models: Sequence[BatchModel] = MODELS,
    model_settings: dict[str, Any] | None = None,
    workspace: Path | None = None,
) -> dict[str, ModelScore]:
    """Simulate `days` days of a district, run the models on it, and score them."""
    begin = start or datetime(2026, 9, 1, tzinfo=TZ)
    end = begin + timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix="zhian-eval-", dir=workspace) as folder:
        settings = load_settings(Path(folder), models=model_settings or {}, log={"fsync": False})
        clock = ManualClock(end.astimezone(UTC))
        with Node.open(settings, clock, feed=False) as node:
            district = build_district(seed=seed, scale=scale)
            csv_dir = Path(folder) / "masterdata"
            district.write_csv(csv_dir)
            import_paths(node.db, sorted(csv_dir.glob("*.csv")))
            node.refresh_directory()
            simulation = Simulation(district, start=begin, end=end, seed=seed)
            events = (e for e in simulation.events() if isinstance(e, _MODEL_EVENTS))
            while chunk := list(itertools.islice(events, _CHUNK)):
                node.intake.submit_events(chunk, source="sim")
                while node.feeder.feed_once():
                    pass
            truth = simulation.truth
            with node.db.session() as session:
                for record in truth:
                    if record.scenario == WELFARE_OPTIN:
                        session.add(
                            WelfareOptin(
                                resident_id=record.subject,
                                requested_by=str(record.detail.get("requested_by", "self")),
                                since=record.start,
                            )
                        )
            with node.db.session() as session:
                master = load_master(session)  # fixed for the whole stream
            first_alert: dict[tuple[str, str], datetime] = {}
            moment = begin + timedelta(hours=step_hours)
            while moment <= end:
                with node.db.session() as session:
                    run = prepare_run(session, node.store, settings.models, moment, master)
                for draft in run_models(run, models):
                    first_alert.setdefault((draft.rule, draft.subject), moment)
                moment += timedelta(hours=step_hours)
            return score(models, first_alert, truth, end, settings.models, step_hours)


def score(
    models: Sequence[BatchModel],
    first_alert: dict[tuple[str, str], datetime],
    truth: list[TruthRecord],
    end: datetime,
    settings: Any,
    step_hours: float,
) -> dict[str, ModelScore]:
    """Match first alerts to planted truth, per model."""
    scores: dict[str, ModelScore] = {}
    slack = timedelta(hours=step_hours)
    for model in models:
        result = ModelScore(model.name)
        planted = [r for r in truth if r.scenario == model.scenario]
        alerts = {s: t for (rule, s), t in first_alert.items() if rule == model.name}
        result.alerts = len(alerts)
        by_subject: dict[str, list[TruthRecord]] = {}
        for record in planted:
            by_subject.setdefault(record.subject, []).append(record)
        for subject, at in alerts.items():
            records = by_subject.get(subject, [])
            if any(r.start - slack <= at for r in records):
                result.true_alerts += 1
            else:
                result.false_subjects.append(subject)
        delay = model.min_delay(settings)
        for record in planted:
            if record.start + delay + slack > end:
                continue  # the stream ends before the model could see it
            result.planted += 1
            seen = alerts.get(record.subject)
            if seen is not None and seen >= record.start - slack:
                result.detected += 1
                hours = (seen - record.start).total_seconds() / 3600
                result.delays_hours.append(max(0.0, hours))
            else:
                result.missed_subjects.append(record.subject)
        scores[model.name] = result
    return scores


def evaluate(
    seeds: Sequence[int],
    *,
    days: int,
    scale: float,
    step_hours: float = 6.0,
    model_settings: dict[str, Any] | None = None,
) -> dict[str, ModelScore]:
    """Scores summed over several seeds."""
    total = {m.name: ModelScore(m.name) for m in MODELS}
    for seed in seeds:
        for name, result in evaluate_seed(
            seed, days=days, scale=scale, step_hours=step_hours, model_settings=model_settings
        ).items():
            total[name].add(result)
    return total
