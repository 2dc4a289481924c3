"""Reporting periods in the local zone: a day, an ISO week or a calendar month, with the
period before it (环比) and the same period a year earlier (同比)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from zhian.errors import BadRequestError


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """[start, end) in the local zone; `first_day` names it (a day, a Monday, a 1st)."""

    granularity: Granularity
    first_day: date
    zone: timezone

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return self.following().start

    def following(self) -> Period:
        return Period(self.granularity, _shift(self.granularity, self.first_day, 1), self.zone)

    def previous(self) -> Period:
        """The period just before (环比)."""
        return Period(self.granularity, _shift(self.granularity, self.first_day, -1), self.zone)

    def year_before(self) -> Period:
        """The same period a year earlier (同比): the same date, ISO week or month."""
        if self.granularity is Granularity.WEEK:
            year, week, _ = self.first_day.isocalendar()
            # ISO week 53 exists only in some years: take week 52 when the year lacks it.
            try:
                first = date.fromisocalendar(year - 1, week, 1)
            except ValueError:
                first = date.fromisocalendar(year - 1, 52, 1)
            return Period(self.granularity, first, self.zone)
        day = self.first_day
        try:
            first = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            first = day.replace(year=day.year - 1, day=28)
        return Period(self.granularity, first, self.zone)

    def label(self) -> str:
        if self.granularity is Granularity.DAY:
            return self.first_day.isoformat()
        if self.granularity is Granularity.WEEK:
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return self.first_day.strftime("%Y-%m")

    def hours(self) -> int:
        return int((self.end - self.start).total_seconds() // 3600)


def _shift(granularity: Granularity, first_day: date, steps: int) -> date:
    if granularity is Granularity.DAY:
        return first_day + timedelta(days=steps)
    if granularity is Granularity.WEEK:
        return first_day + timedelta(weeks=steps)
    month = first_day.month - 1 + steps
    return date(first_day.year + month // 12, month % 12 + 1, 1)


def period_containing(granularity: Granularity, moment: datetime, zone: timezone) -> Period:
    """The period of `granularity` that holds `moment` (read in the local zone)."""
    day = moment.astimezone(zone).date()
    if granularity is Granularity.WEEK:
        day -= timedelta(days=day.weekday())
    elif granularity is Granularity.MONTH:
        day = day.replace(day=1)
    return Period(granularity, day, zone)


def parse_period(
    granularity: str | None, day: str | None, *, now: datetime, zone: timezone
) -> Period:
    """The period a request asks for: `granularity` (day, week, month; day by default)
    holding the local date `day` (YYYY-MM-DD; today by default). 400 names the field."""
    try:
        kind = Granularity((granularity or "day").strip())
    except ValueError:
        raise BadRequestError("must be day, week or month", field="granularity") from None
    moment = now
    if day and day.strip():
        try:
            local = date.fromisoformat(day.strip())
        except ValueError:
            raise BadRequestError("must be a date YYYY-MM-DD", field="day") from None
        if not date(2000, 1, 1) <= local <= date(2100, 12, 31):
            raise BadRequestError("must be between 2000-01-01 and 2100-12-31", field="day")
        moment = datetime.combine(local, time(12), tzinfo=zone)
    return period_containing(kind, moment, zone)


def hour_window(end: datetime) -> tuple[datetime, datetime]:
    """The hour ending at `end` (exclusive start, inclusive end), in UTC."""
    end = end.astimezone(UTC)
    return end - timedelta(hours=1), end
