"""Exporting ferry packages from this node and importing them on the far side of a gateway."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import msgspec

from zhian.db.engine import Database
from zhian.errors import ZhianError
from zhian.ingest.events import Event, LoggedBatch
from zhian.ingest.ferry.models import FerryImport
from zhian.ingest.ferry.package import (
    MANIFEST_NAME,
    PackageRejected,
    VerifiedPackage,
    read_manifest,
    read_package_file,
    verify_package,
    write_package,
)
from zhian.ingest.ferry.repository import FerryImportRepository
from zhian.ingest.ferry.settings import FerrySettings
from zhian.ingest.images import ImageStore
from zhian.ingest.service import IntakeService, record_received_at
from zhian.ingest.settings import IntakeSettings
from zhian.ingest.validate import EventValidator, ItemRejected
from zhian.kit.clock import Clock
from zhian.log.base import EventLog
from zhian.store.events import EventStore

logger = logging.getLogger(__name__)

SOURCE = "ferry"
DONE_DIR = "done"
REJECTED_DIR = "rejected"
_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_LOGGED = msgspec.msgpack.Decoder(LoggedBatch)
_SHOWN_PROBLEMS = 5


class ExportWindowPrunedError(ZhianError):
    """The window starts before the oldest events the durable log still holds."""

    status_code = 409
    code = "ferry_window_pruned"

    def __init__(self, message: str, *, earliest: datetime) -> None:
        super().__init__(message, field="since")
        self.earliest = earliest


@dataclass(frozen=True)
class ExportedPackage:
    path: Path
    package_id: str
    events: int
    images: int


@dataclass(frozen=True)
class ImportReport:
    """What importing one package did."""

    package_id: str
    status: Literal["imported", "already imported"]
    events: int
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    images: int = 0


@dataclass(frozen=True)
class WatchOutcome:
    package: str
    report: ImportReport | None
    rejected_reason: str | None


class FerryService:
    """Writes the events of a time window as packages, and applies packages whole or not at all.

    Export takes what the event store still holds (retention has already removed what must
    go), in the content the durable log recorded; so only as far back as retention has left
    the log (`governance.log_days`), and a window reaching further back is refused.
    Import verifies everything first (manifest, sizes, hashes, every row, every event
    against the intake's rules); only a package that passes is submitted, through the one
    intake path, and recorded in `ferry_imports`.
    """

    def __init__(
        self,
        *,
        intake: IntakeService,
        images: ImageStore,
        db: Database,
        log: EventLog,
        store: EventStore,
        clock: Clock,
        settings: FerrySettings,
        intake_settings: IntakeSettings,
    ) -> None:
        self._intake = intake
        self._images = images
        self._db = db
        self._log = log
        self._store = store
        self._clock = clock
        self._settings = settings
        self._intake_settings = intake_settings

    # --- export ---------------------------------------------------------------------------

    def export(self, *, since: datetime, until: datetime, out_dir: Path) -> list[ExportedPackage]:
        """Events with `since <= time < until`, in packages of at most `max_events_per_package`."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        if until <= since:
            raise ValueError("until must lie after since")
        self._check_log_covers(since)
        out_dir.mkdir(parents=True, exist_ok=True)
        created_at = self._clock.now()
        run = f"{created_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"
        packages: list[ExportedPackage] = []
        batch: list[Event] = []
        limit = self._settings.max_events_per_package

        def flush() -> None:
            package_id = f"{run}-{len(packages) + 1:03d}"
            path = write_package(
                out_dir,
                package_id=package_id,
                created_at=created_at,
                since=since,
                until=until,
                events=batch,
                read_image=self._images.read,
            )
            manifest, _ = read_manifest(path)
            images = sum(1 for f in manifest.files if f.path.startswith("images/"))
            packages.append(ExportedPackage(path, package_id, len(batch), images))
            batch.clear()

        for event in self._events_between(since, until):
            batch.append(event)
            if len(batch) >= limit:
                flush()
        if batch:
            flush()
        return packages

    def earliest_exportable(self) -> datetime | None:
        """The earliest `since` the log can answer in full; None while nothing was pruned.

        A record pruned by retention arrived before the oldest record kept, and its events'
        times lie at most `max_future_seconds` after their arrival.
        """
        if self._log.first_seq <= 1:
            return None
        oldest = self._log.read(0, 1)
        kept_from = record_received_at(oldest[0][1]) if oldest else self._clock.now()
        return kept_from + timedelta(seconds=self._intake_settings.max_future_seconds)

    def _check_log_covers(self, since: datetime) -> None:
        # Exporting the part of the window the log still has would look complete and not be.
        earliest = self.earliest_exportable()
        if earliest is not None and since < earliest:
            raise ExportWindowPrunedError(
                f"events before {earliest.isoformat()} are no longer in the durable log "
                "(retention prunes it after governance.log_days); export a window starting "
                "at or after that time",
                earliest=earliest,
            )

    def _events_between(self, since: datetime, until: datetime) -> Iterator[Event]:
        stored: dict[str, dict[str, int]] = {}
        for _seq, record in self._log.iter_records():
            for event in _LOGGED.decode(record).events:
                if not since <= event.time < until:
                    continue
                ids = stored.get(event.device_id)
                if ids is None:
                    ids = stored[event.device_id] = self._store.event_id_counts(event.device_id)
                if event.id in ids:  # not removed by retention since
                    yield event

    # --- import ---------------------------------------------------------------------------

    def import_package(self, root: Path) -> ImportReport:
        """Verify a package completely, then apply it; raises `PackageRejected` with the reason.

        Nothing is submitted unless every check passed. Should the node stop half-way through
        submitting, importing again completes it: the intake reports what it already holds
        as duplicates, and the package is recorded only once all of it was answered.
        """
        manifest, manifest_sha256 = read_manifest(root)
        done = self._already_imported(manifest.package_id, manifest_sha256)
        if done is not None:
            return done
        package = verify_package(root, image_known=self._images.exists)
        self._check_events(package)
        self._save_images(package)
        accepted = duplicate = rejected = 0
        step = self._intake_settings.max_batch_items
        for offset in range(0, len(package.events), step):
            result = self._intake.submit_events(
                package.events[offset : offset + step], source=SOURCE
            )
            accepted += result.accepted
            duplicate += result.duplicate
            rejected += result.rejected
        report = ImportReport(
            manifest.package_id,
            "imported",
            events=len(package.events),
            accepted=accepted,
            duplicate=duplicate,
            rejected=rejected,
            images=len(package.images),
        )
        with self._db.session() as session:
            FerryImportRepository(session).add(
                FerryImport(
                    package_id=manifest.package_id,
                    manifest_sha256=manifest_sha256,
                    imported_at=self._clock.now(),
                    events=report.events,
                    accepted=accepted,
                    duplicate=duplicate,
                    rejected=rejected,
                    images=report.images,
                )
            )
        return report

    def recent_imports(self, limit: int = 50) -> list[FerryImport]:
        with self._db.session() as session:
            return FerryImportRepository(session).recent(limit)

    def _already_imported(self, package_id: str, manifest_sha256: str) -> ImportReport | None:
        with self._db.session() as session:
            row = FerryImportRepository(session).get(package_id)
            if row is None:
                return None
            if row.manifest_sha256 != manifest_sha256:
                raise PackageRejected(
                    f"package_id '{package_id}' was imported on {row.imported_at:%Y-%m-%d %H:%M} "
                    "UTC with a different manifest; a package id names one package only"
                )
            return ImportReport(package_id, "already imported", events=row.events)

    def _check_events(self, package: VerifiedPackage) -> None:
        """Every event against the intake's own rules, before any is submitted."""
        validator = EventValidator(
            max_future_seconds=self._intake_settings.max_future_seconds,
            max_age_days=self._intake_settings.max_age_days,
        )

        def image_exists(ref: str) -> bool:
            return ref in package.images or self._images.exists(ref)

        checked = validator.check_batch(
            list(package.events),
            directory=self._intake.directory,
            sender_id=None,
            now=self._clock.now(),
            image_exists=image_exists,
        )
        problems = [
            (
                f"events/{_tag(event)}.csv",
                f"event '{event.id}' of '{event.device_id}': "
                + "; ".join(f"{e.field}: {e.reason}" for e in verdict.errors),
            )
            for event, verdict in zip(package.events, checked, strict=True)
            if isinstance(verdict, ItemRejected)
        ]
        if problems:
            shown = "; ".join(text for _file, text in problems[:_SHOWN_PROBLEMS])
            more = len(problems) - _SHOWN_PROBLEMS
            raise PackageRejected(
                f"{len(problems)} of {len(package.events)} events would be refused by the "
                f"intake: {shown}" + (f"; and {more} more" if more > 0 else ""),
                file=problems[0][0],
            )

    def _save_images(self, package: VerifiedPackage) -> None:
        # Content-addressed blobs: saving one is idempotent, and an image no event refers to
        # (the package is refused after this) is removed by retention's image sweep.
        for ref, path in sorted(package.images.items()):
            name = path.relative_to(package.root).as_posix()
            data = read_package_file(package.root, name)
            try:
                saved = self._images.save(data, _CONTENT_TYPES[ref.rsplit(".", 1)[1]])
            except ZhianError as exc:
                raise PackageRejected(str(exc), file=name) from None
            if saved != ref:
                raise PackageRejected(f"changed since it was verified ({saved})", file=name)

    # --- watch ----------------------------------------------------------------------------

    def watch_once(self, directory: Path) -> list[WatchOutcome]:
        """Import every complete package in `directory`; move it to done/ or rejected/.

        A package is complete once its manifest is there (exporters and gateways write it
        last). A refused package goes to rejected/ with `<name>.reason.txt` beside it; one
        that failed for another reason (the database is down) stays for the next look.
        """
        outcomes: list[WatchOutcome] = []
        for root in sorted(directory.iterdir()):
            if (
                not root.is_dir()
                or root.name.startswith(".")
                or root.name in (DONE_DIR, REJECTED_DIR)
                or not (root / MANIFEST_NAME).is_file()
            ):
                continue
            try:
                report = self.import_package(root)
            except PackageRejected as exc:
                target = _move(root, directory / REJECTED_DIR)
                reason = str(exc)
                target.with_name(target.name + ".reason.txt").write_text(
                    reason + "\n", encoding="utf-8"
                )
                outcomes.append(WatchOutcome(root.name, None, reason))
                continue
            except Exception:
                logger.exception("ferry package %s could not be imported now; retrying later", root)
                continue
            _move(root, directory / DONE_DIR)
            outcomes.append(WatchOutcome(root.name, report, None))
        return outcomes


def _tag(event: Event) -> str:
    return str(type(event).__struct_config__.tag)


def _move(root: Path, target_dir: Path) -> Path:
    target_dir.mkdir(exist_ok=True)
    target = target_dir / root.name
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        n += 1
        target = target_dir / f"{root.name}.{n}"
    shutil.move(root, target)
    return target
