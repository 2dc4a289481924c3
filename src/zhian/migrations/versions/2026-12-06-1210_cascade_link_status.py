"""cascade link status: each child's cache depth and back-fill progress at the parent (#17)

Revision ID: 0022linkstatus
Revises: 0001
Create Date: 2026-12-06 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0022linkstatus"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0016cascade",)

_COLUMNS = (
    ("status_at", zhian.db.base.UtcDateTime(timezone=True)),
    ("cache_records", sa.BigInteger()),
    ("cache_bytes", sa.BigInteger()),
    ("is_cache_alarm", sa.Boolean()),
    ("backfill_percent", sa.Float()),
    ("backfill_records_left", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("cascade_children") as table:
        for name, kind in _COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cascade_children") as table:
        for name, _kind in reversed(_COLUMNS):
            table.drop_column(name)
