"""a registered vehicle's plate kind, so data quality can count plates of kind other (#20)

Revision ID: 0025platekind
Revises: 0001
Create Date: 2026-12-06 13:10:00

Rows imported before keep no kind (NULL) until they are imported again: the plate is held
only as token and sealed copy, which a migration cannot open (the key ring lives outside
the database).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025platekind"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vehicles") as batch:
        batch.add_column(sa.Column("plate_kind", sa.String(length=16), nullable=True))
        batch.create_index(batch.f("ix_vehicles_plate_kind"), ["plate_kind"])


def downgrade() -> None:
    with op.batch_alter_table("vehicles") as batch:
        batch.drop_index(batch.f("ix_vehicles_plate_kind"))
        batch.drop_column("plate_kind")
