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

    def upgrade(engine: Engine, revision: str = "heads", *, identity: object = None) -> None:
        if (
            revision == "heads"
            and engine.dialect.name == "sqlite"
            and not inspect(engine).get_table_names()
        ):
            template.copy_into(engine)
        else:
            REAL_UPGRADE(engine, revision, identity=identity)

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


def _plain_url(name: str) -> str:
    """The libpq URL of database `name` on the test server."""
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test server."""
    return _plain_url(name).replace("postgresql://", "postgresql+psycopg://", 1)


class PostgresPool:
    """Databases copied from a template the real migrations built once, and reused.

    A test hands its database back; the pool empties every table (the schema and its
    Alembic version stay), restarts the sequences and gives it to the next test. Creating
    a database costs a third of a second and dropping one a checkpoint (seconds on a busy
    disk); emptying the tables costs milliseconds. A database whose schema a test changed
    is dropped instead. (Turning the foreign-key triggers off needs a superuser, which the
    test server's `postgres` is.)
    """

    def __init__(self, admin: psycopg.Connection[tuple[object, ...]]) -> None:
        self.admin = admin
        self.template = f"zhian_template_{uuid.uuid4().hex[:12]}"
        self.free: list[str] = []
        self.owned: list[str] = [self.template]
        admin.execute(f'CREATE DATABASE "{self.template}"')
        engine = make_engine(_database_url(self.template))
        try:
            REAL_UPGRADE(engine)
        finally:
            engine.dispose()  # a template must have no connection while it is copied
        self.schema = self._schema_of(self.template)
        with psycopg.connect(_plain_url(self.template)) as database:
            self.sequences = [
                str(row[0])
                for row in database.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                )
            ]

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"zhian_test_{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.owned.append(name)
        return name

    def give_back(self, name: str) -> None:
        # Connections a test left open (a thread's pool) would hold locks on the tables.
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        if self._schema_of(name) != self.schema:
            self.drop(name)
            return
        with psycopg.connect(_plain_url(name)) as database:
            # DELETE, not TRUNCATE: truncating makes and syncs new files for every table
            # (0.4 s); with the foreign-key triggers off the order does not matter.
            database.execute("SET session_replication_role = replica")
            for table, _columns in self.schema:
                if table != "alembic_version":
                    database.execute(f'DELETE FROM "{table}"')
            for sequence in self.sequences:
                database.execute("SELECT setval(%s, 1, false)", (f'"{sequence}"',))
        self.free.append(name)

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.owned.remove(name)

    def close(self) -> None:
        for name in reversed(self.owned):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _schema_of(name: str) -> tuple[tuple[str, str], ...]:
        """Each table with its columns and the Alembic version: what must not change."""
        with psycopg.connect(_plain_url(name)) as database:
            rows = database.execute(
                "SELECT table_name, string_agg(column_name || ' ' || data_type, ',' "
                "ORDER BY column_name) FROM information_schema.columns "
                "WHERE table_schema = 'public' GROUP BY table_name ORDER BY table_name"
            ).fetchall()
            version = database.execute("SELECT string_agg(version_num, ',') FROM alembic_version")
            rows.append(("alembic_version", str(version.fetchone())))
        return tuple((str(table), str(columns)) for table, columns in rows)


@pytest.fixture(scope="session")
def postgres_pool() -> Iterator[PostgresPool]:
    with _admin() as admin:
        pool = PostgresPool(admin)
        try:
            yield pool
        finally:
            pool.close()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database of one test: a migrated one with empty tables from the pool,
    or a new empty one, dropped afterwards, for a test marked `empty_database`."""
    if request.node.get_closest_marker(EMPTY_DATABASE) is None:
        pool: PostgresPool = request.getfixturevalue("postgres_pool")
        name = pool.take()
        try:
            yield _database_url(name)
        finally:
            pool.give_back(name)
        return
    name = f"zhian_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
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
