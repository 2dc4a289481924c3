"""cross-node search relayed down the hierarchy: a request passed on for the parent's, and
each answer's node path below this node (#17)

Revision ID: 0034xrelay
Revises: 0001
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0034xrelay"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0021xsearch",)


def upgrade() -> None:
    with op.batch_alter_table("cascade_search_requests") as batch:
        batch.add_column(sa.Column("parent_request_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("relay_path", sa.String(length=400), nullable=True))
        batch.create_index(
            batch.f("ix_cascade_search_requests_parent_request_id"),
            ["parent_request_id"],
            unique=True,
        )
    with op.batch_alter_table("cascade_search_answers") as batch:
        batch.add_column(sa.Column("path", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("relayed", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("sent_up_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("cascade_search_answers") as batch:
        batch.drop_column("sent_up_at")
        batch.drop_column("relayed")
        batch.drop_column("path")
    with op.batch_alter_table("cascade_search_requests") as batch:
        batch.drop_index(batch.f("ix_cascade_search_requests_parent_request_id"))
        batch.drop_column("relay_path")
        batch.drop_column("parent_request_id")
