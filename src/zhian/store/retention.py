"""The event store's retention classes: its events by type, purged by event time."""

from __future__ import annotations

from typing import Final

from zhian.governance.retention_registry import (
    ClassOutcome,
    Prune,
    RetentionClass,
    RetentionRegistry,
    RetentionRun,
)
from zhian.store.events import EventStore
from zhian.store.maintenance import RetentionKeep

# Data class → (the event types it holds, the `governance` setting holding its days).
EVENT_CLASSES: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "face": (("face",), "face_days"),
    "passage": (("access", "vehicle"), "passage_days"),
    "heartbeat": (("heartbeat",), "heartbeat_days"),
    "alarm": (("alarm",), "alarm_days"),
    "crowd": (("crowd",), "crowd_days"),
}


def register_event_classes(registry: RetentionRegistry, store: EventStore) -> None:
    """Register one class per entry of `EVENT_CLASSES`, and the store as a log reader."""
    for name, (event_types, setting) in EVENT_CLASSES.items():
        registry.register(
            RetentionClass(
                name,
                "zhian.store",
                setting,
                _pruner(store, name, event_types, setting),
                description=f"stored {' and '.join(event_types)} events, by event time",
            )
        )


def _pruner(store: EventStore, name: str, event_types: tuple[str, ...], setting: str) -> Prune:
    def prune(run: RetentionRun) -> ClassOutcome:
        days, cutoff = run.cutoff(setting)
        kept = run.kept(name)
        # The store holds identifiers as tokens: holds and watchlists name the value.
        token = store.protector.token
        keep = RetentionKeep(
            device_ids=kept.device_ids,
            subject_refs=frozenset(token("subject", ref) for ref in kept.subject_refs)
            | kept.subject_tokens,
            plates=frozenset(token("plate", plate) for plate in kept.plates) | kept.plate_tokens,
            event_keys=kept.event_keys,
        )
        total = sum(store.delete_before(t, cutoff, dry_run=True) for t in event_types)
        removed = sum(
            store.delete_before(t, cutoff, keep, dry_run=run.dry_run) for t in event_types
        )
        return ClassOutcome(name, days, cutoff, removed, total - removed)

    return prune
