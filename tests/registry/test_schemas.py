"""Row schemas: coercion of spreadsheet cells and plain validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zhian.ingest.validate import check_plate
from zhian.registry.identity import PROTECTED_CODES
from zhian.registry.schemas import (
    ENTITIES,
    ENTITY_ORDER,
    DeviceRow,
    HouseRow,
    ResidentRow,
    VehicleRow,
    ZoneRow,
    known_columns,
    required_columns,
)

SQUARE = "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"


def test_entity_order_covers_every_entity() -> None:
    assert set(ENTITY_ORDER) == set(ENTITIES)
    assert ENTITY_ORDER[0] == "jurisdictions"
    assert ENTITY_ORDER[-1] == "place_restrictions"


def test_columns_match_the_tables() -> None:
    for entity, spec in ENTITIES.items():
        table_columns = {column.name for column in spec.orm_model.__table__.columns}
        protected = {code.column for code in PROTECTED_CODES.get(entity, ())}
        assert set(known_columns(entity)) - protected <= table_columns, entity
        # A card or plate is imported, but the table holds only its token, seal and mask.
        for code in PROTECTED_CODES.get(entity, ()):
            assert code.column not in table_columns
            assert {code.token_column, code.sealed_column, code.masked_column} <= table_columns
    assert "token_sha256" not in known_columns("devices")
    assert required_columns("houses") == ("id", "unit_id", "number", "area_m2", "registered_use")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
        ("是", True),
        ("否", False),
        (1, True),
        (0, False),
        (True, True),
    ],
)
def test_flags_accept_spreadsheet_spellings(cell: object, expected: bool) -> None:
    row = ResidentRow.model_validate(
        {"id": "R1", "house_id": "H1", "birth_year": "1980", "is_floating": cell}
    )
    assert row.is_floating is expected


def test_empty_cells_are_null_or_default() -> None:
    row = ResidentRow.model_validate(
        {"id": "R1", "house_id": "H1", "birth_year": 1980, "is_floating": " ", "card_ref": ""}
    )
    assert row.is_floating is False
    assert row.card_ref is None
    device = DeviceRow.model_validate(
        {"id": "D1", "kind": "DOOR", "name": "门", "latitude": 1, "longitude": 2, "zone_id": ""}
    )
    assert device.is_enabled is True
    assert device.zone_id is None
    assert device.kind == "door"


def test_numbers_from_a_workbook_become_text() -> None:
    row = HouseRow.model_validate(
        {"id": "H1", "unit_id": "U1", "number": 101, "area_m2": 80, "registered_use": "rented"}
    )
    assert row.number == "101"


def test_plate_is_normalised() -> None:
    row = VehicleRow.model_validate(
        {
            "id": "V1",
            "plate": " 京a 12345 ",
            "plate_color": "blue",
            "vehicle_class": "car",
            "community_id": "C1",
        }
    )
    assert row.plate == "京A12345"


@pytest.mark.parametrize(
    ("wkt", "fragment"),
    [
        ("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))", "not a valid polygon"),
        ("POINT(1 1)", "must be a POLYGON, not a POINT"),
        ("POLYGON((0 0, 1 0", "not valid WKT"),
        ("POLYGON((0 0, 200 0, 200 1, 0 1, 0 0))", "outside longitude"),
        ("POLYGON EMPTY", "empty"),
    ],
)
def test_zone_polygon_must_be_valid(wkt: str, fragment: str) -> None:
    cells = {"id": "Z1", "jurisdiction_id": "J1", "name": "z", "area_m2": 10}
    ZoneRow.model_validate({**cells, "polygon_wkt": SQUARE})
    with pytest.raises(ValidationError, match=fragment):
        ZoneRow.model_validate({**cells, "polygon_wkt": wkt})


def test_birth_year_bounded_by_the_given_year() -> None:
    cells = {"id": "R1", "house_id": "H1", "birth_year": 2031}
    ResidentRow.model_validate(cells)
    with pytest.raises(ValidationError, match="must not be after 2030"):
        ResidentRow.model_validate(cells, context={"current_year": 2030})
    with pytest.raises(ValidationError):
        ResidentRow.model_validate({**cells, "birth_year": 1850})


def test_nan_and_blanks_in_ids_are_rejected() -> None:
    cells = {"id": "H1", "unit_id": "U1", "number": "1", "registered_use": "idle"}
    with pytest.raises(ValidationError):
        HouseRow.model_validate({**cells, "area_m2": "nan"})
    with pytest.raises(ValidationError, match="spaces"):
        HouseRow.model_validate({**cells, "area_m2": 1, "id": "H 1"})


@pytest.mark.parametrize("reading", ["京a 12345", "B-AB 1234", "粤Z·1234港", "WJ京1234X", "无车牌"])
def test_import_keeps_a_plate_exactly_as_the_intake_does(reading: str) -> None:
    row = VehicleRow.model_validate(
        {"id": "V1", "plate": reading, "plate_color": "blue", "vehicle_class": "car"}
        | {"community_id": "C1"}
    )
    assert row.plate == check_plate(reading)  # so a registered vehicle's passages join it


@pytest.mark.parametrize(
    ("reading", "reason"),
    [("京A12345!", "only letters and digits"), ("京A1234567890123", "at most 12 characters")],
)
def test_import_refuses_what_cannot_be_a_plate_naming_it(reading: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=f"plate\n.*{reason}"):
        VehicleRow.model_validate(
            {"id": "V1", "plate": reading, "plate_color": "blue", "vehicle_class": "car"}
            | {"community_id": "C1"}
        )
