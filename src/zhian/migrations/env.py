"""Alembic environment: runs against the engine handed over by zhian.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from zhian.db.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copy, drop and rename; a table another refers
            # to (residents, #12) cannot be dropped with foreign keys enforced. They are
            # off while migrating (this pragma works only outside a transaction, so first)
            # and checked once at the end.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if dangling:
                raise RuntimeError(f"the migrations left dangling references: {dangling[:5]}")


run_migrations_online()
