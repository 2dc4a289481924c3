"""watchlist persons sealed: a person entry's subject reference and face feature (#12)

`watchlist_entries.subject_ref` and `.feature` were stored in clear. The subject reference
becomes its keyed token (kind `subject`, as the event store holds it), a sealed copy
(`watchlist_entries.subject_enc:<token>`) and its mask; the face feature a sealed copy for
its row (`watchlist_entries.feature_enc:<id>`). Existing rows are converted with the key
ring the caller hands over (`zhian.db.migrate.upgrade(identity=...)`), then the clear
columns are dropped; rows and no key ring: refused before anything changes.

Revision ID: 0015watchlistpersons
Revises: 0014viidsealed
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from alembic import context, op

from zhian.governance.masking import mask_ref

revision: str = "0015watchlistpersons"
down_revision: str | None = "0014viidsealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _Protector(Protocol):
    def seal(self, table: str, column: str, row_id: str, value: str) -> bytes: ...

    def token(self, kind: str, value: str) -> str: ...


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.add_column(sa.Column("subject_token", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("subject_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("subject_masked", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("feature_enc", sa.LargeBinary(), nullable=True))
    rows = bind.execute(
        sa.text(
            "SELECT id, subject_ref, feature FROM watchlist_entries "
            "WHERE subject_ref IS NOT NULL OR feature IS NOT NULL"
        )
    ).all()
    if rows:
        identity: _Protector | None = context.config.attributes.get("identity")
        if identity is None:
            raise RuntimeError(
                "watchlist_entries.subject_ref, watchlist_entries.feature hold personal data "
                "in clear that this upgrade seals, and no key ring was given: run the upgrade "
                "through `zhian` in the node's workspace (it opens the key ring), or restore "
                "the key ring first"
            )
        for entry_id, subject_ref, feature in rows:
            values: dict[str, object] = {"id": entry_id, "token": None, "subject": None}
            values["masked"] = values["feature"] = None
            if subject_ref is not None:
                token = identity.token("subject", subject_ref)
                values["token"] = token
                values["subject"] = identity.seal(
                    "watchlist_entries", "subject_enc", token, subject_ref
                )
                values["masked"] = mask_ref(subject_ref)
            if feature is not None:
                values["feature"] = identity.seal(
                    "watchlist_entries", "feature_enc", str(entry_id), feature
                )
            bind.execute(
                sa.text(
                    "UPDATE watchlist_entries SET subject_token = :token, subject_enc = :subject, "
                    "subject_masked = :masked, feature_enc = :feature WHERE id = :id"
                ),
                values,
            )
    op.drop_index("ix_watchlist_entries_subject_ref", table_name="watchlist_entries")
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.drop_column("subject_ref")
        batch.drop_column("feature")
        batch.create_index("ix_watchlist_entries_subject_token", ["subject_token"])


def downgrade() -> None:
    # The clear values are not restored: that would write personal data back in clear.
    raise NotImplementedError("personal data sealed at rest is not unsealed by a downgrade")
