"""viid sealed: GA/T 1400 object bodies and upward notifications encrypted at rest (#12)

Kept GA/T 1400 objects (`viid_objects.body`, JSON with `PlateNo`, `IDNumber`, `Name`,
phones …) and notifications waiting for the upper platform (`viid_upper_outbox.payload`)
were stored as received. Each becomes `body_enc` / `payload_enc`, sealed with the
workspace's key ring for `viid_objects.body_enc:<kind>/<object_id>` and
`viid_upper_outbox.payload_enc:<notification_id>`; existing rows are converted here with
the key ring the caller hands over (`zhian.db.migrate.upgrade(identity=...)`), then the
clear columns are dropped. Rows and no key ring: refused before anything changes.

Revision ID: 0014viidsealed
Revises: 0013quarantinesealed
Create Date: 2026-12-06 07:30:00
"""

import json
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0014viidsealed"
down_revision: str | None = "0013quarantinesealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002viid",)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _cipher(bind: sa.Connection) -> _Cipher | None:
    held = [
        table
        for table in ("viid_objects", "viid_upper_outbox")
        if bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()
    ]
    if not held:
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            f"{', '.join(held)} hold GA/T 1400 objects in clear that this upgrade seals, and "
            "no key ring was given: run the upgrade through `zhian` in the node's workspace "
            "(it opens the key ring), or restore the key ring first"
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
    with op.batch_alter_table("viid_objects") as batch:
        batch.add_column(sa.Column("body_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("viid_upper_outbox") as batch:
        batch.add_column(sa.Column("payload_enc", sa.LargeBinary(), nullable=True))
    cipher = _cipher(bind)
    if cipher is not None:
        objects = bind.execute(sa.text("SELECT seq, kind, object_id, body FROM viid_objects"))
        for seq, kind, object_id, body in objects.all():
            bind.execute(
                sa.text("UPDATE viid_objects SET body_enc = :sealed WHERE seq = :seq"),
                {
                    "sealed": cipher.seal_bytes(
                        _as_bytes(body), f"viid_objects.body_enc:{kind}/{object_id}"
                    ),
                    "seq": seq,
                },
            )
        waiting = bind.execute(
            sa.text("SELECT seq, notification_id, payload FROM viid_upper_outbox")
        )
        for seq, notification_id, payload in waiting.all():
            bind.execute(
                sa.text("UPDATE viid_upper_outbox SET payload_enc = :sealed WHERE seq = :seq"),
                {
                    "sealed": cipher.seal_bytes(
                        bytes(payload), f"viid_upper_outbox.payload_enc:{notification_id}"
                    ),
                    "seq": seq,
                },
            )
    with op.batch_alter_table("viid_objects") as batch:
        batch.drop_column("body")
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("viid_upper_outbox") as batch:
        batch.drop_column("payload")
        batch.alter_column("payload_enc", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    # The clear bodies are not restored: that would write personal data back in clear.
    raise NotImplementedError("GA/T 1400 objects sealed at rest are not unsealed by a downgrade")
