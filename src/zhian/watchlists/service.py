"""Watchlist entries: adding, withdrawing (撤控), bulk import and withdrawal, and the matcher.

A `WatchlistService` works within one `JurisdictionScope`, given when it is made: a user's
(`AccessService.scope_for`) for pages and the command line, `JurisdictionScope.unscoped()`
for the system (the rule engine's matcher, the demo). Every read goes through the scoped
repository, so an entry outside the scope is neither listed, found, matched nor changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, ConfigurationError, ConflictError, NotFoundError
from zhian.governance.masking import mask_plate, mask_ref
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.watchlists.matcher import WatchItem, WatchlistMatcher
from zhian.watchlists.models import WatchlistEntry
from zhian.watchlists.repository import WatchlistRepository
from zhian.watchlists.schemas import (
    LegalBasisKind,
    WatchlistEntryCreate,
    WatchlistEntryRead,
    WatchOrder,
    WatchTarget,
    refuse_identifiers,
)

IMPORT_COLUMNS = (
    "target",
    "label",
    "plate",
    "subject_ref",
    "feature",
    "legal_basis_kind",
    "legal_basis_ref",
    "jurisdiction_id",
    "expires_at",
    "tier",
)
WITHDRAW_COLUMNS = ("id", "plate", "subject_ref", "legal_basis_ref", "reason")
# Where an entry's plate is sealed; the context names the plate's token (#12).
PLATE_TABLE, PLATE_SEALED = "watchlist_entries", "plate_enc"
# A person's subject reference is sealed for its token; the face feature for the row's id.
SUBJECT_SEALED, FEATURE_SEALED = "subject_enc", "feature_enc"
NO_KEY_REASON = (
    "watchlist plates and persons are stored as tokens and sealed, and this node has no key ring"
)


@dataclass(frozen=True)
class WatchlistRowError:
    row: int
    field: str
    reason: str


@dataclass
class WatchlistImportReport:
    source: str = ""
    accepted: int = 0
    rejected: int = 0
    entry_ids: list[int] = field(default_factory=list)
    errors: list[WatchlistRowError] = field(default_factory=list)


def _read(entry: WatchlistEntry) -> WatchlistEntryRead:
    return WatchlistEntryRead(
        id=entry.id,
        target=entry.target,
        label=entry.label,
        plate=entry.plate_masked,
        subject_ref=entry.subject_masked,
        has_feature=entry.feature_enc is not None,
        legal_basis_kind=entry.legal_basis_kind,
        legal_basis_ref=entry.legal_basis_ref,
        owner_user_id=entry.owner_user_id,
        jurisdiction_id=entry.jurisdiction_id,
        tier=entry.tier,
        created_at=entry.created_at,
        expires_at=entry.expires_at,
        withdrawn_at=entry.withdrawn_at,
        withdraw_reason=entry.withdraw_reason,
    )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class WatchlistService:
    """Keeps the watchlist within `scope`. Every entry states its legal basis, owner,
    jurisdiction and expiry; an entry already expired, or of a jurisdiction outside the
    scope, is refused. The caller owns the transaction.

    Plates are stored as keyed token, sealed copy and masked form (#12): adding, finding or
    matching a plate needs `identity` (governance's `IdentitySealer`); entries read back
    show the masked plate."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        scope: JurisdictionScope,
        identity: IdentityProtector | None = None,
    ) -> None:
        self.repository = WatchlistRepository(session)
        self.clock = clock
        self.scope = scope
        self.identity = identity

    def _identity(self) -> IdentityProtector:
        if self.identity is None:
            raise ConfigurationError(NO_KEY_REASON, field="plate")
        return self.identity

    def plate_token(self, plate: str) -> str:
        """The keyed token a plate is stored and matched by."""
        return self._identity().token("plate", plate)

    def subject_token(self, subject_ref: str) -> str:
        """The keyed token a subject reference is stored by (the event store's `subject`)."""
        return self._identity().token("subject", subject_ref)

    def _not_found(self, entry_id: int) -> NotFoundError:
        # Outside the scope reads like absent: the entry's existence is not disclosed.
        where = "" if self.scope.is_unscoped else " in your jurisdiction"
        return NotFoundError(f"no watchlist entry {entry_id}{where}", field="entry_id")

    def add(self, entry: WatchlistEntryCreate, *, user_id: int) -> WatchlistEntryRead:
        if not self.scope.contains(entry.jurisdiction_id):
            raise BadRequestError(
                f"jurisdiction '{entry.jurisdiction_id}' is not in your jurisdiction",
                field="jurisdiction_id",
            )
        now = self.clock.now()
        if entry.expires_at <= now:
            raise BadRequestError("expires_at lies in the past", field="expires_at")
        plate_token = plate_enc = plate_masked = None
        if entry.plate is not None:
            plate_token = self.plate_token(entry.plate)
            plate_enc = self._identity().seal(PLATE_TABLE, PLATE_SEALED, plate_token, entry.plate)
            plate_masked = mask_plate(entry.plate)
        subject_token = subject_enc = subject_masked = None
        if entry.subject_ref is not None:
            subject_token = self.subject_token(entry.subject_ref)
            subject_enc = self._identity().seal(
                PLATE_TABLE, SUBJECT_SEALED, subject_token, entry.subject_ref
            )
            subject_masked = mask_ref(entry.subject_ref)
        if entry.feature is not None:
            self._identity()  # refused before anything is written without a key ring
        row = WatchlistEntry(
            target=entry.target.value,
            plate_token=plate_token,
            plate_enc=plate_enc,
            plate_masked=plate_masked,
            subject_token=subject_token,
            subject_enc=subject_enc,
            subject_masked=subject_masked,
            label=entry.label,
            legal_basis_kind=entry.legal_basis_kind.value,
            legal_basis_ref=entry.legal_basis_ref,
            owner_user_id=user_id,
            jurisdiction_id=entry.jurisdiction_id,
            tier=entry.tier,
            created_at=now,
            expires_at=entry.expires_at,
        )
        self.repository.add(row)  # flushed: the id the feature is sealed for
        if entry.feature is not None:
            row.feature_enc = self._identity().seal(
                PLATE_TABLE, FEATURE_SEALED, str(row.id), entry.feature
            )
            self.repository.add(row)
        return _read(row)

    def withdraw(self, entry_id: int, *, user_id: int, reason: str) -> WatchlistEntryRead:
        if not reason.strip():
            raise BadRequestError("withdrawing an entry needs a reason", field="reason")
        try:
            refuse_identifiers(reason)
        except ValueError as exc:
            raise BadRequestError(str(exc), field="reason") from None
        row = self.repository.get(entry_id, scope=self.scope)
        if row is None:
            raise self._not_found(entry_id)
        if row.withdrawn_at is not None:
            raise ConflictError(
                f"watchlist entry {entry_id} is already withdrawn", field="entry_id"
            )
        row.withdrawn_at, row.withdrawn_by = self.clock.now(), user_id
        row.withdraw_reason = reason.strip()[:500]
        self.repository.session.flush()
        return _read(row)

    def list_entries(
        self, jurisdiction_id: str | None = None, *, active_only: bool = True
    ) -> list[WatchlistEntryRead]:
        """Entries in the scope, oldest first; `jurisdiction_id` narrows to one jurisdiction."""
        rows = self.repository.list_entries(
            scope=self.scope,
            jurisdiction_id=jurisdiction_id,
            active_at=self.clock.now() if active_only else None,
        )
        return [_read(row) for row in rows]

    def import_rows(
        self, rows: Iterable[Mapping[str, object]], *, user_id: int, first_row_number: int = 2
    ) -> WatchlistImportReport:
        """Add one entry per row; a bad row (a jurisdiction outside the scope included) is
        reported by row, field and reason, not loaded."""
        report = WatchlistImportReport()
        for number, row in enumerate(rows, start=first_row_number):
            if all(_blank(v) for v in row.values()):
                continue
            values = {k: (None if _blank(v) else v) for k, v in row.items() if k in IMPORT_COLUMNS}
            unknown = sorted(set(row) - set(IMPORT_COLUMNS))
            if unknown:
                report.rejected += 1
                report.errors.append(
                    WatchlistRowError(number, unknown[0], "is not a watchlist column")
                )
                continue
            values = {k: v for k, v in values.items() if v is not None}
            try:
                entry = WatchlistEntryCreate.model_validate(
                    {
                        k: str(v) if k != "expires_at" or isinstance(v, str) else v
                        for k, v in values.items()
                    }
                )
                created = self.add(entry, user_id=user_id)
            except ValidationError as exc:
                report.rejected += 1
                for error in exc.errors():
                    where = ".".join(str(p) for p in error["loc"]) or "row"
                    report.errors.append(WatchlistRowError(number, where, error["msg"]))
                continue
            except BadRequestError as exc:
                report.rejected += 1
                report.errors.append(WatchlistRowError(number, exc.field or "row", exc.message))
                continue
            report.accepted += 1
            report.entry_ids.append(created.id)
        return report

    def withdraw_rows(
        self, rows: Iterable[Mapping[str, object]], *, user_id: int, first_row_number: int = 2
    ) -> WatchlistImportReport:
        """Withdraw entries named by `id`, or by `plate`/`subject_ref` (+ `legal_basis_ref`);
        a name matches only entries in the scope."""
        report = WatchlistImportReport()
        now = self.clock.now()
        for number, row in enumerate(rows, start=first_row_number):
            if all(_blank(v) for v in row.values()):
                continue
            reason = "" if _blank(row.get("reason")) else str(row.get("reason")).strip()
            if not reason:
                report.rejected += 1
                report.errors.append(
                    WatchlistRowError(number, "reason", "a withdrawal needs a reason")
                )
                continue
            try:
                refuse_identifiers(reason)
            except ValueError as exc:
                report.rejected += 1
                report.errors.append(WatchlistRowError(number, "reason", str(exc)))
                continue
            targets = self._targets(row, now)
            if isinstance(targets, WatchlistRowError):
                report.rejected += 1
                report.errors.append(WatchlistRowError(number, targets.field, targets.reason))
                continue
            for entry_id in targets:
                self.withdraw(entry_id, user_id=user_id, reason=reason)
                report.entry_ids.append(entry_id)
            report.accepted += 1
        return report

    def _targets(self, row: Mapping[str, object], now: datetime) -> list[int] | WatchlistRowError:
        raw_id = row.get("id")
        if not _blank(raw_id):
            try:
                entry_id = int(str(raw_id).strip().removesuffix(".0"))
            except ValueError:
                return WatchlistRowError(0, "id", f"'{raw_id}' is not an entry number")
            entry = self.repository.get(entry_id, scope=self.scope)
            if entry is None:
                return WatchlistRowError(0, "id", self._not_found(entry_id).message)
            if entry.withdrawn_at is not None:
                return WatchlistRowError(0, "id", f"entry {entry_id} is already withdrawn")
            return [entry_id]
        plate = None if _blank(row.get("plate")) else str(row.get("plate")).strip().upper()
        subject = None if _blank(row.get("subject_ref")) else str(row.get("subject_ref")).strip()
        basis = (
            None if _blank(row.get("legal_basis_ref")) else str(row.get("legal_basis_ref")).strip()
        )
        if plate is None and subject is None:
            return WatchlistRowError(0, "id", "name the entry by id, plate or subject_ref")
        found = self.repository.find_active(
            now,
            scope=self.scope,
            plate_token=None if plate is None else self.plate_token(plate),
            subject_token=None if subject is None else self.subject_token(subject),
            basis_ref=basis,
        )
        if not found:
            return WatchlistRowError(
                0, "plate" if plate else "subject_ref", "no active entry matches"
            )
        return [entry.id for entry in found]

    def orders_for(self, jurisdiction_ids: Collection[str]) -> list[WatchOrder]:
        """The entries of `jurisdiction_ids` that nodes below must apply (布控下发), with their
        identifiers opened: not yet expired, withdrawn ones included (撤控). The system's own
        transfer to a node of the hierarchy over its credential, not a reveal to a person."""
        orders: list[WatchOrder] = []
        for row in self.repository.unexpired_in(self.clock.now(), jurisdiction_ids):
            plate = subject = feature = None
            if row.plate_token and row.plate_enc is not None:
                plate = self._identity().open(
                    PLATE_TABLE, PLATE_SEALED, row.plate_token, row.plate_enc
                )
            if row.subject_token and row.subject_enc is not None:
                subject = self._identity().open(
                    PLATE_TABLE, SUBJECT_SEALED, row.subject_token, row.subject_enc
                )
            if row.feature_enc is not None:
                feature = self._identity().open(
                    PLATE_TABLE, FEATURE_SEALED, str(row.id), row.feature_enc
                )
            orders.append(
                WatchOrder(
                    entry_id=row.id,
                    target=WatchTarget(row.target),
                    label=row.label,
                    plate=plate,
                    subject_ref=subject,
                    feature=feature,
                    legal_basis_kind=LegalBasisKind(row.legal_basis_kind),
                    legal_basis_ref=row.legal_basis_ref,
                    owner_user_id=row.owner_user_id,
                    jurisdiction_id=row.jurisdiction_id,
                    tier=row.tier,
                    created_at=row.created_at,
                    expires_at=row.expires_at,
                    withdrawn_at=row.withdrawn_at,
                    withdraw_reason=row.withdraw_reason,
                )
            )
        return orders

    def get_entry(self, entry_id: int) -> WatchlistEntryRead | None:
        """One entry in the scope (None outside it or when absent)."""
        row = self.repository.get(entry_id, scope=self.scope)
        return None if row is None else _read(row)

    def matcher(self, *, plate_tolerance: int, face_threshold: float) -> WatchlistMatcher:
        """A snapshot of the entries active now in the scope, for the watchlist rule. The
        plates are opened in memory (the matcher tolerates a misread character, which a
        token cannot); the system's own use, not a reveal to a person."""
        plates, subjects, faces = [], [], []
        for row in self.repository.active(self.clock.now(), scope=self.scope):
            item = WatchItem(
                entry_id=row.id,
                label=row.label,
                tier=row.tier,
                jurisdiction_id=row.jurisdiction_id,
                legal_basis_ref=row.legal_basis_ref,
                expires_at=row.expires_at,
            )
            if row.plate_token and row.plate_enc is not None:
                plate = self._identity().open(
                    PLATE_TABLE, PLATE_SEALED, row.plate_token, row.plate_enc
                )
                plates.append((plate, item))
            if row.subject_token and row.subject_enc is not None:
                subject = self._identity().open(
                    PLATE_TABLE, SUBJECT_SEALED, row.subject_token, row.subject_enc
                )
                subjects.append((subject, item))
            if row.feature_enc is not None:
                feature = self._identity().open(
                    PLATE_TABLE, FEATURE_SEALED, str(row.id), row.feature_enc
                )
                faces.append((feature, item))
        return WatchlistMatcher(
            plates, subjects, faces, plate_tolerance=plate_tolerance, face_threshold=face_threshold
        )
