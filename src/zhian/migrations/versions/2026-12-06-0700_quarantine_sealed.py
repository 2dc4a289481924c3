"""quarantine sealed: raw quarantined input encrypted at rest (#12)

Raw quarantined input (what a device sent: plates, names, ID numbers, phones) was stored
as received. It becomes `raw_enc`, sealed with the workspace's key ring for its row
(`quarantine_items.raw_enc:<id>`); existing items are converted here with the key ring
the caller hands over (`zhian.db.migrate.upgrade(identity=...)`), then `raw` is dropped.
A database holding items and no key ring to seal them is refused before anything changes.

Revision ID: 0013quarantinesealed
Revises: 0012piiatrest
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0013quarantinesealed"
down_revision: str | None = "0012piiatrest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0011quarantinecut",)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("quarantine_items") as batch:
        batch.add_column(sa.Column("raw_enc", sa.LargeBinary(), nullable=True))
    held = bind.execute(sa.text("SELECT 1 FROM quarantine_items LIMIT 1")).first()
    if held is not None:
        identity: _Sealer | None = context.config.attributes.get("identity")
        if identity is None:
            raise RuntimeError(
                "quarantine_items.raw holds input in clear that this upgrade seals, and no "
                "key ring was given: run the upgrade through `zhian` in the node's workspace "
                "(it opens the key ring), or restore the key ring first"
            )
        last = 0
        while True:
            rows = bind.execute(
                sa.text(
                    "SELECT id, raw FROM quarantine_items WHERE id > :last ORDER BY id LIMIT 50"
                ),
                {"last": last},
            ).all()
            if not rows:
                break
            for item_id, raw in rows:
                bind.execute(
                    sa.text("UPDATE quarantine_items SET raw_enc = :sealed WHERE id = :id"),
                    {
                        "sealed": identity.cipher.seal_bytes(
                            bytes(raw), f"quarantine_items.raw_enc:{item_id}"
                        ),
                        "id": item_id,
                    },
                )
            last = rows[-1][0]
    with op.batch_alter_table("quarantine_items") as batch:
        batch.drop_column("raw")


def downgrade() -> None:
    # The clear input is not restored: that would write personal data back in clear.
    raise NotImplementedError("quarantined input sealed at rest is not unsealed by a downgrade")
