"""personal data at rest: card references and plates as token + sealed copy + mask (#12)

Residents' card references, registered vehicles' plates and watchlist plates were stored
in clear. Each becomes its keyed token (equality lookups and joins), a sealed copy (an
audited reveal) and its masked form (display). Existing rows are converted here, with the
key ring the caller hands over (`zhian.db.migrate.upgrade(identity=...)`); the clear
columns are then dropped. A database holding such rows and no key ring to convert them is
refused with a clear error, before anything changes.

Revision ID: 0012piiatrest
Revises: 0001
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

from zhian.governance.masking import mask_plate, mask_ref

revision: str = "0012piiatrest"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# Tables created or rebuilt by these branches are rebuilt again here (SQLite batch mode).
depends_on: str | Sequence[str] | None = ("0002alerts", "0002governance", "0006faces")


class _Protector(Protocol):
    def seal(self, table: str, column: str, row_id: str, value: str) -> bytes: ...

    def token(self, kind: str, value: str) -> str: ...


# table, clear column, key column of the sealing context, token kind, mask
_CODES = (
    ("residents", "card_ref", "id", "subject", mask_ref),
    ("vehicles", "plate", "id", "plate", mask_plate),
    ("watchlist_entries", "plate", None, "plate", mask_plate),  # sealed for its token
)


def _protector(bind: sa.Connection) -> _Protector | None:
    held = [
        f"{table}.{column}"
        for table, column, *_ in _CODES
        if bind.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
        ).first()
    ]
    if not held:
        return None
    identity: _Protector | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            f"{', '.join(held)} hold personal data in clear that this upgrade seals, and no "
            "key ring was given: run the upgrade through `zhian` in the node's workspace "
            "(it opens the key ring), or restore the key ring first"
        )
    return identity


def upgrade() -> None:
    bind = op.get_bind()
    for table, column, _key, _kind, _mask in _CODES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(f"{column}_token", sa.String(length=64), nullable=True))
            batch.add_column(sa.Column(f"{column}_enc", sa.LargeBinary(), nullable=True))
            batch.add_column(
                sa.Column(
                    f"{column}_masked",
                    sa.String(length=64 if column == "card_ref" else 16),
                    nullable=True,
                )
            )
    identity = _protector(bind)
    if identity is not None:
        for table, column, key, kind, mask in _CODES:
            id_column = "id" if key is None else key
            rows = bind.execute(
                sa.text(f"SELECT {id_column}, {column} FROM {table} WHERE {column} IS NOT NULL")
            ).all()
            for row_id, value in rows:
                token = identity.token(kind, value)
                context_id = token if key is None else str(row_id)
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET {column}_token = :token, {column}_enc = :sealed, "
                        f"{column}_masked = :masked WHERE {id_column} = :row_id"
                    ),
                    {
                        "token": token,
                        "sealed": identity.seal(table, f"{column}_enc", context_id, value),
                        "masked": mask(value),
                        "row_id": row_id,
                    },
                )
    with op.batch_alter_table("residents") as batch:
        batch.drop_constraint("uq_residents_card_ref", type_="unique")
        batch.drop_column("card_ref")
        batch.create_unique_constraint("uq_residents_card_ref_token", ["card_ref_token"])
    with op.batch_alter_table("vehicles") as batch:
        batch.drop_constraint("uq_vehicles_plate", type_="unique")
        batch.drop_column("plate")
        batch.create_unique_constraint("uq_vehicles_plate_token", ["plate_token"])
    op.drop_index("ix_watchlist_entries_plate", table_name="watchlist_entries")
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.drop_column("plate")
        batch.create_index("ix_watchlist_entries_plate_token", ["plate_token"])


def downgrade() -> None:
    # The clear values are not restored: that would write personal data back in clear.
    raise NotImplementedError("personal data sealed at rest is not unsealed by a downgrade")
