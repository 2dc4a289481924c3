"""Evaluation against the simulator's ground truth: precision, recall, time to detect.

A district is simulated, its master data imported and its events sent through the real
in-process intake of a node in a temporary workspace; the models then run every few
simulated hours over what the store held by then, and their first alert per subject is
compared with what the simulator planted.
"""

from __future__ import annotations

import itertools
import math
import statistics
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from zhian.config import load_settings
from zhian.governance.keys import generate_keyring, key_file_path, write_keyring
from zhian.ingest.events import AccessEvent, FaceEvent, VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.models.base import BatchModel
from zhian.models.catalogue import MODELS
from zhian.models.faces import load_enrolled_faces
from zhian.models.master import TokenOf, load_master
from zhian.models.orm import WelfareOptin
from zhian.models.runner import prepare_run, run_models
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, Simulation, TruthRecord, build_district
from zhian.sim.hard import Difficulty
from zhian.sim.scenarios_housing import WELFARE_OPTIN
from zhian.store.identifiers import IdentifierKind

# The batch models read passages and captures only; heartbeats, alarms and crowd counts
# are left out of the evaluation's intake to keep it quick.
_MODEL_EVENTS = (AccessEvent, VehicleEvent, FaceEvent)
_CHUNK = 5000
# The normal quantile of a two-sided 95 % interval.
Z95 = 1.959964


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound near 0 and 1, where the bar is,
    unlike the normal approximation); (0, 1) when there were no trials."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` quantile by linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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
    # What the simulator had planted on the subject of each false alert ("unplanted" when
    # nothing): the scenarios that defeat the model.
    false_by_scenario: Counter[str] = field(default_factory=Counter)
    # What else the simulator had planted on the subjects of the missed situations (noise
    # that hid them, such as a family that moved within the community).
    missed_by_scenario: Counter[str] = field(default_factory=Counter)
    # Registry candidates by face (unregistered-resident model), over the alerts whose last
    # draft offered candidates or could have: those of someone the truth says is in the
    # registry at another address, and those of someone in no registry entry.
    candidate_cases: int = 0
    candidate_linked: int = 0  # ... with at least one face capture linked to the passages
    candidate_hits: int = 0  # ... with the true resident among the candidates
    no_entry_cases: int = 0
    no_entry_offered: int = 0  # ... offered any candidate at all (each one is wrong)

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.planted if self.planted else 1.0

    @property
    def top3_hit_rate(self) -> float | None:
        """Share of registered-elsewhere alerts whose resident is among the candidates."""
        return self.candidate_hits / self.candidate_cases if self.candidate_cases else None

    @property
    def false_candidate_rate(self) -> float | None:
        """Share of alerts of people in no registry entry that were offered a candidate."""
        return self.no_entry_offered / self.no_entry_cases if self.no_entry_cases else None

    @property
    def median_delay_hours(self) -> float | None:
        return statistics.median(self.delays_hours) if self.delays_hours else None

    @property
    def p90_delay_hours(self) -> float | None:
        return percentile(self.delays_hours, 0.9)

    @property
    def precision_interval(self) -> tuple[float, float]:
        """95 % Wilson interval of precision over every alert of every seed."""
        return wilson_interval(self.true_alerts, self.alerts)

    @property
    def recall_interval(self) -> tuple[float, float]:
        """95 % Wilson interval of recall over every planted situation of every seed."""
        return wilson_interval(self.detected, self.planted)

    def add(self, other: ModelScore) -> None:
        self.alerts += other.alerts
        self.true_alerts += other.true_alerts
        self.planted += other.planted
        self.detected += other.detected
        self.delays_hours += other.delays_hours
        self.false_subjects += other.false_subjects
        self.missed_subjects += other.missed_subjects
        self.false_by_scenario += other.false_by_scenario
        self.missed_by_scenario += other.missed_by_scenario
        self.candidate_cases += other.candidate_cases
        self.candidate_linked += other.candidate_linked
        self.candidate_hits += other.candidate_hits
        self.no_entry_cases += other.no_entry_cases
        self.no_entry_offered += other.no_entry_offered


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
    difficulty: Difficulty = "standard",
) -> dict[str, ModelScore]:
    """Simulate `days` days of a district, run the models on it, and score them."""
    begin = start or datetime(2026, 9, 1, tzinfo=TZ)
    end = begin + timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix="zhian-eval-", dir=workspace) as folder:
        settings = load_settings(Path(folder), models=model_settings or {}, log={"fsync": False})
        # A throwaway ring for a throwaway workspace: written here so that the node does not
        # warn, on every seed, to back up a key nobody will need again.
        write_keyring(key_file_path(settings.governance, Path(folder)), generate_keyring())
        clock = ManualClock(end.astimezone(UTC))
        with Node.open(settings, clock, feed=False) as node:
            district = build_district(seed=seed, scale=scale)
            csv_dir = Path(folder) / "masterdata"
            # Residents come with their enrolled face features, sealed by the node's keys.
            district.write_csv(csv_dir, face_features=True)
            sealer = node.governance.sealer
            import_paths(node.db, sorted(csv_dir.glob("*.csv")), identity=sealer)
            node.refresh_directory()
            simulation = Simulation(
                district, start=begin, end=end, seed=seed, difficulty=difficulty
            )
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
                master = load_master(session, node.store.protector.token)  # fixed
                faces = (
                    load_enrolled_faces(session, sealer, node.governance.audit(session))
                    if sealer is not None
                    else None
                )
            first_alert: dict[tuple[str, str], datetime] = {}
            last_figures: dict[tuple[str, str], dict[str, float | int | str]] = {}
            moment = begin + timedelta(hours=step_hours)
            while moment <= end:
                with node.db.session() as session:
                    run = prepare_run(
                        session, node.store, settings.models, moment, master, faces=faces
                    )
                for draft in run_models(run, models):
                    first_alert.setdefault((draft.rule, draft.subject), moment)
                    last_figures[(draft.rule, draft.subject)] = draft.figures
                moment += timedelta(hours=step_hours)
            tokens = node.store.protector.token
            scores = score(models, first_alert, truth, end, settings.models, step_hours, tokens)
            for model in models:
                score_candidates(scores[model.name], model, last_figures, truth, tokens)
            return scores


def score(
    models: Sequence[BatchModel],
    first_alert: dict[tuple[str, str], datetime],
    truth: list[TruthRecord],
    end: datetime,
    settings: Any,
    step_hours: float,
    tokens: TokenOf,
) -> dict[str, ModelScore]:
    """Match first alerts to planted truth, per model (truth names people and vehicles by
    their values; the alerts by the store's tokens)."""
    scores: dict[str, ModelScore] = {}
    slack = timedelta(hours=step_hours)
    for model in models:
        result = ModelScore(model.name)
        identifier: IdentifierKind | None = getattr(model, "identifier", None)
        planted = [
            msgspec.structs.replace(r, subject=stored_subject(r.subject, identifier, tokens))
            for r in truth
            if r.scenario == model.scenario
        ]
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
                for name in planted_on(subject, truth, identifier, tokens) or ["unplanted"]:
                    result.false_by_scenario[name] += 1
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
                others = planted_on(record.subject, truth, identifier, tokens)
                for name in [n for n in others if n != model.scenario]:
                    result.missed_by_scenario[name] += 1
        scores[model.name] = result
    return scores


def planted_on(
    subject: str, truth: list[TruthRecord], identifier: IdentifierKind | None, tokens: TokenOf
) -> list[str]:
    """The scenarios the truth planted on a subject: as the record's own subject, or as the
    house, door or one of the residents it names."""
    names = set()
    for record in truth:
        detail = record.detail
        named = {str(detail.get("house_id")), str(detail.get("door"))}
        named.update(str(r) for r in detail.get("residents", []) or [])
        if subject in named or stored_subject(record.subject, identifier, tokens) == subject:
            names.add(record.scenario)
    return sorted(names)


def stored_subject(subject: str, identifier: IdentifierKind | None, tokens: TokenOf) -> str:
    """A truth subject as the models name it: a plate or a `kind:ref` key tokenised."""
    if identifier == "plate":
        return tokens("plate", subject)
    if identifier == "subject":
        kind, _, ref = subject.partition(":")
        return f"{kind}:{tokens('subject', ref)}"
    return subject


def score_candidates(
    result: ModelScore,
    model: BatchModel,
    last_figures: dict[tuple[str, str], dict[str, float | int | str]],
    truth: list[TruthRecord],
    tokens: TokenOf,
) -> None:
    """Count the registry candidates of a model's alerts against the planted truth: for a
    subject the truth places in the registry elsewhere (`registered_resident`), a hit when
    that resident is among the candidates; for any other subject, each offer is wrong."""
    identifier: IdentifierKind | None = getattr(model, "identifier", None)
    registered: dict[str, str] = {}
    for record in truth:
        if record.scenario == model.scenario and "registered_resident" in record.detail:
            subject = stored_subject(record.subject, identifier, tokens)
            registered[subject] = str(record.detail["registered_resident"])
    for (rule, subject), figures in last_figures.items():
        if rule != model.name or "face_captures" not in figures:
            continue  # not a model that offers candidates, or no enrolled faces
        offered = {str(figures[f"candidate_{n}"]) for n in (1, 2, 3) if f"candidate_{n}" in figures}
        resident = registered.get(subject)
        if resident is None:
            result.no_entry_cases += 1
            result.no_entry_offered += bool(offered)
            continue
        result.candidate_cases += 1
        result.candidate_linked += int(figures["face_captures"]) > 0
        result.candidate_hits += resident in offered


def evaluate(
    seeds: Sequence[int],
    *,
    days: int,
    scale: float,
    step_hours: float = 6.0,
    model_settings: dict[str, Any] | None = None,
    difficulty: Difficulty = "standard",
) -> dict[str, ModelScore]:
    """Scores summed over several seeds."""
    total = {m.name: ModelScore(m.name) for m in MODELS}
    for seed in seeds:
        for name, result in evaluate_seed(
            seed,
            days=days,
            scale=scale,
            step_hours=step_hours,
            model_settings=model_settings,
            difficulty=difficulty,
        ).items():
            total[name].add(result)
    return total
