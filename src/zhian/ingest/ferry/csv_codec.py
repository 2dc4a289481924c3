"""One CSV per event type: the columns of each type, and cells safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a formula
in Excel or WPS (CSV injection), so it is written with a leading apostrophe; a cell that
starts with an apostrophe gets one too, which makes the rule exactly reversible on import.
"""

from __future__ import annotations

import base64
import struct
from datetime import datetime
from typing import Any, Final

import msgspec

from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.ingest.validate import FieldError, decode_error

EVENT_CLASSES: Final[dict[str, type[Any]]] = {
    str(cls.__struct_config__.tag): cls
    for cls in (AccessEvent, VehicleEvent, FaceEvent, AlarmEvent, HeartbeatEvent, CrowdEvent)
}
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(text: str) -> str:
    """Neutralise a spreadsheet formula: a leading apostrophe when the cell could run."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def columns_of(event_type: str) -> list[str]:
    """The CSV header of a type: `id, device_id, time`, then its own fields (subject split)."""
    columns: list[str] = []
    for field in msgspec.structs.fields(EVENT_CLASSES[event_type]):
        if field.encode_name == "subject":
            columns += ["subject_kind", "subject_ref"]
        else:
            columns.append(field.encode_name)
    return columns


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a face feature from an old log record: base64 float32
        return base64.b64encode(struct.pack(f"<{len(value)}f", *value)).decode("ascii")
    return str(value)


def event_row(event: Event) -> list[str]:
    """The CSV cells of an event, escaped, in `columns_of` order."""
    cells: list[str] = []
    for field in msgspec.structs.fields(type(event)):
        value = getattr(event, field.name)
        if field.encode_name == "subject":
            cells += ["", ""] if value is None else [value.kind, value.ref]
        else:
            cells.append(_text(value))
    return [escape_cell(cell) for cell in cells]


def row_event(event_type: str, header: list[str], cells: list[str]) -> Event | FieldError:
    """The event a CSV row describes, or the field at fault and why."""
    if len(cells) != len(header):
        return FieldError("", f"has {len(cells)} cells; the header has {len(header)}")
    data: dict[str, Any] = {"type": event_type}
    values = dict(zip(header, map(unescape_cell, cells), strict=True))
    kind, ref = values.pop("subject_kind", ""), values.pop("subject_ref", "")
    if kind or ref:
        data["subject"] = {"kind": kind, "ref": ref}
    # An empty cell is an absent value: optional fields fall back to their defaults.
    data.update((name, value) for name, value in values.items() if value != "")
    try:
        event: Event = msgspec.convert(data, EVENT_CLASSES[event_type], strict=False)
    except msgspec.ValidationError as exc:
        return decode_error(exc)
    return event


def header_problem(event_type: str, header: list[str]) -> str | None:
    expected = columns_of(event_type)
    if header == expected:
        return None
    return f"header is {','.join(header)}; expected {','.join(expected)}"
