"""registration drafts: when each was completed or dismissed (#18, registry tasks on time)

Revision ID: 0024draftdecided
Revises: 0001
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0024draftdecided"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0016registryloop"


def upgrade() -> None:
    with op.batch_alter_table("registration_drafts") as batch:
        batch.add_column(
            sa.Column("decided_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("registration_drafts") as batch:
        batch.drop_column("decided_at")
