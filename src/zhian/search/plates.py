"""A typed plate and the plates a camera may have read instead: one character misread.

Plates are held only as keyed tokens (`zhian.governance.tokens`), so the store cannot be
asked for "plates like this one". Instead the search tokenises every plate one character
away from the typed one (a few hundred HMACs, microseconds each) and looks the tokens up
exactly: the misread tolerance costs no clear plate anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhian.governance.plates import PLATE_PROVINCES, PlateRefusedError, read_plate

# Plates avoid I and O (they read like 1 and 0), so a reading never holds them.
PLATE_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
# What a new-energy or special-use plate may end with, beyond letters and digits.
PLATE_SUFFIXES = "警学挂港澳领试超"
PLATE_LENGTHS = (7, 8)


@dataclass(frozen=True)
class PlateQuery:
    """The typed plate (normalised) and every plate one character away from it."""

    plate: str
    near: tuple[str, ...]


def normalise_typed_plate(text: str) -> str | None:
    """The plate as the intake keeps it (`zhian.governance.plates.read_plate`: separators
    removed, upper case), or None when `text` cannot be a plate."""
    try:
        return read_plate(text)
    except PlateRefusedError:
        return None


def plate_query(text: str) -> PlateQuery | None:
    """The plate search for `text`, or None when it does not look like a plate. A Chinese
    plate also brings its misreads; any other reading with a digit (a foreign or partly
    read plate, kept by the intake as "other") is looked up exactly."""
    plate = normalise_typed_plate(text)
    if plate is None:
        return None
    if len(plate) not in PLATE_LENGTHS or plate[0] not in PLATE_PROVINCES:
        has_digit = any(char.isdigit() for char in plate)
        return PlateQuery(plate, ()) if has_digit else None
    near: list[str] = []
    for position, typed in enumerate(plate):
        if position == 0:
            choices = "".join(sorted(PLATE_PROVINCES))
        elif position == len(plate) - 1:
            choices = PLATE_CHARACTERS + PLATE_SUFFIXES
        else:
            choices = PLATE_CHARACTERS
        near.extend(plate[:position] + c + plate[position + 1 :] for c in choices if c != typed)
    return PlateQuery(plate, tuple(near))
