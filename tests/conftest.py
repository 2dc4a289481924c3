"""Fixtures every test package shares: settings in a temporary workspace, clocks, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock

CST = timezone(timedelta(hours=8))
POSTGRES_ADMIN_URL = os.environ.get(
    "ZHIAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def services_required() -> bool:
    """In CI a missing service fails the run instead of skipping silently."""
    return bool(os.environ.get("CI") or os.environ.get("ZHIAN_REQUIRE_SERVICES"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=CST))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"zhian_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if services_required():
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a database test on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhian.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
