"""The operational database's settings (`[database]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class DatabaseSettings(BaseModel):
    """The operational database (master data, quarantine, users)."""

    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL. Empty means SQLite in the workspace (the embedded default); "
            "e.g. postgresql+psycopg://user@127.0.0.1:5432/zhian for the scaled tier."
        ),
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
