"""Fixtures of the device tests: a database with one community and a few devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.registry.service import RegistryService

DEVICE_COUNT = 300


def _device(number: int) -> dict[str, object]:
    kind = "gateway" if number == 0 else ("door" if number % 2 else "face_camera")
    return {
        "id": f"D{number:03d}",
        "kind": kind,
        "name": f"设备{number}",
        "community_id": "C01",
        "zone_id": "Z01" if number % 3 == 0 else None,
        "gateway_id": "D000" if number % 10 == 1 else None,
        "latitude": 39.99 + number / 100_000,
        "longitude": 116.47,
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{tmp_path / 'zhian.db'}")
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    database = Database(engine)
    with database.session() as session:
        registry = RegistryService(session)
        registry.load_rows("jurisdictions", [{"id": "J1", "level": "community", "name": "社区"}])
        registry.load_rows(
            "communities",
            [
                {
                    "id": "C01",
                    "jurisdiction_id": "J1",
                    "name": "西园",
                    "kind": "gated",
                    "latitude": 39.99,
                    "longitude": 116.47,
                }
            ],
        )
        registry.load_rows(
            "zones",
            [
                {
                    "id": "Z01",
                    "jurisdiction_id": "J1",
                    "name": "广场",
                    "area_m2": 100,
                    "polygon_wkt": "POLYGON((116.47 39.99, 116.48 39.99, 116.48 40, 116.47 39.99))",
                }
            ],
        )
        report = registry.load_rows("devices", [_device(n) for n in range(DEVICE_COUNT)])
        assert report.inserted == DEVICE_COUNT
    yield database
    engine.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session() as session:
        yield session
