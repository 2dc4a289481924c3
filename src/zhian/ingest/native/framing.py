"""Split a request body into items, by content type; the items are decoded later, one path."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from zhian.errors import BadRequestError, UnsupportedMediaTypeError
from zhian.ingest.json_depth import depth_error

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonlines")

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_ONE = msgspec.json.Decoder(msgspec.Raw)


@dataclass(frozen=True)
class Framed:
    """The items of one body, and for NDJSON the line number of each."""

    items: list[bytes]
    lines: list[int]


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
