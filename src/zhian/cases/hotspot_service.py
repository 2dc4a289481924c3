"""Hotspots per station (热力图): the forecast cells of each station's jurisdiction, ranked.

Place-based only: a cell's figures are counts of cases and expected cases, never anything
about a person. Each station gets its own grid over the area its cases and communities
outline, and the forecast of the configured method from the cases of the look-back.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.cases.hotspots import (
    CasePoints,
    Grid,
    HotspotMethod,
    HotspotParameters,
    SelfExcitingFit,
    fit_self_exciting,
    forecast,
    grid_over,
    self_exciting_parts,
    top_cells,
)
from zhian.cases.patrol import (
    PatrolStop,
    RiskLayers,
    RiskPoint,
    Shift,
    hour_profile,
    parse_shifts,
    plan_shift,
    risk_layers,
)
from zhian.cases.repository import CaseRepository
from zhian.cases.settings import CaseSettings
from zhian.errors import BadRequestError, NotFoundError
from zhian.kit.clock import Clock
from zhian.registry.schemas import JurisdictionTreeRead
from zhian.registry.service import RegistryService

DAY_SECONDS = 86_400.0
STATION_LEVEL = "station"
# (latitude, longitude, days before now, local hour, midpoint in UNIX seconds) of a case
CasePlace = tuple[float, float, float, float, float]


class FitCache:
    """The self-exciting fits of the stations, kept between requests (a fit is the costly
    part of a forecast: an EM over every case of the look-back; scoring a fit is cheap).

    A fit is keyed by what it was fitted on: the grid, the parameters and the cases (place
    and absolute time of each), so any change to the cases of a station — a new case, an
    edit that moves one, a deletion, a case leaving the look-back — gives another key and a
    new fit, in every process, with nothing to notify. Least recently used fits are
    dropped beyond `size`. Thread-safe; one per process."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._fits: OrderedDict[str, SelfExcitingFit] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(grid: Grid, parameters: HotspotParameters, places: Sequence[CasePlace]) -> str:
        digest = hashlib.sha256()
        digest.update(repr((grid.centre_lat, grid.centre_lon, grid.cell_m, grid.x0_m,
                            grid.y0_m, grid.shape, astuple(parameters))).encode())  # fmt: skip
        cases = np.array(sorted((p[4], p[0], p[1]) for p in places), dtype=np.float64)
        digest.update(cases.tobytes())
        return digest.hexdigest()

    def get(self, key: str) -> SelfExcitingFit | None:
        with self._lock:
            fit = self._fits.get(key)
            if fit is None:
                self.misses += 1
                return None
            self.hits += 1
            self._fits.move_to_end(key)
            return fit

    def put(self, key: str, fit: SelfExcitingFit) -> None:
        with self._lock:
            self._fits[key] = fit
            self._fits.move_to_end(key)
            while len(self._fits) > self.size:
                self._fits.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._fits.clear()
            self.hits = self.misses = 0


FIT_CACHE = FitCache()


@dataclass(frozen=True)
class HotspotCell:
    """One ranked cell: where it is, what the forecast expects there, what happened, and
    why it ranks: `long_term` is the part of the score from the lasting rate (for naive
    counts and kernel density, the whole score), `near_repeat` the part the recent cases
    nearby still trigger (self-exciting model only; 0 otherwise)."""

    rank: int
    latitude: float
    longitude: float
    south: float
    west: float
    north: float
    east: float
    score: float
    share: float
    past_cases: int
    long_term: float
    near_repeat: float


@dataclass(frozen=True)
class StationHotspots:
    """A station's ranked cells. `score` is in the method's units: expected cases over the
    horizon for the self-exciting model, the past count for naive counts, a density for
    kernel density; `share` is the cell's part of the station's total score."""

    station_id: str
    station_name: str
    method: HotspotMethod
    cell_m: float
    horizon_days: float
    forecast_from: datetime
    cells_total: int
    cases_used: int
    cells: list[HotspotCell]


@dataclass(frozen=True)
class PatrolPlan:
    """A station's shift plan: each shift's patrol points per officer, with their hours."""

    station_id: str
    station_name: str
    plan_date: str
    officers_per_shift: int
    radius_m: float
    shifts: list[Shift]
    stops: list[PatrolStop]


@dataclass(frozen=True)
class _StationCases:
    name: str
    grid: Grid
    cases: CasePoints
    hours: list[float]


def station_of(tree: JurisdictionTreeRead, jurisdiction_id: str) -> str:
    """The station above (or at) a jurisdiction; the jurisdiction itself when none is."""
    current: str | None = jurisdiction_id
    while current is not None:
        if tree.levels.get(current) == STATION_LEVEL:
            return current
        current = tree.parents.get(current)
    return jurisdiction_id


def parse_method(name: str) -> HotspotMethod:
    try:
        return HotspotMethod(name)
    except ValueError:
        raise BadRequestError(
            f"unknown method '{name[:40]}'; one of: {', '.join(m.value for m in HotspotMethod)}",
            field="method",
        ) from None


class HotspotService:
    """Forecasts where cases will happen, per station of the user's jurisdiction."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        settings: CaseSettings,
        scope: JurisdictionScope,
    ) -> None:
        self.repository = CaseRepository(session)
        self.registry = RegistryService(session, clock=clock)
        self.clock = clock
        self.settings = settings
        self.scope = scope
        self.parameters = HotspotParameters.of(settings)

    def stations(
        self,
        *,
        method: HotspotMethod | None = None,
        station_id: str | None = None,
        limit: int = 20,
        cell_m: float | None = None,
    ) -> list[StationHotspots]:
        """The ranked cells of each station with cases in the look-back (or of one
        station: NotFoundError when it is not in the user's jurisdiction)."""
        method = method or HotspotMethod(self.settings.hotspot_method)
        now = self.clock.now()
        since = now - timedelta(days=self.parameters.lookback_days)
        tree = self.registry.jurisdiction_tree()
        if station_id is not None:
            self._check_station(tree, station_id)
        by_station = self._cases_by_station(tree, since, now)
        communities = self.registry.list_communities(scope=self.scope)
        out = []
        size = cell_m or self.settings.hotspot_cell_m
        for station, points in sorted(by_station.items()):
            if station_id is not None and station != station_id:
                continue
            extra = [(c.latitude, c.longitude) for c in communities
                     if station_of(tree, c.jurisdiction_id) == station]  # fmt: skip
            name = tree.names.get(station, station)
            out.append(self._station(station, name, points, extra, method, now, limit, size))
        return out

    def _cases_by_station(
        self, tree: JurisdictionTreeRead, since: datetime, now: datetime
    ) -> dict[str, list[CasePlace]]:
        """station -> (latitude, longitude, days before now, local hour, midpoint in UNIX
        seconds) of its cases."""
        by_station: dict[str, list[CasePlace]] = {}
        for jurisdiction, _, lat, lon, time_from, time_to in self.repository.places(
            scope=self.scope, since=since, until=now
        ):
            middle = time_from + (time_to - time_from) / 2
            days = (middle - now).total_seconds() / DAY_SECONDS
            hour = middle.astimezone(now.tzinfo).hour
            by_station.setdefault(station_of(tree, jurisdiction), []).append(
                (lat, lon, days, hour, middle.timestamp())
            )
        return by_station

    def patrol_plan(
        self,
        station_id: str,
        *,
        officers: int | None = None,
        alerts: Sequence[tuple[float, float, float, int]] = (),
        crowd: Sequence[tuple[float, float, int]] = (),
    ) -> PatrolPlan:
        """The shift plan of a station for the day ahead. `alerts`: (latitude, longitude,
        weight, local hour) of the station's recent alerts; `crowd`: (latitude, longitude,
        level) of its crowd zones at or forecast above a warning level now."""
        settings = self.settings
        officers = officers or settings.patrol_officers_per_shift
        if not 1 <= officers <= 200:
            raise BadRequestError("give 1 to 200 officers per shift", field="officers")
        tree = self.registry.jurisdiction_tree()
        self._check_station(tree, station_id)
        now = self.clock.now()
        since = now - timedelta(days=self.parameters.lookback_days)
        points = self._cases_by_station(tree, since, now).get(station_id, [])
        communities = [(c.latitude, c.longitude)
                       for c in self.registry.list_communities(scope=self.scope)
                       if station_of(tree, c.jurisdiction_id) == station_id]  # fmt: skip
        every = [(p[0], p[1]) for p in points] + communities + [(a[0], a[1]) for a in alerts]
        if not every:
            raise NotFoundError(f"station '{station_id}' has no cases, communities or alerts "
                                "to plan from", field="station")  # fmt: skip
        grid = grid_over([e[0] for e in every], [e[1] for e in every], settings.hotspot_cell_m)
        layers = self._risk(grid, points, alerts, crowd, now)
        shifts = parse_shifts(settings.patrol_shifts)
        stops = [
            stop
            for shift in shifts
            for stop in plan_shift(
                grid,
                layers,
                shift,
                officers=officers,
                stops_per_officer=settings.patrol_stops_per_officer,
                radius_m=settings.patrol_radius_m,
                hours_per_stop=settings.patrol_hours_per_stop,
            )
        ]
        name = tree.names.get(station_id, station_id)
        return PatrolPlan(station_id, name, f"{now:%Y-%m-%d}", officers,
                          settings.patrol_radius_m, shifts, stops)  # fmt: skip

    def _daily_case_risk(self, grid: Grid, points: list[CasePlace]) -> np.ndarray:
        """Expected cases per cell in one day, by the configured forecast."""
        x, y = grid.project(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
        cases = CasePoints.of(x, y, np.array([p[2] for p in points]))
        method = HotspotMethod(self.settings.hotspot_method)
        scores = forecast(method, grid, cases, 0.0, self.parameters,
                          fit=self._fit(method, grid, cases, points))  # fmt: skip
        if method is HotspotMethod.SELF_EXCITING:  # expected cases over the horizon
            return scores / self.parameters.horizon_days
        # A count or a density: scaled to the station's cases per day over the look-back.
        finite = np.where(np.isfinite(scores), np.maximum(scores, 0.0), 0.0)
        per_day = len(points) / self.parameters.lookback_days
        return finite / max(float(finite.sum()), 1e-9) * per_day

    def _risk(
        self,
        grid: Grid,
        points: list[CasePlace],
        alerts: Sequence[tuple[float, float, float, int]],
        crowd: Sequence[tuple[float, float, int]],
        now: datetime,
    ) -> RiskLayers:
        settings = self.settings
        shifts = parse_shifts(settings.patrol_shifts)
        # The crowd forecast looks minutes ahead: it weighs in the shift under way only.
        under_way = tuple(h for shift in shifts if now.hour in shift.hours for h in shift.hours)
        risk_points = [RiskPoint(a[0], a[1], a[2] / settings.patrol_alert_days, "alerts")
                       for a in alerts]  # fmt: skip
        risk_points += [RiskPoint(lat, lon, level * settings.patrol_crowd_weight, "crowd",
                                  under_way or None) for lat, lon, level in crowd]  # fmt: skip
        return risk_layers(
            grid, self._daily_case_risk(grid, points), hour_profile([p[3] for p in points]),
            risk_points, {"alerts": hour_profile([a[3] for a in alerts])},
        )  # fmt: skip

    def _fit(
        self, method: HotspotMethod, grid: Grid, cases: CasePoints, points: list[CasePlace]
    ) -> SelfExcitingFit | None:
        """The self-exciting fit on the cases before now (`FIT_CACHE`'s when the same grid
        and cases were fitted before); None for the other methods, which fit nothing."""
        if method is not HotspotMethod.SELF_EXCITING or not len(cases):
            return None
        lookback = self.parameters.lookback_days
        # The cases `forecast` reads: before now, within the look-back.
        past = [p for p in points if -lookback <= p[2] < 0.0]
        key = FIT_CACHE.key(grid, self.parameters, past)
        cached = FIT_CACHE.get(key)
        if cached is not None:
            return cached
        known = _recent(cases, lookback)
        span = min(lookback, -float(known.t[0])) if len(known) else 1.0
        fit = fit_self_exciting(grid, known, neighbours=self.parameters.neighbours,
                                min_bandwidth_m=self.parameters.min_bandwidth_m,
                                span_days=span)  # fmt: skip
        FIT_CACHE.put(key, fit)
        return fit

    def _check_station(self, tree: JurisdictionTreeRead, station_id: str) -> None:
        if station_id not in tree.parents or not (
            self.scope.is_unscoped or self.scope.contains(station_id)
        ):
            raise NotFoundError(f"no station '{station_id[:64]}' in your jurisdiction",
                                field="station")  # fmt: skip

    def _station(
        self,
        station: str,
        name: str,
        points: list[CasePlace],
        extra: list[tuple[float, float]],
        method: HotspotMethod,
        now: datetime,
        limit: int,
        cell_m: float,
    ) -> StationHotspots:
        lats = [p[0] for p in points] + [e[0] for e in extra]
        lons = [p[1] for p in points] + [e[1] for e in extra]
        grid = grid_over(lats, lons, cell_m)
        x, y = grid.project(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
        cases = CasePoints.of(x, y, np.array([p[2] for p in points]))
        fit = self._fit(method, grid, cases, points)
        scores = forecast(method, grid, cases, 0.0, self.parameters, fit=fit)
        near_repeat = np.zeros(grid.shape)
        if fit is not None:
            _, near_repeat = self_exciting_parts(
                grid, _recent(cases, self.parameters.lookback_days), fit, 0.0,
                self.parameters.horizon_days, self.parameters.count_share,
            )  # fmt: skip
        counts = _past_counts(grid, cases)
        rows, cols = top_cells(scores, limit)
        finite = scores[np.isfinite(scores)]
        total = float(finite[finite > 0].sum()) or 1.0
        cells = []
        for rank, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True), start=1):
            south, west, north, east = grid.cell_bounds(r, c)
            lat, lon = grid.cell_centre(r, c)
            cells.append(HotspotCell(
                rank, round(lat, 6), round(lon, 6), round(south, 6), round(west, 6),
                round(north, 6), round(east, 6), round(float(scores[r, c]), 4),
                round(max(float(scores[r, c]), 0.0) / total, 4), int(counts[r, c]),
                round(float(scores[r, c] - near_repeat[r, c]), 4),
                round(float(near_repeat[r, c]), 4),
            ))  # fmt: skip
        return StationHotspots(station, name, method, cell_m, self.parameters.horizon_days, now,
                               grid.cell_count, len(points), cells)  # fmt: skip


def _recent(cases: CasePoints, lookback_days: float) -> CasePoints:
    """The cases a forecast at time 0 reads: before it, within the look-back."""
    past = cases.before(0.0)
    keep = past.t >= -lookback_days
    return CasePoints(past.x[keep], past.y[keep], past.t[keep])


def _past_counts(grid: Grid, cases: CasePoints) -> np.ndarray:
    out = np.zeros(grid.shape, dtype=np.int64)
    row, col, ok = grid.cells_of(cases.x, cases.y)
    np.add.at(out, (row[ok], col[ok]), 1)
    return out
