"""The one plate rule of intake and master-data import: what a plate reading is kept as,
what kind of plate it is, and the few readings refused outright.

A plate is never refused for its format alone: a foreign plate, a misread one or a camera's
no-plate marker is still a real passage or a real vehicle. Such readings are kept and read as
kind `other`, which data quality counts. Refused are only readings that cannot be a plate at
all: empty, holding control characters or symbols, or absurdly long.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from enum import StrEnum

# Province abbreviations that begin a civil plate (GA 36-2018).
PLATE_PROVINCES = frozenset("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
# The longest plate of any country is 10 characters (a German plate with its blanks
# removed); beyond 12 a reading is two plates or noise, never one plate.
MAX_PLATE_CHARACTERS = 12
# Blanks and separators cameras and spreadsheets put inside a plate (京A·12345, 京A-12345).
_SEPARATORS = re.compile(r"[\s·•\-.]")

_PROVINCE = f"[{''.join(sorted(PLATE_PROVINCES))}]"
# Plates avoid I and O, which read like 1 and 0.
_CHAR = "[A-HJ-NP-Z0-9]"
_CITY = "[A-HJ-NP-Z]"


class PlateKind(StrEnum):
    """What kind of plate a reading is; `other` for foreign, misread or missing plates."""

    CIVIL = "civil"  # 京A12345, and special-use civil plates ending in 学/挂/试/超
    NEW_ENERGY = "new_energy"  # 京AD12345 (small vehicle), 京A12345D (large vehicle)
    POLICE = "police"  # 京A1234警
    MILITARY = "military"  # VA12345 (PLA, two letters then five digits), WJ京12345 (armed police)
    EMBASSY = "embassy"  # 使123456 / 123456使 (embassy), 沪A1234领 (consulate)
    HK_MACAU = "hk_macau"  # 粤Z1234港, 粤Z1234澳 (cross-boundary vehicles)
    OTHER = "other"


# The kinds a deployment recognises unless its settings (intake.plate_kinds) say otherwise.
ALL_KINDS = frozenset(kind for kind in PlateKind if kind is not PlateKind.OTHER)

_PATTERNS: tuple[tuple[PlateKind, re.Pattern[str]], ...] = (
    (PlateKind.NEW_ENERGY, re.compile(rf"{_PROVINCE}{_CITY}(?:[DF]{_CHAR}\d{{4}}|\d{{5}}[DF])")),
    (PlateKind.POLICE, re.compile(rf"{_PROVINCE}{_CITY}{_CHAR}{{4}}警")),
    (PlateKind.HK_MACAU, re.compile(rf"{_PROVINCE}{_CITY}{_CHAR}{{4}}[港澳]")),
    (PlateKind.EMBASSY, re.compile(rf"使\d{{6}}|\d{{6}}使|{_PROVINCE}{_CITY}{_CHAR}{{4}}领")),
    (PlateKind.MILITARY, re.compile(rf"[A-Z]{{2}}\d{{5}}|WJ{_PROVINCE}\d{{4}}[0-9A-Z]")),
    (PlateKind.CIVIL, re.compile(rf"{_PROVINCE}{_CITY}(?:{_CHAR}{{5}}|{_CHAR}{{4}}[学挂试超])")),
)


class PlateRefusedError(ValueError):
    """A reading that cannot be a plate; the message is the reason, fit for the sender."""


def read_plate(value: str) -> str:
    """The plate as kept: separators removed, Latin letters upper case.

    Raises PlateRefusedError when the reading is empty, holds a control character or a
    symbol, or is longer than MAX_PLATE_CHARACTERS. Any other reading is kept, whatever its
    format (see `plate_kind`).
    """
    text = _SEPARATORS.sub("", value).upper()
    if not text:
        raise PlateRefusedError("must not be empty")
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("C"):
            raise PlateRefusedError(f"must not contain control characters (U+{ord(char):04X})")
        if not (category.startswith("L") or category == "Nd"):
            raise PlateRefusedError(f"must contain only letters and digits, got '{char}'")
    if len(text) > MAX_PLATE_CHARACTERS:
        raise PlateRefusedError(
            f"must have at most {MAX_PLATE_CHARACTERS} characters, got {len(text)}"
        )
    return text


def plate_kind(plate: str, recognised: Collection[PlateKind] = ALL_KINDS) -> PlateKind:
    """The kind of a plate as `read_plate` keeps it; `other` when it has none of the
    `recognised` kinds' formats (a foreign plate, a misread one, a no-plate marker)."""
    for kind, pattern in _PATTERNS:
        if kind in recognised and pattern.fullmatch(plate):
            return kind
    return PlateKind.OTHER
