"""Fixtures of the governance tests: a migrated database on both backends, a key ring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhian.config import GovernanceSettings
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.governance.context import Governance
from zhian.governance.keys import KeyRing, generate_keyring
from zhian.kit.clock import ManualClock

from .factories import load_places


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    database = Database(engine)
    load_places(database)
    yield database
    engine.dispose()


@pytest.fixture
def ring() -> KeyRing:
    return generate_keyring()


@pytest.fixture
def governance(ring: KeyRing, clock: ManualClock) -> Governance:
    return Governance(GovernanceSettings(), clock, ring)
