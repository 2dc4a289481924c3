"""Checks of identity values: ID-card numbers (GB 11643), mobile phone numbers, names.

Plates have their own rule, in zhian.governance.plates.

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
