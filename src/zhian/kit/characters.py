"""Which characters identifiers, names and free text may hold, and formula-like cells.

Shared by the event intake (docs/events.md) and the master-data import
(docs/master-data.md), so a device id is held to the same rule on both paths.

- An identifier (event id, device id, subject reference, master-data id) is printable
  characters only, in Python's sense of `str.isprintable`: letters, marks, digits,
  punctuation, symbols and the ASCII space; no control, format (invisible), private-use,
  unassigned or separator characters other than the space. Not blank.
- Free text (a name, an alarm detail) may also hold tab and line breaks, but no other
  control character (NUL, ESC, DEL, C1) and no bidirectional embedding, override or
  isolate: those reorder what a reader sees ("Trojan Source"), so one value can pose as
  another.
- A formula-like cell (CSV injection, OWASP) starts with `=`, `+`, `-` or `@`, possibly
  after tabs, carriage returns or blanks; a spreadsheet that opens an export would run it.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TEXT_LAYOUT = frozenset("\t\n\r")
# unicodedata has no names for C0/C1 controls; these are the ones a reader may recognise.
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\x1b": "escape",
    "\x7f": "delete",
}
FORMULA_STARTS = "=+-@"
# A plain number ("-1", "+86", "-0.5") is read by a spreadsheet as that number, never run.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# What a page could render as markup or run as script: tags, character references and
# `javascript:` links. Free text from the public and the field refuses them outright.
_MARKUP = re.compile(r"[<>]|javascript:|&#|&[a-z]+;", re.IGNORECASE)


def describe_character(char: str) -> str:
    """`U+202E (right-to-left override)`: the code point and what it is."""
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "").lower()
    if not name:
        name = "a control character" if unicodedata.category(char) == "Cc" else "unnamed"
    return f"U+{ord(char):04X} ({name})"


def identifier_fault(value: str) -> str | None:
    """Why `value` cannot be an identifier, or None. Cheap for a good value (one C call)."""
    if value.isprintable():
        return "is blank" if value.isspace() else None
    bad = next(char for char in value if not char.isprintable())
    return f"contains {describe_character(bad)}; only printable characters are allowed"


def text_fault(value: str) -> str | None:
    """Why `value` cannot be free text (control or bidirectional characters), or None."""
    if value.isprintable():
        return None
    for char in value:
        if char in BIDI_CONTROLS or (
            char not in _TEXT_LAYOUT and unicodedata.category(char) == "Cc"
        ):
            return f"contains {describe_character(char)}, which is not allowed in text"
    return None


def formula_fault(value: str) -> str | None:
    """Why a text cell reads as a spreadsheet formula, or None."""
    text = value.lstrip(" \t\r\n")
    if text and text[0] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text):
        return (
            f"starts with '{text[0]}', which a spreadsheet would run as a formula; "
            "remove it or write the value without it"
        )
    return None


def has_markup(value: str) -> bool:
    """Whether `value` holds markup or script (`<`, `>`, a character reference or
    `javascript:`): what plain-text fields refuse."""
    return _MARKUP.search(value) is not None


def plain_text_fault(value: str) -> str | None:
    """Why `value` cannot be plain text from the public or the field (a control or
    bidirectional character, markup or script), or None; to follow the field's name."""
    fault = text_fault(value)
    if fault is not None:
        return fault
    if has_markup(value):
        return (
            "must be plain text: markup or script ('<', '>', character references, "
            "'javascript:') is not accepted"
        )
    return None
