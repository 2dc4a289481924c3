"""Every query of the cascade's tables; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from zhian.cascade.models import (
    ChildAlertChange,
    ChildKpiSummary,
    ChildLink,
    ChildOnlineSummary,
    ChildOverride,
    ChildProcedureOverride,
    ForwardPosition,
    ReceivedOrder,
    ViidUpperOutbox,
)


class UpwardOutboxRepository:
    """Reads and writes the notifications waiting for the upper platform, in order."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue_upward(
        self, receive_addr: str, notification_id: str, payload_enc: bytes, now: datetime
    ) -> None:
        """Queue a notification, sealed by the caller."""
        self.session.add(
            ViidUpperOutbox(
                created_at=now,
                receive_addr=receive_addr,
                notification_id=notification_id,
                payload_enc=payload_enc,
                attempts=0,
                last_error=None,
            )
        )
        self.session.flush()

    def outbox_head(self, limit: int) -> list[ViidUpperOutbox]:
        return list(
            self.session.scalars(select(ViidUpperOutbox).order_by(ViidUpperOutbox.seq).limit(limit))
        )

    def outbox_size(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(ViidUpperOutbox)) or 0)

    def outbox_delivered(self, seq: int) -> None:
        self.session.execute(delete(ViidUpperOutbox).where(ViidUpperOutbox.seq == seq))

    def outbox_failed(self, seq: int, error: str) -> None:
        row = self.session.get(ViidUpperOutbox, seq)
        if row is not None:
            row.attempts += 1
            row.last_error = error[:500]


class ForwardPositionRepository:
    """The forwarder's positions, one row per stream (child side)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def positions(self) -> dict[str, int]:
        return {row.stream: row.position for row in self.session.scalars(select(ForwardPosition))}

    def save(self, positions: dict[str, int], now: datetime) -> None:
        for stream, position in positions.items():
            row = self.session.get(ForwardPosition, stream)
            if row is None:
                self.session.add(ForwardPosition(stream=stream, position=position, updated_at=now))
            else:
                row.position = position
                row.updated_at = now
        self.session.flush()


class ChildDataRepository:
    """What child nodes delivered (parent side)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def child(self, node_id: str) -> ChildLink | None:
        return self.session.get(ChildLink, node_id)

    def add_child(self, row: ChildLink) -> None:
        self.session.add(row)
        self.session.flush()

    def children(self) -> list[ChildLink]:
        return list(self.session.scalars(select(ChildLink).order_by(ChildLink.node_id)))

    def known_action_ids(self, node_id: str, action_ids: Collection[int]) -> set[int]:
        query = select(ChildAlertChange.action_id).where(
            ChildAlertChange.node_id == node_id, ChildAlertChange.action_id.in_(action_ids)
        )
        return set(self.session.scalars(query))

    def known_sample_ids(self, node_id: str, sample_ids: Collection[int]) -> set[int]:
        query = select(ChildOnlineSummary.sample_id).where(
            ChildOnlineSummary.node_id == node_id, ChildOnlineSummary.sample_id.in_(sample_ids)
        )
        return set(self.session.scalars(query))

    def add_all(self, rows: Sequence[ChildAlertChange | ChildOnlineSummary]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def alert_changes_after(self, after_id: int, limit: int) -> list[ChildAlertChange]:
        """Children's alert changes as received, above `after_id` (to relay them up)."""
        query = select(ChildAlertChange).where(ChildAlertChange.id > after_id)
        return list(self.session.scalars(query.order_by(ChildAlertChange.id).limit(limit)))

    def online_after(self, after_id: int, limit: int) -> list[ChildOnlineSummary]:
        """Children's online summaries as received, above `after_id` (to relay them up)."""
        query = select(ChildOnlineSummary).where(ChildOnlineSummary.id > after_id)
        return list(self.session.scalars(query.order_by(ChildOnlineSummary.id).limit(limit)))

    def reported_communities(self) -> set[str]:
        """The communities some child sends online summaries of."""
        return set(self.session.scalars(select(ChildOnlineSummary.community_id).distinct()))

    def alert_changes(
        self, where: ColumnElement[bool], *, node_id: str | None, limit: int
    ) -> list[ChildAlertChange]:
        query = select(ChildAlertChange).where(where)
        if node_id is not None:
            query = query.where(ChildAlertChange.node_id == node_id)
        query = query.order_by(ChildAlertChange.node_id, ChildAlertChange.action_id)
        return list(self.session.scalars(query.limit(limit)))

    def alert_states(
        self, where: ColumnElement[bool]
    ) -> list[tuple[str, int, str, str | None, str | None]]:
        """(node, alert id, latest state, jurisdiction, community) of every child alert
        `where` covers."""
        latest = (
            select(
                ChildAlertChange.node_id,
                ChildAlertChange.alert_id,
                func.max(ChildAlertChange.action_id).label("action_id"),
            )
            .where(where, ChildAlertChange.to_state.is_not(None))
            .group_by(ChildAlertChange.node_id, ChildAlertChange.alert_id)
            .subquery()
        )
        query = select(
            ChildAlertChange.node_id,
            ChildAlertChange.alert_id,
            ChildAlertChange.to_state,
            ChildAlertChange.jurisdiction_id,
            ChildAlertChange.community_id,
        ).join(
            latest,
            (ChildAlertChange.node_id == latest.c.node_id)
            & (ChildAlertChange.action_id == latest.c.action_id),
        )
        return [
            (node, alert, str(state), jurisdiction, community)
            for node, alert, state, jurisdiction, community in self.session.execute(query)
        ]

    def open_alerts(self, where: ColumnElement[bool], limit: int) -> list[ChildAlertChange]:
        """The latest state change of each child alert `where` covers that is not closed,
        most recent first."""
        latest = (
            select(
                ChildAlertChange.node_id,
                ChildAlertChange.alert_id,
                func.max(ChildAlertChange.action_id).label("action_id"),
            )
            .where(where, ChildAlertChange.to_state.is_not(None))
            .group_by(ChildAlertChange.node_id, ChildAlertChange.alert_id)
            .subquery()
        )
        query = (
            select(ChildAlertChange)
            .join(
                latest,
                (ChildAlertChange.node_id == latest.c.node_id)
                & (ChildAlertChange.action_id == latest.c.action_id),
            )
            .where(ChildAlertChange.to_state != "closed")
            .order_by(ChildAlertChange.at.desc(), ChildAlertChange.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def breached_alerts(self, where: ColumnElement[bool]) -> set[tuple[str, int]]:
        """(node, alert id) of the child alerts `where` covers that breached a deadline."""
        query = (
            select(ChildAlertChange.node_id, ChildAlertChange.alert_id)
            .where(where, ChildAlertChange.action == "breached")
            .distinct()
        )
        return {(node, alert) for node, alert in self.session.execute(query)}

    def latest_online(self, where: ColumnElement[bool]) -> list[tuple[str, int, int]]:
        """(community, total, online) of the newest sample per community and device kind
        that `where` covers: per node the newest by id, then of those the newest in time
        (a community counted once, by the node that reported it last: a district that
        relays its community's summaries stops sending its own of that community)."""
        latest = (
            select(func.max(ChildOnlineSummary.sample_id).label("sample_id"))
            .add_columns(ChildOnlineSummary.node_id)
            .where(where)
            .group_by(
                ChildOnlineSummary.node_id,
                ChildOnlineSummary.community_id,
                ChildOnlineSummary.device_kind,
            )
            .subquery()
        )
        query = select(
            ChildOnlineSummary.community_id,
            ChildOnlineSummary.device_kind,
            ChildOnlineSummary.sampled_at,
            ChildOnlineSummary.total,
            ChildOnlineSummary.online,
        ).join(
            latest,
            (ChildOnlineSummary.node_id == latest.c.node_id)
            & (ChildOnlineSummary.sample_id == latest.c.sample_id),
        )
        newest: dict[tuple[str, str], tuple[datetime, int, int]] = {}
        for community, kind, at, total, online in self.session.execute(query):
            held = newest.get((community, kind))
            if held is None or at > held[0]:
                newest[(community, kind)] = (at, total, online)
        return [(c, total, online) for (c, _kind), (_at, total, online) in newest.items()]

    def replace_overrides(self, node_id: str, rows: list[ChildOverride]) -> None:
        self.session.execute(delete(ChildOverride).where(ChildOverride.node_id == node_id))
        self.session.add_all(rows)
        self.session.flush()

    def overrides(self) -> list[ChildOverride]:
        query = select(ChildOverride).order_by(
            ChildOverride.node_id, ChildOverride.community_id, ChildOverride.name
        )
        return list(self.session.scalars(query))

    def put_kpis(self, rows: list[ChildKpiSummary]) -> None:
        """Store KPI summaries, each replacing the one of its node, community and hour."""
        for row in rows:
            self.session.execute(
                delete(ChildKpiSummary).where(
                    ChildKpiSummary.node_id == row.node_id,
                    ChildKpiSummary.community_id == row.community_id,
                    ChildKpiSummary.hour == row.hour,
                )
            )
        self.session.add_all(rows)
        self.session.flush()

    def latest_kpis(self, nodes: Collection[str]) -> list[ChildKpiSummary]:
        """The newest KPI summary of each community the `nodes` report."""
        latest = (
            select(
                ChildKpiSummary.node_id,
                ChildKpiSummary.community_id,
                func.max(ChildKpiSummary.hour).label("hour"),
            )
            .where(ChildKpiSummary.node_id.in_(nodes))
            .group_by(ChildKpiSummary.node_id, ChildKpiSummary.community_id)
            .subquery()
        )
        query = select(ChildKpiSummary).join(
            latest,
            (ChildKpiSummary.node_id == latest.c.node_id)
            & (ChildKpiSummary.community_id == latest.c.community_id)
            & (ChildKpiSummary.hour == latest.c.hour),
        )
        return list(self.session.scalars(query.order_by(ChildKpiSummary.hour)))

    def replace_procedure_overrides(self, node_id: str, rows: list[ChildProcedureOverride]) -> None:
        self.session.execute(
            delete(ChildProcedureOverride).where(ChildProcedureOverride.node_id == node_id)
        )
        self.session.add_all(rows)
        self.session.flush()

    def procedure_overrides(self) -> list[ChildProcedureOverride]:
        query = select(ChildProcedureOverride).order_by(
            ChildProcedureOverride.node_id, ChildProcedureOverride.kind, ChildProcedureOverride.tier
        )
        return list(self.session.scalars(query))


class ReceivedOrderRepository:
    """The watchlist orders received from the parent and their local entries (child side)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_parent_entry(self) -> dict[int, ReceivedOrder]:
        return {row.parent_entry_id: row for row in self.session.scalars(select(ReceivedOrder))}

    def parent_entries_of(self, local_entry_ids: Collection[int]) -> dict[int, int]:
        """local entry id -> the parent's entry id, for those that came from the parent."""
        query = select(ReceivedOrder).where(ReceivedOrder.local_entry_id.in_(local_entry_ids))
        return {row.local_entry_id: row.parent_entry_id for row in self.session.scalars(query)}

    def add(self, row: ReceivedOrder) -> None:
        self.session.add(row)
        self.session.flush()
