"""cascade searches: cross-node search requests and the children's answers (#17)

Revision ID: 0021xsearch
Revises: 0001
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0021xsearch"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0016cascade",)


def upgrade() -> None:
    op.create_table(
        "cascade_search_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_token", sa.String(length=64), nullable=False),
        sa.Column("subject_masked", sa.String(length=64), nullable=False),
        sa.Column("subject_enc", sa.LargeBinary(), nullable=False),
        sa.Column("since", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("until", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("target_node_id", sa.String(length=64), nullable=True),
        sa.Column("asked_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_search_requests")),
    )
    op.create_index(
        op.f("ix_cascade_search_requests_user_id"),
        "cascade_search_requests",
        ["user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cascade_search_requests_asked_at"),
        "cascade_search_requests",
        ["asked_at"],
        unique=False,
    )
    op.create_table(
        "cascade_search_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal", sa.String(length=500), nullable=True),
        sa.Column("passages", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("delivered_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["cascade_search_requests.id"],
            name=op.f("fk_cascade_search_answers_request_id_cascade_search_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_search_answers")),
        sa.UniqueConstraint(
            "request_id", "node_id", name=op.f("uq_cascade_search_answers_request_id")
        ),
    )
    op.create_index(
        op.f("ix_cascade_search_answers_request_id"),
        "cascade_search_answers",
        ["request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cascade_search_answers_node_id"),
        "cascade_search_answers",
        ["node_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cascade_search_answers_node_id"), table_name="cascade_search_answers")
    op.drop_index(op.f("ix_cascade_search_answers_request_id"), table_name="cascade_search_answers")
    op.drop_table("cascade_search_answers")
    op.drop_index(op.f("ix_cascade_search_requests_asked_at"), table_name="cascade_search_requests")
    op.drop_index(op.f("ix_cascade_search_requests_user_id"), table_name="cascade_search_requests")
    op.drop_table("cascade_search_requests")
