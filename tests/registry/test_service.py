"""RegistryService.load_rows: upsert by id, per-row errors, reference checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from zhian.access.scope import JurisdictionScope
from zhian.db.engine import Database
from zhian.devices.models import Device
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.registry.importer import import_paths
from zhian.registry.models import House, Jurisdiction, PlaceRestriction, Vehicle
from zhian.registry.schemas import ENTITY_ORDER
from zhian.registry.service import ImportFileError, ImportReport, RegistryService, RowError

from .conftest import BAD, DISTRICT, district_files
from .factories import SEALER

NOW = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def load(db: Database, entity: str, rows: Sequence[Mapping[str, object]]) -> ImportReport:
    with db.session() as session:
        return RegistryService(session, identity=SEALER).load_rows(entity, rows)


def errors_of(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.reason) for error in report.errors]


def test_district_loads_every_entity(district_db: Database) -> None:
    with district_db.session() as session:
        service = RegistryService(session)
        counts = service.count_by_entity()
        communities = service.list_communities(scope=JurisdictionScope.unscoped())
    assert list(counts) == list(ENTITY_ORDER)
    assert counts == {
        "jurisdictions": 5,
        "communities": 2,
        "buildings": 2,
        "units": 3,
        "houses": 4,
        "zones": 2,
        "points_of_interest": 2,
        "residents": 4,
        "vehicles": 3,
        "devices": 4,
        "place_restrictions": 1,
    }
    assert [community.id for community in communities] == ["C01", "C02"]
    assert communities[0].name == "望京西园"
    assert communities[0].kind == "gated"


def test_district_values_are_typed(district_db: Database) -> None:
    with district_db.session() as session:
        house = session.get(House, "H0101-101")
        gateway_child = session.get(Device, "D001")
        poi_device = session.get(Device, "D003")
    assert house is not None and house.area_m2 == 89.5 and house.registered_use == "owner_occupied"
    assert gateway_child is not None and gateway_child.gateway_id == "GW01"
    assert poi_device is not None and poi_device.building_id is None and poi_device.is_enabled


def test_bad_rows_are_reported_and_good_rows_load(district_db: Database) -> None:
    [report] = import_paths(district_db, [BAD / "houses.csv"], identity=SEALER)
    assert errors_of(report) == [
        (3, "area_m2", "must be a number, got 'abc'"),
        (4, "area_m2", "must be greater than 0"),
        (5, "unit_id", "unknown unit 'U0909'"),
        (6, "registered_use", "must be one of 'owner_occupied', 'rented' or 'idle', got 'leased'"),
        (7, "id", "duplicate id in this file (first on row 2)"),
        (10, "id", "is required"),
    ]
    assert (report.total, report.inserted, report.rejected) == (8, 2, 6)
    with district_db.session() as session:
        ids = set(session.scalars(select(House.id).where(House.id.like("H1%"))))
        first = session.get(House, "H1001")
    assert ids == {"H1001", "H1007"}
    assert first is not None and first.unit_id == "U0101"  # the first of the duplicates


def test_bad_polygons_are_reported(district_db: Database) -> None:
    [report] = import_paths(district_db, [BAD / "zones.csv"], identity=SEALER)
    reasons = {error.row: (error.column, error.reason) for error in report.errors}
    assert report.inserted == 1
    assert reasons[3][0] == "polygon_wkt"
    assert reasons[3][1].startswith("is not a valid polygon (self-intersection near 116.47")
    assert reasons[4] == ("polygon_wkt", "must be a POLYGON, not a LINESTRING")
    assert reasons[5][1].startswith("is not valid WKT")
    assert reasons[6] == ("community_id", "unknown community 'C09'")


def test_reimport_is_idempotent_and_changes_update(district_db: Database) -> None:
    reports = import_paths(district_db, district_files(), identity=SEALER)
    assert all(r.inserted == r.updated == r.rejected == 0 for r in reports)
    assert sum(r.unchanged for r in reports) == 32
    with district_db.session() as session:
        before = RegistryService(session).count_by_entity()

    rows = [
        {
            "id": "H0101-102",
            "unit_id": "U0101",
            "number": "102",
            "area_m2": "61.5",
            "registered_use": "idle",
        },
        {
            "id": "H9",
            "unit_id": "U0101",
            "number": "109",
            "area_m2": "30",
            "registered_use": "rented",
        },
    ]
    report = load(district_db, "houses", rows)
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 0)
    with district_db.session() as session:
        house = session.get(House, "H0101-102")
        after = RegistryService(session).count_by_entity()
    assert house is not None and (house.area_m2, house.registered_use) == (61.5, "idle")
    assert after["houses"] == before["houses"] + 1


def test_columns_a_file_lacks_are_kept_on_update(district_db: Database) -> None:
    with district_db.session() as session:
        DeviceService(session).set_enabled("D001", False)
        token = DeviceService(session).issue_token("D001", now=NOW)
    # No is_enabled column: the device stays disabled; the token survives a re-import.
    row = {"id": "D001", "kind": "door", "name": "改名的门禁", "latitude": 39.9, "longitude": 116.4}
    report = load(district_db, "devices", [row])
    assert report.updated == 1
    [again] = import_paths(district_db, [DISTRICT / "devices.csv"], identity=SEALER)
    assert again.updated == 1  # name and is_enabled restored from the file
    with district_db.session() as session:
        device = session.get(Device, "D001")
        directory = DeviceService(session).directory()
    assert device is not None and device.name == "1号楼1单元门禁" and device.is_enabled
    assert directory.authenticate(token) == "D001"


def test_several_errors_in_one_row_reject_it_once(district_db: Database) -> None:
    row = {
        "id": "H1",
        "unit_id": "U0101",
        "number": "",
        "area_m2": "0",
        "registered_use": "x",
        "colour": "red",
    }
    report = load(district_db, "houses", [row])
    assert report.rejected == 1
    assert errors_of(report) == [
        (2, "number", "is required"),
        (2, "area_m2", "must be greater than 0"),
        (2, "registered_use", "must be one of 'owner_occupied', 'rented' or 'idle', got 'x'"),
        (2, "colour", "is not a column of houses"),
    ]


def test_self_references_may_point_forward(db: Database) -> None:
    rows = [
        {"id": "S1", "parent_id": "D1", "level": "station", "name": "派出所"},
        {"id": "D1", "parent_id": "", "level": "district", "name": "区"},
        {"id": "J1", "parent_id": "S1", "level": "COMMUNITY", "name": "社区"},
    ]
    report = load(db, "jurisdictions", rows)
    assert (report.inserted, report.rejected) == (3, 0)


def test_self_reference_errors(db: Database) -> None:
    load(db, "jurisdictions", [{"id": "D1", "level": "district", "name": "区"}])
    rows = [
        {"id": "C1", "parent_id": "D1", "level": "city", "name": "市"},
        {"id": "X1", "parent_id": "X1", "level": "station", "name": "自己"},
        {"id": "A1", "parent_id": "B1", "level": "station", "name": "甲"},
        {"id": "B1", "parent_id": "A1", "level": "station", "name": "乙"},
        {"id": "S9", "parent_id": "Q1", "level": "station", "name": "丙"},
        {"id": "Q1", "parent_id": "D1", "level": "nowhere", "name": "坏"},
        {"id": "S8", "parent_id": "Z1", "level": "station", "name": "丁"},
    ]
    report = load(db, "jurisdictions", rows)
    assert errors_of(report) == [
        (2, "parent_id", "a city cannot sit under district 'D1'"),
        (3, "parent_id", "must not refer to the row itself"),
        (4, "parent_id", "'B1' is part of a reference cycle"),
        (5, "parent_id", "'A1' is part of a reference cycle"),
        (6, "parent_id", "jurisdiction 'Q1' is rejected on row 7"),
        (
            7,
            "level",
            "must be one of 'province', 'city', 'district', 'station' or 'community', "
            "got 'nowhere'",
        ),
        (8, "parent_id", "unknown jurisdiction 'Z1'"),
    ]
    with db.session() as session:
        assert list(session.scalars(select(Jurisdiction.id))) == ["D1"]


def test_gateway_must_be_a_gateway(district_db: Database) -> None:
    row = {
        "id": "D9",
        "kind": "door",
        "name": "门",
        "gateway_id": "D002",
        "latitude": 39.9,
        "longitude": 116.4,
    }
    report = load(district_db, "devices", [row])
    assert errors_of(report) == [(2, "gateway_id", "device 'D002' is a face_camera, not a gateway")]


def test_unique_values_are_checked_in_file_and_table(district_db: Database) -> None:
    base = {"plate_color": "blue", "vehicle_class": "car", "community_id": "C01"}
    rows = [
        {"id": "V10", "plate": "京C00001", **base},
        {"id": "V11", "plate": "京c 00001", **base},
        {"id": "V12", "plate": "京A12345", **base},
        {"id": "V01", "plate": "京A12345", **base, "owner_id": "R0002"},
    ]
    report = load(district_db, "vehicles", rows)
    assert errors_of(report) == [
        (3, "plate", "duplicate plate in this file (first on row 2)"),
        (4, "plate", "plate '京A12345' already belongs to vehicle 'V01'"),
    ]
    assert (report.inserted, report.updated) == (1, 1)
    with district_db.session() as session:
        vehicle = session.get(Vehicle, "V01")
    assert vehicle is not None and vehicle.owner_id == "R0002"


def test_birth_year_cannot_lie_ahead_of_the_clock(district_db: Database) -> None:
    row = {"id": "R9", "house_id": "H0101-101", "birth_year": "2030"}
    with district_db.session() as session:
        report = RegistryService(session, clock=ManualClock(NOW)).load_rows("residents", [row])
    assert errors_of(report) == [(2, "birth_year", "must not be after 2024")]


def test_rows_are_numbered_from_the_given_row(db: Database) -> None:
    rows = [{"id": "P1", "level": "province", "name": "省"}, {}, {"id": "P2", "level": "x"}]
    with db.session() as session:
        report = RegistryService(session).load_rows("jurisdictions", rows, first_row_number=10)
    assert report.total == 2
    assert {error.row for error in report.errors} == {12}
    assert RowError(12, "name", "is required") in report.errors


def test_unknown_entity_is_a_whole_file_error(db: Database) -> None:
    with db.session() as session, pytest.raises(ImportFileError, match="unknown entity 'people'"):
        RegistryService(session).load_rows("people", [])


def test_foreign_and_misread_plates_are_imported_and_absurd_ones_refused(
    district_db: Database,
) -> None:
    base = {"plate_color": "blue", "vehicle_class": "car", "community_id": "C01"}
    rows = [
        {"id": "V20", "plate": "B-AB 1234", **base},  # a German plate
        {"id": "V21", "plate": "粤Z1234港", **base},  # a Hong Kong cross-boundary plate
        {"id": "V22", "plate": "京A12<script>", **base},
    ]
    report = load(district_db, "vehicles", rows)
    assert errors_of(report) == [(4, "plate", "must contain only letters and digits, got '<'")]
    assert report.inserted == 2
    with district_db.session() as session:
        german, hong_kong = session.get(Vehicle, "V20"), session.get(Vehicle, "V21")
        assert german is not None and hong_kong is not None
        # Kept, and flagged: data quality counts the registry's plates of kind other.
        assert (german.plate_kind, hong_kong.plate_kind) == ("other", "hk_macau")
        service = RegistryService(session)
        others = service.vehicles_with_plate_kind("other")
        assert others >= 1
        assert service.vehicles_with_plate_kind("hk_macau") >= 1
    # Imported again as a civil plate, the row is no longer flagged.
    report = load(district_db, "vehicles", [{**rows[0], "plate": "浙A1234B"}])
    assert report.updated == 1
    with district_db.session() as session:
        assert RegistryService(session).vehicles_with_plate_kind("other") == others - 1


def test_place_restrictions_are_imported_with_their_lists_checked(district_db: Database) -> None:
    gate = {"name": "护林通道", "device_id": "D001"}
    rows = [
        {"id": "R1", **gate, "allowed_owners": "Community, registered", "direction": "IN",
         "allowed_classes": "car，suv", "allowed_from_hour": "6", "allowed_until_hour": "20"},
        {"id": "R2", **gate, "allowed_classes": "tank"},
        {"id": "R3", "name": "两处", "device_id": "D001", "zone_id": "Z01"},
        {"id": "R4", **gate, "allowed_from_hour": "6"},
        {"id": "R5", "name": "无此设备", "device_id": "NOPE"},
    ]  # fmt: skip
    report = load(district_db, "place_restrictions", rows)
    errors = errors_of(report)
    assert [(row, column) for row, column, _ in errors] == [
        (3, "allowed_classes"),
        (4, ""),
        (5, ""),
        (6, "device_id"),
    ], errors
    assert "'tank' is not one of car, suv" in errors[0][2]
    assert "either device_id or zone_id" in errors[1][2]
    assert "both allowed_from_hour and allowed_until_hour" in errors[2][2]
    with district_db.session() as session:
        rule = session.get(PlaceRestriction, "R1")
    assert rule is not None
    assert (rule.allowed_owners, rule.allowed_classes, rule.direction) == (
        "community,registered",
        "car,suv",
        "in",
    )
