"""live messages sealed: the live-feed messages kept in the database encrypted at rest (#12)

With `live.type = "postgres"` every live-feed message is kept for `live.keep_seconds` so
listeners of other processes can catch up; it holds an alert's title and what an officer
typed (a skipped step's reason). `live_messages.body` becomes `body_enc`, sealed with the
workspace's key ring for `live_messages.body_enc:<id>`; existing rows are converted here
with the key ring the caller hands over (`zhian.db.migrate.upgrade(identity=...)`), then
the clear column is dropped. Rows and no key ring: refused before anything changes.

Revision ID: 0018livesealed
Revises: 0017webhooksealed
Create Date: 2026-12-06 09:20:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0018livesealed"
down_revision: str | None = "0017webhooksealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0009livefeed",)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not bind.execute(sa.text("SELECT 1 FROM live_messages LIMIT 1")).first():
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "live_messages holds live-feed messages in clear that this upgrade seals, and no "
            "key ring was given: run the upgrade through `zhian` in the node's workspace (it "
            "opens the key ring), or restore the key ring first"
        )
    return identity.cipher


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("live_messages") as batch:
        batch.add_column(sa.Column("body_enc", sa.LargeBinary(), nullable=True))
    cipher = _cipher(bind)
    if cipher is not None:
        rows = bind.execute(sa.text("SELECT id, body FROM live_messages")).all()
        for record_id, body in rows:
            bind.execute(
                sa.text("UPDATE live_messages SET body_enc = :sealed WHERE id = :id"),
                {
                    "sealed": cipher.seal_bytes(
                        str(body).encode("utf-8"), f"live_messages.body_enc:{record_id}"
                    ),
                    "id": record_id,
                },
            )
    with op.batch_alter_table("live_messages") as batch:
        batch.drop_column("body")
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    # The clear bodies are not restored: that would write personal data back in clear.
    raise NotImplementedError("live-feed messages sealed at rest are not unsealed")
