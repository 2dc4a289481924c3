"""GA/T 1400: Digest credentials, kept VIID objects, subscriptions, upward outbox

Revision ID: 0002viid
Revises: 0001
Create Date: 2026-11-22 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0002viid"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "viid_credentials",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("realm", sa.String(length=128), nullable=False),
        sa.Column("ha1", sa.String(length=32), nullable=False),
        sa.Column("issued_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_viid_credentials_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_viid_credentials")),
        sa.UniqueConstraint("username", name=op.f("uq_viid_credentials_username")),
    )
    op.create_table(
        "viid_objects",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("shot_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_viid_objects")),
        sa.UniqueConstraint("kind", "object_id", name=op.f("uq_viid_objects_kind")),
    )
    with op.batch_alter_table("viid_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_viid_objects_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_viid_objects_shot_at"), ["shot_at"], unique=False)
    op.create_table(
        "viid_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.String(length=64), nullable=False),
        sa.Column("device_ids", sa.Text(), nullable=False),
        sa.Column("receive_addr", sa.String(length=500), nullable=False),
        sa.Column("report_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("image_declare", sa.String(length=64), nullable=False),
        sa.Column("begin_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("cursor_seq", sa.Integer(), nullable=False),
        sa.Column("next_push_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("pushed_objects", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_viid_subscriptions")),
    )
    op.create_table(
        "viid_upper_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("receive_addr", sa.String(length=500), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_viid_upper_outbox")),
    )


def downgrade() -> None:
    op.drop_table("viid_upper_outbox")
    op.drop_table("viid_subscriptions")
    with op.batch_alter_table("viid_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_viid_objects_shot_at"))
        batch_op.drop_index(batch_op.f("ix_viid_objects_device_id"))
    op.drop_table("viid_objects")
    op.drop_table("viid_credentials")
