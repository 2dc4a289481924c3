"""The crowd forecast against a city's published counts (`zhian eval crowd`).

A counts file holds (sensor, time, count) rows, one per reading (the long layout), or one
row per time with a column per sensor (the wide layout); a mapping file (TOML) names the
columns. Each sensor's series is run through the production forecaster exactly as the
crowd rule runs it (`CrowdConfig.forecaster`) with a rolling origin: after each reading
it forecasts every horizon ahead, and the forecast is scored against the reading that
comes, beside three seasonal baselines from the same readings:

- persistence: the reading now;
- last week: the reading at the target's hour one week before;
- 4-week mean: the mean of the target's hour in each of the four weeks before.

A forecast is scored only where the reading it targets and all three baselines exist, so
every method is scored on the same points. WAPE = Σ|error| / Σ actual; MAE = mean |error|.

Mapping file keys (all optional; defaults read the long layout sensor,time,count):

    layout = "wide"            # "long" (default) or "wide"
    sensor = "sensor"          # long: the sensor column
    count = "count"            # long: the count column
    time = "date"              # the time (or date) column
    hour = "hour"              # optional: the hour of day ("6", "06:00" or "6:00-6:59")
    time_format = "%Y-%m-%d"   # optional strptime format; ISO 8601 otherwise
    exclude = ["year"]         # wide: columns that are not sensors
    interval_minutes = 60      # the reading interval; the most common spacing otherwise
    holidays = ["2024-12-25"]  # local dates forecast with a Sunday's pattern
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from zhian.errors import BadRequestError
from zhian.kit.tables import open_sheets
from zhian.rules.crowd import CrowdConfig

METHODS = ("forecast", "persistence", "last week", "4-week mean")
BASELINES = METHODS[1:]
WEEK = timedelta(days=7)
LONG_GAP_READINGS = 24  # a gap this many readings long restarts the forecast's short term


class CountsFileError(BadRequestError):
    """The counts or mapping file cannot be read as a whole."""

    code = "counts_file_error"


@dataclass(frozen=True)
class Mapping:
    layout: str = "long"
    sensor: str = "sensor"
    count: str = "count"
    time: str = "time"
    hour: str | None = None
    time_format: str | None = None
    exclude: tuple[str, ...] = ()
    interval_minutes: float | None = None
    holidays: frozenset[date] = frozenset()

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        if path is None:
            return cls()
        try:
            raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CountsFileError(f"{path}: not a readable TOML mapping ({exc})") from None
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise CountsFileError(
                f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})",
                field=unknown[0],
            )
        layout = str(raw.get("layout", "long"))
        if layout not in ("long", "wide"):
            raise CountsFileError(f"{path}: layout {layout!r} is not long or wide", field="layout")
        try:
            holidays = frozenset(date.fromisoformat(str(d)) for d in raw.get("holidays", []))
        except ValueError as exc:
            raise CountsFileError(f"{path}: holidays: {exc}", field="holidays") from None
        interval = raw.get("interval_minutes")
        if interval is not None and (not isinstance(interval, int | float) or interval <= 0):
            raise CountsFileError(
                f"{path}: interval_minutes must be a positive number", field="interval_minutes"
            )
        hour = raw.get("hour")
        return cls(
            layout=layout,
            sensor=str(raw.get("sensor", "sensor")).strip().lower(),
            count=str(raw.get("count", "count")).strip().lower(),
            time=str(raw.get("time", "time")).strip().lower(),
            hour=None if hour is None else str(hour).strip().lower(),
            time_format=raw.get("time_format"),
            exclude=tuple(str(c).strip().lower() for c in raw.get("exclude", [])),
            interval_minutes=None if interval is None else float(interval),
            holidays=holidays,
        )


@dataclass
class CountSeries:
    """The readings of every sensor, and the rows that could not be read."""

    readings: dict[str, dict[datetime, float]]
    interval: timedelta
    rejected: list[str] = field(default_factory=list)  # "row 12, column count: reason"
    rejected_rows: int = 0
    duplicates: int = 0

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.readings.values())


def _parse_time(value: object, hour: object, mapping: Mapping) -> datetime:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        at = datetime(value.year, value.month, value.day)
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("empty")
        at = (
            datetime.strptime(text, mapping.time_format)
            if mapping.time_format
            else datetime.fromisoformat(text)
        )
    if mapping.hour is not None:
        text = str(hour if hour is not None else "").strip()
        start = text.split("-")[0].split(":")[0].strip()
        if not start.isdigit() or not 0 <= int(start) <= 23:
            raise ValueError(f"hour {text!r} is not an hour of the day")
        at = at.replace(hour=int(start), minute=0, second=0, microsecond=0)
    return at.replace(tzinfo=None)  # read as the counts' local time


def _parse_count(value: object) -> float | None:
    """None for a blank cell (a gap); ValueError for anything but a count ≥ 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    count = float(str(value).strip()) if isinstance(value, str) else float(str(value))
    if math.isnan(count):
        return None
    if count < 0 or math.isinf(count):
        raise ValueError(f"{value!r} is not a count ≥ 0")
    return count


def read_counts(path: Path, mapping: Mapping, *, sensors: Iterable[str] = ()) -> CountSeries:
    """The readings of a counts file (CSV or .xlsx, read with kit/tables)."""
    (sheet,) = open_sheets(path)
    wanted = {s.strip().lower() for s in sensors}
    needed = [mapping.time] + ([mapping.hour] if mapping.hour else [])
    if mapping.layout == "long":
        needed += [mapping.sensor, mapping.count]
    for column in needed:
        if column not in sheet.columns:
            raise CountsFileError(
                f"{sheet.source}: no column {column!r} (columns: {', '.join(sheet.columns)}); "
                "name the columns in a mapping file (--mapping)",
                field=column,
            )
    readings: dict[str, dict[datetime, float]] = {}
    series = CountSeries(readings, timedelta(0))

    def reject(number: int, column: str, reason: str) -> None:
        series.rejected_rows += 1
        if len(series.rejected) < 20:
            series.rejected.append(f"row {number}, column {column}: {reason}")

    def put(sensor: str, at: datetime, count: float) -> None:
        if wanted and sensor.lower() not in wanted:
            return
        seen = readings.setdefault(sensor, {})
        if at in seen:
            series.duplicates += 1  # the later reading wins (a correction, or a DST hour)
        seen[at] = count

    sensor_columns = [
        c for c in sheet.columns if c not in {mapping.time, mapping.hour, *mapping.exclude}
    ]
    for number, row in enumerate(sheet.rows(), start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row.values()):
            continue
        try:
            at = _parse_time(row.get(mapping.time), row.get(mapping.hour or ""), mapping)
        except ValueError as exc:
            reject(number, mapping.hour or mapping.time, f"not a time ({exc})")
            continue
        if mapping.layout == "long":
            sensor = str(row.get(mapping.sensor) or "").strip()
            if not sensor:
                reject(number, mapping.sensor, "empty")
                continue
            columns = [(sensor, mapping.count)]
        else:
            columns = [(c, c) for c in sensor_columns]
        for sensor, column in columns:
            try:
                count = _parse_count(row.get(column))
            except ValueError as exc:
                reject(number, column, str(exc))
                continue
            if count is not None:
                put(sensor, at, count)
    series.interval = (
        timedelta(minutes=mapping.interval_minutes)
        if mapping.interval_minutes
        else _common_interval(readings)
    )
    return series


def _common_interval(readings: dict[str, dict[datetime, float]]) -> timedelta:
    spacing: Counter[timedelta] = Counter()
    for values in readings.values():
        times = sorted(values)
        spacing.update(b - a for a, b in pairwise(times) if b > a)
    if not spacing:
        raise CountsFileError("too few readings to tell the reading interval", field="time")
    return spacing.most_common(1)[0][0]


@dataclass
class HorizonScore:
    """Absolute errors of each method at one horizon, over the same points."""

    minutes: int
    points: int = 0
    actual: float = 0.0
    abs_error: dict[str, float] = field(default_factory=lambda: dict.fromkeys(METHODS, 0.0))

    def wape(self, method: str) -> float | None:
        return None if self.actual <= 0 else self.abs_error[method] / self.actual

    def mae(self, method: str) -> float | None:
        return None if not self.points else self.abs_error[method] / self.points

    @property
    def best_baseline(self) -> str:
        return min(BASELINES, key=lambda m: self.abs_error[m])

    @property
    def ratio(self) -> float | None:
        """The forecast's WAPE over the best baseline's (below 1: the forecast is better)."""
        best = self.abs_error[self.best_baseline]
        return None if best <= 0 else self.abs_error["forecast"] / best


def with_holidays(config: CrowdConfig, holidays: Iterable[date]) -> CrowdConfig:
    """The config with more holidays (a mapping file's, for its city)."""
    return replace(config, holidays=config.holidays | frozenset(holidays))


def score_counts(
    series: CountSeries,
    config: CrowdConfig,
    horizons_minutes: Iterable[int],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[HorizonScore]:
    """Rolling-origin scores of the production forecaster and the baselines per horizon.

    Horizons that are not a whole number of reading intervals are left out.
    """
    step = series.interval
    step_minutes = step / timedelta(minutes=1)
    scores = [
        HorizonScore(h)
        for h in sorted(set(horizons_minutes))
        if h >= step_minutes and (h / step_minutes).is_integer()
    ]
    for sensor, values in series.readings.items():
        forecaster = config.forecaster(sensor, step)
        previous: datetime | None = None
        for at in sorted(values):
            if previous is not None and at - previous > LONG_GAP_READINGS * step:
                forecaster.restart()
            value = values[at]
            forecaster.observe(at, value)
            previous = at
            for score in scores:
                target = at + timedelta(minutes=score.minutes)
                actual = values.get(target)
                if actual is None:
                    continue
                weeks = [values.get(target - k * WEEK) for k in (1, 2, 3, 4)]
                if any(w is None for w in weeks):
                    continue
                known = [w for w in weeks if w is not None]
                guesses = (forecaster.mean_at(score.minutes), value, known[0], sum(known) / 4)
                score.points += 1
                score.actual += actual
                for method, guess in zip(METHODS, guesses, strict=True):
                    score.abs_error[method] += abs(guess - actual)
        if progress is not None:
            progress(len(values))
    return scores
