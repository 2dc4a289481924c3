"""Recording, searching and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zhian.audit.models import AuditEntry, AuditHead
from zhian.errors import BadRequestError
from zhian.kit.clock import Clock

GENESIS_HASH = "0" * 64
HEAD_ROW_ID = 1
# The action of the entry a retention purge appends; it anchors the chain's new start.
PURGE_ACTION = "audit.purge"
# The system actor a person at the command line acts as (`zhian ...` commands).
CLI_ACTOR_ID = "cli"

ActorType = Literal["user", "device", "system"]
ProblemKind = Literal["edited", "rewritten", "deleted", "inserted", "head"]


@dataclass(frozen=True)
class Actor:
    """Who acted: a signed-in user (by id), a device (by device id) or the node itself."""

    type: ActorType
    id: str

    @classmethod
    def user(cls, user_id: int | str) -> Actor:
        return cls("user", str(user_id))

    @classmethod
    def device(cls, device_id: str) -> Actor:
        return cls("device", device_id)

    @classmethod
    def system(cls, name: str = "zhian") -> Actor:
        return cls("system", name)

    @property
    def acts_now(self) -> bool:
        """A user, a device or a person at the command line: what they do happens at the
        wall-clock time, even while the node's clock replays history (`zhian demo`); the
        node's own work (models, retention, linkage) keeps the node's clock."""
        return self.type != "system" or self.id == CLI_ACTOR_ID


class AuditEntryRead(BaseModel):
    """An audit entry as the auditor's page and exports show it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    record_type: str | None
    record_ids: list[str]
    ip: str | None
    purpose: str | None
    case_number: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditProblem:
    """One finding of `verify`: the entry concerned and what is wrong with it."""

    entry_id: int
    kind: ProblemKind
    detail: str


@dataclass
class VerifyReport:
    """What `verify` found; `ok` only when the chain is whole from its start to the head."""

    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    is_sealed: bool = False
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_encode = msgspec.json.Encoder(order="sorted").encode


def canonical_bytes(entry: AuditEntry) -> bytes:
    """The fields an entry's hash covers, as sorted-key JSON (times in UTC, microseconds)."""
    return _encode(
        {
            "id": entry.id,
            "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_type": entry.actor_type,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "record_type": entry.record_type,
            "record_ids": list(entry.record_ids),
            "ip": entry.ip,
            "purpose": entry.purpose,
            "case_number": entry.case_number,
            "details": entry.details,
        }
    )


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 over the previous hash and the entry's canonical encoding."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_bytes(entry)).hexdigest()


class AuditService:
    """Appends to the audit log and checks it. The caller owns the transaction: an entry is
    kept exactly when the work it describes is committed with it.

    `seal_key` (the key ring's seal key) signs the chain's head; without it the head is
    recorded unsealed, which still catches a careless deletion but not a rewrite.

    `clock` stamps the node's own work; `wall_clock` (default `clock`) stamps what people
    and devices do (`Actor.acts_now`): the two differ only while a demo replays history.
    """

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        seal_key: bytes | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._clock = clock
        self._wall_clock = wall_clock or clock
        self._seal_key = seal_key

    # --- writing ------------------------------------------------------------------------

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        record_type: str | None = None,
        record_ids: Iterable[str] = (),
        ip: str | None = None,
        purpose: str | None = None,
        case_number: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntryRead:
        """Append one entry (e.g. action `resident.reveal`, record_type `resident`)."""
        if not action:
            raise BadRequestError("an audit entry needs an action", field="action")
        head = self._lock_head()
        entry = AuditEntry(
            id=head.entry_id + 1,
            at=(self._wall_clock if actor.acts_now else self._clock).now(),
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            record_type=record_type,
            record_ids=[str(record_id) for record_id in record_ids],
            ip=ip,
            purpose=purpose,
            case_number=case_number,
            # Through JSON once, so the hash covers exactly what the database hands back.
            details=msgspec.json.decode(_encode(dict(details or {}))),
            prev_hash=head.entry_hash,
        )
        entry.hash = entry_hash(entry, entry.prev_hash)
        self._session.add(entry)
        head.entry_id = entry.id
        head.entry_hash = entry.hash
        head.seal = self._seal(entry.id, entry.hash)
        self._session.flush()
        return AuditEntryRead.model_validate(entry)

    def _lock_head(self) -> AuditHead:
        # A no-op UPDATE first takes the write lock on both backends (a row lock on
        # PostgreSQL, the database lock on SQLite), so concurrent writers queue up here
        # instead of forking the chain from the same head.
        self._session.execute(
            update(AuditHead)
            .where(AuditHead.id == HEAD_ROW_ID)
            .values(entry_id=AuditHead.entry_id)
            .execution_options(synchronize_session=False)
        )
        head = self._session.get(AuditHead, HEAD_ROW_ID, populate_existing=True)
        if head is None:
            head = AuditHead(id=HEAD_ROW_ID, entry_id=0, entry_hash=GENESIS_HASH, seal=None)
            self._session.add(head)
        return head

    def _seal(self, entry_id: int, hash_hex: str) -> str | None:
        if self._seal_key is None:
            return None
        message = f"{entry_id}:{hash_hex}".encode("ascii")
        return hmac.new(self._seal_key, message, hashlib.sha256).hexdigest()

    def purge_before(self, cutoff: datetime, actor: Actor, *, dry_run: bool = False) -> int:
        """Remove the oldest entries, those before `cutoff`, keeping the chain verifiable.

        Only a prefix of the chain goes (up to the first entry at or after `cutoff`); an
        entry recording how far it went and the hash it ended on is appended first, so
        `verify` accepts the new start and nobody can cut the chain silently.
        """
        first_kept = self._session.scalar(
            select(func.min(AuditEntry.id)).where(AuditEntry.at >= cutoff)
        )
        query = select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        if first_kept is not None:
            query = query.where(AuditEntry.id < first_kept)
        last_gone = self._session.execute(query).first()
        if last_gone is None:
            return 0
        through_id, through_hash = last_gone
        count = self._session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.id <= through_id)
        )
        if dry_run:
            return int(count or 0)
        self.record(
            actor,
            PURGE_ACTION,
            record_type="audit_entry",
            purpose="retention",
            details={"through_id": through_id, "through_hash": through_hash, "count": count},
        )
        self._session.execute(
            AuditEntry.__table__.delete().where(AuditEntry.id <= through_id)  # type: ignore[attr-defined]
        )
        return int(count or 0)

    # --- reading ------------------------------------------------------------------------

    def search(
        self,
        *,
        actor_id: str | None = None,
        action: str | None = None,
        record_type: str | None = None,
        record_id: str | None = None,
        case_number: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntryRead]:
        """Entries matching every given filter, newest first (for the auditor's page)."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc())
        if actor_id is not None:
            query = query.where(AuditEntry.actor_id == actor_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if record_type is not None:
            query = query.where(AuditEntry.record_type == record_type)
        if case_number is not None:
            query = query.where(AuditEntry.case_number == case_number)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        entries = self._session.scalars(query)
        if record_id is not None:
            # record_ids is a JSON list; filtering in Python keeps one query for both backends.
            entries = (e for e in entries if record_id in e.record_ids)  # type: ignore[assignment]
        found: list[AuditEntryRead] = []
        for index, entry in enumerate(entries):
            if index < offset:
                continue
            if len(found) == limit:
                break
            found.append(AuditEntryRead.model_validate(entry))
        return found

    def verify(self) -> VerifyReport:
        """Walk the chain from its start and say which entries were edited, deleted or
        inserted behind the application's back (by id, with what is wrong)."""
        report = VerifyReport()
        anchors = self._purge_anchors()
        previous: AuditEntry | None = None
        rows = self._session.scalars(
            select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
        )
        for entry in rows:
            report.checked += 1
            problems = report.problems
            if entry_hash(entry, entry.prev_hash) != entry.hash:
                problems.append(
                    AuditProblem(entry.id, "edited", "its content does not match its hash")
                )
            if previous is None:
                report.first_id = entry.id
                anchored = entry.id == 1 and entry.prev_hash == GENESIS_HASH
                if not anchored and anchors.get(entry.id - 1) != entry.prev_hash:
                    problems.append(
                        AuditProblem(
                            entry.id,
                            "deleted",
                            f"the chain starts at entry {entry.id} but no purge entry "
                            "recorded the removal of the entries before it",
                        )
                    )
            else:
                expected_id = previous.id + 1
                if entry.id != expected_id:
                    missing = _span(expected_id, entry.id - 1)
                    problems.append(AuditProblem(expected_id, "deleted", f"{missing} missing"))
                elif entry.prev_hash != previous.hash:
                    if entry_hash(previous, previous.prev_hash) == previous.hash:
                        detail = (
                            f"its hash differs from the one entry {entry.id} recorded: "
                            "it was rewritten and its hash recomputed"
                        )
                        problems.append(AuditProblem(previous.id, "rewritten", detail))
                    else:
                        detail = f"it does not link to entry {previous.id}"
                        problems.append(AuditProblem(entry.id, "inserted", detail))
            previous = entry
        report.last_id = previous.id if previous is not None else None
        self._check_head(report, previous)
        return report

    def _purge_anchors(self) -> dict[int, str]:
        """through_id → through_hash of every purge entry (the chain vouches for them)."""
        anchors: dict[int, str] = {}
        for details in self._session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == PURGE_ACTION)
        ):
            through_id = details.get("through_id")
            through_hash = details.get("through_hash")
            if isinstance(through_id, int) and isinstance(through_hash, str):
                anchors[through_id] = through_hash
        return anchors

    def _check_head(self, report: VerifyReport, last: AuditEntry | None) -> None:
        head = self._session.get(AuditHead, HEAD_ROW_ID)
        problems = report.problems
        if head is None:
            if last is not None:
                problems.append(AuditProblem(last.id, "head", "the chain's head record is gone"))
            return
        if head.seal is not None or self._seal_key is not None:
            expected = self._seal(head.entry_id, head.entry_hash)
            report.is_sealed = expected is not None and head.seal == expected
            if expected is not None and not hmac.compare_digest(head.seal or "", expected):
                problems.append(
                    AuditProblem(
                        head.entry_id,
                        "head",
                        "the head's seal does not match: the head was altered or written "
                        "without the key",
                    )
                )
        last_id = last.id if last is not None else 0
        if head.entry_id > last_id:
            missing = _span(last_id + 1, head.entry_id)
            problems.append(
                AuditProblem(last_id + 1, "deleted", f"{missing} missing at the end of the chain")
            )
        elif head.entry_id < last_id:
            extra = _span(head.entry_id + 1, last_id)
            problems.append(
                AuditProblem(
                    head.entry_id + 1,
                    "inserted",
                    f"{extra} after the head (entry {head.entry_id})",
                )
            )
        elif last is not None and head.entry_hash != last.hash:
            problems.append(
                AuditProblem(last.id, "rewritten", "its hash differs from the one the head holds")
            )


def _span(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first}..{last} are"
