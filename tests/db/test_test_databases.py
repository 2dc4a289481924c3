"""The test databases themselves: a reused PostgreSQL database starts as empty as a new one."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from tests.conftest import PostgresPool, _database_url
from zhian.db.engine import Database, make_engine
from zhian.registry.models import Jurisdiction


def test_a_database_given_back_to_the_pool_comes_back_empty_with_ids_restarted(
    postgres_pool: PostgresPool,
) -> None:
    name = postgres_pool.take()
    engine = make_engine(_database_url(name))
    with Database(engine).session() as session:
        session.execute(insert(Jurisdiction).values(id="J1", level="city", name="市"))
        session.execute(text("SELECT nextval('quarantine_items_id_seq')"))
    engine.dispose()
    postgres_pool.give_back(name)

    assert postgres_pool.take() == name  # the same database, reused
    engine = make_engine(_database_url(name))
    try:
        with Database(engine).session() as session:
            assert session.scalar(select(func.count()).select_from(Jurisdiction)) == 0
            assert session.scalar(text("SELECT nextval('quarantine_items_id_seq')")) == 1
            version = session.scalar(text("SELECT count(*) FROM alembic_version"))
            assert version is not None and version > 0  # the schema and its version stay
    finally:
        engine.dispose()
        postgres_pool.give_back(name)
