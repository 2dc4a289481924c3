"""Places and residents for governance tests, loaded through the registry service."""

from __future__ import annotations

from typing import Any

from zhian.db.engine import Database
from zhian.governance.validation import id_check_character
from zhian.registry.service import RegistryService

PLACES: dict[str, list[dict[str, Any]]] = {
    "jurisdictions": [{"id": "J1", "level": "station", "name": "North Station"}],
    "communities": [
        {
            "id": "C1",
            "jurisdiction_id": "J1",
            "name": "Garden Estate",
            "kind": "gated",
            "latitude": 30.27,
            "longitude": 120.15,
        }
    ],
    "buildings": [
        {
            "id": "B1",
            "community_id": "C1",
            "name": "Building 1",
            "floors": 6,
            "latitude": 30.27,
            "longitude": 120.15,
        }
    ],
    "units": [{"id": "U1", "building_id": "B1", "name": "Unit 1"}],
    "houses": [
        {"id": "H1", "unit_id": "U1", "number": "101", "area_m2": 80, "registered_use": "rented"}
    ],
}


def id_number(first17: str) -> str:
    return first17 + id_check_character(first17)


ZHANG_ID = id_number("11010519850312001")
LI_ID = id_number("44030119900101002")


def load_places(db: Database) -> None:
    with db.session() as session:
        service = RegistryService(session)
        for entity, rows in PLACES.items():
            report = service.load_rows(entity, rows)
            assert report.rejected == 0, report.errors


def resident(resident_id: str, **identity: object) -> dict[str, object]:
    return {"id": resident_id, "house_id": "H1", "birth_year": 1985, **identity}
