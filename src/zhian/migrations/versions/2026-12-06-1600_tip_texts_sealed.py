"""tip descriptions and case-link notes sealed at rest (#15–#19 follow-ups)

What a resident writes in a tip and what an analyst notes on a case link may name people.
`tips.description` and `case_links.note` become `description_enc` and `note_enc`, sealed
with the workspace's key ring for `tips.description_enc:<code>` and
`case_links.note_enc:<case_a>/<case_b>` (`zhian.governance.identity.SEALED_COLUMNS`, so key
rotation re-seals them); an empty note becomes NULL. Existing rows are converted here with
the key ring the caller hands over (`zhian.db.migrate.upgrade(identity=...)`), then the
clear columns are dropped. Text and no key ring: refused before anything changes.

Revision ID: 0041textsealed
Revises: 0001
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

revision: str = "0041textsealed"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0016tips", "0012cases")


class _Cipher(Protocol):
    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...


class _Sealer(Protocol):
    @property
    def cipher(self) -> _Cipher: ...


def _holds_text(bind: sa.Connection) -> bool:
    tips = bind.execute(sa.text("SELECT 1 FROM tips LIMIT 1")).first()
    notes = bind.execute(
        sa.text("SELECT 1 FROM case_links WHERE note IS NOT NULL AND note <> '' LIMIT 1")
    ).first()
    return tips is not None or notes is not None


def _cipher(bind: sa.Connection) -> _Cipher | None:
    if not _holds_text(bind):
        return None
    identity: _Sealer | None = context.config.attributes.get("identity")
    if identity is None:
        raise RuntimeError(
            "tips and case links hold text in clear that this upgrade seals, and no key ring "
            "was given: run the upgrade through `zhian` in the node's workspace (it opens "
            "the key ring), or restore the key ring first"
        )
    return identity.cipher


def _seal(cipher: _Cipher, text: object, where: str) -> bytes:
    return cipher.seal_bytes(str(text).encode("utf-8"), where)


def upgrade() -> None:
    bind = op.get_bind()
    cipher = _cipher(bind)
    with op.batch_alter_table("tips") as batch:
        batch.add_column(sa.Column("description_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("case_links") as batch:
        batch.add_column(sa.Column("note_enc", sa.LargeBinary(), nullable=True))
    if cipher is not None:
        for row_id, code, text in bind.execute(
            sa.text("SELECT id, code, description FROM tips")
        ).all():
            bind.execute(
                sa.text("UPDATE tips SET description_enc = :sealed WHERE id = :id"),
                {"sealed": _seal(cipher, text, f"tips.description_enc:{code}"), "id": row_id},
            )
        for row_id, case_a, case_b, text in bind.execute(
            sa.text("SELECT id, case_a, case_b, note FROM case_links WHERE note <> ''")
        ).all():
            where = f"case_links.note_enc:{case_a}/{case_b}"
            bind.execute(
                sa.text("UPDATE case_links SET note_enc = :sealed WHERE id = :id"),
                {"sealed": _seal(cipher, text, where), "id": row_id},
            )
    with op.batch_alter_table("tips") as batch:
        batch.alter_column("description_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("description")
    with op.batch_alter_table("case_links") as batch:
        batch.drop_column("note")


def downgrade() -> None:
    # The clear text is not restored: that would write personal data back in clear.
    raise NotImplementedError("tip descriptions and case-link notes are not unsealed")
