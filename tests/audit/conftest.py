"""A migrated database on both backends for audit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhian.db import migrate
from zhian.db.engine import Database, make_engine


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    yield Database(engine)
    engine.dispose()
