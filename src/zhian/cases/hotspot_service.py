"""Hotspots per station (热力图): the forecast cells of each station's jurisdiction, ranked.

Place-based only: a cell's figures are counts of cases and expected cases, never anything
about a person. Each station gets its own grid over the area its cases and communities
outline, and the forecast of the configured method from the cases of the look-back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.cases.hotspots import (
    CasePoints,
    Grid,
    HotspotMethod,
    HotspotParameters,
    forecast,
    grid_over,
    top_cells,
)
from zhian.cases.repository import CaseRepository
from zhian.cases.settings import CaseSettings
from zhian.errors import BadRequestError, NotFoundError
from zhian.kit.clock import Clock
from zhian.registry.schemas import JurisdictionTreeRead
from zhian.registry.service import RegistryService

DAY_SECONDS = 86_400.0
STATION_LEVEL = "station"


@dataclass(frozen=True)
class HotspotCell:
    """One ranked cell: where it is, what the forecast expects there, what happened."""

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
        if station_id is not None and (
            station_id not in tree.parents
            or not (self.scope.is_unscoped or self.scope.contains(station_id))
        ):
            raise NotFoundError(f"no station '{station_id[:64]}' in your jurisdiction",
                                field="station")  # fmt: skip
        by_station: dict[str, list[tuple[float, float, float]]] = {}
        for jurisdiction, _, lat, lon, time_from, time_to in self.repository.places(
            scope=self.scope, since=since, until=now
        ):
            middle = time_from + (time_to - time_from) / 2
            days = (middle - now).total_seconds() / DAY_SECONDS
            by_station.setdefault(station_of(tree, jurisdiction), []).append((lat, lon, days))
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

    def _station(
        self,
        station: str,
        name: str,
        points: list[tuple[float, float, float]],
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
        scores = forecast(method, grid, cases, 0.0, self.parameters)
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
            ))  # fmt: skip
        return StationHotspots(station, name, method, cell_m, self.parameters.horizon_days, now,
                               grid.cell_count, len(points), cells)  # fmt: skip


def _past_counts(grid: Grid, cases: CasePoints) -> np.ndarray:
    out = np.zeros(grid.shape, dtype=np.int64)
    row, col, ok = grid.cells_of(cases.x, cases.y)
    np.add.at(out, (row[ok], col[ok]), 1)
    return out
