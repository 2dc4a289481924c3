"""Event files (NDJSON or CSV) read in chunks for `zhian ingest`, through the same intake."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from zhian.errors import BadRequestError

# CSV cells are text; these columns are converted to numbers before the one decode path.
_NUMERIC = {"level", "quality", "occupancy", "count_in", "count_out", "interval_seconds"}


@dataclass(frozen=True)
class FileChunk:
    """Items read from a file: raw JSON per item, their line numbers, bytes consumed so far."""

    items: list[bytes]
    lines: list[int]
    bytes_read: int


def read_chunks(path: Path, *, chunk_items: int = 5000) -> Iterator[FileChunk]:
    """Yield the file's events in chunks; the format follows the suffix (.ndjson/.jsonl/.csv)."""
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl", ".json"):
        yield from _ndjson_chunks(path, chunk_items)
    elif suffix == ".csv":
        yield from _csv_chunks(path, chunk_items)
    else:
        raise BadRequestError(
            f"{path.name}: unknown file type '{suffix}'; use .ndjson, .jsonl or .csv", field="path"
        )


def _ndjson_chunks(path: Path, chunk_items: int) -> Iterator[FileChunk]:
    items: list[bytes] = []
    lines: list[int] = []
    consumed = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            consumed += len(line)
            stripped = line.strip()
            if not stripped:
                continue
            items.append(stripped)
            lines.append(number)
            if len(items) >= chunk_items:
                yield FileChunk(items, lines, consumed)
                items, lines = [], []
    if items:
        yield FileChunk(items, lines, consumed)


def _csv_chunks(path: Path, chunk_items: int) -> Iterator[FileChunk]:
    """CSV with a header of field names; nested fields as `subject.kind`, `subject.ref`."""
    items: list[bytes] = []
    lines: list[int] = []
    consumed = 0
    with path.open("rb") as raw_handle:
        handle = io.TextIOWrapper(raw_handle, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(handle)
        for row in reader:
            items.append(msgspec.json.encode(_nest(row)))
            lines.append(reader.line_num)
            if len(items) >= chunk_items:
                consumed = raw_handle.tell()
                yield FileChunk(items, lines, consumed)
                items, lines = [], []
        consumed = raw_handle.tell()
    if items:
        yield FileChunk(items, lines, consumed)


def _nest(row: dict[str | None, str | None]) -> dict[str, object]:
    event: dict[str, object] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        target = event
        *parents, leaf = key.strip().split(".")
        for parent in parents:
            child = target.setdefault(parent, {})
            if not isinstance(child, dict):
                break
            target = child
        target[leaf] = _number(value) if leaf in _NUMERIC else value
    return event


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # left as text so the decoder names the field and the type
