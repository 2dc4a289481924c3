"""The identifier vault: tokens for the event store, sealed values for audited reveals.

The store asks `protect` for each plate and subject reference it writes and keeps only
the token and the masked form. The first time a value is seen in this process its sealed
value is queued, and `flush` (called by the store before it commits the rows) writes the
queue to `identifier_vault` in the operational database, where key rotation re-encrypts
it with every other sealed column and a reveal opens it. Face features are not kept here:
the vault only seals them, bound to their row, and the store keeps the sealed value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zhian.db.engine import Database
from zhian.db.upsert import insert_new
from zhian.governance.crypto import key_id_of
from zhian.governance.identity import IdentitySealer, field_context
from zhian.governance.masking import mask_plate, mask_ref
from zhian.governance.models import VaultEntry
from zhian.store.features import FEATURE_COLUMN, FEATURE_TABLE, feature_row_id
from zhian.store.identifiers import IdentifierKind, ProtectedIdentifier

VAULT_TABLE = "identifier_vault"
# Identifiers remembered per process; past this the memo starts over (values seen again
# are re-tokenised and their vault rows rewritten as no-ops), so memory stays bounded.
MEMO_LIMIT = 500_000
_MASKERS: dict[IdentifierKind, Callable[[str], str]] = {"plate": mask_plate, "subject": mask_ref}

VaultRow = dict[str, object]


class RevealedIdentifier(NamedTuple):
    kind: IdentifierKind
    value: str
    masked: str


class IdentifierVault:
    """Implements the store's `StoreProtector` (identifier tokens, sealed face features)
    with the node's key ring.

    `persist` writes vault rows durably (`database_persister`); tests may keep them in a
    list. Thread-safe for one writer (the store feeder) and any number of token lookups.
    """

    def __init__(
        self,
        sealer: IdentitySealer,
        persist: Callable[[list[VaultRow]], None],
        now: Callable[[], datetime],
    ) -> None:
        self._sealer = sealer
        self._persist = persist
        self._now = now
        self._memo: dict[tuple[IdentifierKind, str], ProtectedIdentifier] = {}
        self._pending: list[VaultRow] = []

    def token(self, kind: IdentifierKind, value: str) -> str:
        return self._sealer.tokeniser.token(kind, value)

    def protect(self, kind: IdentifierKind, value: str) -> ProtectedIdentifier:
        key = (kind, value)
        known = self._memo.get(key)
        if known is not None:
            return known
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        token = self.token(kind, value)
        protected = ProtectedIdentifier(token, _MASKERS[kind](value))
        self._pending.append(
            {
                "token": token,
                "kind": kind,
                "sealed": self._sealer.seal(VAULT_TABLE, "sealed", token, value),
                "first_seen": self._now(),
            }
        )
        self._memo[key] = protected
        return protected

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self._persist(rows)
        except BaseException:
            self._pending = rows + self._pending
            raise

    def forget(self, tokens: set[str]) -> None:
        if tokens:
            self._memo = {k: v for k, v in self._memo.items() if v.token not in tokens}

    # -- face features (sealed in the store itself, not kept here) -------------------------

    def seal_feature(self, device_id: str, event_id: str, feature: str) -> bytes:
        row_id = feature_row_id(device_id, event_id)
        return self._sealer.seal(FEATURE_TABLE, FEATURE_COLUMN, row_id, feature)

    def open_feature(self, device_id: str, event_id: str, sealed: bytes) -> str:
        row_id = feature_row_id(device_id, event_id)
        return self._sealer.open(FEATURE_TABLE, FEATURE_COLUMN, row_id, sealed)

    def reseal_feature(self, device_id: str, event_id: str, sealed: bytes) -> bytes | None:
        context = field_context(FEATURE_TABLE, FEATURE_COLUMN, feature_row_id(device_id, event_id))
        return self._sealer.cipher.reseal(sealed, context)

    def feature_key_id(self, sealed: bytes) -> str:
        return key_id_of(sealed)

    def reveal(self, session: Session, tokens: Iterable[str]) -> dict[str, RevealedIdentifier]:
        """The clear values of `tokens` that the vault holds (the caller audits the read)."""
        wanted = sorted(set(tokens))
        if not wanted:
            return {}
        rows = session.execute(
            select(VaultEntry.token, VaultEntry.kind, VaultEntry.sealed).where(
                VaultEntry.token.in_(wanted)
            )
        )
        revealed = {}
        for token, stored_kind, sealed in rows:
            kind: IdentifierKind = "plate" if stored_kind == "plate" else "subject"
            value = self._sealer.open(VAULT_TABLE, "sealed", token, sealed)
            revealed[token] = RevealedIdentifier(kind, value, _MASKERS[kind](value))
        return revealed


def database_persister(db: Database) -> Callable[[list[VaultRow]], None]:
    """Writes vault rows in their own transaction; rows already there are left alone."""

    def persist(rows: list[VaultRow]) -> None:
        with db.session() as session:
            insert_new(session, VaultEntry, rows)

    return persist


def purge_orphans(session: Session, held: set[str], *, dry_run: bool) -> set[str]:
    """Remove vault entries whose token no stored event holds any more; returns those."""
    orphans = {token for token in session.scalars(select(VaultEntry.token)) if token not in held}
    if not dry_run:
        ordered = sorted(orphans)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            session.execute(delete(VaultEntry).where(VaultEntry.token.in_(chunk)))
    return orphans
