"""Runs the batch models periodically inside a node and hands their drafts to the alerts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from zhian.alerts.service import AlertService
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop
from zhian.models.faces import audit_capture_reads, load_enrolled_faces
from zhian.models.runner import prepare_run, run_models
from zhian.models.settings import ModelSettings
from zhian.store.events import EventStore
from zhian.store.queries import EventQueries

logger = logging.getLogger(__name__)


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

    def run_once(self) -> list[int]:
        """Run every model now; returns the ids of the alerts raised or updated."""
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
                self._clock.now(),
                faces=faces,
                queries=self._queries,
            )
        drafts = run_models(run)
        if self._governance is not None:  # the capture features the run opened, if any
            with self._db.session() as session:
                audit_capture_reads(run, self._governance.audit(session))
        with self._alerts() as alerts:
            return alerts.raise_drafts(drafts)

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
