"""GA/T 1400 wire basics: status codes, lenient body decoding, times, IDs, status replies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import IntEnum
from typing import Any

import msgspec

from zhian.ingest.json_depth import depth_error

# What Zhian sends; what it accepts is any JSON-ish type (see `is_json_content_type`).
CONTENT_TYPE = "application/VIID+JSON;charset=UTF-8"
ACCEPT = "application/json,application/VIID+json"
CHINA_TIME = timezone(timedelta(hours=8))

_DIGITS = re.compile(r"^[0-9]+$")
# yyyyMMddHHmmss, and yyyyMMddHHmmssSSS that some cameras send with milliseconds. Parsed by
# fields, not strptime, whose errors ("unconverted data remains: 000") name no field.
_COMPACT_FIELDS = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$")
_COMPACT = "%Y%m%d%H%M%S"
_DASHED = "%Y-%m-%d %H:%M:%S"


class StatusCode(IntEnum):
    """`StatusCode` of a `ResponseStatusObject` (GA/T 1400 appendix B)."""

    OK = 0
    OTHER_ERROR = 1
    DEVICE_BUSY = 2
    DEVICE_ERROR = 3
    INVALID_OPERATION = 4
    INVALID_XML_FORMAT = 5
    INVALID_XML_CONTENT = 6
    INVALID_JSON_FORMAT = 7
    INVALID_JSON_CONTENT = 8
    REBOOTING = 9


class ViidRequestError(Exception):
    """A whole request is refused: the status code to answer, the field and the reason."""

    def __init__(self, code: StatusCode, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.code = code
        self.field = field
        self.reason = reason


def decode_text(body: bytes) -> str:
    """The body as text: UTF-8 (BOM tolerated), else GBK — some cameras post GBK bytes."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("gbk")
    except UnicodeDecodeError:
        raise ViidRequestError(
            StatusCode.INVALID_JSON_FORMAT, "body", "is neither UTF-8 nor GBK text"
        ) from None


def is_json_content_type(content_type: str | None) -> bool:
    """Any JSON-ish type, case-insensitive, charset ignored; a missing type is tolerated."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return not kind or kind == "application/json" or kind.endswith("+json") or kind == "text/json"


def parse_body(body: bytes, content_type: str | None) -> Any:
    """Decode a request body leniently; XML and non-JSON bodies raise `ViidRequestError`."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    text = decode_text(body).strip()
    if "xml" in kind or text.startswith("<"):
        raise ViidRequestError(
            StatusCode.INVALID_XML_FORMAT, "Content-Type", "XML is not supported; send JSON"
        )
    if not is_json_content_type(content_type):
        raise ViidRequestError(
            StatusCode.INVALID_JSON_FORMAT,
            "Content-Type",
            f"'{kind}' is not JSON; send application/VIID+JSON",
        )
    too_deep = depth_error(body)  # before the recursive decoder, which would overflow
    if too_deep is not None:
        raise ViidRequestError(StatusCode.INVALID_JSON_FORMAT, "body", too_deep)
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ViidRequestError(StatusCode.INVALID_JSON_FORMAT, "body", str(exc)) from None


def parse_time(value: object, tz: tzinfo = CHINA_TIME) -> datetime:
    """A GA/T 1400 time: yyyyMMddHHmmss[SSS] (local), yyyy-MM-dd HH:mm:ss, RFC 3339 or epoch
    ms. Anything else is a ValueError whose text is a reason to send back to the peer."""
    if isinstance(value, bool):
        raise ValueError("is not a time")
    if isinstance(value, int | float):
        return _from_epoch_ms(value)
    if not isinstance(value, str):
        raise ValueError("is not a time")
    text = value.strip()
    if _DIGITS.match(text):
        if len(text) == 13:
            return _from_epoch_ms(int(text))
        return _compact_time(text, tz)
    try:
        return datetime.strptime(text, _DASHED).replace(tzinfo=tz)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text[:40]}' is not a time (expected yyyyMMddHHmmss)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _compact_time(text: str, tz: tzinfo) -> datetime:
    match = _COMPACT_FIELDS.match(text)
    if match is None:
        raise ValueError(f"'{text[:40]}' is not yyyyMMddHHmmss (or yyyyMMddHHmmssSSS)")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    millis = int(match.group(7) or 0)
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date and time (yyyyMMddHHmmss)") from None


def _from_epoch_ms(value: float) -> datetime:
    try:
        return datetime.fromtimestamp(float(value) / 1000.0, UTC)
    except (ValueError, OverflowError, OSError):
        # NaN, infinity or a number past year 9999: the platform's own message says nothing
        # a device engineer could act on.
        raise ValueError(f"{value!r} is not a time in epoch milliseconds") from None


def format_time(moment: datetime, tz: tzinfo = CHINA_TIME) -> str:
    """yyyyMMddHHmmss in the peer's local time zone."""
    return moment.astimezone(tz).strftime(_COMPACT)


def id_error(value: object, digits: int) -> str | None:
    """Why `value` is not a GA/T 1400 ID of `digits` digits, or None when it is one."""
    if not isinstance(value, str):
        return f"must be a string of {digits} digits"
    if len(value) != digits or not _DIGITS.match(value):
        return f"'{value[:60]}' is not {digits} digits"
    return None


def status_code_of(value: object) -> int | None:
    """A peer's StatusCode, sent as an int or as a string ("0"); None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def response_status(
    object_id: str, url: str, code: StatusCode, text: str, now: datetime, tz: tzinfo = CHINA_TIME
) -> dict[str, Any]:
    """One `ResponseStatusObject` (unwrapped)."""
    return {
        "Id": object_id,
        "RequestURL": url,
        "StatusCode": int(code),
        "StatusString": text,
        "LocalTime": format_time(now, tz),
    }


def single_reply(status: dict[str, Any]) -> dict[str, Any]:
    return {"ResponseStatusObject": status}


def list_reply(statuses: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"ResponseStatusListObject": {"ResponseStatusObject": list(statuses)}}


def reply_statuses(body: object) -> list[dict[str, Any]]:
    """Every ResponseStatusObject in a peer's reply, whichever spelling it used.

    Upper platforms in the field also answer with the status object itself, without the
    `ResponseStatusObject` wrapper, and Register with a bare list of them
    (protocols/gat1400.md, "Deviations to tolerate"): both count."""
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict) and "StatusCode" in item]
    if not isinstance(body, dict):
        return []
    if "StatusCode" in body:
        return [body]
    found: list[dict[str, Any]] = []
    single = body.get("ResponseStatusObject")
    if isinstance(single, dict):
        found.append(single)
    for wrapper in ("ResponseStatusListObject", "ResponseStatusList"):
        listed = body.get(wrapper)
        if isinstance(listed, dict):
            listed = listed.get("ResponseStatusObject")
        if isinstance(listed, list):
            found.extend(item for item in listed if isinstance(item, dict))
        elif isinstance(listed, dict):
            found.append(listed)
    return found


def is_acknowledged(body: object) -> bool:
    """A reply counts as success only when it has statuses and every StatusCode is 0."""
    statuses = reply_statuses(body)
    return bool(statuses) and all(status_code_of(s.get("StatusCode")) == 0 for s in statuses)


def list_items(body: object, wrapper: str, keys: tuple[str, ...]) -> list[Any]:
    """The array inside `{wrapper: {key: [...]}}`; `keys` are accepted spellings of the key.

    Raises `ViidRequestError` (StatusCode 8) naming the wrapper when the shape is wrong.
    """
    if not isinstance(body, dict) or wrapper not in body:
        raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, wrapper, "is required")
    inner = body[wrapper]
    if isinstance(inner, list):  # some peers send the array without the inner key
        return inner
    if not isinstance(inner, dict):
        raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, wrapper, "must be an object")
    for key in keys:
        if key in inner:
            items = inner[key]
            if isinstance(items, dict):
                return [items]
            if not isinstance(items, list):
                raise ViidRequestError(
                    StatusCode.INVALID_JSON_CONTENT, f"{wrapper}.{key}", "must be an array"
                )
            return items
    raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, f"{wrapper}.{keys[0]}", "is required")
