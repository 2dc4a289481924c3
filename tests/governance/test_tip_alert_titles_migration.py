"""The upgrade that takes the resident's words out of the titles of alerts raised from tips:
an older database's tip alert is renamed by its category and place; other alerts keep
their titles."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import REAL_UPGRADE
from tests.governance.test_personal_data_at_rest import heads_before
from tests.registry.factories import SEALER
from zhian.db.engine import make_engine
from zhian.db.migrate import alembic_config

REVISION = "0050tiptitles"
WORDS = "群众随手拍：3号楼王五家门口堆满纸箱，电话13900001111"

_ALERT = (
    "INSERT INTO alerts (id, rule, kind, tier, state, key, subject, place_id, community_id, "
    "owner_role, title_zh, title_en, evidence, count, is_breached, created_at, first_seen_at, "
    "last_seen_at, attachments) VALUES (:id, :rule, :kind, 'minor', 'new', :key, :subject, "
    ":place, 'C1', 'grid_worker', :title, :title, '{}', 1, FALSE, '2026-01-01 00:00:00', "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '[]')"
)
_EVIDENCE = sa.table("alerts", sa.column("id", sa.Integer()), sa.column("evidence", sa.JSON()))


@pytest.mark.empty_database
def test_tip_alerts_are_renamed_by_category_and_place(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    for head in heads_before(frozenset({REVISION})):
        command.upgrade(config, head)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO jurisdictions (id, parent_id, level, name) "
            "VALUES ('J1', NULL, 'station', '城东派出所')",
            "INSERT INTO communities (id, jurisdiction_id, name, kind, latitude, longitude) "
            "VALUES ('C1', 'J1', '花园小区', 'residential', 30.27, 120.15)",
            "INSERT INTO buildings (id, community_id, name, floors, latitude, longitude) "
            "VALUES ('C1-B1', 'C1', '1号楼', 6, 30.27, 120.15)",
        ):
            connection.execute(sa.text(statement))
        for row in (
            (1, "tip", "tip_smoke", "tip|smoke|C1-B1", "smoke", "C1-B1", WORDS),
            (2, "tip", "tip_parking", "tip|parking|tip:X", "parking", "tip:ABCDEFGHJK", WORDS),
            (3, "alarm", "alarm_smoke", "alarm|D1|C1-B1", "D1", "C1-B1", "烟感告警"),
        ):
            keys = ("id", "rule", "kind", "key", "subject", "place", "title")
            connection.execute(sa.text(_ALERT), dict(zip(keys, row, strict=True)))
            evidence = {"images": [], "explanation_zh": row[-1], "explanation_en": row[-1]}
            connection.execute(
                _EVIDENCE.update().where(_EVIDENCE.c.id == row[0]).values(evidence=evidence)
            )

    REAL_UPGRADE(engine, identity=SEALER)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, title_zh, title_en, place_name FROM alerts ORDER BY id")
        ).all()
        evidence = [
            value if isinstance(value, dict) else json.loads(value)
            for value in connection.execute(sa.text("SELECT evidence FROM alerts ORDER BY id"))
            .scalars()
            .all()
        ]
    engine.dispose()
    assert rows == [
        (
            1,
            "群众随手拍：冒烟 / 异味（花园小区 1号楼）",
            "Resident tip: Smoke or smell of burning at 花园小区 1号楼",
            "花园小区 1号楼",
        ),
        (
            2,
            "群众随手拍：违规停车（花园小区）",
            "Resident tip: Illegal parking at 花园小区",
            "花园小区",
        ),
        (3, "烟感告警", "烟感告警", None),
    ]
    # The alert page's "why" reads the evidence's explanation: renamed too, the rest kept.
    assert [item["explanation_zh"] for item in evidence] == [row[1] for row in rows]
    assert [item["explanation_en"] for item in evidence] == [row[2] for row in rows]
    assert all(item["images"] == [] for item in evidence)
    assert "王五" not in json.dumps(evidence, ensure_ascii=False)
