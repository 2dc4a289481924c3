"""Ingest's retention classes: the quarantine (refused input) and image blobs no stored
event refers to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, delete, func, or_, select

from zhian.governance.retention_registry import (
    ClassOutcome,
    RetentionClass,
    RetentionRegistry,
    RetentionRun,
)
from zhian.ingest.quarantine.models import QuarantineItem


def register_ingest_classes(
    registry: RetentionRegistry, *, blob_dir: Path, image_refs: Callable[[], set[str]]
) -> None:
    """Register the quarantine, and the images under `blob_dir` (`image_refs`: every
    image reference a stored event still holds)."""
    registry.register(
        RetentionClass(
            "quarantine",
            "zhian.ingest",
            "quarantine_days",
            _prune_quarantine,
            description="refused input kept for replay, by arrival",
        )
    )
    registry.register(
        RetentionClass(
            "images",
            "zhian.ingest",
            None,
            lambda run: _prune_images(run, blob_dir, image_refs),
            description="image blobs no stored event refers to, after `image_grace_hours`",
        )
    )


def _prune_quarantine(run: RetentionRun) -> ClassOutcome:
    days, cutoff = run.cutoff("quarantine_days")
    held_devices = sorted(run.kept("quarantine").device_ids)
    expired = QuarantineItem.received_at < cutoff
    kept = QuarantineItem.device_id.in_(held_devices)
    unheld = or_(QuarantineItem.device_id.is_(None), ~kept) if held_devices else expired
    total = _count(run, expired)
    removed = _count(run, expired, unheld)
    if not run.dry_run:
        run.session.execute(delete(QuarantineItem).where(expired, unheld))
    return ClassOutcome("quarantine", days, cutoff, removed, total - removed)


def _count(run: RetentionRun, *conditions: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(QuarantineItem).where(*conditions)
    return int(run.session.scalar(query) or 0)


def _prune_images(
    run: RetentionRun, blob_dir: Path, image_refs: Callable[[], set[str]]
) -> ClassOutcome:
    """Blobs no stored event refers to, older than the grace period (an image is
    uploaded before the event that names it); run after the event classes."""
    cutoff = run.now - timedelta(hours=run.settings.image_grace_hours)
    referenced = image_refs()
    removed = 0
    for path, ref in _blobs(blob_dir):
        if ref in referenced:
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=run.now.tzinfo)
        if modified >= cutoff:
            continue
        removed += 1
        if not run.dry_run:
            path.unlink(missing_ok=True)
    return ClassOutcome("images", None, cutoff, removed)


def _blobs(directory: Path) -> Iterator[tuple[Path, str]]:
    """Image files under the blob folder, with their references (img:<sha256>.<ext>)."""
    if not directory.is_dir():
        return
    for path in directory.glob("*/*"):
        if path.suffix in (".jpg", ".png") and len(path.stem) == 64:
            yield path, f"img:{path.stem}{path.suffix}"
