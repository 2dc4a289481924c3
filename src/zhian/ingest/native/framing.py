"""Split a request body into items, by content type; the items are decoded later, one path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import msgspec

from zhian.errors import BadRequestError, UnsupportedMediaTypeError
from zhian.ingest.events import Event
from zhian.ingest.json_depth import depth_error

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonlines")

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_ONE = msgspec.json.Decoder(msgspec.Raw)
# The common case in one call: a JSON array every item of which is a valid event.
_EVENT_LIST = msgspec.json.Decoder(list[Event])


@dataclass(frozen=True)
class Framed:
    """The items of one body, and for NDJSON the line number of each.

    `events` is set when a JSON array decoded whole as events: then `events[i]` is what
    `decode_event(items[i])` returns, and the items are cut from the body only if one is
    asked for (a refused event's verbatim JSON, for the quarantine).
    """

    items: Sequence[bytes]
    lines: list[int]
    events: list[Event] | None = None


class _ArrayItems(Sequence[bytes]):
    """The elements of a JSON array body, verbatim, split on first use."""

    def __init__(self, body: bytes, count: int) -> None:
        self._body = body
        self._count = count
        self._items: list[bytes] | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if self._items is None:
            self._items = [bytes(raw) for raw in _RAW_LIST.decode(self._body)]
        return self._items[index]


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def split_body(body: bytes, content_type: str | None) -> Framed:
    """Return the body's items; raise BadRequestError for a body that is not JSON at all."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        return _split_json(body)
    if kind in NDJSON_TYPES:
        return _split_ndjson(body)
    raise UnsupportedMediaTypeError(
        f"content type '{kind or '(none)'}' is not accepted; use application/json "
        "(one object or an array) or application/x-ndjson",
        field="Content-Type",
    )


def _split_json(body: bytes) -> Framed:
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        # A body that decodes whole as a list of events is valid JSON nesting no deeper
        # than the event schema (a struct of fixed shape, unknown fields refused), so the
        # depth scan below, which costs more than the decoding, has nothing to find.
        try:
            events = _EVENT_LIST.decode(body)
        except (msgspec.DecodeError, RecursionError):
            # An item is not a valid event (each is judged on its own below), or a value
            # skipped while looking for an event's `type` nests too deeply (refused below).
            pass
        else:
            if events:
                return Framed(items=_ArrayItems(body, len(events)), lines=[], events=events)
    # Checked before the recursive decoder splits it; the batch's own array counts as a
    # level (events nest two or three), and each item is checked again by `decode_event`.
    too_deep = depth_error(body)
    if too_deep is not None:
        raise BadRequestError(f"body is not valid JSON: {too_deep}", field="body")
    try:
        if stripped.startswith(b"["):
            items = [bytes(raw) for raw in _RAW_LIST.decode(body)]
        else:
            _RAW_ONE.decode(body)
            items = [body]
    except msgspec.DecodeError as exc:
        raise BadRequestError(f"body is not valid JSON: {exc}", field="body") from None
    if not items:
        raise BadRequestError("the array holds no events", field="body")
    return Framed(items=items, lines=[])


def _split_ndjson(body: bytes) -> Framed:
    # Lines are not parsed here: a malformed line is refused on its own by the intake,
    # and its neighbours still go through.
    items: list[bytes] = []
    lines: list[int] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        stripped = line.strip()
        if stripped:
            items.append(stripped)
            lines.append(number)
    if not items:
        raise BadRequestError("the body holds no events", field="body")
    return Framed(items=items, lines=lines)
