"""Masked display of identity values: what every page shows unless a reveal is audited."""

from __future__ import annotations

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
