"""Hotspots (热力图): the grid, the three forecast methods, the self-exciting model's fit,
and the rolling-origin evaluation against naive counts on the simulator (the issue's bar)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zhian.cases.facts import CaseFacts
from zhian.cases.hotspot_eval import COUNT_SHARES, VALIDATION_ORIGINS, evaluate_hotspots
from zhian.cases.hotspots import (
    CasePoints,
    Grid,
    HotspotMethod,
    HotspotParameters,
    SelfExcitingFit,
    fit_self_exciting,
    forecast,
    grid_over,
    self_exciting_scores,
    top_cells,
)
from zhian.cases.settings import CaseSettings
from zhian.cli.main import app
from zhian.errors import BadRequestError
from zhian.sim.scenarios_cases import MAPPING_TOML, simulate_cases
from zhian.sim.timeline import TZ

CENTRE = (30.27, 120.155)


def square_grid(side_m: float = 3000, cell_m: float = 150) -> Grid:
    half = side_m / 2 / 111_320
    lats = [CENTRE[0] - half, CENTRE[0] + half]
    lons = [CENTRE[1] - half / math.cos(math.radians(CENTRE[0])),
            CENTRE[1] + half / math.cos(math.radians(CENTRE[0]))]  # fmt: skip
    return grid_over([lats[0], lats[0], lats[1], lats[1]],
                     [lons[0], lons[1], lons[0], lons[1]], cell_m)  # fmt: skip


def at(grid: Grid, row: int, col: int) -> tuple[float, float]:
    """The plane point at the centre of a cell."""
    return grid.x0_m + (col + 0.5) * grid.cell_m, grid.y0_m + (row + 0.5) * grid.cell_m


def points(grid: Grid, cells_and_days: list[tuple[int, int, float]]) -> CasePoints:
    xy = [at(grid, r, c) for r, c, _ in cells_and_days]
    return CasePoints.of(np.array([p[0] for p in xy]), np.array([p[1] for p in xy]),
                         np.array([d for _, _, d in cells_and_days]))  # fmt: skip


def test_the_grid_covers_the_area_with_cells_of_the_given_size() -> None:
    grid = square_grid(3000, 150)
    # A 3 km square grown by one cell: about (3000 + 2 * 150)² / 150² cells, corners rounded.
    assert 400 <= grid.cell_count <= 22 * 22 + 1
    lat, lon = grid.cell_centre(5, 7)
    x, y = grid.project(np.array([lat]), np.array([lon]))
    row, col, inside = grid.cells_of(x, y)
    assert (int(row[0]), int(col[0])) == (5, 7) and bool(inside[0])
    south, _, north, _ = grid.cell_bounds(5, 7)
    assert (north - south) * 111_320 == pytest.approx(150, rel=1e-3)
    far_x, far_y = grid.project(np.array([CENTRE[0] + 0.2]), np.array([CENTRE[1]]))
    assert not grid.cells_of(far_x, far_y)[2][0]  # 22 km away: outside the area


def test_naive_counts_rank_the_busiest_cell_first_and_break_ties_by_recency() -> None:
    grid = square_grid()
    cases = points(grid, [(3, 3, -100), (3, 3, -90), (3, 3, -80),
                          (8, 8, -50), (8, 8, -40), (9, 9, -300), (9, 9, -2)])  # fmt: skip
    scores = forecast(HotspotMethod.NAIVE, grid, cases, 0.0, HotspotParameters())
    rows, cols = top_cells(scores, 3)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(3, 3), (9, 9), (8, 8)]


def test_kernel_density_spreads_a_case_over_neighbouring_cells() -> None:
    grid = square_grid()
    cases = points(grid, [(10, 10, -5)])
    scores = forecast(HotspotMethod.KDE, grid, cases, 0.0, HotspotParameters(bandwidth_m=150))
    assert scores[10, 10] > scores[10, 11] > scores[10, 13] > 0
    assert scores[10, 11] == pytest.approx(scores[11, 10])
    assert float(scores[np.isfinite(scores)].sum()) == pytest.approx(1.0, abs=0.01)


def test_a_fresh_case_raises_the_forecast_nearby_and_the_rise_fades() -> None:
    grid = square_grid()
    fit = SelfExcitingFit(branching=0.3, decay_per_day=1 / 7, spread_m=100,
                          background=np.full(grid.shape, 0.001), iterations=0)  # fmt: skip
    fresh = points(grid, [(10, 10, -1)])
    old = points(grid, [(10, 10, -60)])
    near = self_exciting_scores(grid, fresh, fit, 0.0, 7) - fit.background * 7
    faded = self_exciting_scores(grid, old, fit, 0.0, 7) - fit.background * 7
    assert near[10, 10] > 100 * faded[10, 10] > 0
    assert near[10, 10] > near[10, 12] > near[10, 16]
    # Expected cases over a week: the background plus a share of the branching ratio.
    triggered = float(near.sum())
    expected = 0.3 * (math.exp(-1 / 7) - math.exp(-8 / 7))
    assert triggered == pytest.approx(expected, rel=0.05)


def test_the_long_term_rate_blends_the_background_with_the_cells_own_count() -> None:
    grid = square_grid()
    cases = points(grid, [(10, 10, -30), (10, 10, -20), (10, 10, -5), (3, 4, -40), (15, 2, -9)])
    fit = fit_self_exciting(grid, cases, neighbours=2, min_bandwidth_m=50, span_days=50)
    assert fit.cell_rate is not None
    assert fit.cell_rate[10, 10] * 50 == pytest.approx(3) and fit.cell_rate[3, 4] * 50 == 1
    assert float(fit.cell_rate.sum()) * 50 == pytest.approx(5)
    np.testing.assert_allclose(fit.long_term(0.0), fit.background)
    np.testing.assert_allclose(fit.long_term(1.0), fit.cell_rate)
    np.testing.assert_allclose(fit.long_term(0.25), 0.75 * fit.background + 0.25 * fit.cell_rate)
    # The smoothed background spreads the busy cell over its neighbours; the count does not.
    assert fit.long_term(1.0)[10, 11] == 0 < fit.long_term(0.0)[10, 11]


def simulated_hawkes(
    grid: Grid, rng: np.random.Generator, *, days: float, background_per_day: float,
    branching: float, mean_delay_days: float, spread_m: float,
) -> CasePoints:  # fmt: skip
    """A space-time Hawkes process: uniform background cases, each with Poisson(branching)
    offspring, delays exponential, displacements Gaussian."""
    rows, cols = grid.shape
    n = rng.poisson(background_per_day * days)
    x = grid.x0_m + rng.uniform(0, cols * grid.cell_m, n)
    y = grid.y0_m + rng.uniform(0, rows * grid.cell_m, n)
    t = rng.uniform(0, days, n)
    generation = (x, y, t)
    all_x, all_y, all_t = [x], [y], [t]
    while len(generation[0]):
        gx, gy, gt = generation
        kids = rng.poisson(branching, len(gx))
        px, py, pt = np.repeat(gx, kids), np.repeat(gy, kids), np.repeat(gt, kids)
        cx = px + rng.normal(0, spread_m, len(px))
        cy = py + rng.normal(0, spread_m, len(py))
        ct = pt + rng.exponential(mean_delay_days, len(pt))
        keep = ct < days
        generation = (cx[keep], cy[keep], ct[keep])
        all_x.append(generation[0])
        all_y.append(generation[1])
        all_t.append(generation[2])
    return CasePoints.of(np.concatenate(all_x), np.concatenate(all_y), np.concatenate(all_t))


def test_the_fit_recovers_a_known_self_exciting_process() -> None:
    grid = square_grid(6000, 150)
    cases = simulated_hawkes(grid, np.random.default_rng(7), days=365, background_per_day=3,
                             branching=0.4, mean_delay_days=5, spread_m=100)  # fmt: skip
    fit = fit_self_exciting(grid, cases, neighbours=15, min_bandwidth_m=50, span_days=365)
    assert fit.branching == pytest.approx(0.4, abs=0.12)
    assert 1 / fit.decay_per_day == pytest.approx(5, rel=0.4)
    assert fit.spread_m == pytest.approx(100, rel=0.4)


def simulator_facts(seed: int) -> list[CaseFacts]:
    planted = simulate_cases(seed=seed, start=datetime(2025, 1, 1, tzinfo=TZ), days=365)
    return [
        CaseFacts(case_id=c.case_id, category=c.category, time_from=c.time_from,
                  time_to=c.time_to, latitude=c.place.latitude, longitude=c.place.longitude,
                  time_of_day="unknown")
        for c in planted.cases
    ]  # fmt: skip


def test_the_chosen_model_beats_naive_counts_on_the_simulator() -> None:
    """The bar of issue #16: the self-exciting model's hit rate beats naive counts at 1 %
    and 5 % coverage, six months of weekly origins after six months of training."""
    half_year = datetime(2025, 7, 1, tzinfo=TZ)
    result = evaluate_hotspots(
        simulator_facts(seed=2), train_until=half_year, test_from=half_year,
        test_to=datetime(2026, 1, 1, tzinfo=TZ), cell_m=150, coverages_pct=[1, 5],
        parameters=HotspotParameters.of(CaseSettings()),
    )  # fmt: skip
    assert result.origins == 27 and result.test_cases > 500
    for coverage in (1, 5):
        model = result.score(HotspotMethod.SELF_EXCITING, coverage)
        naive = result.score(HotspotMethod.NAIVE, coverage)
        assert model.hit_rate > naive.hit_rate, coverage
        # Crime concentrates: a few per cent of the area holds far more than its share.
        assert result.pai(HotspotMethod.SELF_EXCITING, coverage) > 3


def test_the_count_share_is_chosen_on_training_cases_only() -> None:
    """The self-exciting model's count share is chosen on the validation window before the
    end of training: moving every test case elsewhere changes the test scores, never the
    choice nor the validation figures it was made on."""
    planted = simulate_cases(seed=4, start=datetime(2025, 1, 1, tzinfo=TZ), days=200,
                             series=10, background_per_day=2)  # fmt: skip
    facts = [CaseFacts(case_id=c.case_id, category=c.category, time_from=c.time_from,
                       time_to=c.time_to, latitude=c.place.latitude,
                       longitude=c.place.longitude, time_of_day="unknown")
             for c in planted.cases]  # fmt: skip
    train_until = datetime(2025, 5, 1, tzinfo=TZ)
    test_from, test_to = train_until, datetime(2025, 7, 1, tzinfo=TZ)
    # A different test window: every test case at the place of the last training case.
    last = max((f for f in facts if f.time_to < train_until), key=lambda f: f.midpoint)
    moved = [replace(f, latitude=last.latitude, longitude=last.longitude)
             if f.midpoint >= test_from else f for f in facts]  # fmt: skip
    runs = [
        evaluate_hotspots(cases, train_until=train_until, test_from=test_from, test_to=test_to,
                          cell_m=150, coverages_pct=[1, 5],
                          parameters=HotspotParameters.of(CaseSettings()))
        for cases in (facts, moved)
    ]  # fmt: skip
    real, elsewhere = runs
    assert real.validation_origins == VALIDATION_ORIGINS and real.validation_cases > 50
    assert set(real.validation) == set(COUNT_SHARES)
    assert real.validation[real.count_share] == max(real.validation.values())
    assert elsewhere.validation == real.validation
    assert elsewhere.count_share == real.count_share
    assert elsewhere.validation_cases == real.validation_cases
    # The test window did change: all of it now falls in one cell, flagged once it fills.
    for method in HotspotMethod:
        assert elsewhere.score(method, 1).hit_rate > 0.8 > 0.6 > real.score(method, 1).hit_rate


def test_the_periods_must_be_in_order() -> None:
    facts = simulator_facts(seed=2)[:50]
    with pytest.raises(BadRequestError) as caught:
        evaluate_hotspots(
            facts, train_until=datetime(2025, 7, 1, tzinfo=TZ),
            test_from=datetime(2025, 6, 1, tzinfo=TZ), test_to=datetime(2025, 8, 1, tzinfo=TZ),
            cell_m=150, coverages_pct=[1], parameters=HotspotParameters(),
        )  # fmt: skip
    assert caught.value.field == "test_from"


def test_the_command_prints_every_method_and_names_a_bad_option(tmp_path: Path) -> None:
    planted = simulate_cases(seed=3, start=datetime(2025, 1, 1, tzinfo=TZ), days=120,
                             series=10, background_per_day=2)  # fmt: skip
    cases = planted.write_csv(tmp_path / "cases.csv")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TOML, encoding="utf-8")
    runner = CliRunner()
    base = ["eval", "hotspots", str(cases), "--mapping", str(mapping), "--cell", "200",
            "--train-until", "2025-03-01", "--test-from", "2025-03-01", "--test-to",
            "2025-04-30"]  # fmt: skip
    result = runner.invoke(app, [*base, "--coverage", "1,5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("naive counts (baseline)", "kernel density", "self-exciting", "PAI 5%",
                 "9 origins every 7 days"):  # fmt: skip
        assert text in result.output
    # The caption (wrapped to the terminal) says which count share validation chose, how.
    caption = " ".join(result.output.split())
    chosen = re.search(r"Count share ([0-9.]+), chosen on (\d+) validation origins before the "
                       r"end of training \((\d+) training cases; mean hit rate by share: "
                       r"0: [0-9.]+, 0.25: [0-9.]+, 0.5: [0-9.]+, 0.75: [0-9.]+, 1: [0-9.]+\)",
                       caption)  # fmt: skip
    assert chosen is not None, caption
    assert float(chosen[1]) in COUNT_SHARES and int(chosen[2]) == VALIDATION_ORIGINS
    bad = runner.invoke(app, [*base, "--coverage", "1,x"])
    assert bad.exit_code == 2 and "coverage" in bad.output
    backwards = runner.invoke(app, [*base[:-2], "--test-to", "2025-02-01"])
    assert backwards.exit_code == 2 and "test_to" in backwards.output
