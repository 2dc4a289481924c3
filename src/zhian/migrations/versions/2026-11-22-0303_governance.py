"""governance: audit log, legal holds, sealed resident identity fields (issue #4)

Revision ID: 0002governance
Revises: 0001
Create Date: 2026-11-22 03:03:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0002governance"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=True),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_entries_hash")),
    )
    for column in ("at", "actor_id", "action", "record_type", "case_number"):
        op.create_index(op.f(f"ix_audit_entries_{column}"), "audit_entries", [column])

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("data_class", sa.String(length=32), nullable=False),
        sa.Column("ref_kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("until", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("released_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    for column in ("data_class", "ref", "case_number", "released_at"):
        op.create_index(op.f(f"ix_legal_holds_{column}"), "legal_holds", [column])

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("id_number_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("id_number_token", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_residents_id_number_token"), ["id_number_token"])


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_id_number_token"))
        batch_op.drop_column("id_number_token")
        batch_op.drop_column("phone_enc")
        batch_op.drop_column("id_number_enc")
        batch_op.drop_column("name_enc")
    for column in ("data_class", "ref", "case_number", "released_at"):
        op.drop_index(op.f(f"ix_legal_holds_{column}"), table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("audit_head")
    for column in ("at", "actor_id", "action", "record_type", "case_number"):
        op.drop_index(op.f(f"ix_audit_entries_{column}"), table_name="audit_entries")
    op.drop_table("audit_entries")
