"""Orders that flow down (布控下发, 撤控), child side: the parent's watchlist entries applied
here as local entries, and hits on them reported back up under the parent's entry id."""

from __future__ import annotations

import logging
from typing import Final

from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertHistoryEntry
from zhian.cascade.models import ReceivedOrder
from zhian.cascade.repository import ChildDataRepository, ReceivedOrderRepository
from zhian.cascade.wire import AlertChange, Order
from zhian.db.engine import Database
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.watchlists.schemas import WatchlistEntryCreate
from zhian.watchlists.service import WatchlistService

logger = logging.getLogger(__name__)

# Entries applied from a parent's order have no local owner: the parent's owner is kept
# with the order (cascade_orders.parent_owner_user_id).
ORDER_OWNER_USER_ID: Final = 0


class OrderApplier:
    """Keeps the local watchlist in step with the orders the parent sends down."""

    def __init__(self, *, db: Database, clock: Clock, identity: IdentityProtector | None) -> None:
        self._db = db
        self._clock = clock
        self._identity = identity  # tokenises and seals the orders' identifiers here

    def apply(self, orders: list[Order]) -> int:
        """Add the orders not applied yet, withdraw those the parent withdrew; returns how
        many local entries changed. An order this node refuses (a malformed plate, say) is
        logged and skipped: the others still apply."""
        now = self._clock.now()
        changed = 0
        with self._db.session() as session:
            received = ReceivedOrderRepository(session)
            known = received.by_parent_entry()
            watchlists = WatchlistService(
                session,
                clock=self._clock,
                scope=JurisdictionScope.unscoped(),
                identity=self._identity,
            )
            for order in orders:
                row = known.get(order.entry_id)
                if order.withdrawn_at is None and row is None:
                    entry = _entry_of(order)
                    if entry is None:
                        continue
                    local = watchlists.add(entry, user_id=ORDER_OWNER_USER_ID)
                    received.add(
                        ReceivedOrder(
                            parent_entry_id=order.entry_id,
                            local_entry_id=local.id,
                            parent_owner_user_id=order.owner_user_id,
                            received_at=now,
                            withdrawn_at=None,
                        )
                    )
                    changed += 1
                elif order.withdrawn_at is not None and row is not None and not row.withdrawn_at:
                    reason = f"撤控 at the parent: {order.withdraw_reason or '-'}"
                    watchlists.withdraw(
                        row.local_entry_id, user_id=ORDER_OWNER_USER_ID, reason=reason[:500]
                    )
                    row.withdrawn_at = now
                    changed += 1
        return changed


def alert_changes(session: Session, entries: list[AlertHistoryEntry]) -> list[AlertChange]:
    """Alert history entries as sent up; a hit on an order from the parent names it."""
    hit_entries = {e.watchlist_entry_id for e in entries if e.watchlist_entry_id}
    orders = ReceivedOrderRepository(session).parent_entries_of(hit_entries)
    changes: list[AlertChange] = []
    for entry in entries:
        fields = entry.model_dump(exclude={"watchlist_entry_id"})
        order_id = orders.get(entry.watchlist_entry_id or 0)
        changes.append(AlertChange(**fields, order_id=order_id))
    return changes


def relayed_changes(session: Session, after_id: int, limit: int) -> list[tuple[int, AlertChange]]:
    """Alert changes this node received from its children, above `after_id`, as sent on up
    (with their id here): the parent sees every node's alerts below it, not only ours."""
    return [
        (
            row.id,
            AlertChange(
                action_id=row.action_id,
                alert_id=row.alert_id,
                action=row.action,
                from_state=row.from_state,
                to_state=row.to_state,
                at=row.at,
                rule=row.rule,
                kind=row.kind,
                tier=row.tier,
                title_zh=row.title_zh,
                title_en=row.title_en,
                community_id=row.community_id,
                jurisdiction_id=row.jurisdiction_id,
                device_id=row.device_id,
                origin_node=row.node_id,
            ),
        )
        for row in ChildDataRepository(session).alert_changes_after(after_id, limit)
    ]


def _entry_of(order: Order) -> WatchlistEntryCreate | None:
    """The local entry an order asks for; None (logged) when this node refuses it."""
    try:
        return WatchlistEntryCreate(
            target=order.target,
            label=order.label,
            plate=order.plate,
            subject_ref=order.subject_ref,
            feature=order.feature,
            legal_basis_kind=order.legal_basis_kind,
            legal_basis_ref=order.legal_basis_ref,
            jurisdiction_id=order.jurisdiction_id,
            expires_at=order.expires_at,
            tier=order.tier,
        )
    except ValidationError as exc:
        logger.error("the parent's watchlist order %d is refused here: %s", order.entry_id, exc)
        return None
