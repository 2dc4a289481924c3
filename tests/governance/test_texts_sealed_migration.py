"""The upgrade that seals what residents write in tips and what analysts note on case links:
an older database's clear text is sealed for its row, the clear columns go, and without a
key ring the upgrade refuses before changing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import REAL_UPGRADE
from tests.governance.test_personal_data_at_rest import clear_values_in_database, heads_before
from tests.registry.factories import SEALER
from zhian.db.engine import make_engine
from zhian.db.migrate import alembic_config

REVISION = "0041textsealed"
DESCRIPTION = "楼下王五家的狗每晚叫，电话13912340000"
NOTE = "同一嫌疑人李四，见笔录"


@pytest.fixture
def old_database(tmp_path: Path) -> sa.Engine:
    """A database before the revision: a tip and two link decisions, their text in clear."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    for head in heads_before(frozenset({REVISION})):
        command.upgrade(config, head)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO tips (id, code, category, description, latitude, longitude, "
                "photos, address_token, status, submitted_at) VALUES (4, 'ABCDEFGHJK', "
                "'noise', :text, 30.0, 120.0, '[]', 'tok', 'pending', '2026-01-01 00:00:00')"
            ),
            {"text": DESCRIPTION},
        )
        connection.execute(
            sa.text(
                "INSERT INTO case_links (id, case_a, case_b, is_accepted, note, decided_by, "
                "decided_at) VALUES (1, 'A-1', 'A-2', 1, :note, 9, '2026-01-01 00:00:00'), "
                "(2, 'A-1', 'A-3', 0, '', 9, '2026-01-01 00:00:00')"
            ),
            {"note": NOTE},
        )
    return engine


def test_the_upgrade_seals_tip_descriptions_and_link_notes(
    old_database: sa.Engine, tmp_path: Path
) -> None:
    REAL_UPGRADE(old_database, identity=SEALER)
    with old_database.connect() as connection:
        sealed = connection.execute(sa.text("SELECT description_enc FROM tips")).scalar_one()
        notes = connection.execute(
            sa.text("SELECT case_b, note_enc FROM case_links ORDER BY id")
        ).all()
    assert SEALER.open("tips", "description_enc", "ABCDEFGHJK", sealed) == DESCRIPTION
    assert notes[0][0] == "A-2"
    assert SEALER.open("case_links", "note_enc", "A-1/A-2", notes[0][1]) == NOTE
    assert notes[1] == ("A-3", None)  # nothing written: nothing to seal
    inspector = sa.inspect(old_database)
    assert "description" not in {c["name"] for c in inspector.get_columns("tips")}
    assert "note" not in {c["name"] for c in inspector.get_columns("case_links")}
    old_database.dispose()
    found = clear_values_in_database(tmp_path / "old.db", {"王五", "13912340000", "李四"})
    # The file may keep freed pages of the rebuilt tables; every live cell is clear-free.
    assert [place for place in found if not place.startswith("file:")] == []


def test_the_upgrade_refuses_clear_text_without_a_key_ring(old_database: sa.Engine) -> None:
    with pytest.raises(RuntimeError, match="no key ring"):
        REAL_UPGRADE(old_database)
    inspector = sa.inspect(old_database)
    # Nothing half-done: the clear columns are still there to convert with the ring.
    assert "description" in {c["name"] for c in inspector.get_columns("tips")}
    assert "note" in {c["name"] for c in inspector.get_columns("case_links")}
