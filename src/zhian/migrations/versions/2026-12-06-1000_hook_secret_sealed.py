"""hook secret sealed: webhook HMAC secrets encrypted at rest (#12)

Whoever read `webhook_subscriptions.secret` could sign messages the receiving system takes
for the node's. It becomes `secret_enc`, sealed with the workspace's key ring for
`webhook_subscriptions.secret_enc:<subscription id>` (`zhian.alerts.webhooks`); existing
rows are converted here with the key ring the caller hands over
(`zhian.db.migrate.upgrade(identity=...)`), then the clear column is dropped. Rows and no
key ring: refused before anything changes.

Revision ID: 0019hooksecretsealed
Revises: 0001
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0019hooksecretsealed"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002alerts",)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not bind.execute(sa.text("SELECT 1 FROM webhook_subscriptions LIMIT 1")).first():
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "webhook_subscriptions holds HMAC secrets in clear that this upgrade seals, and "
            "no key ring was given: run the upgrade through `zhian` in the node's workspace "
            "(it opens the key ring), or restore the key ring first"
        )
    return identity.cipher


def upgrade() -> None:
    bind = op.get_bind()
    cipher = _cipher(bind)
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("secret_enc", sa.LargeBinary(), nullable=True))
    if cipher is not None:
        rows = bind.execute(sa.text("SELECT id, secret FROM webhook_subscriptions")).all()
        for subscription_id, secret in rows:
            sealed = cipher.seal_bytes(
                str(secret).encode("utf-8"),
                f"webhook_subscriptions.secret_enc:{subscription_id}",
            )
            bind.execute(
                sa.text("UPDATE webhook_subscriptions SET secret_enc = :sealed WHERE id = :id"),
                {"sealed": sealed, "id": subscription_id},
            )
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("secret")
        batch.alter_column("secret_enc", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    # The clear secrets are not restored: that would write them back in clear.
    raise NotImplementedError("webhook secrets sealed at rest are not unsealed by a downgrade")
