"""GA/T 1400 query strings, in both syntaxes: `(Face.DeviceID='…')&(PageRecordNum=25)`
(1400.4 appendix E) and plain `DeviceID=…&PageRecordNum=25`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from zhian.ingest.viid.wire import StatusCode, ViidRequestError

_CONDITION = re.compile(
    r"^\s*(?:[A-Za-z]+\.)?(?P<name>[A-Za-z][A-Za-z0-9]*)\s*(?P<op>>=|<=|<>|!=|=|>|<|\s+LIKE\s+)\s*"
    r"(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
_PAGING = ("RecordStartNo", "PageRecordNum", "MaxNumRecordReturn")
_IGNORED = ("Sort",)


@dataclass(frozen=True)
class Condition:
    name: str
    op: str  # =, >=, <=, >, <, LIKE
    value: str


@dataclass
class ViidQuery:
    """Conditions (all must hold) and paging; `start` is 1-based as on the wire."""

    conditions: list[Condition] = field(default_factory=list)
    start: int = 1
    page_size: int = 20
    max_records: int | None = None


def parse_query(raw: str, *, default_page_size: int, max_page_size: int) -> ViidQuery:
    """Parse a raw query string; unknown syntax raises `ViidRequestError` naming the part."""
    query = ViidQuery(page_size=default_page_size)
    for part in _parts(raw):
        text = part.strip()
        if not text:
            continue
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1]
        if re.search(r"\s+OR\s+", text, re.IGNORECASE):
            raise ViidRequestError(StatusCode.INVALID_OPERATION, text, "OR is not supported")
        for piece in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE):
            match = _CONDITION.match(piece)
            if match is None:
                raise ViidRequestError(
                    StatusCode.INVALID_OPERATION, piece, "is not a condition (Name=value)"
                )
            name, op = match.group("name"), match.group("op").strip().upper()
            value = match.group("value").strip().strip("'\"")
            if op in ("<>", "!="):
                raise ViidRequestError(
                    StatusCode.INVALID_OPERATION, name, f"'{op}' is not supported"
                )
            if name in _PAGING:
                _set_paging(query, name, value, max_page_size)
            elif name not in _IGNORED:
                query.conditions.append(Condition(name, op, value))
    return query


def _parts(raw: str) -> list[str]:
    """The decoded conditions of a raw query string.

    Plain `Name=value&…` is split on `&`, then each part decoded (a value may hold `%26`).
    The parenthesised syntax is often sent percent-encoded whole, `&` between conditions
    included (`%28Face.DeviceID%3D%27…%27%29%26%28PageRecordNum%3D25%29`): it is decoded
    first and then split, outside parentheses and quotes, so that it is not read as one
    condition whose value matches nothing.
    """
    decoded = unquote_plus(raw)
    if decoded.lstrip().startswith("("):
        return _split(decoded)
    return [unquote_plus(part) for part in _split(raw)]


def _split(raw: str) -> list[str]:
    """Split on `&` outside parentheses and quotes (a value may contain `&`)."""
    parts: list[str] = []
    depth, quote = 0, ""
    current: list[str] = []
    for char in raw:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "&" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _set_paging(query: ViidQuery, name: str, value: str, max_page_size: int) -> None:
    if not value.isdigit():
        raise ViidRequestError(StatusCode.INVALID_OPERATION, name, f"'{value}' is not a number")
    number = int(value)
    if name == "RecordStartNo":
        query.start = max(1, number)
    elif name == "PageRecordNum":
        query.page_size = min(max(1, number), max_page_size)
    else:
        query.max_records = number
