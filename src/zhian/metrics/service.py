"""Figures of an area and a period, with 环比 and 同比: the one place they are computed."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope, subtree
from zhian.alerts import online_rate as online
from zhian.errors import BadRequestError
from zhian.kit.clock import Clock, SystemClock
from zhian.metrics.catalogue import METRICS_BY_NAME, Kind
from zhian.metrics.periods import Period, hour_window
from zhian.metrics.repository import MetricsRepository
from zhian.metrics.schemas import Area, FigureRead, StatisticsRead, TrendPoint, change_pct
from zhian.registry.loop import LOOP_RULES
from zhian.registry.service import RegistryService
from zhian.registry.settings import DEFAULT_DRAFT_DUE_DAYS
from zhian.store.queries import PlateSeen
from zhian.store.remote import EventReads


@dataclass(frozen=True)
class NotableAlert:
    """A major alert of the period, as a report lists it (no personal data: the title)."""

    id: int
    created_at: datetime
    kind: str
    state: str
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class NotableCase:
    """A case of the period, as a report lists it: its number, category and progress; no
    address, modus operandi or offender (no personal data)."""

    id: str
    time_from: datetime
    category: str
    status: str
    is_solved: bool
    jurisdiction_id: str


@dataclass(frozen=True)
class VisitingVehicle:
    """One visiting vehicle of an area and period, as its list shows it: the plate masked
    (never opened), the gates it passed and when."""

    plate_masked: str
    first_seen: datetime
    last_seen: datetime
    gate_ids: tuple[str, ...]
    passages: int


# (metric, breakdown key or None) -> value
Values = dict[tuple[str, str | None], float | None]
TREND_PERIODS = 12
# arrival_stats also counts late events; the reporting rate does not use that count.
REPORT_LATE_SECONDS = 300.0
MAX_TREND_PERIODS = 60
# A tip rated 4 or 5 stars: the resident was satisfied (满意).
SATISFIED_RATING = 4


def _median_minutes(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds) / 60, 1) if seconds else None


def reporting_devices(
    events: EventReads, devices: Collection[str], start: datetime, end: datetime
) -> set[str]:
    """The devices of `devices` that sent an event arriving in [start, end): the data
    reporting rate's numerator (one definition, for the pages and the cascade's KPIs)."""
    wanted = set(devices)
    return {
        row.device_id
        for row in events.arrival_stats(start, end, late_after_seconds=REPORT_LATE_SECONDS)
        if row.device_id in wanted
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class MetricsService:
    """Computes every figure of `zhian.metrics.catalogue` for an area within a user's scope."""

    def __init__(
        self,
        session: Session,
        events: EventReads | None = None,
        clock: Clock | None = None,
        *,
        draft_due_days: int = DEFAULT_DRAFT_DUE_DAYS,
    ) -> None:
        """`events`: the event store's reads, for passages and the data reporting rate;
        without them those figures are left out. `clock`: now, for the registry tasks still
        open past their due time. `draft_due_days`: the setting `registry.draft_due_days`
        (a registration draft falls due that many days after it was created)."""
        self.session = session
        self.draft_due_days = draft_due_days
        self.events = events
        self.clock = clock or SystemClock()
        self.repository = MetricsRepository(session)
        self._registry = RegistryService(session)

    # -- areas -----------------------------------------------------------------------------

    def area(self, scope: JurisdictionScope, jurisdiction_id: str | None) -> Area:
        """The area of `jurisdiction_id` (its subtree) within `scope`; the whole scope when
        None. 400 for a jurisdiction unknown or outside the scope."""
        scope = require_scope(scope)
        if not jurisdiction_id:
            return Area(scope.root, scope.jurisdiction_ids, scope.community_ids)
        tree = self._registry.jurisdiction_tree()
        if jurisdiction_id not in tree.parents:
            raise BadRequestError(f"unknown jurisdiction '{jurisdiction_id}'", field="jurisdiction")
        if not scope.contains(jurisdiction_id):
            raise BadRequestError(
                f"jurisdiction '{jurisdiction_id}' is not in your jurisdiction '{scope.root}'",
                field="jurisdiction",
            )
        below = frozenset(subtree(tree.parents, jurisdiction_id))
        communities = frozenset(c for c, j in tree.community_jurisdiction.items() if j in below)
        if scope.community_ids is not None:
            communities &= scope.community_ids
        if scope.jurisdiction_ids is not None:
            below &= scope.jurisdiction_ids
        return Area(jurisdiction_id, below, communities)

    # -- the online rate (one definition: zhian.alerts.online_rate) ------------------------

    def online_rate_pct(self, area: Area, since: datetime, until: datetime) -> float | None:
        samples = self.repository.online_samples(area.communities, since, until)
        return online.online_rate_pct(samples, since)

    def online_rate_now(self, area: Area, now: datetime) -> float | None:
        """The rate of the hour ending `now`: what the devices and KPI pages show."""
        since, until = hour_window(now)
        return self.online_rate_pct(area, since, until)

    # -- figures ---------------------------------------------------------------------------

    def stock_values(self, area: Area) -> Values:
        communities = area.communities
        values: Values = {}
        population = self.repository.residents_by_registration(communities)
        values[("population", None)] = sum(population.values())
        values.update({("population", key): n for key, n in population.items()})
        houses = self.repository.houses_by_use(communities)
        values[("houses", None)] = sum(houses.values())
        values.update({("houses", key): n for key, n in houses.items()})
        values[("vehicles", None)] = self.repository.registered_vehicles(communities)
        devices = self.repository.enabled_devices_by_kind(communities)
        values[("devices", None)] = sum(devices.values())
        values.update({("devices", key): n for key, n in devices.items()})
        return values

    def flow_values(self, area: Area, start: datetime, end: datetime) -> Values:
        """Every flow figure over [start, end)."""
        values: Values = {("device_online_rate", None): self.online_rate_pct(area, start, end)}
        values.update(self._alert_values(area, start, end))
        values.update(self._closing_values(area, start, end))
        met = breached = 0
        for met_at, breached_at in self.repository.deadlines_due(area.jurisdictions, start, end):
            if breached_at is not None:
                breached += 1
            elif met_at is not None:
                met += 1
        values[("overdue_rate", None)] = _pct(breached, met + breached)
        if self.events is not None:
            values.update(self._event_values(area, start, end, self.events))
        values[("registry_tasks_completed", None)] = self._registry_tasks(area, start, end)
        ratings = self.repository.tip_ratings(area.jurisdictions, start, end)
        values[("resident_satisfaction", None)] = _pct(
            sum(1 for r in ratings if r >= SATISFIED_RATING), len(ratings)
        )
        cases = self.repository.cases_by_category(area.jurisdictions, start, end)
        values[("cases", None)] = sum(cases.values())
        values.update({("cases", key): n for key, n in cases.items()})
        return values

    def _event_values(
        self, area: Area, start: datetime, end: datetime, events: EventReads
    ) -> Values:
        """Passages and the data reporting rate, from the event store."""
        devices = self.repository.enabled_device_communities(area.communities)
        values: Values = {}
        by: dict[str, Counter[str]] = {
            "passages_by_direction": Counter(),
            "passages_by_type": Counter(),
            "passages_by_hour": Counter(),
        }
        zone = start.tzinfo
        for count in events.passage_counts(start, end):
            if count.device_id not in devices:
                continue
            by["passages_by_direction"][count.direction or "unknown"] += count.count
            by["passages_by_type"][count.type] += count.count
            by["passages_by_hour"][f"{count.hour.astimezone(zone):%H}"] += count.count
        total = sum(by["passages_by_type"].values())
        values[("passages", None)] = total
        for metric, counts in by.items():
            values[(metric, None)] = total
            values.update({(metric, key): n for key, n in counts.items()})
        reporting = reporting_devices(events, devices, start, end)
        values[("data_reporting_rate", None)] = _pct(len(reporting), len(devices))
        values[("visiting_vehicles", None)] = self._visiting_vehicles(area, start, end, events)
        return values

    def _visiting_vehicles(
        self, area: Area, start: datetime, end: datetime, events: EventReads
    ) -> int:
        """Distinct plates seen at the area's vehicle gates and not registered to it."""
        return len(self._visits(area, start, end, events))

    def _visits(
        self, area: Area, start: datetime, end: datetime, events: EventReads
    ) -> dict[str, list[PlateSeen]]:
        """Plate token -> its (gate, plate) rows: the plates seen at the area's vehicle
        gates in [start, end) and not registered to a community of the area."""
        gates = self.repository.vehicle_gates(area.communities)
        if not gates:
            return {}
        registered = self.repository.registered_plate_tokens(area.communities)
        visits: dict[str, list[PlateSeen]] = {}
        for seen in events.plates_seen(start, end):
            if seen.device_id in gates and seen.plate not in registered:
                visits.setdefault(seen.plate, []).append(seen)
        return visits

    def registry_rows(
        self, area: Area, figure: str, key: str | None, limit: int
    ) -> list[tuple[str, ...]]:
        """The list behind a stock figure of the registry (`population`, `houses`,
        `vehicles`), narrowed to a breakdown value: ids, codes and masked plates only.
        400 (field `figure` or `key`) for another figure or an unknown value."""
        if figure == "population":
            if key not in (None, "household", "floating"):
                raise BadRequestError("must be household or floating", field="key")
            floating = None if key is None else key == "floating"
            return [
                (resident, house, community, "floating" if is_floating else "household")
                for resident, house, community, is_floating in self.repository.resident_rows(
                    area.communities, floating, limit
                )
            ]
        if figure == "houses":
            return list(self.repository.house_rows(area.communities, key, limit))
        if figure == "vehicles":
            if key is not None:
                raise BadRequestError("vehicles have no breakdown", field="key")
            return list(self.repository.vehicle_rows(area.communities, limit))
        raise BadRequestError("must be population, houses or vehicles", field="figure")

    def visiting_vehicles(self, area: Area, period: Period) -> list[VisitingVehicle]:
        """The list behind `visiting_vehicles`: one row per plate (masked), with its first
        and last passage at the area's gates in the period, the gates and how many
        passages; most passages first. Empty without the event store."""
        if self.events is None:
            return []
        rows = [
            VisitingVehicle(
                plate_masked=seen[0].plate_masked,
                first_seen=min(s.first_seen for s in seen),
                last_seen=max(s.last_seen for s in seen),
                gate_ids=tuple(sorted({s.device_id for s in seen})),
                passages=sum(s.passages for s in seen),
            )
            for seen in self._visits(area, period.start, period.end, self.events).values()
        ]
        rows.sort(key=lambda row: (-row.passages, row.first_seen, row.plate_masked))
        return rows

    def _registry_tasks(self, area: Area, start: datetime, end: datetime) -> float | None:
        """Registry tasks falling due in [start, end) done on time, in percent: the
        registry models' findings by their alert deadlines (met or breached), and the
        registration drafts due `draft_due_days` after they were created (completed or
        dismissed by then, or late: decided after, or still open once due)."""
        on_time = late = 0
        for met_at, breached_at in self.repository.task_deadlines_due(
            area.jurisdictions, LOOP_RULES, start, end
        ):
            if breached_at is not None:
                late += 1
            elif met_at is not None:
                on_time += 1
        due_after = timedelta(days=self.draft_due_days)
        now = self.clock.now()
        for created_at, decided_at in self.repository.registration_drafts(
            area.communities, start - due_after, end - due_after
        ):
            due_at = created_at + due_after
            if decided_at is not None and decided_at <= due_at:
                on_time += 1
            elif decided_at is not None or due_at <= now:
                late += 1
        return _pct(on_time, on_time + late)

    def reporting_counts(
        self, communities: frozenset[str] | None, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """(devices that sent an event in [start, end), enabled devices) of `communities`
        (None: every community): the two sides of the data reporting rate."""
        devices = self.repository.enabled_device_communities(communities)
        if self.events is None or not devices:
            return 0, len(devices)
        return len(reporting_devices(self.events, devices, start, end)), len(devices)

    def _alert_values(self, area: Area, start: datetime, end: datetime) -> Values:
        rows = self.repository.alerts_raised(area.jurisdictions, start, end)
        values: Values = {("alerts", None): len(rows)}
        for metric, attribute in (
            ("alerts_by_tier", "tier"),
            ("alerts_by_kind", "kind"),
            ("alerts_by_state", "state"),
        ):
            counts = Counter(str(getattr(row, attribute)) for row in rows)
            values[(metric, None)] = len(rows)
            values.update({(metric, key): n for key, n in counts.items()})
        signed = [(r.signed_at - r.created_at).total_seconds() for r in rows if r.signed_at]
        closed = [(r.closed_at - r.created_at).total_seconds() for r in rows if r.closed_at]
        values[("median_sign_minutes", None)] = _median_minutes(signed)
        values[("median_close_minutes", None)] = _median_minutes(closed)
        return values

    def _closing_values(self, area: Area, start: datetime, end: datetime) -> Values:
        closed: Counter[str] = Counter()
        false_alarms: Counter[str] = Counter()
        for rule, outcome in self.repository.alerts_closed(area.jurisdictions, start, end):
            closed[rule] += 1
            if outcome == "false_alarm":
                false_alarms[rule] += 1
        values: Values = {
            ("false_alarm_rate", None): _pct(sum(false_alarms.values()), sum(closed.values()))
        }
        values.update(
            {("false_alarm_rate", rule): _pct(false_alarms[rule], n) for rule, n in closed.items()}
        )
        return values

    def statistics(
        self, area: Area, period: Period, progress: Callable[[float], None] | None = None
    ) -> StatisticsRead:
        """Every figure of the area over the period, with 环比 and 同比 for flows.
        `progress(fraction)` hears how far it has got (a third per period counted)."""
        current = self.flow_values(area, period.start, period.end)
        if progress is not None:
            progress(1 / 3)
        before = period.previous()
        previous = self.flow_values(area, before.start, before.end)
        if progress is not None:
            progress(2 / 3)
        year = period.year_before()
        year_before = self.flow_values(area, year.start, year.end)
        if progress is not None:
            progress(1.0)
        figures = [_figure(k, v, previous, year_before) for k, v in current.items()]
        figures += [_figure(k, v, None, None) for k, v in self.stock_values(area).items()]
        # Counts over breakdown values that only the earlier periods saw: 0 now.
        for key in (previous.keys() | year_before.keys()) - current.keys():
            if METRICS_BY_NAME[key[0]].unit.value == "count":
                figures.append(_figure(key, 0, previous, year_before))
        figures.sort(key=lambda f: (_ORDER[f.metric], f.key is not None, f.key or ""))
        return StatisticsRead(
            jurisdiction_id=area.jurisdiction_id,
            granularity=period.granularity.value,
            period=period.label(),
            start=period.start,
            end=period.end,
            figures=figures,
        )

    def trend(
        self, area: Area, period: Period, metric: str, key: str | None, count: int = TREND_PERIODS
    ) -> list[TrendPoint]:
        """The flow figure over `count` periods ending with `period`, oldest first."""
        return self.trends(area, period, [(metric, key)], count)[(metric, key)]

    def trends(
        self,
        area: Area,
        period: Period,
        figures: Collection[tuple[str, str | None]],
        count: int = TREND_PERIODS,
        progress: Callable[[float], None] | None = None,
    ) -> dict[tuple[str, str | None], list[TrendPoint]]:
        """Each (metric, key) flow figure over `count` periods ending with `period`, oldest
        first, every period counted once for all of them. `progress(fraction)` hears each
        period done."""
        for metric, _key in figures:
            definition = METRICS_BY_NAME.get(metric)
            if definition is None or definition.kind is not Kind.FLOW:
                raise BadRequestError(f"no trend for '{metric}'", field="metric")
        periods = list(_periods_ending(period, min(count, MAX_TREND_PERIODS)))
        points: dict[tuple[str, str | None], list[TrendPoint]] = {f: [] for f in figures}
        for done, each in enumerate(periods, start=1):
            values = self.flow_values(area, each.start, each.end)
            for metric, key in figures:
                value = values.get((metric, key))
                if value is None and METRICS_BY_NAME[metric].unit.value == "count":
                    value = 0
                point = TrendPoint(period=each.label(), start=each.start, value=value)
                points[(metric, key)].append(point)
            if progress is not None:
                progress(done / len(periods))
        return points

    def notable_alerts(
        self, area: Area, start: datetime, end: datetime, limit: int
    ) -> list[NotableAlert]:
        """The period's major-tier alerts in the area, oldest first, at most `limit`."""
        rows = [
            r
            for r in self.repository.alerts_raised(area.jurisdictions, start, end)
            if r.tier == "major"
        ]
        return [
            NotableAlert(r.id, r.created_at, r.kind, r.state, r.title_zh, r.title_en)
            for r in rows[:limit]
        ]

    def notable_cases(
        self, area: Area, start: datetime, end: datetime, limit: int
    ) -> list[NotableCase]:
        """The cases that began in the period in the area, at most `limit`: the unsolved
        ones first (they still need work), each group newest first."""
        return [
            NotableCase(c.id, c.time_from, c.category, c.status, c.is_solved, c.jurisdiction_id)
            for c in self.repository.cases_began(area.jurisdictions, start, end, limit)
        ]

    def community_online(self, area: Area, now: datetime) -> dict[str, tuple[int, int]]:
        """(online, total) per community in the hour ending `now`."""
        since, until = hour_window(now)
        return online.by_community(
            self.repository.online_samples(area.communities, since, until), since
        )


_ORDER = {name: index for index, name in enumerate(METRICS_BY_NAME)}


def _figure(
    key: tuple[str, str | None],
    value: float | None,
    previous: dict[tuple[str, str | None], float | None] | None,
    year_before: dict[tuple[str, str | None], float | None] | None,
) -> FigureRead:
    is_count = METRICS_BY_NAME[key[0]].unit.value == "count"
    absent: float | None = 0 if is_count else None

    def base(values: Values | None) -> float | None:
        return None if values is None else values.get(key, absent)

    before, year = base(previous), base(year_before)
    return FigureRead(
        metric=key[0],
        key=key[1],
        value=value,
        previous=before,
        year_before=year,
        change_previous_pct=change_pct(value, before),
        change_year_pct=change_pct(value, year),
    )


def _periods_ending(period: Period, count: int) -> Iterable[Period]:
    out = [period]
    while len(out) < count:
        out.append(out[-1].previous())
    return reversed(out)
