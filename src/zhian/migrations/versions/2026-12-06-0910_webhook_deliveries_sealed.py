"""webhook deliveries sealed: messages queued for webhooks encrypted at rest (#12)

A message waiting for (or kept after) its webhook delivery held the live-feed message in
clear: an alert's title and what an officer typed (a skipped step's reason, which may
name a person or a phone number). `webhook_deliveries.body` becomes `body_enc`, sealed
with the workspace's key ring for `webhook_deliveries.body_enc:<subscription id>`;
existing rows are converted here with the key ring the caller hands over
(`zhian.db.migrate.upgrade(identity=...)`), then the clear column is dropped. Rows and no
key ring: refused before anything changes.

Revision ID: 0017webhooksealed
Revises: 0016viidsubsealed
Create Date: 2026-12-06 09:10:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0017webhooksealed"
down_revision: str | None = "0016viidsubsealed"
branch_labels: str | Sequence[str] | None = None
# After the masking of watchlist hits, which rewrites the clear bodies first.
depends_on: str | Sequence[str] | None = ("0002alerts", "0008maskhits")


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not bind.execute(sa.text("SELECT 1 FROM webhook_deliveries LIMIT 1")).first():
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "webhook_deliveries holds webhook messages in clear that this upgrade seals, and "
            "no key ring was given: run the upgrade through `zhian` in the node's workspace "
            "(it opens the key ring), or restore the key ring first"
        )
    return identity.cipher


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("body_enc", sa.LargeBinary(), nullable=True))
    cipher = _cipher(bind)
    if cipher is not None:
        rows = bind.execute(sa.text("SELECT id, subscription_id, body FROM webhook_deliveries"))
        for delivery_id, subscription_id, body in rows.all():
            bind.execute(
                sa.text("UPDATE webhook_deliveries SET body_enc = :sealed WHERE id = :id"),
                {
                    "sealed": cipher.seal_bytes(
                        str(body).encode("utf-8"),
                        f"webhook_deliveries.body_enc:{subscription_id}",
                    ),
                    "id": delivery_id,
                },
            )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("body")
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    # The clear bodies are not restored: that would write personal data back in clear.
    raise NotImplementedError("webhook messages sealed at rest are not unsealed by a downgrade")
