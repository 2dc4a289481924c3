"""A typed plate and the plates a camera may have read instead: one character misread.

Plates are held only as keyed tokens (`zhian.governance.tokens`), so the store cannot be
asked for "plates like this one". Instead the search tokenises every plate one character
away from the typed one (a few hundred HMACs, microseconds each) and looks the tokens up
exactly: the misread tolerance costs no clear plate anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhian.governance.validation import PLATE_PROVINCES

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


def normalise_typed_plate(text: str) -> str:
    """Blanks and the middle dot removed, upper case (as the intake stores plates)."""
    return "".join(text.replace("·", "").replace("•", "").split()).upper()


def plate_query(text: str) -> PlateQuery | None:
    """The plate search for `text`, or None when it does not look like a plate."""
    plate = normalise_typed_plate(text)
    if len(plate) not in PLATE_LENGTHS or plate[0] not in PLATE_PROVINCES:
        return None
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
