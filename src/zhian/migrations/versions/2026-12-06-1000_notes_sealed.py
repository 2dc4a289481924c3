"""notes sealed: what officers type about an alert encrypted at rest (#12)

A note on an alert's step, a skipped step's reason and the handling feedback may name a
person or a phone number. `alert_actions.note`, `alert_procedure_steps.reason` and
`alerts.feedback` become `note_enc`, `reason_enc` and `feedback_enc`, sealed with the
workspace's key ring for `<table>.<column>_enc:<alert id>` (`zhian.alerts.notes`); empty
text becomes NULL. Existing rows are converted here with the key ring the caller hands over
(`zhian.db.migrate.upgrade(identity=...)`), then the clear columns are dropped. Text and no
key ring: refused before anything changes.

Revision ID: 0019notessealed
Revises: 0001
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0019notessealed"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002alerts",)

# (table, clear column, the column naming the alert) of each free text.
_TEXTS = (
    ("alert_actions", "note", "alert_id"),
    ("alert_procedure_steps", "reason", "alert_id"),
    ("alerts", "feedback", "id"),
)


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _holds_text(bind: sa.Connection) -> bool:
    return any(
        bind.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE {clear} IS NOT NULL AND {clear} <> '' LIMIT 1")
        ).first()
        for table, clear, _alert in _TEXTS
    )


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not _holds_text(bind):
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "alerts hold officers' notes in clear that this upgrade seals, and no key ring "
            "was given: run the upgrade through `zhian` in the node's workspace (it opens "
            "the key ring), or restore the key ring first"
        )
    return identity.cipher


def _seal_column(bind: sa.Connection, cipher: _Cipher, table: str, clear: str, alert: str) -> None:
    rows = bind.execute(
        sa.text(f"SELECT id, {alert}, {clear} FROM {table} WHERE {clear} <> ''")
    ).all()
    for row_id, alert_id, text in rows:
        sealed = cipher.seal_bytes(str(text).encode("utf-8"), f"{table}.{clear}_enc:{alert_id}")
        bind.execute(
            sa.text(f"UPDATE {table} SET {clear}_enc = :sealed WHERE id = :id"),
            {"sealed": sealed, "id": row_id},
        )


def upgrade() -> None:
    bind = op.get_bind()
    cipher = _cipher(bind)
    for table, clear, alert in _TEXTS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(f"{clear}_enc", sa.LargeBinary(), nullable=True))
        if cipher is not None:
            _seal_column(bind, cipher, table, clear, alert)
        with op.batch_alter_table(table) as batch:
            batch.drop_column(clear)


def downgrade() -> None:
    # The clear text is not restored: that would write personal data back in clear.
    raise NotImplementedError("officers' notes sealed at rest are not unsealed by a downgrade")
