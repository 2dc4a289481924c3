"""Holding refused input and replaying it after a fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Protocol

import msgspec

from zhian.access.scope import JurisdictionScope
from zhian.db.engine import Database
from zhian.errors import ConfigurationError
from zhian.ingest.quarantine.models import QuarantineItem, raw_context
from zhian.ingest.quarantine.repository import QuarantineRepository
from zhian.ingest.service import BatchResult, QuarantineEntry
from zhian.ingest.settings import IntakeSettings


def _size(count: int) -> str:
    """`16 MiB` for whole mebibytes, else `1,234 bytes`: how a limit reads in a reason."""
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count % mib == 0 else f"{count:,} bytes"


def cut_reason(original_size: int, limit: int, digest: str) -> str:
    return (
        f"payload of {original_size:,} bytes over the {_size(limit)} limit: "
        f"the first {_size(limit)} kept, sha256 {digest}"
    )


def cut_replay_outcome(kept_bytes: int, item: QuarantineItem) -> str:
    return (
        f"not replayed: only the first {kept_bytes:,} of {item.raw_size or 0:,} bytes "
        "were kept, so it cannot be resubmitted whole; fix it at the sender"
    )


class RawCipher(Protocol):
    """Seals and opens raw input (`zhian.governance.crypto.FieldCipher` is one)."""

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...

    def open_bytes(self, sealed: bytes, context: str) -> bytes: ...


def _require(cipher: RawCipher | None) -> RawCipher:
    if cipher is None:
        raise ConfigurationError(
            "the quarantine seals raw input at rest and needs the node's key ring; run "
            "`zhian keys init`"
        )
    return cipher


@dataclass(frozen=True)
class HeldItem:
    """A quarantined item as read back: `raw` is the input opened in memory, for masking,
    an audited reveal or a replay; it is never written anywhere in the clear."""

    id: int
    received_at: datetime
    source: str
    sender_device_id: str | None
    device_id: str | None
    event_id: str | None
    content_type: str
    raw: bytes
    raw_size: int | None
    raw_sha256: str | None
    reasons: list[dict[str, str]]
    reason_code: str
    status: str
    replayed_at: datetime | None
    replay_outcome: str | None


def open_raw(cipher: RawCipher, item: QuarantineItem) -> bytes:
    """The raw input of a stored item, opened."""
    if item.raw_enc is None:
        return b""
    return cipher.open_bytes(item.raw_enc, raw_context(item.id))


def _held(cipher: RawCipher, item: QuarantineItem) -> HeldItem:
    return HeldItem(
        id=item.id,
        received_at=item.received_at,
        source=item.source,
        sender_device_id=item.sender_device_id,
        device_id=item.device_id,
        event_id=item.event_id,
        content_type=item.content_type,
        raw=open_raw(cipher, item),
        raw_size=item.raw_size,
        raw_sha256=item.raw_sha256,
        reasons=list(item.reasons),
        reason_code=item.reason_code,
        status=item.status,
        replayed_at=item.replayed_at,
        replay_outcome=item.replay_outcome,
    )


class QuarantineStore:
    """The intake's quarantine sink: one committed transaction per refused batch.

    Raw input is kept up to `max_raw_bytes` per item (the HTTP body limit, so every path
    keeps the same): an item over it keeps its first `max_raw_bytes` bytes, its original
    size and the sha256 of the whole, and a reason that says it was cut. The kept bytes
    are sealed with `cipher` (the node's key ring), bound to the item's row (#12).
    """

    def __init__(
        self,
        db: Database,
        *,
        cipher: RawCipher | None,
        max_raw_bytes: int = IntakeSettings().max_body_bytes,
    ) -> None:
        self._db = db
        self._cipher = _require(cipher)
        self._max_raw_bytes = max_raw_bytes

    def hold(self, entries: Sequence[QuarantineEntry]) -> None:
        with self._db.session() as session:
            pairs = [self._item(entry) for entry in entries]
            QuarantineRepository(session).add_all([item for item, _ in pairs])
            session.flush()  # the ids the sealed input is bound to
            for item, raw in pairs:
                item.raw_enc = self._cipher.seal_bytes(raw, raw_context(item.id))

    def _item(self, entry: QuarantineEntry) -> tuple[QuarantineItem, bytes]:
        reasons = [msgspec.structs.asdict(r) for r in entry.reasons]
        item = QuarantineItem(
            received_at=entry.received_at,
            source=entry.source,
            sender_device_id=entry.sender_device_id,
            device_id=entry.device_id,
            event_id=entry.event_id,
            content_type=entry.content_type,
            reasons=reasons,
            reason_code=entry.reason_code,
            status="held",
        )
        raw = entry.raw
        if len(entry.raw) > self._max_raw_bytes:
            digest = sha256(entry.raw).hexdigest()
            raw = entry.raw[: self._max_raw_bytes]
            item.raw_size = len(entry.raw)
            item.raw_sha256 = digest
            reasons.append(
                {"field": "", "reason": cut_reason(len(entry.raw), self._max_raw_bytes, digest)}
            )
        return item, raw


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    accepted: int
    duplicate: int
    still_rejected: int


# (raw item, sender device, content type) → the intake's verdict on that one item
Resubmit = Callable[[bytes, str | None, str], BatchResult]


class QuarantineService:
    """Lists held input (opened with the node's key ring, for masking or an audited
    reveal) and sends it through the intake again once master data is fixed."""

    def __init__(self, db: Database, *, cipher: RawCipher | None) -> None:
        self._db = db
        self._cipher = _require(cipher)

    def list_held(
        self,
        *,
        reason_code: str | None = None,
        device_id: str | None = None,
        source: str | None = None,
        ids: Sequence[int] | None = None,
        scope: JurisdictionScope,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[HeldItem]:
        """Held items matching the filters, within `scope` (items of its devices only)."""
        with self._db.session() as session:
            items = QuarantineRepository(session).list(
                reason_code=reason_code,
                device_id=device_id,
                source=source,
                ids=ids,
                scope=scope,
                limit=limit,
                offset=offset,
                newest_first=newest_first,
            )
            return [_held(self._cipher, item) for item in items]

    def count_by_reason(self, *, scope: JurisdictionScope) -> dict[str, int]:
        with self._db.session() as session:
            return QuarantineRepository(session).count_by_reason(scope=scope)

    def replay(
        self,
        resubmit: Resubmit,
        *,
        now: datetime,
        ids: Sequence[int] | None = None,
        reason_code: str | None = None,
        batch_size: int = 500,
    ) -> ReplayReport:
        """Re-run held items; accepted or duplicate ones leave the quarantine, others stay."""
        accepted = duplicate = still = 0
        last_id = 0
        while True:
            with self._db.session() as session:
                items = QuarantineRepository(session).list(
                    reason_code=reason_code,
                    ids=ids,
                    after_id=last_id,
                    limit=batch_size,
                    # The caller chose the ids within its scope (or is the CLI, an admin's).
                    scope=JurisdictionScope.unscoped(),
                )
                if not items:
                    break
                for item in items:
                    last_id = item.id
                    if item.reason_code == "malformed" and item.event_id is None:
                        still += 1  # a whole unparseable body: fix it at the sender
                        continue
                    if item.raw_size is not None:
                        # Only its first bytes were kept: resubmitting them would be wrong.
                        still += 1
                        item.replayed_at = now
                        kept = len(open_raw(self._cipher, item))
                        item.replay_outcome = cut_replay_outcome(kept, item)
                        continue
                    raw = open_raw(self._cipher, item)
                    outcome = resubmit(raw, item.sender_device_id, item.content_type).items[0]
                    item.replayed_at = now
                    if outcome.status == "rejected":
                        still += 1
                        item.reasons = [msgspec.structs.asdict(e) for e in outcome.errors or []]
                        item.replay_outcome = "still rejected"
                    else:
                        item.status = "replayed"
                        item.replay_outcome = outcome.status
                        accepted += outcome.status == "accepted"
                        duplicate += outcome.status == "duplicate"
            if len(items) < batch_size:
                break
        return ReplayReport(accepted + duplicate + still, accepted, duplicate, still)
