"""allowed plates on a place restriction: tokens, sealed list, masked plates (#20)

Revision ID: 0025allowedplates
Revises: 0001
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025allowedplates"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0020restrict"


def upgrade() -> None:
    with op.batch_alter_table("place_restrictions") as batch:
        batch.add_column(sa.Column("allowed_plates_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("allowed_plates_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("allowed_plates_masked", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("place_restrictions") as batch:
        batch.drop_column("allowed_plates_masked")
        batch.drop_column("allowed_plates_enc")
        batch.drop_column("allowed_plates_token")
