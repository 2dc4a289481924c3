"""The demo district: master data of a pilot-sized district and the simulator's view of it.

`build_district` lays out a district near Hangzhou's centre: a jurisdiction tree, an old open
neighbourhood, a gated estate, a rental-heavy block, a shopping street and a school.
`District.tables` holds exactly the registry's columns; the other attributes are the
simulator's indexes (who lives behind which door, which camera watches which entrance).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from zhian.sim.builder import Builder, public_places
from zhian.sim.faces import FaceFeatures
from zhian.sim.identities import IDENTITY_COLUMNS, synthetic_identity
from zhian.sim.layout import (
    COMPANY_VEHICLES,
    COURIERS,
    MUCK_TRUCK_PLATES,
    PASSING_PLATES,
    SITE_SPECS,
    TRADE_PLATES,
    scaled,
)
from zhian.sim.people import Car, Person
from zhian.sim.tables import COLUMNS, TABLE_ORDER, PublicPlaces, Row, Site, csv_cell


@dataclass
class District:
    """A synthetic district: master-data tables plus the indexes the simulator drives."""

    seed: int
    scale: float
    # entity -> rows, in load order; each row's keys are exactly the table's columns
    tables: dict[str, list[Row]]
    sites: list[Site]  # the residential communities (open, gated, rental)
    people: list[Person]  # residents, in the order of tables["residents"]
    cars: list[Car]  # residents' vehicles, in the order of tables["vehicles"]
    public: PublicPlaces  # devices of the shopping street and the school
    courier_refs: list[str]  # registered couriers (visitor subjects), not a registry table
    passing_plates: list[Car]  # traffic through the checkpoint, not registered here
    trade_plates: list[Car]  # delivery vans and trucks
    muck_trucks: list[Car]

    @cached_property
    def enabled_devices(self) -> list[str]:
        """Devices that report; a disabled one is silent on purpose, never "offline"."""
        return [str(row["id"]) for row in self.tables["devices"] if row["is_enabled"]]

    @cached_property
    def disabled_devices(self) -> frozenset[str]:
        return frozenset(str(r["id"]) for r in self.tables["devices"] if not r["is_enabled"])

    @cached_property
    def device_rows(self) -> dict[str, Row]:
        return {str(row["id"]): row for row in self.tables["devices"]}

    def ids(self, entity: str) -> set[str]:
        return {str(row["id"]) for row in self.tables[entity]}

    def write_csv(
        self, directory: Path, *, face_features: bool = False, identities: bool = False
    ) -> list[Path]:
        """One `<entity>.csv` per table (header = column names, true/false, empty = NULL).

        With `face_features`, residents.csv also carries each resident's enrolled face
        feature (`face_feature`, an identity cell: importing it needs a key ring); with
        `identities`, a synthetic name, ID number and phone (zhian.sim.identities), which
        the importer seals the same way.
        """
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        faces = FaceFeatures(self.seed)
        for entity in TABLE_ORDER:
            path = directory / f"{entity}.csv"
            columns = COLUMNS[entity]
            enrol = face_features and entity == "residents"
            named = identities and entity == "residents"
            extra = (*(("face_feature",) if enrol else ()), *(IDENTITY_COLUMNS if named else ()))
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow((*columns, *extra))
                for index, row in enumerate(self.tables[entity]):
                    cells = [csv_cell(row[column]) for column in columns]
                    if enrol:
                        cells.append(faces.enrolled(str(row["id"])))
                    if named:
                        who = synthetic_identity(index, str(row["id"]), int(str(row["birth_year"])))
                        cells += [who[column] for column in IDENTITY_COLUMNS]
                    writer.writerow(cells)
            paths.append(path)
        return paths


def build_district(seed: int = 7, scale: float = 1.0) -> District:
    """Build the demo district; the same (seed, scale) always gives the same tables.

    `scale` multiplies buildings, and with them houses, residents, vehicles and devices:
    scale 1 is a pilot (~1,200 houses, ~3,000 residents, ~1,000 vehicles, ~300 devices).
    """
    if not scale > 0:
        raise ValueError("scale must be positive")
    b = Builder(seed, scale)
    b.jurisdictions()
    for spec in SITE_SPECS:
        b.site(spec)
    public = public_places(b)
    b.company_vehicles(scaled(COMPANY_VEHICLES, scale), community="C04")
    passing = b.pool(PASSING_PLATES, "private")
    trade = b.pool(TRADE_PLATES, "trade")
    muck = b.pool(MUCK_TRUCK_PLATES, "muck")
    return District(
        seed=seed,
        scale=scale,
        tables=b.tables,
        sites=b.sites,
        people=b.people,
        cars=b.cars,
        public=public,
        courier_refs=[f"courier-{i + 1:03d}" for i in range(scaled(COURIERS, scale))],
        passing_plates=passing,
        trade_plates=trade,
        muck_trucks=muck,
    )
