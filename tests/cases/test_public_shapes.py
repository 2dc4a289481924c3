"""Public crime data in the shapes open-data portals export it, taken as it comes with a
mapping: a city portal's CSV ('Case Number', 'Date', 'Primary Type', 'Latitude', …), the
same portal's JSON records (nested 'location'), a police open-data JSON by month and
GeoJSON; through the importer and both `zhian eval` commands end to end."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhian.cases.importer import CaseMapping, read_case_rows
from zhian.cases.settings import DEFAULT_MO_FEATURES
from zhian.cli.main import app
from zhian.sim.scenarios_cases import CaseSimulation, simulate_cases
from zhian.sim.timeline import TZ

# The portal's category names for the simulator's categories.
PRIMARY_TYPES = {
    "burglary": "BURGLARY", "theft_from_vehicle": "THEFT", "vehicle_theft": "MOTOR VEHICLE THEFT",
    "pickpocketing": "PICKPOCKETING", "robbery": "ROBBERY", "fraud": "DECEPTIVE PRACTICE",
    "assault": "BATTERY", "dispute": "PUBLIC PEACE VIOLATION",
}  # fmt: skip
VALUES = "[values.category]\n" + "".join(
    f'"{name}" = "{ours}"\n' for ours, name in PRIMARY_TYPES.items()
)
CSV_MAPPING = f"""
[columns]
id = "Case Number"
time_from = "Date"
category = "Primary Type"
address = "Block"
latitude = "Latitude"
longitude = "Longitude"
solved = "Arrest"
offender = "Offender ID"

[mo]
entry_method = "Description"
target = "Location Description"

[time]
format = "%m/%d/%Y %I:%M:%S %p"
utc_offset_hours = 8

[defaults]
jurisdiction_id = "J-STATION"

{VALUES}"""
JSON_MAPPING = f"""
[columns]
id = "case_number"
time_from = "date"
category = "primary_type"
address = "block"
latitude = "location.latitude"
longitude = "location.longitude"
solved = "arrest"
offender = "offender_id"

[mo]
entry_method = "description"
target = "location_description"

[time]
utc_offset_hours = 8

{VALUES}"""


def portal_records(planted: CaseSimulation) -> list[dict[str, object]]:
    """The simulated cases as a city portal lists them: one date, upper-case types, an
    arrest flag, and (as the issue asks for linkage) an offender id on solved cases."""
    records = []
    for number, case in enumerate(planted.cases, start=1):
        records.append({
            "ID": 13_000_000 + number, "Case Number": f"JG{number:06d}",
            "Date": case.time_from, "Block": case.place.address, "IUCR": "0610",
            "Primary Type": PRIMARY_TYPES[case.category],
            "Description": case.mo.get("entry_method", ""),
            "Location Description": case.mo.get("target", ""),
            "Arrest": case.is_solved, "Beat": "0611",
            "Latitude": round(case.place.latitude, 9), "Longitude": round(case.place.longitude, 9),
            "Offender ID": case.offender if case.is_solved else "",
        })  # fmt: skip
    return records


def write_portal_csv(records: list[dict[str, object]], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*records[0], "Location"])
        for record in records:
            when = record["Date"]
            assert isinstance(when, datetime)
            cells = {**record, "Date": f"{when:%m/%d/%Y %I:%M:%S %p}",
                     "Arrest": "true" if record["Arrest"] else "false"}  # fmt: skip
            writer.writerow([*cells.values(), f"({record['Latitude']}, {record['Longitude']})"])
    return path


def write_portal_json(records: list[dict[str, object]], path: Path) -> Path:
    """The portal's JSON API shape: snake_case names, numbers as text, the place nested
    under 'location', empty fields left out."""
    out = []
    for record in records:
        when = record["Date"]
        assert isinstance(when, datetime)
        item: dict[str, object] = {
            re.sub(r"\W+", "_", name.lower()): str(value)
            for name, value in record.items()
            if name not in {"Date", "Arrest", "Latitude", "Longitude"} and value != ""
        }
        place = {"latitude": str(record["Latitude"]), "longitude": str(record["Longitude"]),
                 "human_address": json.dumps({"address": record["Block"]})}  # fmt: skip
        item |= {"date": f"{when:%Y-%m-%dT%H:%M:%S}.000", "arrest": record["Arrest"],
                 "location": place}  # fmt: skip
        out.append(item)
    path.write_text(json.dumps(out), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def portal_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("portal")
    planted = simulate_cases(seed=3, start=datetime(2025, 1, 1, tzinfo=TZ), days=180,
                             series=15, background_per_day=2)  # fmt: skip
    records = portal_records(planted)
    csv_mapping, json_mapping = folder / "csv-mapping.toml", folder / "json-mapping.toml"
    csv_mapping.write_text(CSV_MAPPING, encoding="utf-8")
    json_mapping.write_text(JSON_MAPPING, encoding="utf-8")
    return {
        "csv": (write_portal_csv(records, folder / "crimes.csv"), csv_mapping),
        "json": (write_portal_json(records, folder / "crimes.json"), json_mapping),
    }


def figures(output: str) -> list[str]:
    """The numbers of a printed table, in order (the file name left out)."""
    return re.findall(r"\d+\.\d+", output.replace("crimes.csv", "").replace("crimes.json", ""))


def test_both_evaluations_take_the_portals_csv_and_json_alike(
    portal_files: dict[str, tuple[Path, Path]],
) -> None:
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    linkage, hotspots = {}, {}
    for shape, (cases, mapping) in portal_files.items():
        result = runner.invoke(app, ["eval", "linkage", str(cases), "--mapping", str(mapping)],
                               env=env)  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "row error" not in result.output, result.output
        linkage[shape] = result.output
        periods = ["--train-until", "2025-04-01", "--test-from", "2025-04-01",
                   "--test-to", "2025-06-29", "--coverage", "1,5"]  # fmt: skip
        result = runner.invoke(
            app, ["eval", "hotspots", str(cases), "--mapping", str(mapping), *periods], env=env
        )
        assert result.exit_code == 0, result.output
        assert "left out" not in result.output, result.output
        hotspots[shape] = result.output
    # The same cases in either shape give the same figures.
    assert figures(linkage["csv"]) == figures(linkage["json"])
    assert figures(hotspots["csv"]) == figures(hotspots["json"])
    # With one date per case and two MO columns, the model still beats distance + time.
    auc = {
        name: float(match[1])
        for name in ("model", "distance + time logistic")
        if (match := re.search(re.escape(name) + r".*?(\d\.\d{3})", linkage["csv"]))
    }
    assert auc["model"] >= 0.95 and auc["model"] > auc["distance + time logistic"], auc
    for text in ("naive counts (baseline)", "kernel density", "self-exciting", "PAI 5%"):
        assert text in hotspots["json"]


def test_a_police_json_by_month_with_nested_places(tmp_path: Path) -> None:
    """A police open-data shape: the month only, the category in lower-case words, the
    place nested two levels down; a refused record is named by its number and the file's
    name for the field."""
    crimes = [
        {"category": "burglary", "location": {"latitude": "30.259", "longitude": "120.1485",
         "street": {"id": 1, "name": "On or near Park Road"}}, "id": 101, "month": "2025-01",
         "outcome_status": {"category": "Offender sent to prison", "date": "2025-03"}},
        {"category": "anti-social-behaviour", "location": {"latitude": "30.26",
         "longitude": "120.149", "street": {"id": 2, "name": "On or near High Street"}},
         "id": 102, "month": "Jan 2025", "outcome_status": None},
        {"category": "vehicle-crime", "location": {}, "id": 103, "month": "2025-02"},
    ]  # fmt: skip
    path = tmp_path / "2025-01-street.json"
    path.write_text(json.dumps(crimes), encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\nid = "id"\ntime_from = "month"\ncategory = "category"\n'
        'address = "location.street.name"\nlatitude = "location.latitude"\n'
        'longitude = "location.longitude"\n\n[time]\nformat = "%Y-%m"\nutc_offset_hours = 0\n\n'
        '[defaults]\njurisdiction_id = "J-STATION"\n\n'
        '[values.category]\n"burglary" = "burglary"\n"vehicle-crime" = "theft_from_vehicle"\n',
        encoding="utf-8",
    )
    rows = dict(read_case_rows(path, CaseMapping.load(mapping, DEFAULT_MO_FEATURES)))
    assert sorted(rows) == [1, 2, 3]  # records, counted from the first
    first = rows[1]
    assert not isinstance(first, list)
    assert (first.id, first.category, first.address) == ("101", "burglary", "On or near Park Road")
    assert first.time_from.isoformat() == "2025-01-01T00:00:00+00:00"
    assert (first.latitude, first.longitude) == (30.259, 120.1485)
    refused = rows[2]
    assert isinstance(refused, list) and (refused[0].row, refused[0].field) == (2, "month")
    assert "'Jan 2025' is not a date and time" in refused[0].reason
    placeless = rows[3]  # an empty 'location': no place at all
    assert isinstance(placeless, list) and "needs a place" in placeless[0].reason


def test_geojson_features_give_their_properties_and_point(tmp_path: Path) -> None:
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1485, 30.259]},
         "properties": {"CaseNo": "G1", "Offense": "burglary", "Reported": "2025-03-04 22:10"}},
    ]}  # fmt: skip
    path = tmp_path / "crimes.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\nid = "CaseNo"\ntime_from = "Reported"\ncategory = "Offense"\n'
        'x = "geometry.coordinates.0"\ny = "geometry.coordinates.1"\n\n'
        '[defaults]\njurisdiction_id = "J-STATION"\n',
        encoding="utf-8",
    )
    [(number, case)] = read_case_rows(path, CaseMapping.load(mapping, DEFAULT_MO_FEATURES))
    assert number == 1 and not isinstance(case, list)
    assert (case.id, case.latitude, case.longitude) == ("G1", 30.259, 120.1485)
    assert case.time_from.isoformat() == "2025-03-04T22:10:00+08:00"
