"""What linkage knows of a case: place, time window, category and modus operandi.

A `CaseFacts` is built from a stored case or straight from an imported row (the `zhian eval
linkage` command never touches the database), so linkage is one pure function of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# The MO feature compared on its own as "same target"; the others pool into the overlap.
TARGET_FEATURE = "target"
UNKNOWN_TIME_OF_DAY = "unknown"


@dataclass(frozen=True)
class CaseFacts:
    """One case as linkage sees it. `offender` is a keyed token (or, in an evaluation run
    that never stores it, the file's own identifier): the label, never a feature."""

    case_id: str
    category: str
    time_from: datetime
    time_to: datetime
    latitude: float
    longitude: float
    time_of_day: str
    mo: Mapping[str, frozenset[str]] = field(default_factory=dict)
    offender: str | None = None

    @property
    def midpoint(self) -> datetime:
        return self.time_from + (self.time_to - self.time_from) / 2


@dataclass(frozen=True)
class TimeOfDayClasses:
    """Hours where night, morning, afternoon and evening start (settings `[cases]`)."""

    night_from_hour: int = 22
    morning_from_hour: int = 6
    afternoon_from_hour: int = 12
    evening_from_hour: int = 18
    max_window_hours: float = 12.0

    def classify(self, time_from: datetime, time_to: datetime) -> str:
        """The class of the window's midpoint, local time of the window's offset; unknown
        when the window is too long to tell (a burglary found after a weekend away)."""
        if (time_to - time_from).total_seconds() > self.max_window_hours * 3600:
            return UNKNOWN_TIME_OF_DAY
        hour = (time_from + (time_to - time_from) / 2).hour
        starts = sorted(
            [
                (self.night_from_hour, "night"),
                (self.morning_from_hour, "morning"),
                (self.afternoon_from_hour, "afternoon"),
                (self.evening_from_hour, "evening"),
            ]
        )
        current = starts[-1][1]  # before the first start of the day: the last class of it
        for start, name in starts:
            if hour >= start:
                current = name
        return current


def mo_values(raw: Mapping[str, object], features: Sequence[str]) -> dict[str, frozenset[str]]:
    """The MO features of a case as sets of normalised values ("撬锁; 插片" → two values)."""
    out: dict[str, frozenset[str]] = {}
    for name in features:
        value = raw.get(name)
        items: list[str] = []
        if isinstance(value, str):
            items = [part for chunk in value.replace("；", ";").replace("，", ",").split(";")
                     for part in chunk.split(",")]  # fmt: skip
        elif isinstance(value, list | tuple | frozenset | set):
            items = [str(item) for item in value]
        cleaned = frozenset(item.strip().lower() for item in items if item and item.strip())
        if cleaned:
            out[name] = cleaned
    return out
