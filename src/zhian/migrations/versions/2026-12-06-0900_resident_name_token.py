"""resident name token: exact-match search by name through a keyed token (#15)

`residents.name_token` holds the keyed token (kind `name`) of the resident's name, so the
search box finds a person by the exact name without the name being readable or
searchable in clear. Existing rows get their token from the sealed name when the caller
hands over the key ring (`zhian.db.migrate.upgrade(identity=...)`); without one they stay
without a token until their next import, and name search does not find them.

Revision ID: 0016searchnames
Revises: 0001
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0016searchnames"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002governance",)


class _Protector(Protocol):
    def open(self, table: str, column: str, row_id: str, sealed: bytes) -> str: ...

    def token(self, kind: str, value: str) -> str: ...


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("name_token", sa.String(length=64), nullable=True))
        batch.create_index("ix_residents_name_token", ["name_token"])
    identity: _Protector | None = context.config.attributes.get("identity")
    if identity is None:
        return
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, name_enc FROM residents WHERE name_enc IS NOT NULL")
    ).all()
    for resident_id, sealed in rows:
        name = identity.open("residents", "name_enc", resident_id, sealed)
        bind.execute(
            sa.text("UPDATE residents SET name_token = :token WHERE id = :id"),
            {"token": identity.token("name", name), "id": resident_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_index("ix_residents_name_token")
        batch.drop_column("name_token")
