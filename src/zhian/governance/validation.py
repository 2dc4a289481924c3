"""Checks of identity values: ID-card numbers (GB 11643), mobile phone numbers, plates.

Each `normalise_*` returns the canonical spelling or raises `InvalidValueError` (a ValueError,
so Pydantic validators can use them directly) whose message says what is wrong.
"""

from __future__ import annotations

import re
from datetime import date

# GB 11643-1999: weights of the first 17 digits, and the check character by sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 (the first two digits of an ID-card number).
_ID_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)
_OLDEST_BIRTH_YEAR = 1900

# Mainland mobile numbers: 11 digits, 1 then 3-9 (13x … 19x).
_MOBILE = re.compile(r"1[3-9]\d{9}")

# Province abbreviations that begin a civil plate (GA 36-2018).
PLATE_PROVINCES = frozenset("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
# Plates avoid I and O, which read like 1 and 0.
_PLATE_CHAR = "[A-HJ-NP-Z0-9]"
_PLATE_STANDARD = re.compile(rf"[A-HJ-NP-Z]{_PLATE_CHAR}{{5}}")
_PLATE_SPECIAL = re.compile(rf"[A-HJ-NP-Z]{_PLATE_CHAR}{{4}}[警学挂港澳领试超]")
# New-energy plates (8 characters): small vehicles put D (battery) or F (other) third,
# large vehicles put it last.
_PLATE_NEV_SMALL = re.compile(rf"[A-HJ-NP-Z][DF]{_PLATE_CHAR}\d{{4}}")
_PLATE_NEV_LARGE = re.compile(r"[A-HJ-NP-Z]\d{5}[DF]")


class InvalidValueError(ValueError):
    """A value that fails its check; the message is the reason, fit for the sender."""


def normalise_id_number(value: str, *, today: date | None = None) -> str:
    """An 18-character resident ID-card number, upper case, or InvalidValueError with the reason.

    Checks the region (a province code), the birth date (a real day, from 1900, not after
    `today` when given) and the GB 11643 check character.
    """
    text = "".join(value.split()).upper()
    if len(text) == 15 and text.isdigit():
        raise InvalidValueError(
            "15-digit first-generation numbers are not accepted; give the 18-digit one"
        )
    if len(text) != 18:
        raise InvalidValueError(f"must have 18 characters, got {len(text)}")
    if not text[:17].isdigit():
        raise InvalidValueError("the first 17 characters must be digits")
    if not (text[17].isdigit() or text[17] == "X"):
        raise InvalidValueError("the last character must be a digit or X")
    if int(text[:2]) not in _ID_PROVINCES:
        raise InvalidValueError(f"region code {text[:2]} is not a province of GB/T 2260")
    try:
        birth = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidValueError(f"birth date {text[6:14]} is not a real date") from None
    if birth.year < _OLDEST_BIRTH_YEAR:
        raise InvalidValueError(f"birth year {birth.year} is before {_OLDEST_BIRTH_YEAR}")
    if today is not None and birth > today:
        raise InvalidValueError(f"birth date {birth.isoformat()} lies in the future")
    expected = id_check_character(text[:17])
    if text[17] != expected:
        raise InvalidValueError(f"check character is {text[17]}, expected {expected} (GB 11643)")
    return text


def id_check_character(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_birth_date(id_number: str) -> date:
    """The birth date inside a valid 18-character ID-card number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def normalise_phone(value: str) -> str:
    """A mainland mobile number as 11 digits, or InvalidValueError with the reason.

    Blanks, dashes and a +86 / 0086 / 86 prefix are removed first.
    """
    text = re.sub(r"[\s\-()]", "", value)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if len(text) == 13 and text.startswith("86"):
            text = text[2:]
    if not text.isdigit():
        raise InvalidValueError("must contain only digits (and an optional +86 prefix)")
    if len(text) != 11:
        raise InvalidValueError(f"must have 11 digits, got {len(text)}")
    if not _MOBILE.fullmatch(text):
        raise InvalidValueError("is not a mainland mobile number (1 then 3-9, 11 digits)")
    return text


def normalise_plate(value: str) -> str:
    """A civil plate without blanks, upper case, or InvalidValueError with the reason.

    Accepts standard plates (京A12345), special-use plates ending in 警/学/挂/港/澳/领/试/超
    and new-energy plates of 8 characters (京AD12345 small, 京A12345D large).
    """
    text = "".join(value.replace("·", "").replace("•", "").split()).upper()
    if not text:
        raise InvalidValueError("must not be empty")
    if text[0] not in PLATE_PROVINCES:
        raise InvalidValueError(
            f"must start with a province abbreviation such as 京 or 粤, got '{text[0]}'"
        )
    rest = text[1:]
    if len(text) == 7:
        if _PLATE_STANDARD.fullmatch(rest) or _PLATE_SPECIAL.fullmatch(rest):
            return text
        raise InvalidValueError(
            "is not a standard plate: a city letter, then 5 letters or digits (no I or O)"
        )
    if len(text) == 8:
        if _PLATE_NEV_SMALL.fullmatch(rest) or _PLATE_NEV_LARGE.fullmatch(rest):
            return text
        raise InvalidValueError(
            "is not a new-energy plate: D or F must come third (small vehicle, 京AD12345) "
            "or last (large vehicle, 京A12345D)"
        )
    raise InvalidValueError(f"must have 7 characters (8 for new-energy plates), got {len(text)}")


def is_new_energy_plate(plate: str) -> bool:
    """True for a valid 8-character new-energy plate."""
    return len(plate) == 8 and bool(
        _PLATE_NEV_SMALL.fullmatch(plate[1:]) or _PLATE_NEV_LARGE.fullmatch(plate[1:])
    )


def normalise_name(value: str) -> str:
    """A person's name, blanks collapsed; 1 to 50 characters, no digits."""
    text = " ".join(value.split())
    if not text:
        raise InvalidValueError("must not be empty")
    if len(text) > 50:
        raise InvalidValueError(f"must be at most 50 characters, got {len(text)}")
    if any(char.isdigit() for char in text):
        raise InvalidValueError("must not contain digits")
    return text
