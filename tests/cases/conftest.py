"""Fixtures of the case tests: a migrated database holding the two-station registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.registry.factories import load_two_stations
from zhian.db import migrate
from zhian.db.engine import Database, make_engine


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    database = Database(engine)
    load_two_stations(database)
    yield database
    engine.dispose()
