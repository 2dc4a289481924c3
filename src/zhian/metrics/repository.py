"""Every query of the metrics layer: counts and sums over the tables of the registry, the
devices, the alert loop and cases, in one area and time window.

A read model: it aggregates other domains' tables without changing them and reads no
personal field (no `*_enc`, no token), only counts by code; the lists behind the stock
figures read ids, codes and masked plates.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from zhian.access.scope import ScopedColumn
from zhian.alerts.models import Alert, AlertDeadline, DeviceOnlineSample
from zhian.alerts.schemas import Outcome
from zhian.cases.models import Case
from zhian.devices.models import Device, DeviceKind
from zhian.registry.models import (
    Building,
    House,
    RegistrationDraft,
    Resident,
    Unit,
    Vehicle,
)
from zhian.tips.models import Tip


def _within(column: ScopedColumn, ids: Collection[str] | None) -> ColumnElement[bool]:
    """`column IN ids`, TRUE when `ids` is None (an unscoped area: the whole node)."""
    if ids is None:
        return true()
    return column.in_(sorted(ids))


class MetricsRepository:
    """Aggregates for one area: `jurisdictions` and `communities` are the area's ids (None
    for the whole node); times are UTC, windows are [since, until)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- registry (stock figures: the registry keeps no history) ---------------------------

    def residents_by_registration(self, communities: Collection[str] | None) -> dict[str, int]:
        query = (
            select(Resident.is_floating, func.count())
            .join(House, House.id == Resident.house_id)
            .join(Unit, Unit.id == House.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(_within(Building.community_id, communities))
            .group_by(Resident.is_floating)
        )
        counts = {"household": 0, "floating": 0}
        for is_floating, n in self.session.execute(query):
            counts["floating" if is_floating else "household"] += int(n)
        return counts

    def houses_by_use(self, communities: Collection[str] | None) -> dict[str, int]:
        query = (
            select(House.registered_use, func.count())
            .join(Unit, Unit.id == House.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(_within(Building.community_id, communities))
            .group_by(House.registered_use)
        )
        return {str(use): int(n) for use, n in self.session.execute(query)}

    def registered_vehicles(self, communities: Collection[str] | None) -> int:
        query = select(func.count()).where(_within(Vehicle.community_id, communities))
        return int(self.session.scalar(query.select_from(Vehicle)) or 0)

    # The lists behind the stock figures: ids, codes and masked values only.

    def resident_rows(
        self, communities: Collection[str] | None, floating: bool | None, limit: int
    ) -> list[tuple[str, str, str, bool]]:
        """(resident id, house id, community, is floating) of the area's residents."""
        query = (
            select(Resident.id, House.id, Building.community_id, Resident.is_floating)
            .join(House, House.id == Resident.house_id)
            .join(Unit, Unit.id == House.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(_within(Building.community_id, communities))
            .order_by(Resident.id)
            .limit(limit)
        )
        if floating is not None:
            query = query.where(Resident.is_floating.is_(floating))
        return [(str(r), str(h), str(c), bool(f)) for r, h, c, f in self.session.execute(query)]

    def house_rows(
        self, communities: Collection[str] | None, use: str | None, limit: int
    ) -> list[tuple[str, str, str, str]]:
        """(house id, house number, community, recorded use) of the area's houses."""
        query = (
            select(House.id, House.number, Building.community_id, House.registered_use)
            .join(Unit, Unit.id == House.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(_within(Building.community_id, communities))
            .order_by(House.id)
            .limit(limit)
        )
        if use is not None:
            query = query.where(House.registered_use == use)
        return [(str(h), str(n), str(c), str(u)) for h, n, c, u in self.session.execute(query)]

    def vehicle_rows(
        self, communities: Collection[str] | None, limit: int
    ) -> list[tuple[str, str, str, str]]:
        """(vehicle id, masked plate, community, vehicle class) of the area's vehicles."""
        query = (
            select(Vehicle.id, Vehicle.plate_masked, Vehicle.community_id, Vehicle.vehicle_class)
            .where(_within(Vehicle.community_id, communities))
            .order_by(Vehicle.id)
            .limit(limit)
        )
        return [
            (str(v), str(p or ""), str(c), str(k)) for v, p, c, k in self.session.execute(query)
        ]

    def enabled_devices_by_kind(self, communities: Collection[str] | None) -> dict[str, int]:
        query = (
            select(Device.kind, func.count())
            .where(Device.is_enabled.is_(True), _within(Device.community_id, communities))
            .group_by(Device.kind)
        )
        return {str(kind): int(n) for kind, n in self.session.execute(query)}

    def enabled_device_communities(self, communities: Collection[str] | None) -> dict[str, str]:
        """Enabled device id -> its community, for the devices of the area."""
        query = select(Device.id, Device.community_id).where(
            Device.is_enabled.is_(True),
            Device.community_id.is_not(None),
            _within(Device.community_id, communities),
        )
        return {str(d): str(c) for d, c in self.session.execute(query)}

    def vehicle_gates(self, communities: Collection[str] | None) -> set[str]:
        """The enabled vehicle gates of the communities of the area."""
        query = select(Device.id).where(
            Device.is_enabled.is_(True),
            Device.kind == DeviceKind.VEHICLE_GATE.value,
            Device.community_id.is_not(None),
            _within(Device.community_id, communities),
        )
        return {str(d) for d in self.session.scalars(query)}

    def registered_plate_tokens(self, communities: Collection[str] | None) -> set[str]:
        """The plate tokens of the vehicles registered to a community of the area (tokens
        only: compared with the event store's, never opened)."""
        query = select(Vehicle.plate_token).where(
            Vehicle.plate_token.is_not(None), _within(Vehicle.community_id, communities)
        )
        return {str(t) for t in self.session.scalars(query)}

    # -- devices ---------------------------------------------------------------------------

    def online_samples(
        self, communities: Collection[str] | None, since: datetime, until: datetime
    ) -> list[tuple[datetime, str, str, int, int]]:
        """(sampled_at, community, kind, total, online) with since < sampled_at <= until."""
        query = (
            select(
                DeviceOnlineSample.sampled_at,
                DeviceOnlineSample.community_id,
                DeviceOnlineSample.device_kind,
                DeviceOnlineSample.total,
                DeviceOnlineSample.online,
            )
            .where(
                DeviceOnlineSample.sampled_at > since,
                DeviceOnlineSample.sampled_at <= until,
                _within(DeviceOnlineSample.community_id, communities),
            )
            .order_by(DeviceOnlineSample.sampled_at, DeviceOnlineSample.id)
        )
        return [(at, c, k, int(t), int(o)) for at, c, k, t, o in self.session.execute(query)]

    # -- alerts ----------------------------------------------------------------------------

    def alerts_raised(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime
    ) -> list[Alert]:
        """Alerts raised in the window whose place lies in the area (owner jurisdiction)."""
        query = select(Alert).where(
            Alert.created_at >= since,
            Alert.created_at < until,
            _within(Alert.jurisdiction_id, jurisdictions),
        )
        return list(self.session.scalars(query.order_by(Alert.id)))

    def alerts_closed(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime
    ) -> list[tuple[str, str | None]]:
        """(rule, outcome) of alerts closed in the window, duplicates left out: a duplicate
        says nothing about whether the rule was right."""
        query = select(Alert.rule, Alert.outcome).where(
            Alert.closed_at >= since,
            Alert.closed_at < until,
            Alert.outcome != Outcome.DUPLICATE.value,
            _within(Alert.jurisdiction_id, jurisdictions),
        )
        return [(str(rule), outcome) for rule, outcome in self.session.execute(query)]

    def deadlines_due(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime
    ) -> list[tuple[datetime | None, datetime | None]]:
        """(met_at, breached_at) of every deadline falling due in the window."""
        query = (
            select(AlertDeadline.met_at, AlertDeadline.breached_at)
            .join(Alert, Alert.id == AlertDeadline.alert_id)
            .where(
                AlertDeadline.due_at >= since,
                AlertDeadline.due_at < until,
                _within(Alert.jurisdiction_id, jurisdictions),
            )
        )
        return [(met, breached) for met, breached in self.session.execute(query)]

    def task_deadlines_due(
        self,
        jurisdictions: Collection[str] | None,
        rules: Collection[str],
        since: datetime,
        until: datetime,
    ) -> list[tuple[datetime | None, datetime | None]]:
        """(met_at, breached_at) of the deadlines falling due in the window of the alerts
        of `rules` (the registry models' findings: tasks, not suspicions)."""
        query = (
            select(AlertDeadline.met_at, AlertDeadline.breached_at)
            .join(Alert, Alert.id == AlertDeadline.alert_id)
            .where(
                AlertDeadline.due_at >= since,
                AlertDeadline.due_at < until,
                Alert.rule.in_(sorted(rules)),
                _within(Alert.jurisdiction_id, jurisdictions),
            )
        )
        return [(met, breached) for met, breached in self.session.execute(query)]

    def registration_drafts(
        self, communities: Collection[str] | None, created_since: datetime, created_until: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """(created_at, decided_at) of the registration drafts of the area's communities
        created in the window."""
        query = select(RegistrationDraft.created_at, RegistrationDraft.decided_at).where(
            RegistrationDraft.created_at >= created_since,
            RegistrationDraft.created_at < created_until,
            _within(RegistrationDraft.community_id, communities),
        )
        return [(created, decided) for created, decided in self.session.execute(query)]

    # -- resident tips -----------------------------------------------------------------------

    def tip_ratings(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime
    ) -> list[int]:
        """The ratings (1–5) residents gave in the window to tips of the area."""
        query = select(Tip.rating).where(
            Tip.rating.is_not(None),
            Tip.rated_at >= since,
            Tip.rated_at < until,
            _within(Tip.jurisdiction_id, jurisdictions),
        )
        return [int(r) for r in self.session.scalars(query) if r is not None]

    # -- cases -----------------------------------------------------------------------------

    def cases_by_category(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime
    ) -> dict[str, int]:
        query = (
            select(Case.category, func.count())
            .where(
                Case.time_from >= since,
                Case.time_from < until,
                _within(Case.jurisdiction_id, jurisdictions),
            )
            .group_by(Case.category)
        )
        return {str(category): int(n) for category, n in self.session.execute(query)}

    def cases_began(
        self, jurisdictions: Collection[str] | None, since: datetime, until: datetime, limit: int
    ) -> list[Case]:
        """Cases that began in the window in the area: unsolved first, newest first."""
        query = (
            select(Case)
            .where(
                Case.time_from >= since,
                Case.time_from < until,
                _within(Case.jurisdiction_id, jurisdictions),
            )
            .order_by(Case.is_solved, Case.time_from.desc(), Case.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))
