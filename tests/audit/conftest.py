"""A migrated database on both backends for audit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Database(engine)
    engine.dispose()
