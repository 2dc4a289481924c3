"""The name-token upgrade (#15): residents imported before it get the keyed token of their
sealed name when the key ring is at hand, so the search box finds them by exact name."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from tests.conftest import REAL_UPGRADE
from tests.registry.factories import SEALER
from zhian.db.engine import make_engine
from zhian.db.migrate import alembic_config

REVISION = "0016searchnames"


def _older_database(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    for head in sorted(set(script.get_heads()) - {REVISION}):
        command.upgrade(config, head)
    sealed = SEALER.seal("residents", "name_enc", "R1", "张三丰")
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO jurisdictions (id, parent_id, level, name) "
            "VALUES ('J', NULL, 'station', 'J')",
            "INSERT INTO communities (id, jurisdiction_id, name, kind, latitude, longitude) "
            "VALUES ('C', 'J', 'C', 'gated', 30.0, 120.0)",
            "INSERT INTO buildings (id, community_id, name, floors, latitude, longitude) "
            "VALUES ('B', 'C', 'B', 6, 30.0, 120.0)",
            "INSERT INTO units (id, building_id, name) VALUES ('U', 'B', 'U')",
            "INSERT INTO houses (id, unit_id, number, area_m2, registered_use) "
            "VALUES ('H', 'U', '101', 80.0, 'rented')",
        ):
            connection.execute(sa.text(statement))
        connection.execute(
            sa.text(
                "INSERT INTO residents (id, house_id, birth_year, is_floating, name_enc) "
                "VALUES ('R1', 'H', 1980, 0, :name)"
            ),
            {"name": sealed},
        )
    return engine


def test_the_upgrade_tokenises_sealed_names(tmp_path: Path) -> None:
    engine = _older_database(tmp_path / "old.db")
    REAL_UPGRADE(engine, identity=SEALER)
    with engine.connect() as connection:
        token = connection.execute(sa.text("SELECT name_token FROM residents")).scalar_one()
    assert token == SEALER.token("name", "张三丰")
    engine.dispose()


def test_without_a_key_ring_names_stay_untokenised(tmp_path: Path) -> None:
    engine = _older_database(tmp_path / "old.db")
    REAL_UPGRADE(engine)
    with engine.connect() as connection:
        token = connection.execute(sa.text("SELECT name_token FROM residents")).scalar_one()
    assert token is None
    engine.dispose()
