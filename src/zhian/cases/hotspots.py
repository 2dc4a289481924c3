"""Hotspots (热力图): place-based forecasts of where cases will happen, on a grid of cells.

Places only, never people: a forecast is a number per cell of a square grid (a configurable
size, 150 m by default) laid over an area, ranking the cells by the cases expected there
in the coming days. Three methods, from the plainest to the one the literature favours:

- `naive`: the count of past cases in each cell (ties broken by the most recent case);
  the baseline every other method must beat.
- `kde`: kernel density of past cases, a Gaussian kernel of a set bandwidth, integrated
  over each cell.
- `self_exciting`: a space-time Hawkes (ETAS-like) model after Mohler et al. (2011): a
  lasting background rate plus a bump after every case, which decays over days and spreads
  over metres, fitted by expectation-maximisation (stochastic declustering). It captures
  near-repeat victimisation. The long-term part of its forecast blends the fitted
  background (a smoothed density) with each cell's own count of past cases, by a share
  (`count_share`) that `zhian eval hotspots` chooses on a validation window before the
  test: a smoothed density blurs the few cells where crime concentrates most, which a
  cell's own count pins down.

Coordinates are projected onto a local plane in metres (equirectangular about the area's
centre: under 0.1 % error over a city). Time is in days from any fixed epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray

from zhian.cases.settings import CaseSettings

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
METRES_PER_DEGREE = 111_320.0


class HotspotMethod(StrEnum):
    NAIVE = "naive"
    KDE = "kde"
    SELF_EXCITING = "self_exciting"


@dataclass(frozen=True)
class Grid:
    """Square cells of `cell_m` metres over an area; `inside[row, col]` marks the cells of
    the area itself (a cell's centre within the area's outline), the only ones ranked."""

    centre_lat: float
    centre_lon: float
    cell_m: float
    x0_m: float
    y0_m: float
    inside: NDArray[np.bool_]

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.inside.shape
        return rows, cols

    @property
    def cell_count(self) -> int:
        return int(self.inside.sum())

    def project(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(x, y) metres east and north of the centre."""
        east = METRES_PER_DEGREE * math.cos(math.radians(self.centre_lat))
        return (np.asarray(lon) - self.centre_lon) * east, (
            np.asarray(lat) - self.centre_lat
        ) * METRES_PER_DEGREE

    def unproject(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(latitude, longitude) of plane points."""
        east = METRES_PER_DEGREE * math.cos(math.radians(self.centre_lat))
        return self.centre_lat + np.asarray(y) / METRES_PER_DEGREE, self.centre_lon + np.asarray(
            x
        ) / east

    def cells_of(
        self, x: FloatArray, y: FloatArray
    ) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
        """(row, col, in_area) of plane points; row/col are clipped for points outside."""
        rows, cols = self.shape
        col = np.floor((np.asarray(x) - self.x0_m) / self.cell_m).astype(np.int64)
        row = np.floor((np.asarray(y) - self.y0_m) / self.cell_m).astype(np.int64)
        on_grid = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        row, col = np.clip(row, 0, rows - 1), np.clip(col, 0, cols - 1)
        return row, col, on_grid & self.inside[row, col]

    def cell_bounds(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(south, west, north, east) of a cell in degrees."""
        x = self.x0_m + col * self.cell_m
        y = self.y0_m + row * self.cell_m
        south, west = self.unproject(np.array(x), np.array(y))
        north, east = self.unproject(np.array(x + self.cell_m), np.array(y + self.cell_m))
        return float(south), float(west), float(north), float(east)

    def cell_centre(self, row: int, col: int) -> tuple[float, float]:
        """(latitude, longitude) of a cell's centre."""
        lat, lon = self.unproject(
            np.array(self.x0_m + (col + 0.5) * self.cell_m),
            np.array(self.y0_m + (row + 0.5) * self.cell_m),
        )
        return float(lat), float(lon)


def grid_over(lats: Sequence[float], lons: Sequence[float], cell_m: float) -> Grid:
    """A grid over the area the points outline: their convex hull grown by one cell (a
    point, or points on a line, get a square of three cells around them)."""
    if not lats:
        raise ValueError("a grid needs at least one point")
    lat = np.asarray(lats, dtype=float)
    lon = np.asarray(lons, dtype=float)
    centre_lat, centre_lon = float(lat.mean()), float(lon.mean())
    probe = Grid(centre_lat, centre_lon, cell_m, 0.0, 0.0, np.ones((1, 1), dtype=bool))
    x, y = probe.project(lat, lon)
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    outline = shapely.buffer(hull, cell_m, quad_segs=4)
    west, south, east, north = shapely.bounds(outline).tolist()
    x0, y0 = math.floor(west / cell_m) * cell_m, math.floor(south / cell_m) * cell_m
    cols = max(1, math.ceil((east - x0) / cell_m))
    rows = max(1, math.ceil((north - y0) / cell_m))
    cx = x0 + (np.arange(cols) + 0.5) * cell_m
    cy = y0 + (np.arange(rows) + 0.5) * cell_m
    gx, gy = np.meshgrid(cx, cy)
    inside = shapely.contains_xy(outline, gx, gy)
    return Grid(centre_lat, centre_lon, cell_m, x0, y0, np.asarray(inside, dtype=bool))


@dataclass(frozen=True)
class CasePoints:
    """Past cases as plane points (metres) with times (days), sorted by time."""

    x: FloatArray
    y: FloatArray
    t: FloatArray

    @classmethod
    def of(cls, x: FloatArray, y: FloatArray, t: FloatArray) -> CasePoints:
        order = np.argsort(t, kind="stable")
        return cls(np.asarray(x)[order], np.asarray(y)[order], np.asarray(t)[order])

    def before(self, moment: float) -> CasePoints:
        keep = self.t < moment
        return CasePoints(self.x[keep], self.y[keep], self.t[keep])

    def __len__(self) -> int:
        return len(self.t)


def _counts(grid: Grid, cases: CasePoints, weights: FloatArray | None = None) -> FloatArray:
    rows, cols = grid.shape
    row, col, ok = grid.cells_of(cases.x, cases.y)
    w = np.ones(len(cases)) if weights is None else np.asarray(weights, dtype=float)
    out = np.zeros((rows, cols))
    np.add.at(out, (row[ok], col[ok]), w[ok])
    return out


def density(
    grid: Grid, cases: CasePoints, weights: FloatArray | None, sigma_m: FloatArray | float
) -> FloatArray:
    """The mass per cell of a Gaussian kernel around each case (σ per case or one for all),
    integrated exactly over the cells: the kernel is separable, so each case's mass is an
    outer product of its row and column masses and the sum is one matrix product. Mass
    falling off the grid is lost, as it falls outside the area."""
    rows, cols = grid.shape
    n = len(cases)
    if n == 0:
        return np.zeros(grid.shape)
    sigma = np.broadcast_to(np.asarray(sigma_m, dtype=float), (n,))[:, None]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    x_edges = grid.x0_m + np.arange(cols + 1) * grid.cell_m
    y_edges = grid.y0_m + np.arange(rows + 1) * grid.cell_m
    from scipy.special import ndtr  # loaded on first use, not when the web process starts

    col_mass = np.diff(ndtr((x_edges[None, :] - cases.x[:, None]) / sigma), axis=1)
    row_mass = np.diff(ndtr((y_edges[None, :] - cases.y[:, None]) / sigma), axis=1)
    return np.asarray((row_mass * w[:, None]).T @ col_mass)


def _own_cell_mass(grid: Grid, cases: CasePoints, sigma_m: FloatArray) -> FloatArray:
    """The mass of each case's own kernel that falls in its own cell."""
    x_lo = grid.x0_m + np.floor((cases.x - grid.x0_m) / grid.cell_m) * grid.cell_m
    y_lo = grid.y0_m + np.floor((cases.y - grid.y0_m) / grid.cell_m) * grid.cell_m
    from scipy.special import ndtr  # loaded on first use, not when the web process starts

    in_x = ndtr((x_lo + grid.cell_m - cases.x) / sigma_m) - ndtr((x_lo - cases.x) / sigma_m)
    in_y = ndtr((y_lo + grid.cell_m - cases.y) / sigma_m) - ndtr((y_lo - cases.y) / sigma_m)
    return np.asarray(in_x * in_y)


def neighbour_bandwidths(cases: CasePoints, k: int, floor_m: float) -> FloatArray:
    """Each case's distance to its k-th nearest other case, at least `floor_m`: narrow
    kernels where cases crowd, wide ones where they are sparse (variable-bandwidth KDE)."""
    n = len(cases)
    if n <= 1:
        return np.full(n, max(floor_m, 1.0))
    from scipy.spatial import cKDTree  # loaded on first use (as ndtr above)

    tree = cKDTree(np.column_stack([cases.x, cases.y]))
    distances, _ = tree.query(np.column_stack([cases.x, cases.y]), k=min(k, n - 1) + 1)
    return np.asarray(np.maximum(np.asarray(distances, dtype=float)[:, -1], floor_m), dtype=float)


def naive_scores(grid: Grid, cases: CasePoints, now: float) -> FloatArray:
    """Counts per cell; ties broken by the most recent case (a fraction below one)."""
    counts = _counts(grid, cases)
    latest = np.zeros(grid.shape)
    row, col, ok = grid.cells_of(cases.x, cases.y)
    if ok.any():
        age = np.maximum(now - cases.t[ok], 0.0)
        np.maximum.at(latest, (row[ok], col[ok]), 1.0 / (2.0 + age))
    return counts + latest


def kde_scores(grid: Grid, cases: CasePoints, bandwidth_m: float) -> FloatArray:
    """Kernel density of the cases, as expected cases per cell (up to a constant)."""
    return density(grid, cases, None, bandwidth_m)


@dataclass(frozen=True)
class SelfExcitingFit:
    """A fitted space-time self-exciting model.

    `branching` is the expected number of cases one case triggers, `decay_per_day` how fast
    that risk fades (1/mean delay), `spread_m` how far it reaches (Gaussian σ);
    `background` is the lasting rate per cell per day; `cell_rate` the plain count of the
    cases fitted on per cell per day (None: the background stands for it)."""

    branching: float
    decay_per_day: float
    spread_m: float
    background: FloatArray
    iterations: int
    cell_rate: FloatArray | None = None

    def long_term(self, count_share: float) -> FloatArray:
        """The lasting rate per cell per day: the fitted background blended with the
        cell's own count (`count_share` of it from the count)."""
        if self.cell_rate is None or count_share <= 0:
            return self.background
        return (1 - count_share) * self.background + count_share * self.cell_rate


# Pairs further apart than these are never a trigger and its offspring (keeps the pair set
# small: a near-repeat is a matter of weeks and hundreds of metres).
MAX_TRIGGER_DAYS = 60.0
MAX_TRIGGER_M = 1000.0


def _pairs(cases: CasePoints) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """(child, parent, Δt days, squared distance m²) of every candidate pair."""
    children: list[IntArray] = []
    parents: list[IntArray] = []
    n = len(cases)
    start = 0
    for i in range(n):
        while cases.t[i] - cases.t[start] > MAX_TRIGGER_DAYS:
            start += 1
        if start >= i:
            continue
        js = np.arange(start, i)
        d2 = (cases.x[js] - cases.x[i]) ** 2 + (cases.y[js] - cases.y[i]) ** 2
        near = (d2 <= MAX_TRIGGER_M**2) & (cases.t[js] < cases.t[i])
        parents.append(js[near])
        children.append(np.full(int(near.sum()), i, dtype=np.int64))
    if not parents:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    child = np.concatenate(children)
    parent = np.concatenate(parents)
    dt = cases.t[child] - cases.t[parent]
    d2 = (cases.x[child] - cases.x[parent]) ** 2 + (cases.y[child] - cases.y[parent]) ** 2
    return child, parent, dt, d2


def fit_self_exciting(
    grid: Grid,
    cases: CasePoints,
    *,
    neighbours: int,
    min_bandwidth_m: float,
    span_days: float,
    iterations: int = 30,
    initial: SelfExcitingFit | None = None,
) -> SelfExcitingFit:
    """Fit by EM: each case is either background or triggered by an earlier one; the
    E-step weighs those explanations, the M-step re-estimates the background (a weighted
    KDE), the branching ratio, the decay and the spread from them."""
    n = len(cases)
    duration = max(span_days, 1.0)
    cell_area = grid.cell_m**2
    branching, decay, spread = (
        (initial.branching, initial.decay_per_day, initial.spread_m)
        if initial is not None
        else (0.2, 1 / 7, 150.0)
    )
    background_share = np.ones(n)
    child, _parent, dt, d2 = _pairs(cases)
    row, col, _ = grid.cells_of(cases.x, cases.y)
    bandwidths = neighbour_bandwidths(cases, neighbours, min_bandwidth_m)
    # Each case's own kernel mass in its own cell: left out of the background rate at that
    # case (leave-one-out), else narrow kernels would explain every case by itself.
    own = _own_cell_mass(grid, cases, bandwidths)
    background = density(grid, cases, None, bandwidths) / duration
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is reported
        background = density(grid, cases, background_share, bandwidths) / duration
        # A case just off the area still has the rate of the nearest cell (clipped indices).
        others = background[row, col] - background_share * own / duration
        mu = np.maximum(others, 0.0) / cell_area + 1e-12
        trigger = (branching * decay * np.exp(-decay * dt) *
                   np.exp(-d2 / (2 * spread**2)) / (2 * math.pi * spread**2))  # fmt: skip
        total = mu.copy()
        np.add.at(total, child, trigger)
        p_pair = trigger / total[child]
        background_share = mu / total
        triggered = float(p_pair.sum())
        new_branching = min(triggered / max(n, 1), 0.95)
        new_decay = triggered / max(float((p_pair * dt).sum()), 1e-9) if triggered > 1e-6 else decay
        new_spread = (math.sqrt(float((p_pair * d2).sum()) / (2 * triggered))
                      if triggered > 1e-6 else spread)  # fmt: skip
        new_spread = max(new_spread, grid.cell_m / 4)
        converged = (abs(new_branching - branching) < 1e-4 and
                     abs(new_decay - decay) < 1e-4 * decay)  # fmt: skip
        branching, decay, spread = new_branching, new_decay, new_spread
        if converged:
            break
    return SelfExcitingFit(branching, decay, spread, background, done,
                           _counts(grid, cases) / duration)  # fmt: skip


def self_exciting_parts(
    grid: Grid,
    cases: CasePoints,
    fit: SelfExcitingFit,
    now: float,
    horizon_days: float,
    count_share: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """(long-term, near-repeat): the cases expected per cell over [now, now + horizon]
    from the lasting rate, and from what the recent cases still trigger in that window.
    Their sum is the forecast; apart, they say why a cell ranks."""
    age = np.maximum(now - cases.t, 0.0)
    live = age <= MAX_TRIGGER_DAYS * 2
    weights = fit.branching * (np.exp(-fit.decay_per_day * age) -
                               np.exp(-fit.decay_per_day * (age + horizon_days)))  # fmt: skip
    recent = CasePoints(cases.x[live], cases.y[live], cases.t[live])
    triggered = density(grid, recent, weights[live], fit.spread_m)
    return fit.long_term(count_share) * horizon_days, triggered


def self_exciting_scores(
    grid: Grid,
    cases: CasePoints,
    fit: SelfExcitingFit,
    now: float,
    horizon_days: float,
    count_share: float = 0.0,
) -> FloatArray:
    """Expected cases per cell over [now, now + horizon]: the long-term rate plus what each
    past case still triggers in that window."""
    long_term, triggered = self_exciting_parts(grid, cases, fit, now, horizon_days, count_share)
    return long_term + triggered


@dataclass(frozen=True)
class HotspotParameters:
    """What a forecast needs besides the cases (settings `[cases]` hotspot_*)."""

    bandwidth_m: float = 100.0
    horizon_days: float = 7.0
    lookback_days: float = 365.0
    neighbours: int = 3
    min_bandwidth_m: float = 20.0
    count_share: float = 0.25

    @classmethod
    def of(cls, settings: CaseSettings) -> HotspotParameters:
        return cls(
            bandwidth_m=settings.hotspot_bandwidth_m,
            horizon_days=settings.hotspot_horizon_days,
            lookback_days=settings.hotspot_lookback_days,
            neighbours=settings.hotspot_neighbours,
            min_bandwidth_m=settings.hotspot_min_bandwidth_m,
            count_share=settings.hotspot_count_share,
        )


def forecast(
    method: HotspotMethod,
    grid: Grid,
    cases: CasePoints,
    now: float,
    parameters: HotspotParameters,
    *,
    fit: SelfExcitingFit | None = None,
) -> FloatArray:
    """Scores per cell (higher: more cases expected) from the cases before `now` within the
    look-back; cells outside the area score -inf so they are never flagged."""
    past = cases.before(now)
    keep = past.t >= now - parameters.lookback_days
    past = CasePoints(past.x[keep], past.y[keep], past.t[keep])
    if method is HotspotMethod.NAIVE:
        scores = naive_scores(grid, past, now)
    elif method is HotspotMethod.KDE:
        scores = kde_scores(grid, past, parameters.bandwidth_m)
    else:
        if fit is None:
            span = min(parameters.lookback_days, now - float(past.t[0])) if len(past) else 1.0
            fit = fit_self_exciting(grid, past, neighbours=parameters.neighbours,
                                    min_bandwidth_m=parameters.min_bandwidth_m,
                                    span_days=span)  # fmt: skip
        scores = self_exciting_scores(grid, past, fit, now, parameters.horizon_days,
                                      parameters.count_share)  # fmt: skip
    return np.where(grid.inside, scores, -np.inf)


def top_cells(scores: FloatArray, count: int) -> tuple[IntArray, IntArray]:
    """(rows, cols) of the `count` best cells, best first (stable for equal scores)."""
    flat = scores.ravel()
    finite = int(np.isfinite(flat).sum())
    count = max(0, min(count, finite))
    order = np.argsort(-flat, kind="stable")[:count]
    rows, cols = np.unravel_index(order, scores.shape)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
