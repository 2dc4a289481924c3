"""Fixtures every test package shares: settings in a temporary workspace, clocks, PostgreSQL,
and the schema, migrated once per session into a template that each test copies."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect

from zhian.access import service as access_service
from zhian.config import Settings, load_settings
from zhian.db import migrate
from zhian.db.engine import make_engine
from zhian.kit.clock import ManualClock

CST = timezone(timedelta(hours=8))
POSTGRES_ADMIN_URL = os.environ.get(
    "ZHIAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
# Marks a test that needs a database without any table (it runs migrations step by step).
EMPTY_DATABASE = "empty_database"


def services_required() -> bool:
    """In CI a missing service fails the run instead of skipping silently."""
    return bool(os.environ.get("CI") or os.environ.get("ZHIAN_REQUIRE_SERVICES"))


class SqliteTemplate:
    """A SQLite file the real migrations built, once; copied into empty databases.

    Running the migrations costs about half a second a database, and most tests open one
    (every node does); copying the migrated file costs a millisecond.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def build(self) -> None:
        engine = make_engine(f"sqlite:///{self.path}")
        try:
            REAL_UPGRADE(engine)
        finally:
            engine.dispose()

    def copy_into(self, engine: Engine) -> None:
        if not self.path.exists():
            self.build()
        source = sqlite3.connect(self.path)
        try:
            with engine.connect() as connection:
                target = connection.connection.driver_connection
                assert isinstance(target, sqlite3.Connection)
                source.backup(target)
        finally:
            source.close()


REAL_UPGRADE = migrate.upgrade


@pytest.fixture(scope="session", autouse=True)
def migrate_by_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteTemplate]:
    """`zhian.db.migrate.upgrade` of an empty SQLite database to the heads copies the
    session's template; any other upgrade runs the migrations.

    This covers nodes, commands and fixtures alike, since they all migrate through that
    module attribute. The migrations themselves still run from an empty database: to build
    the template, and in the tests that import `upgrade` by name (tests/db/test_backends.py
    checks their result against the models, on both backends).
    """
    template = SqliteTemplate(tmp_path_factory.mktemp("schema") / "template.db")

    def upgrade(engine: Engine, revision: str = "heads") -> None:
        if (
            revision == "heads"
            and engine.dialect.name == "sqlite"
            and not inspect(engine).get_table_names()
        ):
            template.copy_into(engine)
        else:
            REAL_UPGRADE(engine, revision)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrate, "upgrade", upgrade)
        yield template


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Pages and commands hash at argon2's production cost (a quarter second a sign-in on
    this machine, and a rehash at the first sign-in of a user the tests made cheaply). The
    tests check who may sign in, not the hash's cost: they all use the cheap parameters.
    (tests/access/test_service.py checks the rehash with hashers of its own.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(access_service, "_DEFAULT_HASHER", CHEAP_HASHER)
        yield


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=CST))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if services_required():
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


def _database_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database the real migrations built, once; tests get copies of it."""
    name = f"zhian_template_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        engine = make_engine(_database_url(name))
        try:
            REAL_UPGRADE(engine)
        finally:
            engine.dispose()  # a template must have no connection while it is copied
        yield name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database of one test, dropped afterwards: a copy of the migrated
    template, or empty for a test marked `empty_database`."""
    name = f"zhian_test_{uuid.uuid4().hex[:12]}"
    template = None
    if request.node.get_closest_marker(EMPTY_DATABASE) is None:
        template = request.getfixturevalue("postgres_template")
    with _admin() as admin:
        if template is None:
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database_url(name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a database test on both backends (PostgreSQL already migrated, see above)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhian.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
