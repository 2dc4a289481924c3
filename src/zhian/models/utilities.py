"""Utility readings (water, electricity per house and day): the table, its importer, and the
usage summary the vacant-house model weighs (docs/models.md §3)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Date, Float, ForeignKey, UniqueConstraint, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhian.db.base import Base
from zhian.kit.tables import ImportFileError, Row, open_sheets
from zhian.models.settings import ModelSettings
from zhian.registry.models import House
from zhian.registry.service import ImportReport, RowError

ENTITY = "utility_readings"
# Where `prepare_run` leaves the readings in `ModelRun.shared`.
READINGS_KEY = "utility_readings"
REQUIRED_COLUMNS = ("house_id", "day")
VALUE_COLUMNS = ("water_m3", "electricity_kwh")
# The `[models]` settings that decide what the readings mean.
UTILITY_PARAMETERS = (
    "utility_water_baseline_m3",
    "utility_electricity_baseline_kwh",
    "utility_occupied_share",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")


class UtilityReading(Base):
    """One house's water and electricity consumption on one local day (either may be
    missing: a feed may carry only one of them)."""

    __tablename__ = "utility_readings"
    __table_args__ = (UniqueConstraint("house_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    house_id: Mapped[str] = mapped_column(ForeignKey("houses.id"))
    day: Mapped[date] = mapped_column(Date)
    water_m3: Mapped[float | None] = mapped_column(Float)
    electricity_kwh: Mapped[float | None] = mapped_column(Float)


@dataclass(frozen=True)
class DailyReading:
    day: date
    water_m3: float | None
    electricity_kwh: float | None


@dataclass(frozen=True)
class UsageSummary:
    """A house's readings over a stretch of days, judged against the baselines."""

    days: int  # days with a reading
    consuming_days: int  # days above a baseline (water or electricity)
    water_m3_per_day: float | None
    electricity_kwh_per_day: float | None
    is_occupied: bool  # consumption on more than the share of days: someone lives there

    def figures(self) -> dict[str, float | int]:
        found: dict[str, float | int] = {
            "utility_days": self.days,
            "utility_consuming_days": self.consuming_days,
        }
        if self.water_m3_per_day is not None:
            found["water_m3_per_day"] = round(self.water_m3_per_day, 3)
        if self.electricity_kwh_per_day is not None:
            found["electricity_kwh_per_day"] = round(self.electricity_kwh_per_day, 2)
        return found


def summarise_usage(
    readings: Sequence[DailyReading], *, after: date, before: date, params: ModelSettings
) -> UsageSummary | None:
    """The readings of the days strictly between `after` and `before`; None without any.
    A day consumes when water or electricity is above its baseline (a fridge on standby
    stays under the electricity baseline)."""
    days = [r for r in readings if after < r.day < before]
    if not days:
        return None
    water = [r.water_m3 for r in days if r.water_m3 is not None]
    power = [r.electricity_kwh for r in days if r.electricity_kwh is not None]
    consuming = sum(
        1
        for r in days
        if (r.water_m3 or 0.0) > params.utility_water_baseline_m3
        or (r.electricity_kwh or 0.0) > params.utility_electricity_baseline_kwh
    )
    return UsageSummary(
        days=len(days),
        consuming_days=consuming,
        water_m3_per_day=sum(water) / len(water) if water else None,
        electricity_kwh_per_day=sum(power) / len(power) if power else None,
        is_occupied=consuming > params.utility_occupied_share * len(days),
    )


class UtilityService:
    """Loads and reads utility readings; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def readings_since(self, since: date) -> dict[str, list[DailyReading]]:
        """house -> its readings from `since` on, oldest first."""
        found: dict[str, list[DailyReading]] = {}
        rows = self.session.execute(
            select(
                UtilityReading.house_id,
                UtilityReading.day,
                UtilityReading.water_m3,
                UtilityReading.electricity_kwh,
            )
            .where(UtilityReading.day >= since)
            .order_by(UtilityReading.house_id, UtilityReading.day)
        )
        for house, day, water, power in rows:
            found.setdefault(house, []).append(DailyReading(day, water, power))
        return found

    def load_rows(self, rows: Iterable[Row], *, source: str | None = None) -> ImportReport:
        """Check every row (unknown house, bad date, negative or non-numeric value, a house
        and day twice in the import) and store the good ones; a reading already held for
        the same house and day is replaced by the new one (a corrected reading)."""
        report = ImportReport(entity=ENTITY, source=source)
        houses = set(self.session.scalars(select(House.id)))
        good: dict[tuple[str, date], tuple[float | None, float | None]] = {}
        first_row: dict[tuple[str, date], int] = {}
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            if all(_blank(value) for value in row.values()):
                continue
            report.total += 1
            errors = _check(row, number, houses)
            parsed = _parsed(row) if not errors else None
            if parsed is not None:
                key, values = parsed
                if key in first_row:
                    again = f"duplicate: {key[0]} {key[1]} is also in row {first_row[key]}"
                    errors.append(RowError(number, "day", again))
                else:
                    first_row[key] = number
                    good[key] = values
            if errors:
                report.rejected += 1
                report.errors.extend(errors)
        self._store(good, report)
        return report

    def _store(
        self,
        good: dict[tuple[str, date], tuple[float | None, float | None]],
        report: ImportReport,
    ) -> None:
        existing: dict[tuple[str, date], UtilityReading] = {}
        keys = list(good)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for row in self.session.scalars(
                select(UtilityReading).where(
                    tuple_(UtilityReading.house_id, UtilityReading.day).in_(chunk)
                )
            ):
                existing[(row.house_id, row.day)] = row
        for (house, day), (water, power) in good.items():
            held = existing.get((house, day))
            if held is None:
                self.session.add(
                    UtilityReading(house_id=house, day=day, water_m3=water, electricity_kwh=power)
                )
                report.inserted += 1
            elif (held.water_m3, held.electricity_kwh) == (water, power):
                report.unchanged += 1
            else:
                held.water_m3, held.electricity_kwh = water, power
                report.updated += 1
        self.session.flush()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _amount(value: object) -> float | None:
    """A non-negative finite number, None for an empty cell; raises ValueError otherwise."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    try:
        amount = float(value) if isinstance(value, int | float) else float(_text(value))
    except ValueError:
        raise ValueError(f"'{_text(value)}' is not a number") from None
    if not math.isfinite(amount):
        raise ValueError(f"'{_text(value)}' is not a finite number")
    if amount < 0:
        raise ValueError(f"negative value {amount:g}: consumption cannot be below zero")
    return amount


def _check(row: Row, number: int, houses: set[str]) -> list[RowError]:
    errors: list[RowError] = []
    for column, value in row.items():
        if column not in REQUIRED_COLUMNS + VALUE_COLUMNS and not _blank(value):
            errors.append(RowError(number, column, "a value outside the header's columns"))
    house = _text(row.get("house_id"))
    if not house:
        errors.append(RowError(number, "house_id", "required"))
    elif house not in houses:
        errors.append(RowError(number, "house_id", f"unknown house '{house}'"))
    day = row.get("day")
    if _blank(day):
        errors.append(RowError(number, "day", "required"))
    elif _day(day) is None:
        errors.append(RowError(number, "day", f"bad date '{_text(day)}': expected YYYY-MM-DD"))
    present = 0
    for column in VALUE_COLUMNS:
        try:
            present += _amount(row.get(column)) is not None
        except ValueError as exc:
            errors.append(RowError(number, column, str(exc)))
            present += 1
    if present == 0:
        errors.append(RowError(number, "water_m3", "no reading: water_m3 or electricity_kwh"))
    return errors


def _parsed(row: Row) -> tuple[tuple[str, date], tuple[float | None, float | None]] | None:
    day = _day(row.get("day"))
    if day is None:
        return None
    key = (_text(row.get("house_id")), day)
    return key, (_amount(row.get("water_m3")), _amount(row.get("electricity_kwh")))


# Reading files -----------------------------------------------------------------------------


def _check_header(header: list[str], source: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(f"{source}: missing column {', '.join(missing)}", field=missing[0])
    if not any(c in header for c in VALUE_COLUMNS):
        raise ImportFileError(
            f"{source}: needs a water_m3 or an electricity_kwh column", field="water_m3"
        )
    unknown = [c for c in header if c and c not in REQUIRED_COLUMNS + VALUE_COLUMNS]
    if unknown:
        raise ImportFileError(f"{source}: unknown column {', '.join(unknown)}", field=unknown[0])


def read_readings(path: Path) -> list[Row]:
    """The data rows of a CSV file or of a workbook's first sheet, header checked; rows keep
    their file position (blank rows included) so errors name the spreadsheet row."""
    [sheet] = open_sheets(path)
    _check_header(sheet.header, str(path))
    return list(sheet.rows())
