"""Patrol allocation (警力优化): where and when a station's officers of a shift should patrol.

Risk is of places and hours only. Per cell and shift it sums three sources, each in
"expected incidents in the shift":

- the case forecast (`zhian.cases.hotspots`) times the share of past cases that fell in
  the shift's hours (cases are not spread evenly over the day);
- alert history: the station's alerts of the look-back at their places, spread over the
  horizon, times the share of alerts in the shift's hours;
- crowd forecasts: a zone whose crowd view is at or forecast above a warning level adds
  the officers its recommendation asks for, in the shift under way only (the crowd
  forecast reaches minutes ahead, not days).

Each officer gets patrol points chosen greedily, the point covering the most risk not yet
covered within `radius_m` first (the classic maximal-covering heuristic, within 1 - 1/e of
the best), and the hours of the shift where that risk is highest.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from openpyxl import Workbook

from zhian.cases.hotspots import Grid
from zhian.kit.exports import safe_cell

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Shift:
    """A shift by its start and end hour (end after midnight: smaller than the start)."""

    name: str
    start_hour: int
    end_hour: int

    @property
    def hours(self) -> list[int]:
        length = (self.end_hour - self.start_hour) % 24 or 24
        return [(self.start_hour + i) % 24 for i in range(length)]


def parse_shifts(text: str) -> list[Shift]:
    """'day=8-16,evening=16-24,night=0-8' → shifts; ValueError naming the bad part."""
    shifts = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, span = part.partition("=")
        start, _, end = span.partition("-")
        if not (name and start.isdigit() and end.isdigit()) or not (
            0 <= int(start) <= 24 and 0 <= int(end) <= 24
        ):
            raise ValueError(f"'{part}' is not a shift like day=8-16")
        shifts.append(Shift(name.strip(), int(start) % 24, int(end) % 24))
    if not shifts:
        raise ValueError("no shift given")
    return shifts


def hour_profile(hours: Sequence[float], smoothing: float = 1.0) -> FloatArray:
    """The share of events in each hour of the day (24 values summing to 1), with a small
    even prior so that an hour without events keeps some weight."""
    counts = np.full(24, smoothing)
    for hour in hours:
        counts[int(hour) % 24] += 1
    return np.asarray(counts / counts.sum(), dtype=float)


@dataclass(frozen=True)
class RiskPoint:
    """A place of extra risk (an alert's place, a crowd zone): its weight in expected
    incidents and, when it matters at some hours only, those hours."""

    latitude: float
    longitude: float
    weight: float
    source: str
    hours: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PatrolStop:
    """One recommended patrol point of one officer in one shift."""

    shift: str
    officer: int
    order: int
    latitude: float
    longitude: float
    hours: tuple[int, ...]
    risk: float
    share: float
    sources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskLayers:
    """Risk per cell per hour of day, by source (cases, alerts, crowd)."""

    by_source: dict[str, FloatArray]  # source -> (rows, cols, 24)

    def total(self) -> FloatArray:
        return np.asarray(sum(self.by_source.values()), dtype=float)


def risk_layers(
    grid: Grid,
    case_scores: FloatArray,
    case_hours: FloatArray,
    points: Sequence[RiskPoint],
    point_hours: dict[str, FloatArray],
) -> RiskLayers:
    """Spread each source over the cells and the hours of the day."""
    cases = np.where(np.isfinite(case_scores), np.maximum(case_scores, 0.0), 0.0)
    layers: dict[str, FloatArray] = {"cases": cases[:, :, None] * case_hours[None, None, :]}
    for point in points:
        x, y = grid.project(np.array([point.latitude]), np.array([point.longitude]))
        row, col, inside = grid.cells_of(x, y)
        if not inside[0]:
            continue
        layer = layers.setdefault(point.source, np.zeros((*grid.shape, 24)))
        if point.hours is not None:
            profile = np.zeros(24)
            profile[list(point.hours)] = 1.0 / len(point.hours)
        else:
            profile = point_hours.get(point.source, np.full(24, 1 / 24))
        layer[int(row[0]), int(col[0])] += point.weight * profile
    return RiskLayers(layers)


def plan_shift(
    grid: Grid,
    layers: RiskLayers,
    shift: Shift,
    *,
    officers: int,
    stops_per_officer: int,
    radius_m: float,
    hours_per_stop: int,
) -> list[PatrolStop]:
    """The stops of one shift: greedy maximal covering of the shift's risk."""
    hours = shift.hours
    per_source = {name: layer[:, :, hours] for name, layer in layers.by_source.items()}
    hourly = np.asarray(sum(per_source.values()), dtype=float)  # rows, cols, shift hours
    risk = hourly.sum(axis=2)
    total = float(risk.sum()) or 1.0
    reach = max(0, math.floor(radius_m / grid.cell_m))
    offsets = [(dr, dc) for dr in range(-reach, reach + 1) for dc in range(-reach, reach + 1)
               if (dr * dr + dc * dc) * grid.cell_m**2 <= radius_m**2]  # fmt: skip
    covered = np.zeros(grid.shape, dtype=bool)
    rows, cols = grid.shape
    stops: list[PatrolStop] = []
    for pick in range(officers * stops_per_officer):
        open_risk = np.where(covered, 0.0, risk)
        gain = np.zeros(grid.shape)
        for dr, dc in offsets:
            gain += _shifted(open_risk, dr, dc)
        # Among points covering as much, stand on the riskiest cell itself.
        choice = np.where(grid.inside, gain + 1e-6 * open_risk, -1.0)
        best = int(np.argmax(choice))
        r, c = divmod(best, cols)
        if gain[r, c] <= 0:
            break
        mask = np.zeros(grid.shape, dtype=bool)
        for dr, dc in offsets:
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols:
                mask[rr, cc] = True
        mask &= ~covered
        covered |= mask
        by_hour = hourly[mask].sum(axis=0)
        best_hours = sorted(
            int(hours[i]) for i in np.argsort(-by_hour, kind="stable")[:hours_per_stop]
        )
        lat, lon = grid.cell_centre(r, c)
        sources = {name: round(float(layer[mask].sum()), 4) for name, layer in per_source.items()}
        stops.append(PatrolStop(
            shift=shift.name, officer=pick % officers + 1, order=pick // officers + 1,
            latitude=round(lat, 6), longitude=round(lon, 6), hours=tuple(best_hours),
            risk=round(float(gain[r, c]), 4), share=round(float(gain[r, c]) / total, 4),
            sources=sources,
        ))  # fmt: skip
    return stops


def _shifted(values: FloatArray, dr: int, dc: int) -> FloatArray:
    """values moved so that out[r, c] = values[r + dr, c + dc] (zero off the grid)."""
    out = np.zeros_like(values)
    rows, cols = values.shape
    r0, r1 = max(0, -dr), min(rows, rows - dr)
    c0, c1 = max(0, -dc), min(cols, cols - dc)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = values[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
    return out


# --- the shift plan as a file ---------------------------------------------------------------

PLAN_COLUMNS = ("station", "date", "shift", "officer", "order", "latitude", "longitude",
                "hours", "expected_incidents", "share_of_shift_risk", "cases", "alerts",
                "crowd")  # fmt: skip


def _hours_text(hours: Sequence[int]) -> str:
    return " ".join(f"{h:02d}:00-{(h + 1) % 24:02d}:00" for h in hours)


def _safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula is kept as text."""
    return safe_cell(value) if isinstance(value, str) else value


def plan_rows(station: str, plan_date: str, stops: Sequence[PatrolStop]) -> list[list[object]]:
    """One row per patrol point, in PLAN_COLUMNS order."""
    return [
        [_safe(station), plan_date, _safe(stop.shift), stop.officer, stop.order, stop.latitude,
         stop.longitude, _hours_text(stop.hours), stop.risk, stop.share,
         stop.sources.get("cases", 0.0), stop.sources.get("alerts", 0.0),
         stop.sources.get("crowd", 0.0)]
        for stop in stops
    ]  # fmt: skip


def plan_csv(rows: Sequence[Sequence[object]]) -> bytes:
    """The plan as CSV, UTF-8 with a byte-order mark (Excel opens it in the right script)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PLAN_COLUMNS)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def plan_xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """The plan as an Excel workbook of one sheet."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("patrol plan")
    sheet.append(list(PLAN_COLUMNS))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
