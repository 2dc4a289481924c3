"""cascade link status: each child's cache depth, back-fill progress and whether it
forwards events, at the parent; children's hourly KPI summaries (#17)

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
    ("events_forwarded", sa.Boolean()),
)


def upgrade() -> None:
    with op.batch_alter_table("cascade_children") as table:
        for name, kind in _COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "cascade_kpi_summaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("hour", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("reporting_devices", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("received_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_kpi_summaries")),
        sa.UniqueConstraint(
            "node_id", "community_id", "hour", name=op.f("uq_cascade_kpi_summaries_node_id")
        ),
    )
    for column in ("node_id", "hour", "community_id"):
        op.create_index(
            op.f(f"ix_cascade_kpi_summaries_{column}"),
            "cascade_kpi_summaries",
            [column],
            unique=False,
        )


def downgrade() -> None:
    for column in ("node_id", "hour", "community_id"):
        op.drop_index(
            op.f(f"ix_cascade_kpi_summaries_{column}"), table_name="cascade_kpi_summaries"
        )
    op.drop_table("cascade_kpi_summaries")
    with op.batch_alter_table("cascade_children") as table:
        for name, _kind in reversed(_COLUMNS):
            table.drop_column(name)
