"""Emergency-call records become alerts at their place and time, once per record id.

Each record is placed at its building (named, or the nearest within the tips' place
radius of its coordinates), else at the nearest community; it opens an alert of rule
`call110` and kind `call_<category>` at the time of the call, so the alert loop's
place-and-time correlation groups it with a smoke alarm or tips at the same building into
one incident, and its routing, SLA and escalation take over. Nothing commits here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import AlertDraft
from zhian.alerts.service import AlertService
from zhian.incidents.calls import CallRecord, CallRowError
from zhian.maps.coords import distance_m
from zhian.registry.schemas import BuildingRead, CommunityRead

CALL_RULE = "call110"


@dataclass
class CallImportReport:
    """What one import did: alerts raised, records already imported, rows refused."""

    source: str = ""
    raised: int = 0
    already_imported: int = 0
    errors: list[CallRowError] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})


@dataclass(frozen=True, slots=True)
class _Place:
    place_id: str
    place_name: str | None
    community: CommunityRead


class CallImportService:
    """Raises one alert per emergency-call record, within the importing user's scope."""

    def __init__(
        self,
        alerts: AlertService,
        *,
        buildings: Sequence[BuildingRead],
        communities: Sequence[CommunityRead],
        place_radius_m: float,
        scope: JurisdictionScope,
    ) -> None:
        self.alerts = alerts
        self.buildings = {building.id: building for building in buildings}
        self.communities = {community.id: community for community in communities}
        self.place_radius_m = place_radius_m
        self.scope = scope

    def import_rows(
        self,
        rows: Iterable[tuple[int, CallRecord | CallRowError]],
        *,
        column_of: Callable[[str], str],
    ) -> CallImportReport:
        """Raise the alerts of the good rows; list the refused ones (row, column, reason)."""
        report = CallImportReport()
        records: list[tuple[int, CallRecord]] = []
        for number, parsed in rows:
            if isinstance(parsed, CallRowError):
                report.errors.append(parsed)
            else:
                records.append((number, parsed))
        seen = self.alerts.subjects_raised(CALL_RULE, {r.record_id for _, r in records})
        for number, record in records:
            if record.record_id in seen:
                report.already_imported += 1
                continue
            place = self._place(number, record, column_of, report)
            if place is None:
                continue
            [alert_id] = self.alerts.raise_drafts([_draft(record, place)])
            seen.add(record.record_id)
            report.raised += 1
            report.alert_ids.append(alert_id)
        return report

    def _place(
        self,
        number: int,
        record: CallRecord,
        column_of: Callable[[str], str],
        report: CallImportReport,
    ) -> _Place | None:
        place = self._locate(record)
        if place is None:
            if record.building_id is not None:
                reason = f"no building '{record.building_id[:64]}' in the registry"
                report.errors.append(CallRowError(number, column_of("building_id"), reason))
            else:
                reason = "no community of the registry to place the call in"
                report.errors.append(CallRowError(number, column_of("y"), reason))
            return None
        if not self.scope.contains_community(place.community.id):
            reason = (
                f"the call's place (community {place.community.id}) is outside your jurisdiction"
            )
            field_name = "building_id" if record.building_id is not None else "y"
            report.errors.append(CallRowError(number, column_of(field_name), reason))
            return None
        return place

    def _locate(self, record: CallRecord) -> _Place | None:
        """The record's building (named, else the nearest within the radius), else its
        nearest community."""
        building: BuildingRead | None
        if record.building_id is not None:
            building = self.buildings.get(record.building_id)
            if building is None:
                return None
        else:
            building = self._nearest_building(record)
        if building is not None and building.community_id in self.communities:
            return _Place(building.id, building.name, self.communities[building.community_id])
        community = self._nearest_community(record)
        if community is None:
            return None
        return _Place(f"call:{record.record_id}", record.address, community)

    def _point(self, record: CallRecord) -> tuple[float, float] | None:
        if record.latitude is None or record.longitude is None:
            return None
        return record.latitude, record.longitude

    def _nearest_building(self, record: CallRecord) -> BuildingRead | None:
        point = self._point(record)
        if point is None:
            return None
        near = [(distance_m(point, (b.latitude, b.longitude)), b) for b in self.buildings.values()]
        within = [(metres, b) for metres, b in near if metres <= self.place_radius_m]
        return min(within, key=lambda pair: pair[0])[1] if within else None

    def _nearest_community(self, record: CallRecord) -> CommunityRead | None:
        point = self._point(record)
        if point is None or not self.communities:
            return None
        return min(
            self.communities.values(),
            key=lambda c: distance_m(point, (c.latitude, c.longitude)),
        )


def _draft(record: CallRecord, place: _Place) -> AlertDraft:
    summary = record.summary if len(record.summary) <= 80 else record.summary[:79] + "…"
    figures: dict[str, float | int | str] = {"call_record_id": record.record_id}
    if record.latitude is not None and record.longitude is not None:
        figures |= {"latitude": record.latitude, "longitude": record.longitude}
    return AlertDraft(
        rule=CALL_RULE,
        kind=f"call_{record.category}",
        tier=record.tier,
        subject=record.record_id,
        place_id=place.place_id,
        place_name=place.place_name,
        observed_at=record.called_at,
        # The alert opens at the time of the call (never later than now): its deadlines
        # count from the call and correlation finds alarms and tips of that time.
        raised_at=record.called_at,
        explanation_zh=f"110警情 {record.record_id}：{summary}",
        explanation_en=f"Emergency call {record.record_id}: {summary}",
        community_id=place.community.id,
        figures=figures,
    )
