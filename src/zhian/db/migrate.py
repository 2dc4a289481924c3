"""Run the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine, identity: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    config.attributes["identity"] = identity
    return config


def upgrade(engine: Engine, revision: str = "heads", *, identity: object | None = None) -> None:
    """Bring the schema to `revision` (every branch head by default: domains add their own).

    `identity` (governance's `IdentitySealer`, from the workspace's key ring) lets a
    migration seal personal data an older version stored in clear (#12); a database that
    holds such data is refused without it.
    """
    command.upgrade(alembic_config(engine, identity), revision)


def check(engine: Engine) -> None:
    """Fail if the models and the migrations disagree (Alembic's `check`)."""
    command.check(alembic_config(engine))


def upgrade_url(url: str, *, identity: object | None = None) -> None:
    """Migrate the database at `url` and release the connection used for it."""
    from zhian.db.engine import make_engine

    engine = make_engine(url)
    try:
        upgrade(engine, identity=identity)
    finally:
        engine.dispose()
