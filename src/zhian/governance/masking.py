"""Masked display of identity values: what every page shows unless a reveal is audited."""

from __future__ import annotations

import re

from zhian.governance.plates import PLATE_PROVINCES

MASK = "*"


def mask_id_number(value: str) -> str:
    """1101**********1234: the first four (province and city) and last four characters."""
    if len(value) <= 8:
        return MASK * len(value)
    return value[:4] + MASK * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678: the operator prefix and the last four digits."""
    if len(value) <= 7:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张*, 欧** : the first character (the family name, mostly) and a star for each other."""
    if not value:
        return value
    if len(value) == 1:
        return MASK
    return value[0] + MASK * (len(value) - 1)


def mask_ref(value: str) -> str:
    """R0***01: a subject reference's first character and last two, a star between."""
    if len(value) <= 3:
        return MASK * len(value)
    return value[0] + MASK * (len(value) - 3) + value[-2:]


def mask_plate(value: str) -> str:
    """京A***45: province, city letter and the last two characters."""
    if len(value) <= 4:
        return MASK * len(value)
    return value[:2] + MASK * (len(value) - 4) + value[-2:]


MASKERS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "plate": mask_plate,
}


def mask(field: str, value: str | None) -> str | None:
    """The masked form of `value` for an identity field (name, id_number, phone, plate)."""
    if value is None:
        return None
    return MASKERS[field](value)


# Identifiers written into free text (a label, a note): found so they can be refused at
# entry or masked in place. Digit runs are bounded so a case number's digits do not count.
_PLATE_IN_TEXT = re.compile(
    rf"[{''.join(sorted(PLATE_PROVINCES))}][A-HJ-NP-Z][·\s-]?[A-HJ-NP-Z0-9]{{5,6}}"
    r"(?![A-Za-z0-9])"
)
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?!\d)")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![0-9])")

IDENTIFIER_NAMES = {"plate": "plate number", "id_number": "ID number", "phone": "phone number"}


def identifiers_in(text: str) -> list[tuple[str, str]]:
    """(kind, as written) of each plate, ID-card or mobile number in `text`, in order."""
    found: list[tuple[int, str, str]] = []
    for kind, pattern in (
        ("id_number", _ID_IN_TEXT),
        ("phone", _PHONE_IN_TEXT),
        ("plate", _PLATE_IN_TEXT),
    ):
        for match in pattern.finditer(text):
            if not any(start <= match.start() < start + len(seen) for start, _, seen in found):
                found.append((match.start(), kind, match.group()))
    return [(kind, value) for _start, kind, value in sorted(found)]


def mask_identifiers(text: str) -> str:
    """`text` with every identifier `identifiers_in` finds replaced by its masked form."""
    for kind, value in identifiers_in(text):
        compact = re.sub(r"[·\s-]", "", value)
        text = text.replace(value, MASKERS[kind](compact.upper()))
    return text
