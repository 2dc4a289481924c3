"""Retention: per data class, data older than its period is purged from every store.

The data classes are registered by the domains that own them (`retention_registry`): the
event store's event classes, the quarantine and image blobs (ingest), the identifiers of
the vault and the audit log (governance). Whole segments of the durable intake log that
every named reader of the log has acknowledged go too (`_log_segments`). Legal holds, and
what registered keepers name (watchlist entries in force), keep their rows. A run (or a
dry run) counts per class what goes and what a hold keeps, and is itself audited.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from zhian.audit.service import Actor, AuditService
from zhian.errors import ConfigurationError
from zhian.governance.holds import LegalHoldRead, LegalHoldService
from zhian.governance.retention_registry import (
    ClassOutcome,
    KeptRefs,
    RetentionClass,
    RetentionRegistry,
    RetentionRun,
)
from zhian.governance.settings import GovernanceSettings
from zhian.governance.vault import purge_orphans
from zhian.ingest.service import duplicate_window, record_received_at
from zhian.ingest.settings import IntakeSettings
from zhian.kit.clock import Clock
from zhian.log.base import PrunableLog, SegmentInfo
from zhian.log.readers import slowest_reader
from zhian.store.identifiers import IdentifierProtector

logger = logging.getLogger(__name__)

RETENTION_ACTION = "retention.apply"
LOG_CLASS = "log"

__all__ = ["RETENTION_ACTION", "ClassOutcome", "RetentionReport", "RetentionService"]


def check_log_days(governance: GovernanceSettings, intake: IntakeSettings) -> None:
    """Refuse a log window shorter than the intake's duplicate window: a duplicate index
    lost or replaced is built again from the log, and a key pruned too early would then let
    a resent event in twice."""
    window = duplicate_window(intake)
    if timedelta(days=governance.log_days) < window:
        raise ConfigurationError(
            f"governance.log_days = {governance.log_days:g} is shorter than the intake's "
            f"duplicate window of {window / timedelta(days=1):.3f} days "
            "(intake.max_age_days + intake.max_future_seconds), which the durable log must "
            "cover. Raise governance.log_days or lower intake.max_age_days.",
            field="governance.log_days",
        )


@dataclass
class RetentionReport:
    dry_run: bool
    at: datetime
    outcomes: list[ClassOutcome] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return sum(outcome.removed for outcome in self.outcomes)

    def by_class(self) -> dict[str, ClassOutcome]:
        return {outcome.data_class: outcome for outcome in self.outcomes}


class RetentionService:
    """Applies the retention periods of `governance` settings to every class `registry`
    holds. The caller owns the transaction of the operational database; the event store,
    blobs and log change at once, so a run that fails half-way is simply run again.

    With `log` (and the `intake` settings that bound it) the durable intake log is pruned
    too, below the position every registered log reader has passed; without, the report
    has no `log` class.
    """

    def __init__(
        self,
        session: Session,
        *,
        registry: RetentionRegistry,
        settings: GovernanceSettings,
        clock: Clock,
        audit: AuditService,
        log: PrunableLog | None = None,
        intake: IntakeSettings | None = None,
    ) -> None:
        if log is not None:
            if intake is None:
                raise ValueError("pruning the log needs the intake settings (duplicate window)")
            check_log_days(settings, intake)
        self._session = session
        self._registry = registry
        self._settings = settings
        self._clock = clock
        self._audit = audit
        self._log = log
        self.holds = LegalHoldService(
            session, clock=clock, audit=audit, data_classes=registry.holdable()
        )

    def apply(self, actor: Actor, *, dry_run: bool = False) -> RetentionReport:
        """Purge (or with `dry_run` only count) everything past its retention."""
        now = self._clock.now()
        report = RetentionReport(dry_run=dry_run, at=now)
        run = RetentionRun(
            session=self._session,
            now=now,
            settings=self._settings,
            actor=actor,
            audit=self._audit,
            dry_run=dry_run,
            registry=self._registry,
            held=self._held,
        )
        for data_class in self._registry.classes:
            report.outcomes.append(data_class.prune(run))
        if self._log is not None:
            report.outcomes.append(self._log_segments(self._log, now, dry_run=dry_run))
        if not dry_run:
            self._audit.record(
                actor,
                RETENTION_ACTION,
                record_type="retention_run",
                purpose="retention",
                details={
                    outcome.data_class: {"removed": outcome.removed, "held": outcome.held}
                    for outcome in report.outcomes
                },
            )
        return report

    def _held(self, data_class: str) -> KeptRefs:
        """What the legal holds in force keep of `data_class`."""
        holds = self.holds.active(data_class)
        return KeptRefs(
            device_ids=frozenset(_refs(holds, "device")),
            subject_refs=frozenset(_refs(holds, "subject")),
            plates=frozenset(_refs(holds, "plate")),
            event_keys=frozenset(_refs(holds, "event")),
        )

    # --- the durable intake log ---------------------------------------------------------

    def _log_segments(self, log: PrunableLog, now: datetime, *, dry_run: bool) -> ClassOutcome:
        """Whole log segments, oldest first, that every named reader has acknowledged and
        whose newest record arrived before the window; never the segment appends go to.
        Counted in records (accepted batches)."""
        days = self._settings.log_days
        cutoff = now - timedelta(days=days)
        # The log's registry says who reads it (zhian.log.readers); none yet keeps it all.
        slowest = slowest_reader(log.readers)
        consumed = slowest.seq if slowest is not None else 0
        expired: list[SegmentInfo] = []
        for segment in log.segments():
            if segment.is_active or not _arrived_before(log, segment, cutoff):
                break
            if segment.last_seq > consumed:
                logger.warning(
                    "event log: records %d to %d are past governance.log_days but kept: %s",
                    segment.first_seq,
                    segment.last_seq,
                    "no reader of the log is registered"
                    if slowest is None
                    else f"log reader {slowest.name!r} has acknowledged only up to {consumed} "
                    f"(last at {slowest.updated_at:%Y-%m-%d %H:%M}; `zhian log drop-reader` "
                    "forgets a reader that will not come back)",
                )
                break
            expired.append(segment)
        removed = expired
        if expired and not dry_run:
            removed = log.prune_through(expired[-1].last_seq)
        return ClassOutcome(LOG_CLASS, days, cutoff, sum(segment.records for segment in removed))


# --- the classes governance owns ---------------------------------------------------------------


class IdentifierCensus(Protocol):
    """What the identifiers class asks of the store that holds the tokens."""

    @property
    def protector(self) -> IdentifierProtector: ...

    def writes_paused(self) -> AbstractContextManager[None]: ...

    def identifier_tokens(self) -> set[str]: ...


def identifiers_class(census: IdentifierCensus) -> RetentionClass:
    """Vault entries of identifiers no stored event nor any other domain's row holds any
    more; registered after the event classes, so it counts after their purge.

    The store is paused meanwhile, so no batch can bring back a token between the census
    and the delete; the purged tokens are forgotten before it resumes, so a later sighting
    seals its value anew (the insert waits for this transaction)."""

    def prune(run: RetentionRun) -> ClassOutcome:
        with census.writes_paused():
            held = census.identifier_tokens() | run.held_tokens()
            orphans = purge_orphans(run.session, held, dry_run=run.dry_run)
            if not run.dry_run:
                census.protector.forget(orphans)
        return ClassOutcome("identifiers", None, None, len(orphans))

    return RetentionClass(
        "identifiers",
        "zhian.governance",
        None,
        prune,
        holdable=False,
        description="sealed identifier values (vault) no stored row refers to",
    )


def audit_class() -> RetentionClass:
    """The audit log: a prefix of its chain older than `audit_days`, the chain kept
    verifiable (`AuditService.purge_before`)."""

    def prune(run: RetentionRun) -> ClassOutcome:
        days, cutoff = run.cutoff("audit_days")
        purged = run.audit.purge_before(cutoff, run.actor, dry_run=run.dry_run)
        return ClassOutcome("audit", days, cutoff, purged)

    return RetentionClass(
        "audit", "zhian.audit", "audit_days", prune, description="the audit log's entries"
    )


def _arrived_before(log: PrunableLog, segment: SegmentInfo, cutoff: datetime) -> bool:
    """Whether a segment's newest record reached the intake before `cutoff`.

    The intake stamps each record with its clock as it appends, so a segment's last record
    is its newest (the record's own time is kept rather than the file's, which a copy or a
    restore would change).
    """
    if segment.records < 1:
        return False
    found = log.read(segment.last_seq - 1, 1)
    if not found or found[0][0] != segment.last_seq:  # pruned meanwhile
        return False
    return record_received_at(found[0][1]) < cutoff


def _refs(holds: list[LegalHoldRead], kind: str) -> set[str]:
    return {hold.ref for hold in holds if hold.ref_kind == kind}
