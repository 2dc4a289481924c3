"""The daily retention run inside the node that owns the event store (one writer per file)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta, timezone

from zhian.audit.service import Actor
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.governance.retention import (
    RETENTION_ACTION,
    RetentionReport,
    RetentionService,
    check_log_days,
)
from zhian.governance.retention_registry import RetentionRegistry
from zhian.governance.settings import GovernanceSettings
from zhian.ingest.settings import IntakeSettings
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop
from zhian.log.base import PrunableLog

logger = logging.getLogger(__name__)

SCHEDULER_ACTOR = Actor.system("retention-scheduler")


def scheduled_at(now: datetime, hour: int, zone: timezone) -> datetime:
    """Today's run time (local `hour`:00 in `zone`) as seen from `now`."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(hour), tzinfo=zone)


class RetentionScheduler:
    """Runs `RetentionService.apply` once a day at `governance.retention_hour` (local time).

    The first run after start-up is the next scheduled hour, unless the audit log shows no
    run since the last one that was due (a node down at 03:00 catches up when it is back).
    A run that fails is logged and tried again at the next poll. Given the node's `log`,
    a run prunes it too; a log window shorter than the intake's duplicate window is
    refused here, at start-up, rather than at the first run.
    """

    def __init__(
        self,
        *,
        db: Database,
        registry: RetentionRegistry,
        settings: GovernanceSettings,
        governance: Governance,
        clock: Clock,
        zone: timezone,
        poll_seconds: float = 60.0,
        log: PrunableLog | None = None,
        intake: IntakeSettings | None = None,
    ) -> None:
        if log is not None:
            if intake is None:
                raise ValueError("pruning the log needs the intake settings (duplicate window)")
            check_log_days(settings, intake)
        self._db = db
        self._log = log
        self._intake = intake
        self._registry = registry
        self._settings = settings
        self._governance = governance
        self._clock = clock
        self._zone = zone
        # A bad run must not end the daily job: the loop logs why and tries again later.
        self._loop = BackgroundLoop(
            "retention",
            self._tick_in_loop,
            interval_seconds=poll_seconds,
            wait_first=True,
            logger=logger,
        )
        self.last_run_at: datetime | None = None
        self.runs = 0

    def _due_slot(self, now: datetime) -> datetime:
        """The most recent scheduled time at or before `now`."""
        today = scheduled_at(now, self._settings.retention_hour, self._zone)
        return today if today <= now else today - timedelta(days=1)

    def recall(self) -> None:
        """Take the time of the last run from the audit log (or treat start-up as one)."""
        with self._db.session() as session:
            found = self._governance.audit(session).search(action=RETENTION_ACTION, limit=1)
        now = self._clock.now()
        if found:
            self.last_run_at = found[0].at
        elif self.last_run_at is None:
            # A node with no run on record waits for the next scheduled hour rather than
            # purging the moment it first starts.
            self.last_run_at = now

    def is_due(self, now: datetime) -> bool:
        if not self._settings.retention_daily:
            return False
        if self.last_run_at is None:
            return True
        return self.last_run_at < self._due_slot(now)

    def tick(self) -> RetentionReport | None:
        """Run when due; the report of the run, or None when nothing was due."""
        now = self._clock.now()
        if not self.is_due(now):
            return None
        return self.run_now()

    def run_now(self) -> RetentionReport:
        """Apply retention now, in one transaction with its audit entry."""
        with self._db.session() as session:
            report = RetentionService(
                session,
                registry=self._registry,
                settings=self._settings,
                clock=self._clock,
                audit=self._governance.audit(session),
                log=self._log,
                intake=self._intake,
            ).apply(SCHEDULER_ACTOR)
        self.last_run_at = report.at
        self.runs += 1
        logger.info("retention run removed %d items", report.removed)
        return report

    def start(self) -> None:
        if self._loop.is_running or not self._settings.retention_daily:
            return
        self.recall()
        self._loop.start()

    def poke(self) -> None:
        """Look at the clock now rather than at the next poll (after a clock change)."""
        self._loop.wake()

    def stop(self) -> None:
        self._loop.stop(timeout_seconds=30)

    def _tick_in_loop(self) -> None:
        self.tick()
