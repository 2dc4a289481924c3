"""Fixtures of the registry tests: a fresh SQLite database and the demo-district files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.registry.importer import import_paths
from zhian.registry.schemas import ENTITY_ORDER

from .factories import SEALER

FIXTURES = Path(__file__).parent / "fixtures"
DISTRICT = FIXTURES / "district"
BAD = FIXTURES / "bad"


def district_files() -> list[Path]:
    return [DISTRICT / f"{entity}.csv" for entity in ENTITY_ORDER]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'zhian.db'}")
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Database:
    return Database(engine)


@pytest.fixture
def district_db(db: Database) -> Database:
    """A database holding every entity of the small demo district."""
    reports = import_paths(db, district_files(), identity=SEALER)
    assert [report.rejected for report in reports] == [0] * len(ENTITY_ORDER)
    return db
