"""Case files from case systems (CSV, Excel .xlsx), read through a column mapping.

Every case system names its columns differently, gives its times in its own format and
its places in WGS84, GCJ-02 or a projected system: a mapping file (TOML, docs/cases.md)
says which column holds what, how values translate (category names, solved flags) and
which coordinate system the place is in. Without a mapping the columns are the field
names themselves. Each data row becomes a `CaseCreate` or the errors naming its row, the
file's column and the reason; the same reader feeds `zhian cases import` and `zhian eval
linkage`, which never stores a row.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from zhian.cases.facts import CaseFacts, TimeOfDayClasses, mo_values
from zhian.cases.geo import normalise_crs, to_wgs84
from zhian.cases.schemas import CaseCreate
from zhian.cases.service import CaseRowError
from zhian.errors import BadRequestError
from zhian.kit.tables import ImportFileError, Row, open_sheets

# The fields a mapping may name a column for. x/y are the coordinates in the mapping's
# system (longitude/latitude for WGS84 and GCJ-02; easting/northing for a projected one).
FIELDS = (
    "id",
    "category",
    "time_from",
    "time_to",
    "address",
    "house_id",
    "building_id",
    "jurisdiction_id",
    "x",
    "y",
    "status",
    "solved",
    "offender",
)
_ALIASES = {"longitude": "x", "latitude": "y"}
_TRUE = {"1", "true", "yes", "y", "是", "已破", "已破案", "破案"}
_FALSE = {"0", "false", "no", "n", "否", "未破", "未破案", ""}
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H时%M分",
    "%Y%m%d%H%M%S",
)


@dataclass(frozen=True)
class CaseMapping:
    """Which column holds which field and MO feature, how values translate, and the
    coordinate system and time format of the file."""

    columns: dict[str, str]
    mo: dict[str, str]
    crs: str = "WGS84"
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    time_format: str | None = None
    utc_offset_hours: float = 8.0
    defaults: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False

    @classmethod
    def identity(cls, mo_features: Sequence[str]) -> CaseMapping:
        """No mapping file: each column is named as the field (latitude/longitude in
        WGS84) or the MO feature it holds."""
        columns = {name: name for name in FIELDS if name not in {"x", "y"}}
        columns |= {"x": "longitude", "y": "latitude"}
        return cls(columns=columns, mo={f: f for f in mo_features}, is_default=True)

    @classmethod
    def load(cls, path: Path, mo_features: Sequence[str]) -> CaseMapping:
        """Read a mapping file; ImportFileError naming the key that is wrong."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ImportFileError(f"{path}: not a readable TOML mapping ({exc})") from None
        return cls.parse(data, mo_features, source=str(path))

    @classmethod
    def parse(
        cls, data: Mapping[str, Any], mo_features: Sequence[str], *, source: str
    ) -> CaseMapping:
        unknown = sorted(set(data) - {"columns", "mo", "coordinates", "values", "time", "defaults"})
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
        mo: dict[str, str] = {}
        for key, column in dict(data.get("mo", {})).items():
            if key not in mo_features:
                raise ImportFileError(
                    f"{source}: [mo] names the unknown feature '{key}'; features: "
                    f"{', '.join(mo_features)}",
                    field=f"mo.{key}",
                )
            mo[key] = str(column).strip().lower()
        if "id" not in columns or "time_from" not in columns:
            raise ImportFileError(
                f"{source}: [columns] must name the id and time_from columns", field="columns"
            )
        coordinates = dict(data.get("coordinates", {}))
        try:
            crs = normalise_crs(str(coordinates.get("crs", "WGS84")))
        except BadRequestError as exc:
            raise ImportFileError(f"{source}: {exc.message}", field="coordinates.crs") from None
        time = dict(data.get("time", {}))
        values = {str(k): {str(a): b for a, b in dict(v).items()}
                  for k, v in dict(data.get("values", {})).items()}  # fmt: skip
        return cls(
            columns=columns,
            mo=mo,
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
        """The file's column for a field or MO feature (what an error names)."""
        if name.startswith("mo."):
            name = name[3:]
        name = {"latitude": "y", "longitude": "x", "is_solved": "solved",
                "offender_ref": "offender"}.get(name, name)  # fmt: skip
        return self.columns.get(name) or self.mo.get(name) or name


def cell_text(value: object) -> str | None:
    """A cell as text: blanks trimmed, a whole float without its ".0", None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


class RowError(Exception):
    """A row refused: the field it names and the reason (shared by the mapped imports)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason


class CaseRowReader:
    """Turns the rows of one file into `CaseCreate`s, by the mapping."""

    def __init__(self, mapping: CaseMapping) -> None:
        self.mapping = mapping

    def _cell(self, row: Row, name: str) -> str | None:
        column = self.mapping.columns.get(name) or self.mapping.mo.get(name)
        value = cell_text(row.get(column)) if column else None
        if value is None:
            default = self.mapping.defaults.get(name)
            return None if default is None else str(default)
        return value

    def _translated(self, name: str, value: str | None) -> Any:
        table = self.mapping.values.get(name, {})
        if value is not None and value in table:
            return table[value]
        return value

    def _time(self, row: Row, name: str) -> datetime | None:
        column = self.mapping.columns.get(name)
        raw = row.get(column) if column else None
        if isinstance(raw, datetime):  # an Excel cell
            moment = raw
        else:
            text = cell_text(raw)
            if text is None:
                return None
            moment = self._parse_time(name, text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.mapping.tz)

    def _parse_time(self, name: str, text: str) -> datetime:
        formats = (self.mapping.time_format,) if self.mapping.time_format else TIME_FORMATS
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise RowError(name, f"'{text[:40]}' is not a date and time") from None

    def _number(self, row: Row, name: str) -> float | None:
        text = self._cell(row, name)
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            raise RowError(name, f"'{text[:40]}' is not a number") from None

    def _solved(self, row: Row, offender: str | None) -> bool:
        raw = self._translated("solved", self._cell(row, "solved"))
        if isinstance(raw, bool):
            return raw
        if raw is None:
            return offender is not None
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise RowError("solved", f"'{text[:40]}' is neither yes nor no")

    def parse(self, row: Row) -> CaseCreate:
        """The case of one row; RowError or ValidationError when it is wrong."""
        x, y = self._number(row, "x"), self._number(row, "y")
        latitude = longitude = None
        if (x is None) != (y is None):
            raise RowError("x" if x is None else "y", "give both coordinates, or neither")
        if x is not None and y is not None:
            try:
                latitude, longitude = to_wgs84(x, y, self.mapping.crs)
            except BadRequestError as exc:
                raise RowError("y", exc.message) from None
        offender = self._cell(row, "offender")
        values: dict[str, Any] = {
            "id": self._cell(row, "id"),
            "category": self._translated("category", self._cell(row, "category")),
            "time_from": self._time(row, "time_from"),
            "time_to": self._time(row, "time_to"),
            "address": self._cell(row, "address"),
            "house_id": self._cell(row, "house_id"),
            "building_id": self._cell(row, "building_id"),
            "jurisdiction_id": self._cell(row, "jurisdiction_id"),
            "latitude": latitude,
            "longitude": longitude,
            "status": self._translated("status", self._cell(row, "status")),
            "is_solved": self._solved(row, offender),
            "offender_ref": offender,
            "mo": {
                name: [value]
                for name in self.mapping.mo
                if (value := self._cell(row, name)) is not None
            },
        }
        return CaseCreate.model_validate({k: v for k, v in values.items() if v is not None})

    def read(self, number: int, row: Row) -> CaseCreate | list[CaseRowError]:
        try:
            return self.parse(row)
        except RowError as fault:
            return [CaseRowError(number, self.mapping.column_of(fault.name), fault.reason)]
        except ValidationError as exc:
            errors = []
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "row"
                reason = str(error["msg"]).removeprefix("Value error, ")
                errors.append(CaseRowError(number, self.mapping.column_of(name), reason))
            return errors


def read_case_rows(
    path: Path, mapping: CaseMapping
) -> Iterator[tuple[int, CaseCreate | list[CaseRowError]]]:
    """(spreadsheet row number, case or its errors) for each non-blank data row.

    The header is checked first: a column the mapping names that the file lacks stops
    the file (ImportFileError naming it); without a mapping file, so does a column that
    is no field, as no value may be silently ignored.
    """
    [sheet] = open_sheets(path, json_records=True)
    names = set(sheet.columns)
    wanted = {c for c in (*mapping.columns.values(), *mapping.mo.values())}
    if mapping.is_default:
        unknown = sorted(names - wanted)
        if unknown:
            raise ImportFileError(
                f"{path}: unknown column '{unknown[0]}'; give a mapping file (--mapping) or "
                f"name the columns as the fields: {', '.join(sorted(wanted))}",
                field=unknown[0],
            )
        required = {mapping.columns["id"], mapping.columns["time_from"]}
    else:
        required = wanted
    missing = sorted(required - names)
    if missing:
        raise ImportFileError(f"{path}: the file has no column '{missing[0]}'", field=missing[0])
    reader = CaseRowReader(mapping)
    for number, row in enumerate(sheet.rows(), start=sheet.first_row):
        if all(cell_text(value) is None for value in row.values()):
            continue
        yield number, reader.read(number, row)


def read_case_facts(
    path: Path, mapping: CaseMapping, *, time_of_day: TimeOfDayClasses, mo_features: Sequence[str]
) -> tuple[list[CaseFacts], list[CaseRowError]]:
    """The cases of a file as linkage sees them, for an evaluation that stores nothing:
    the offender column in the clear is the label. Rows without coordinates are errors."""
    facts: list[CaseFacts] = []
    errors: list[CaseRowError] = []
    for number, parsed in read_case_rows(path, mapping):
        if isinstance(parsed, list):
            errors.extend(parsed)
            continue
        if parsed.latitude is None or parsed.longitude is None:
            errors.append(CaseRowError(number, mapping.column_of("y"), "no coordinates"))
            continue
        time_to = parsed.time_to or parsed.time_from
        facts.append(
            CaseFacts(
                case_id=parsed.id,
                category=parsed.category,
                time_from=parsed.time_from,
                time_to=time_to,
                latitude=parsed.latitude,
                longitude=parsed.longitude,
                time_of_day=time_of_day.classify(parsed.time_from, time_to),
                mo=mo_values(parsed.mo, mo_features),
                offender=parsed.offender_ref if parsed.is_solved else None,
            )
        )
    return facts, errors
