"""viid subscriptions sealed: the request bodies of GA/T 1400 subscriptions encrypted at rest (#12)

A subscription a peer places keeps its request body, which names the applicant
(`ApplicantName`, `ApplicantOrg`, a free-text `Reason`). `viid_subscriptions.body` becomes
`body_enc`, sealed with the workspace's key ring for `viid_subscriptions.body_enc:<id>`;
existing rows are converted here with the key ring the caller hands over
(`zhian.db.migrate.upgrade(identity=...)`), then the clear column is dropped. Rows and no
key ring: refused before anything changes.

Revision ID: 0016viidsubsealed
Revises: 0015watchlistpersons
Create Date: 2026-12-06 09:00:00
"""

import json
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0016viidsubsealed"
down_revision: str | None = "0015watchlistpersons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002viid",)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not bind.execute(sa.text("SELECT 1 FROM viid_subscriptions LIMIT 1")).first():
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "viid_subscriptions holds GA/T 1400 subscriptions in clear that this upgrade "
            "seals, and no key ring was given: run the upgrade through `zhian` in the node's "
            "workspace (it opens the key ring), or restore the key ring first"
        )
    return identity.cipher


def _as_bytes(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):  # SQLite hands JSON back as text
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("viid_subscriptions") as batch:
        batch.add_column(sa.Column("body_enc", sa.LargeBinary(), nullable=True))
    cipher = _cipher(bind)
    if cipher is not None:
        rows = bind.execute(sa.text("SELECT id, body FROM viid_subscriptions")).all()
        for subscription_id, body in rows:
            bind.execute(
                sa.text("UPDATE viid_subscriptions SET body_enc = :sealed WHERE id = :id"),
                {
                    "sealed": cipher.seal_bytes(
                        _as_bytes(body), f"viid_subscriptions.body_enc:{subscription_id}"
                    ),
                    "id": subscription_id,
                },
            )
    with op.batch_alter_table("viid_subscriptions") as batch:
        batch.drop_column("body")
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    # The clear bodies are not restored: that would write personal data back in clear.
    raise NotImplementedError("GA/T 1400 subscriptions sealed at rest are not unsealed")
