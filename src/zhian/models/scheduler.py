"""Runs the batch models periodically inside a node and hands their drafts to the alerts."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from zhian.alerts.service import AlertService
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.kit.clock import Clock
from zhian.kit.histogram import Histogram, HistogramState
from zhian.kit.loops import BackgroundLoop
from zhian.models.base import BatchModel
from zhian.models.catalogue import MODELS
from zhian.models.faces import audit_capture_reads, load_enrolled_faces
from zhian.models.runner import (
    ModelOutcome,
    ModelProgress,
    ModelRunReport,
    prepare_run,
    run_models,
)
from zhian.models.settings import ModelSettings
from zhian.store.events import EventStore
from zhian.store.queries import EventQueries

logger = logging.getLogger(__name__)

# Seconds one model takes: tenths on DuckDB at 10^6 events, up to a minute on Spark at 10^8.
RUN_SECONDS_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


class ModelTimes:
    """Each model's run times (its queries and its own work, not the run's preparation),
    since the process started."""

    def __init__(self) -> None:
        self._by_model: dict[str, Histogram] = {}
        self._lock = threading.Lock()

    def observe(self, model: str, seconds: float) -> None:
        with self._lock:
            histogram = self._by_model.setdefault(model, Histogram(RUN_SECONDS_BOUNDS))
        histogram.observe(seconds)

    def states(self) -> dict[str, HistogramState]:
        with self._lock:
            models = dict(self._by_model)
        return {name: histogram.state() for name, histogram in sorted(models.items())}


class ModelScheduler:
    """Every `interval_minutes`, one run of every model; drafts whose alert is still open
    update it (the alert service merges by key), so a standing situation is one alert.

    With `governance` holding a key ring, each run opens residents' enrolled face features
    (audited) for the unregistered-resident model's registry candidates; the capture
    features a run opens are audited once it has run."""

    def __init__(
        self,
        db: Database,
        store: EventStore,
        alerts: Callable[[], AbstractContextManager[AlertService]],
        clock: Clock,
        settings: ModelSettings,
        governance: Governance | None = None,
        queries: EventQueries | None = None,
    ) -> None:
        self._db = db
        self._queries = queries  # the batch engine's; None: the store's own
        self._governance = governance
        self._store = store
        self._alerts = alerts
        self._clock = clock
        self._settings = settings
        self._loop = BackgroundLoop(
            "models",
            self._run_in_loop,
            interval_seconds=settings.interval_minutes * 60,
            wait_first=True,
            logger=logger,
        )
        self.last_error: Exception | None = None
        # One run at a time: the periodic loop and `zhian models run` sent to this node
        # would otherwise both raise a situation's first alert, as two alerts.
        self._running = threading.Lock()
        self.times = ModelTimes()

    def run_once(self) -> list[int]:
        """Run every model now; returns the ids of the alerts raised or updated."""
        return self.run().alert_ids

    def run(
        self,
        as_of: datetime | None = None,
        models: Sequence[BatchModel] = MODELS,
        progress: ModelProgress | None = None,
    ) -> ModelRunReport:
        """One run of `models` over the store as of `as_of` (now by default): the path both
        the periodic loop and `zhian models run` take."""
        with self._running:
            return self._run(as_of or self._clock.now(), models, progress)

    def _run(
        self, now: datetime, models: Sequence[BatchModel], progress: ModelProgress | None
    ) -> ModelRunReport:
        with self._db.session() as session:
            sealer = self._governance.sealer if self._governance is not None else None
            faces = (
                load_enrolled_faces(session, sealer, self._governance.audit(session))
                if self._governance is not None and sealer is not None
                else None
            )
            run = prepare_run(
                session,
                self._store,
                self._settings,
                now,
                faces=faces,
                queries=self._queries,
            )
        started = time.perf_counter()

        def timed(name: str, made: int) -> None:
            nonlocal started
            finished = time.perf_counter()
            self.times.observe(name, finished - started)
            started = finished
            if progress is not None:
                progress(name, made)

        drafts = run_models(run, models, timed)
        if self._governance is not None:  # the capture features the run opened, if any
            with self._db.session() as session:
                audit_capture_reads(run, self._governance.audit(session))
        with self._alerts() as alerts:
            alert_ids = alerts.raise_drafts(drafts)
        made = Counter(d.rule for d in drafts)
        outcomes = [ModelOutcome(m.name, made[m.name]) for m in models]
        return ModelRunReport(as_of=now, outcomes=outcomes, alert_ids=alert_ids)

    def start(self) -> None:
        if not self._settings.enabled or self._loop.is_running:
            return
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _run_in_loop(self) -> None:
        try:
            self.run_once()
        except Exception as exc:  # logged by the loop, which tries again; a page shows it
            self.last_error = exc
            raise
        self.last_error = None
