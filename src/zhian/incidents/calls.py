"""Emergency-call records (110 警情) from a call centre's export, read through a column mapping.

The mapping file works as the case import's (docs/cases.md, src/zhian/cases/importer.py):
a TOML file whose [columns] name the file's column for each field, [values] translate
category and tier names, [coordinates] give the coordinate system, [time] the format and
offset, [defaults] a value for a field the file lacks. Without a mapping the columns are
named as the fields. The caller's name and number have no field: they are never read.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from zhian.alerts.drafts import TIER_ORDER, Tier
from zhian.cases.geo import normalise_crs, to_wgs84
from zhian.cases.importer import TIME_FORMATS, RowError, cell_text
from zhian.errors import BadRequestError
from zhian.kit.characters import plain_text_fault
from zhian.kit.tables import ImportFileError, Row, open_sheets

FIELDS = ("id", "time", "category", "tier", "summary", "address", "building_id", "x", "y")
_ALIASES = {"longitude": "x", "latitude": "y"}
_SECTIONS = {"columns", "values", "coordinates", "time", "defaults"}
# A category becomes part of the alert's kind (`call_fire`): a short lower-case name.
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_ID_CHARS = 64
MAX_SUMMARY_CHARS = 500
MAX_ADDRESS_CHARS = 200


@dataclass(frozen=True, slots=True)
class CallRowError:
    """Why one row was refused: its spreadsheet row, the file's column and the reason."""

    row: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One emergency call as the call centre recorded it (the caller left out)."""

    record_id: str
    called_at: datetime
    category: str
    tier: Tier
    summary: str
    address: str | None
    building_id: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class CallMapping:
    """Which column holds which field, how values translate, the coordinate system and
    the time format of a call-centre export."""

    columns: dict[str, str]
    crs: str = "WGS84"
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    time_format: str | None = None
    utc_offset_hours: float = 8.0
    defaults: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False

    @classmethod
    def identity(cls) -> CallMapping:
        columns = {name: name for name in FIELDS if name not in {"x", "y"}}
        return cls(columns=columns | {"x": "longitude", "y": "latitude"}, is_default=True)

    @classmethod
    def load(cls, path: Path) -> CallMapping:
        """Read a mapping file; ImportFileError naming the key that is wrong."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ImportFileError(f"{path}: not a readable TOML mapping ({exc})") from None
        return cls.parse(data, source=str(path))

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, source: str) -> CallMapping:
        unknown = sorted(set(data) - _SECTIONS)
        if unknown:
            raise ImportFileError(f"{source}: unknown section [{unknown[0]}]", field=unknown[0])
        columns: dict[str, str] = {}
        for key, column in dict(data.get("columns", {})).items():
            name = _ALIASES.get(key, key)
            if name not in FIELDS:
                raise ImportFileError(
                    f"{source}: [columns] names the unknown field '{key}'; fields: "
                    f"{', '.join(FIELDS)}, latitude, longitude",
                    field=f"columns.{key}",
                )
            columns[name] = str(column).strip().lower()
        if "id" not in columns or "time" not in columns:
            raise ImportFileError(
                f"{source}: [columns] must name the id and time columns", field="columns"
            )
        try:
            crs = normalise_crs(str(dict(data.get("coordinates", {})).get("crs", "WGS84")))
        except BadRequestError as exc:
            raise ImportFileError(f"{source}: {exc.message}", field="coordinates.crs") from None
        time = dict(data.get("time", {}))
        values = {str(k): {str(a): b for a, b in dict(v).items()}
                  for k, v in dict(data.get("values", {})).items()}  # fmt: skip
        return cls(
            columns=columns,
            crs=crs,
            values=values,
            time_format=time.get("format"),
            utc_offset_hours=float(time.get("utc_offset_hours", 8.0)),
            defaults=dict(data.get("defaults", {})),
        )

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset_hours))

    def column_of(self, name: str) -> str:
        """The file's column for a field (what an error names)."""
        name = _ALIASES.get(name, name)
        return self.columns.get(name, name)


class CallRowReader:
    """Turns the rows of one export into `CallRecord`s, by the mapping."""

    def __init__(self, mapping: CallMapping) -> None:
        self.mapping = mapping

    def _cell(self, row: Row, name: str) -> str | None:
        column = self.mapping.columns.get(name)
        value = cell_text(row.get(column)) if column else None
        if value is None:
            default = self.mapping.defaults.get(name)
            value = None if default is None else str(default)
        table = self.mapping.values.get(name, {})
        return str(table[value]) if value is not None and value in table else value

    def _plain(self, row: Row, name: str, max_chars: int) -> str | None:
        value = self._cell(row, name)
        if value is None:
            return None
        if len(value) > max_chars:
            raise RowError(name, f"is at most {max_chars} characters")
        fault = plain_text_fault(value)
        if fault is not None:
            raise RowError(name, fault)
        return value

    def _time(self, row: Row) -> datetime:
        column = self.mapping.columns["time"]
        raw = row.get(column)
        if isinstance(raw, datetime):  # an Excel cell
            moment = raw
        else:
            text = cell_text(raw)
            if text is None:
                raise RowError("time", "is required")
            moment = self._parse_time(text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.mapping.tz)

    def _parse_time(self, text: str) -> datetime:
        formats = (self.mapping.time_format,) if self.mapping.time_format else TIME_FORMATS
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise RowError("time", f"'{text[:40]}' is not a date and time") from None

    def _number(self, row: Row, name: str) -> float | None:
        text = self._cell(row, name)
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            raise RowError(name, f"'{text[:40]}' is not a number") from None

    def _place(self, row: Row) -> tuple[float | None, float | None]:
        x, y = self._number(row, "x"), self._number(row, "y")
        if (x is None) != (y is None):
            raise RowError("x" if x is None else "y", "give both coordinates, or neither")
        if x is None or y is None:
            return None, None
        try:
            return to_wgs84(x, y, self.mapping.crs)
        except BadRequestError as exc:
            raise RowError("y", exc.message) from None

    def _tier(self, row: Row) -> Tier:
        tier = self._cell(row, "tier") or "general"
        if tier not in TIER_ORDER:
            raise RowError(
                "tier",
                f"'{tier[:32]}' is not minor, general or major (translate it in [values.tier])",
            )
        return tier  # type: ignore[return-value]

    def parse(self, row: Row) -> CallRecord:
        """The record of one row; RowError naming the field when it is wrong."""
        record_id = self._plain(row, "id", MAX_ID_CHARS)
        if record_id is None:
            raise RowError("id", "is required")
        category = self._cell(row, "category") or "other"
        if not _CATEGORY.match(category):
            raise RowError(
                "category",
                f"'{category[:32]}' is not a short lower-case name such as fire or theft "
                "(translate it in [values.category])",
            )
        building_id = self._plain(row, "building_id", 64)
        latitude, longitude = self._place(row)
        if building_id is None and latitude is None:
            raise RowError("building_id", "give the building or the coordinates of the call")
        return CallRecord(
            record_id=record_id,
            called_at=self._time(row),
            category=category,
            tier=self._tier(row),
            summary=self._plain(row, "summary", MAX_SUMMARY_CHARS) or "",
            address=self._plain(row, "address", MAX_ADDRESS_CHARS),
            building_id=building_id,
            latitude=latitude,
            longitude=longitude,
        )

    def read(self, number: int, row: Row) -> CallRecord | CallRowError:
        try:
            return self.parse(row)
        except RowError as fault:
            return CallRowError(number, self.mapping.column_of(fault.name), fault.reason)


def read_call_rows(
    path: Path, mapping: CallMapping
) -> Iterator[tuple[int, CallRecord | CallRowError]]:
    """(spreadsheet row number, record or its error) for each non-blank data row.

    A column the mapping names that the file lacks stops the file (ImportFileError naming
    it); without a mapping file so does a column that is no field: no value is silently
    ignored.
    """
    [sheet] = open_sheets(path)
    names = set(sheet.columns)
    wanted = set(mapping.columns.values())
    if mapping.is_default:
        unknown = sorted(names - wanted)
        if unknown:
            raise ImportFileError(
                f"{path}: unknown column '{unknown[0]}'; give a mapping file (--mapping) or "
                f"name the columns as the fields: {', '.join(sorted(wanted))}",
                field=unknown[0],
            )
        required = {mapping.columns["id"], mapping.columns["time"]}
    else:
        required = wanted
    missing = sorted(required - names)
    if missing:
        raise ImportFileError(f"{path}: the file has no column '{missing[0]}'", field=missing[0])
    reader = CallRowReader(mapping)
    for number, row in enumerate(sheet.rows(), start=2):
        if all(cell_text(value) is None for value in row.values()):
            continue
        yield number, reader.read(number, row)
