"""A node's retention registry, assembled from every domain that keeps data for a while
(the composition root's part: governance runs retention without importing the domains)."""

from __future__ import annotations

from pathlib import Path

from zhian.alerts.retention import register_alert_tokens
from zhian.governance.retention import audit_class, identifiers_class
from zhian.governance.retention_registry import RetentionRegistry
from zhian.ingest.retention import register_ingest_classes
from zhian.store.events import EventStore
from zhian.store.retention import register_event_classes
from zhian.watchlists.retention import register_watchlist_keeper


def node_retention_registry(store: EventStore, blob_dir: Path) -> RetentionRegistry:
    """Every retention class of a node, in the order a run prunes them: the events
    first, then what only they referred to (identifiers, images), the quarantine, and the
    audit log last."""
    registry = RetentionRegistry()
    register_event_classes(registry, store)
    registry.register(identifiers_class(store))
    register_ingest_classes(registry, blob_dir=blob_dir, image_refs=store.image_refs)
    registry.register(audit_class())
    register_watchlist_keeper(registry)
    register_alert_tokens(registry)
    return registry
