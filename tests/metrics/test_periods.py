"""Reporting periods: local days, ISO weeks and months, their 环比 and 同比 periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zhian.errors import BadRequestError
from zhian.metrics.periods import parse_period

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # already 2 March in Beijing


def test_today_is_the_local_day() -> None:
    day = parse_period(None, None, now=NOW, zone=CST)
    assert day.label() == "2026-03-02"
    assert day.start == datetime(2026, 3, 2, tzinfo=CST)
    assert day.previous().label() == "2026-03-01"
    assert day.year_before().label() == "2025-03-02"


def test_weeks_are_iso_weeks_and_compare_with_the_same_week_a_year_before() -> None:
    week = parse_period("week", "2026-01-01", now=NOW, zone=CST)
    assert (week.label(), week.start.date().isoformat()) == ("2026-W01", "2025-12-29")
    assert week.end - week.start == timedelta(days=7)
    assert week.previous().label() == "2025-W52"
    assert week.year_before().label() == "2025-W01"
    # 2026 has an ISO week 53; 2025 has not: its 同比 is week 52.
    assert parse_period("week", "2026-12-31", now=NOW, zone=CST).year_before().label() == (
        "2025-W52"
    )


def test_months_roll_over_the_year_and_leap_days() -> None:
    january = parse_period("month", "2026-01-31", now=NOW, zone=CST)
    assert january.previous().label() == "2025-12"
    assert january.end == datetime(2026, 2, 1, tzinfo=CST)
    leap = parse_period("day", "2028-02-29", now=NOW, zone=CST)
    assert leap.year_before().label() == "2027-02-28"


@pytest.mark.parametrize(
    ("granularity", "day", "field"),
    [("year", None, "granularity"), (None, "2026-02-30", "day"), (None, "1900-01-01", "day")],
)
def test_bad_periods_name_their_field(granularity: str | None, day: str | None, field: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        parse_period(granularity, day, now=NOW, zone=CST)
    assert refused.value.field == field
