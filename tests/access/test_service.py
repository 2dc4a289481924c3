"""Users, passwords and demo accounts of the access service, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from zhian.access.models import User
from zhian.access.roles import ROLE_NAMES_EN, ROLE_NAMES_ZH, UNSCOPED_ROLES, Role, role_name
from zhian.access.service import DEMO_ACCOUNTS, AccessService, UserRead
from zhian.db.base import Base
from zhian.db.engine import Database, make_engine
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.registry.models import Jurisdiction

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
# Cheap parameters keep the suite fast; production uses argon2-cffi's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{tmp_path / 'zhian.db'}")
    Base.metadata.create_all(engine)
    database = Database(engine)
    with database.session() as session:
        session.add_all(
            [
                Jurisdiction(id="city", parent_id=None, level="city", name="演示市"),
                Jurisdiction(id="station-1", parent_id="city", level="station", name="东城派出所"),
                Jurisdiction(
                    id="community-1", parent_id="station-1", level="community", name="和平社区"
                ),
            ]
        )
    yield database
    database.dispose()


def create(db: Database, username: str = "Officer.Li", password: str = PASSWORD) -> UserRead:
    with db.session() as session:
        return AccessService(session, password_hasher=FAST_HASHER).create_user(
            username,
            password,
            role=Role.STATION_OFFICER,
            jurisdiction_id="station-1",
            display_name="李警官",
            now=NOW,
        )


def authenticate(db: Database, username: str, password: str) -> UserRead | None:
    with db.session() as session:
        return AccessService(session, password_hasher=FAST_HASHER).authenticate(username, password)


def test_create_user_then_authenticate(db: Database) -> None:
    user = create(db)
    assert user.username == "officer.li"  # usernames compare case-insensitively
    assert user.role is Role.STATION_OFFICER
    assert user.jurisdiction_id == "station-1"
    assert user.display_name == "李警官"
    assert user.is_active and user.created_at == NOW
    assert "password_hash" not in UserRead.model_fields
    with db.session() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    assert authenticate(db, " OFFICER.li ", PASSWORD) == user
    with db.session() as session:
        assert AccessService(session).get_user(user.id) == user
        assert AccessService(session).get_user(user.id + 1) is None


def test_wrong_password_and_unknown_user_are_refused(db: Database) -> None:
    create(db)
    assert authenticate(db, "officer.li", "wrong password") is None
    assert authenticate(db, "officer.li", "") is None
    assert authenticate(db, "nobody", PASSWORD) is None
    assert authenticate(db, "officer.li", "x" * 5000) is None


def test_inactive_user_cannot_sign_in(db: Database) -> None:
    user = create(db)
    with db.session() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.is_active = False
    assert authenticate(db, "officer.li", PASSWORD) is None


def test_short_password_is_refused(db: Database) -> None:
    with pytest.raises(BadRequestError, match="at least 8 characters") as caught:
        create(db, password="1234567")
    assert caught.value.field == "password"


def test_duplicate_username_conflicts(db: Database) -> None:
    create(db)
    with pytest.raises(ConflictError, match="already taken") as caught:
        create(db, username="OFFICER.LI")
    assert caught.value.status_code == 409


@pytest.mark.parametrize(
    ("role", "jurisdiction_id", "error", "message"),
    [
        ("sheriff", "station-1", BadRequestError, "unknown role 'sheriff'"),
        (Role.GRID_WORKER, None, BadRequestError, "needs a jurisdiction"),
        (Role.GRID_WORKER, "atlantis", NotFoundError, "unknown jurisdiction 'atlantis'"),
    ],
)
def test_role_and_jurisdiction_are_checked(
    db: Database,
    role: str,
    jurisdiction_id: str | None,
    error: type[Exception],
    message: str,
) -> None:
    with db.session() as session, pytest.raises(error, match=message):
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "someone", PASSWORD, role=role, jurisdiction_id=jurisdiction_id, now=NOW
        )


def test_admin_needs_no_jurisdiction_and_bad_usernames_are_refused(db: Database) -> None:
    with db.session() as session:
        service = AccessService(session, password_hasher=FAST_HASHER)
        admin = service.create_user("root", PASSWORD, role="admin", jurisdiction_id=None, now=NOW)
        assert admin.jurisdiction_id is None and admin.display_name == "root"
        for bad in ["", "has space", "x" * 65, "-dash", "名字"]:
            with pytest.raises(BadRequestError, match="username"):
                service.create_user(bad, PASSWORD, role="admin", jurisdiction_id=None, now=NOW)
        with pytest.raises(ValueError, match="timezone-aware"):
            service.create_user(
                "naive", PASSWORD, role="admin", jurisdiction_id=None, now=NOW.replace(tzinfo=None)
            )


def test_weaker_hash_is_upgraded_on_sign_in(db: Database) -> None:
    create(db)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    with db.session() as session:
        assert AccessService(session, password_hasher=stronger).authenticate("officer.li", PASSWORD)
    with db.session() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert "m=2048,t=2" in stored
    assert authenticate(db, "officer.li", PASSWORD) is not None


def demo_places() -> dict[str, str]:
    places = {role.value: "community-1" for _username, role in DEMO_ACCOUNTS}
    places[Role.COMMAND_CENTRE] = "city"
    del places[Role.ADMIN]
    return places


def test_demo_accounts_have_distinct_passwords_that_work(db: Database) -> None:
    with db.session() as session:
        accounts = AccessService(session, password_hasher=FAST_HASHER).ensure_demo_accounts(
            demo_places(), NOW
        )
    assert [username for username, _password, _role in accounts] == [
        "command",
        "station",
        "community",
        "grid",
        "property",
        "analyst",
        "auditor",
        "admin",
        "integrator",
    ]
    assert len({password for _username, password, _role in accounts}) == len(accounts)
    for username, password, role in accounts:
        assert len(password) >= 8
        user = authenticate(db, username, password)
        assert user is not None and user.role == role
    command = authenticate(db, "command", accounts[0][1])
    admin = authenticate(db, "admin", accounts[-2][1])
    assert command is not None and command.jurisdiction_id == "city"
    assert command.display_name == "演示·指挥中心"
    assert admin is not None and admin.jurisdiction_id is None


def test_demo_accounts_again_get_new_passwords(db: Database) -> None:
    with db.session() as session:
        first = AccessService(session, password_hasher=FAST_HASHER).ensure_demo_accounts(
            demo_places(), NOW
        )
    with db.session() as session:
        session.scalars(select(User).where(User.username == "grid")).one().is_active = False
    with db.session() as session:
        second = AccessService(session, password_hasher=FAST_HASHER).ensure_demo_accounts(
            demo_places(), NOW
        )
    assert authenticate(db, "grid", first[3][1]) is None
    assert authenticate(db, "grid", second[3][1]) is not None  # active again
    with db.session() as session:
        assert len(session.scalars(select(User.id)).all()) == len(DEMO_ACCOUNTS)


def test_demo_accounts_need_a_place_for_each_scoped_role(db: Database) -> None:
    places = demo_places()
    del places[Role.ANALYST]
    with db.session() as session, pytest.raises(BadRequestError, match="'analyst' needs"):
        AccessService(session, password_hasher=FAST_HASHER).ensure_demo_accounts(places, NOW)


def test_every_role_has_display_names() -> None:
    assert set(ROLE_NAMES_ZH) == set(ROLE_NAMES_EN) == set(Role)
    assert role_name(Role.GRID_WORKER) == "网格员"
    assert role_name(Role.GRID_WORKER, "en") == "Grid worker"
    assert list(UNSCOPED_ROLES) == [Role.ADMIN]
