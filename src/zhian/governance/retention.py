"""Retention: per data class, data older than its period is purged from every store.

Stores: the event store (by event time), the quarantine and the audit log (operational
database), image blobs no kept event refers to, and whole segments of the durable intake
log that every named reader of the log has acknowledged. Legal holds, and watchlist entries
in force, keep what they name. A run (or a dry run) counts per class what goes and what a
hold keeps, and is itself audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from zhian.alerts.repository import AlertRepository
from zhian.audit.service import Actor, AuditService
from zhian.config import GovernanceSettings, IntakeSettings
from zhian.errors import ConfigurationError
from zhian.governance.holds import LegalHoldRead, LegalHoldService
from zhian.governance.vault import purge_orphans
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.ingest.service import duplicate_window, record_received_at
from zhian.kit.clock import Clock
from zhian.log.base import PrunableLog, SegmentInfo
from zhian.log.readers import slowest_reader
from zhian.store.events import EventStore, RetentionKeep
from zhian.watchlists.models import WatchlistEntry

logger = logging.getLogger(__name__)

# Event-store classes: name → (event types, setting holding its days).
EVENT_CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "face": (("face",), "face_days"),
    "passage": (("access", "vehicle"), "passage_days"),
    "heartbeat": (("heartbeat",), "heartbeat_days"),
    "alarm": (("alarm",), "alarm_days"),
    "crowd": (("crowd",), "crowd_days"),
}
DATA_CLASSES: tuple[str, ...] = (*EVENT_CLASSES, "quarantine", "audit", "images", "log")
# The log is pruned by whole segments and only once the event store holds its events, and
# the store is where holds keep them: a hold on the log would only stop all pruning.
HOLDABLE_CLASSES: tuple[str, ...] = tuple(name for name in DATA_CLASSES if name != "log")
RETENTION_ACTION = "retention.apply"


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


@dataclass(frozen=True)
class ClassOutcome:
    """One data class in a run: what went (or would go) and what a hold kept."""

    data_class: str
    retention_days: float | None
    cutoff: datetime | None
    removed: int
    held: int = 0


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
    """Applies the retention periods of `governance` settings. The caller owns the
    transaction of the operational database; the event store, blobs and log change at
    once, so a run that fails half-way is simply run again.

    With `log` (and the `intake` settings that bound it) the durable intake log is pruned
    too; without, the report has no `log` class.
    """

    def __init__(
        self,
        session: Session,
        *,
        store: EventStore,
        blob_dir: Path,
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
        self._store = store
        self._blob_dir = blob_dir
        self._settings = settings
        self._clock = clock
        self._audit = audit
        self._log = log
        self.holds = LegalHoldService(
            session, clock=clock, audit=audit, data_classes=HOLDABLE_CLASSES
        )

    def apply(self, actor: Actor, *, dry_run: bool = False) -> RetentionReport:
        """Purge (or with `dry_run` only count) everything past its retention."""
        now = self._clock.now()
        report = RetentionReport(dry_run=dry_run, at=now)
        for name, (event_types, setting) in EVENT_CLASSES.items():
            days: float = getattr(self._settings, setting)
            cutoff = now - timedelta(days=days)
            keep = self._keep(name)
            count = self._purge_events(event_types, cutoff, RetentionKeep(), dry_run=True)
            removed = self._purge_events(event_types, cutoff, keep, dry_run=dry_run)
            report.outcomes.append(ClassOutcome(name, days, cutoff, removed, count - removed))
        report.outcomes.append(self._identifiers(dry_run=dry_run))
        report.outcomes.append(self._quarantine(now, dry_run=dry_run))
        report.outcomes.append(self._images(now, dry_run=dry_run))
        if self._log is not None:
            report.outcomes.append(self._log_segments(self._log, now, dry_run=dry_run))
        audit_cutoff = now - timedelta(days=self._settings.audit_days)
        purged = self._audit.purge_before(audit_cutoff, actor, dry_run=dry_run)
        report.outcomes.append(
            ClassOutcome("audit", self._settings.audit_days, audit_cutoff, purged)
        )
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

    # --- the stores ---------------------------------------------------------------------

    def _purge_events(
        self, event_types: tuple[str, ...], cutoff: datetime, keep: RetentionKeep, *, dry_run: bool
    ) -> int:
        return sum(
            self._store.delete_before(event_type, cutoff, keep, dry_run=dry_run)
            for event_type in event_types
        )

    def _keep(self, data_class: str) -> RetentionKeep:
        holds = self.holds.active(data_class)
        subjects = _refs(holds, "subject")
        plates = _refs(holds, "plate")
        # Captures and passages of people and vehicles on a watchlist in force stay as long
        # as the entry: they are the evidence the entry exists for.
        if data_class in ("face", "passage"):
            watched_subjects, watched_plates = self._watchlisted()
            subjects |= watched_subjects
            plates |= watched_plates
        # The store holds identifiers as tokens: a hold names the value.
        token = self._store.protector.token
        return RetentionKeep(
            device_ids=frozenset(_refs(holds, "device")),
            subject_refs=frozenset(token("subject", ref) for ref in subjects),
            plates=frozenset(token("plate", plate) for plate in plates),
            event_keys=frozenset(_refs(holds, "event")),
        )

    def _watchlisted(self) -> tuple[set[str], set[str]]:
        now = self._clock.now()
        rows = self._session.execute(
            select(WatchlistEntry.subject_ref, WatchlistEntry.plate)
            .where(WatchlistEntry.withdrawn_at.is_(None))
            .where(WatchlistEntry.expires_at > now)
        )
        subjects: set[str] = set()
        plates: set[str] = set()
        for subject_ref, plate in rows:
            if subject_ref:
                subjects.add(subject_ref)
            if plate:
                plates.add(plate)
        return subjects, plates

    def _identifiers(self, *, dry_run: bool) -> ClassOutcome:
        """Vault entries of identifiers no stored event or alert holds any more (after the
        purge).

        The store is paused meanwhile, so no batch can bring back a token between the
        census and the delete; the purged tokens are forgotten before it resumes, so a
        later sighting seals its value anew (the insert waits for this transaction)."""
        with self._store.writes_paused():
            # Alerts outlive passages (3 years against 180 days): a watchlist-plate alert's
            # token must still open for an audited reveal, so it holds its vault entry too.
            held = self._store.identifier_tokens() | AlertRepository(self._session).plate_tokens()
            orphans = purge_orphans(self._session, held, dry_run=dry_run)
            if not dry_run:
                self._store.protector.forget(orphans)
        return ClassOutcome("identifiers", None, None, len(orphans))

    def _quarantine(self, now: datetime, *, dry_run: bool) -> ClassOutcome:
        days = self._settings.quarantine_days
        cutoff = now - timedelta(days=days)
        held_devices = sorted(_refs(self.holds.active("quarantine"), "device"))
        expired = QuarantineItem.received_at < cutoff
        kept = QuarantineItem.device_id.in_(held_devices)
        unheld = or_(QuarantineItem.device_id.is_(None), ~kept) if held_devices else expired
        total = self._count(QuarantineItem, expired)
        removed = self._count(QuarantineItem, expired, unheld)
        if not dry_run:
            self._session.execute(delete(QuarantineItem).where(expired, unheld))
        return ClassOutcome("quarantine", days, cutoff, removed, total - removed)

    def _count(self, model: type[QuarantineItem], *conditions: object) -> int:
        query = select(func.count()).select_from(model).where(*conditions)  # type: ignore[arg-type]
        return int(self._session.scalar(query) or 0)

    def _images(self, now: datetime, *, dry_run: bool) -> ClassOutcome:
        """Blobs no stored event refers to, older than the grace period (an image is
        uploaded before the event that names it)."""
        grace = timedelta(hours=self._settings.image_grace_hours)
        cutoff = now - grace
        referenced = self._store.image_refs()
        removed = 0
        for path, ref in _blobs(self._blob_dir):
            if ref in referenced:
                continue
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=now.tzinfo)
            if modified >= cutoff:
                continue
            removed += 1
            if not dry_run:
                path.unlink(missing_ok=True)
        return ClassOutcome("images", None, cutoff, removed)

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
        return ClassOutcome("log", days, cutoff, sum(segment.records for segment in removed))


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


def _blobs(directory: Path) -> Iterator[tuple[Path, str]]:
    """Image files under the blob folder, with their references (img:<sha256>.<ext>)."""
    if not directory.is_dir():
        return
    for path in directory.glob("*/*"):
        if path.suffix in (".jpg", ".png") and len(path.stem) == 64:
            yield path, f"img:{path.stem}{path.suffix}"
