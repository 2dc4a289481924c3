"""What watchlists keep from retention: the captures and passages of the people and
vehicles on an entry in force are the evidence the entry exists for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.governance.retention_registry import KeptRefs, RetentionRegistry
from zhian.watchlists.models import WatchlistEntry

# The event-store classes that hold what a watchlist entry names.
KEPT_CLASSES = ("face", "passage")


def register_watchlist_keeper(registry: RetentionRegistry) -> None:
    registry.keep(KEPT_CLASSES, watched)


def watched(session: Session, now: datetime) -> KeptRefs:
    """The subject references and plates (as tokens: the entry holds neither in clear) of
    every entry neither withdrawn nor expired."""
    rows = session.execute(
        select(WatchlistEntry.subject_token, WatchlistEntry.plate_token)
        .where(WatchlistEntry.withdrawn_at.is_(None))
        .where(WatchlistEntry.expires_at > now)
    )
    subjects: set[str] = set()
    plates: set[str] = set()
    for subject, plate in rows:
        if subject:
            subjects.add(subject)
        if plate:
            plates.add(plate)
    return KeptRefs(subject_tokens=frozenset(subjects), plate_tokens=frozenset(plates))
