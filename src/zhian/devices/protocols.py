"""Which protocol an intake source stands for, as pages and commands name it."""

from __future__ import annotations

# Intake source (the part before ':' of a source such as 'viid:Faces') -> protocol shown.
PROTOCOL_OF_SOURCE = {
    "native": "native",
    "viid": "gat1400",
    "mqtt": "mqtt",
    "ferry": "ferry",
    "file": "file",
    "sim": "sim",
    "replay": "replay",
}
PROTOCOL_ORDER = ("native", "gat1400", "mqtt", "ferry", "file", "sim", "replay")


def protocol_of_source(source: str) -> str:
    """The protocol an intake source stands for ('viid:Faces' -> 'gat1400')."""
    head = source.split(":", 1)[0]
    return PROTOCOL_OF_SOURCE.get(head, head)
