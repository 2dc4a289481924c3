"""Patrol allocation (警力优化): shifts, hour profiles, the greedy covering of forecast risk
and the shift plan as CSV and Excel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from openpyxl import load_workbook

from tests.cases.test_hotspots import square_grid
from zhian.cases.hotspots import Grid
from zhian.cases.patrol import (
    PLAN_COLUMNS,
    RiskPoint,
    Shift,
    hour_profile,
    parse_shifts,
    plan_csv,
    plan_rows,
    plan_shift,
    plan_xlsx,
    risk_layers,
)


def test_shifts_are_read_and_wrap_past_midnight() -> None:
    shifts = parse_shifts("day=8-16, evening=16-24,night=22-6")
    assert [s.name for s in shifts] == ["day", "evening", "night"]
    assert shifts[0].hours == list(range(8, 16))
    assert shifts[1].hours == list(range(16, 24))
    assert shifts[2].hours == [22, 23, 0, 1, 2, 3, 4, 5]
    for bad in ("day", "day=8", "day=x-9", "day=8-30", ""):
        with pytest.raises(ValueError):
            parse_shifts(bad)


def test_the_hour_profile_keeps_some_weight_on_every_hour() -> None:
    profile = hour_profile([22, 22, 23, 1])
    assert profile.sum() == pytest.approx(1.0)
    assert profile[22] > profile[23] > profile[12] > 0


def centre_of(grid: Grid, row: int, col: int) -> tuple[float, float]:
    return grid.cell_centre(row, col)


def test_officers_cover_the_riskiest_places_first_at_their_riskiest_hours() -> None:
    grid = square_grid(3000, 150)
    cases = np.zeros(grid.shape)
    cases[5, 5] = 3.0  # a chronic hotspot
    cases[5, 6] = 1.0  # its neighbour: covered by the same point
    cases[15, 15] = 2.0
    night = np.zeros(24)
    night[[21, 22, 23]] = [0.2, 0.5, 0.3]
    alert_at = centre_of(grid, 2, 17)
    layers = risk_layers(grid, cases, night, [RiskPoint(*alert_at, 1.5, "alerts", (9, 10))], {})
    evening = Shift("evening", 16, 24)
    stops = plan_shift(grid, layers, evening, officers=2, stops_per_officer=2, radius_m=300,
                       hours_per_stop=2)  # fmt: skip
    assert [(s.officer, s.order) for s in stops][:2] == [(1, 1), (2, 1)]
    first, second = stops[0], stops[1]
    assert first.risk == pytest.approx(4.0) and first.hours == (22, 23)
    assert second.risk == pytest.approx(2.0)
    assert first.sources["cases"] == pytest.approx(4.0)
    # The alert's risk lies in the morning: it does not weigh in the evening plan...
    assert all(s.sources.get("alerts", 0.0) == 0 for s in stops)
    day = plan_shift(grid, layers, Shift("day", 8, 16), officers=1, stops_per_officer=1,
                     radius_m=300, hours_per_stop=2)  # fmt: skip
    # ... but leads the day shift, at its hours.
    assert day[0].hours == (9, 10) and day[0].sources["alerts"] == pytest.approx(1.5)
    assert (day[0].latitude, day[0].longitude) == pytest.approx(alert_at, abs=1e-5)


def test_no_point_is_proposed_where_there_is_no_risk() -> None:
    grid = square_grid(3000, 150)
    cases = np.zeros(grid.shape)
    cases[4, 4] = 1.0
    layers = risk_layers(grid, cases, hour_profile([]), [], {})
    stops = plan_shift(grid, layers, Shift("day", 8, 16), officers=3, stops_per_officer=3,
                       radius_m=300, hours_per_stop=1)  # fmt: skip
    assert len(stops) == 1 and stops[0].share == pytest.approx(1.0)


def test_the_shift_plan_as_csv_and_excel_keeps_formulas_as_text() -> None:
    grid = square_grid(3000, 150)
    cases = np.zeros(grid.shape)
    cases[6, 6] = 2.0
    layers = risk_layers(grid, cases, hour_profile([9]), [], {})
    stops = plan_shift(grid, layers, Shift("day", 8, 16), officers=1, stops_per_officer=1,
                       radius_m=300, hours_per_stop=2)  # fmt: skip
    rows = plan_rows("=HYPERLINK(1)", "2026-11-20", stops)
    text = plan_csv(rows).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].split(",") == list(PLAN_COLUMNS)
    assert lines[1].startswith("'=HYPERLINK(1),2026-11-20,day,1,1,")
    assert "09:00-10:00" in lines[1]
    sheet = load_workbook(io.BytesIO(plan_xlsx(rows))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == PLAN_COLUMNS
    assert values[1][0] == "'=HYPERLINK(1)" and values[1][2] == "day"
