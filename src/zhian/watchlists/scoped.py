"""The watchlist as one user may work on it: entries of their jurisdiction only.

`WatchlistService` keeps the table for the whole node; these helpers put a user's
`JurisdictionScope` in front of it for the pages and the command line. Bulk rows naming a
jurisdiction or an entry outside the scope are reported (row, column, reason), not loaded,
and an entry outside the scope is never disclosed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, NotFoundError
from zhian.watchlists.schemas import WatchlistEntryCreate, WatchlistEntryRead
from zhian.watchlists.service import (
    WatchlistImportReport,
    WatchlistRowError,
    WatchlistService,
)

FIRST_DATA_ROW = 2  # row 1 of a bulk file is its header


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def visible_entries(
    service: WatchlistService, scope: JurisdictionScope, *, active_only: bool = True
) -> list[WatchlistEntryRead]:
    """Entries of the user's jurisdictions, oldest first."""
    return [
        entry
        for entry in service.list_entries(None, active_only=active_only)
        if scope.contains(entry.jurisdiction_id)
    ]


def add_in_scope(
    service: WatchlistService,
    entry: WatchlistEntryCreate,
    *,
    user_id: int,
    scope: JurisdictionScope,
) -> WatchlistEntryRead:
    if not scope.contains(entry.jurisdiction_id):
        raise BadRequestError(
            f"jurisdiction '{entry.jurisdiction_id}' is not in your jurisdiction",
            field="jurisdiction_id",
        )
    return service.add(entry, user_id=user_id)


def withdraw_in_scope(
    service: WatchlistService,
    entry_id: int,
    *,
    user_id: int,
    reason: str,
    scope: JurisdictionScope,
) -> WatchlistEntryRead:
    """撤控 one entry; one outside the scope answers 404 like one that does not exist."""
    row = service.repository.get(entry_id)
    if row is None or not scope.contains(row.jurisdiction_id):
        raise NotFoundError(f"no watchlist entry {entry_id} in your jurisdiction", field="entry_id")
    return service.withdraw(entry_id, user_id=user_id, reason=reason)


def _merge(into: WatchlistImportReport, part: WatchlistImportReport) -> None:
    into.accepted += part.accepted
    into.rejected += part.rejected
    into.entry_ids.extend(part.entry_ids)
    into.errors.extend(part.errors)


def _reject(report: WatchlistImportReport, row: int, column: str, reason: str) -> None:
    report.rejected += 1
    report.errors.append(WatchlistRowError(row, column, reason))


def import_in_scope(
    service: WatchlistService,
    rows: Iterable[Mapping[str, object]],
    *,
    user_id: int,
    scope: JurisdictionScope,
) -> WatchlistImportReport:
    """`WatchlistService.import_rows`, row by row, refusing jurisdictions outside the scope."""
    report = WatchlistImportReport()
    for number, row in enumerate(rows, start=FIRST_DATA_ROW):
        jurisdiction = _text(row.get("jurisdiction_id"))
        if jurisdiction is not None and not scope.contains(jurisdiction):
            _reject(
                report, number, "jurisdiction_id", f"'{jurisdiction}' is not in your jurisdiction"
            )
            continue
        _merge(report, service.import_rows([row], user_id=user_id, first_row_number=number))
    return report


def withdraw_rows_in_scope(
    service: WatchlistService,
    rows: Iterable[Mapping[str, object]],
    *,
    user_id: int,
    scope: JurisdictionScope,
) -> WatchlistImportReport:
    """`WatchlistService.withdraw_rows`, row by row, touching only entries in the scope."""
    report = WatchlistImportReport()
    now = service.clock.now()
    for number, row in enumerate(rows, start=FIRST_DATA_ROW):
        if not scope.is_unscoped:
            raw_id = _text(row.get("id"))
            if raw_id is not None:
                digits = raw_id.removesuffix(".0")
                entry = service.repository.get(int(digits)) if digits.isdigit() else None
                if entry is not None and not scope.contains(entry.jurisdiction_id):
                    _reject(
                        report, number, "id", f"no watchlist entry {digits} in your jurisdiction"
                    )
                    continue
            else:
                plate, subject = _text(row.get("plate")), _text(row.get("subject_ref"))
                if plate is not None or subject is not None:
                    found = service.repository.find_active(
                        now,
                        plate=plate.upper() if plate else None,
                        subject_ref=subject,
                        basis_ref=_text(row.get("legal_basis_ref")),
                    )
                    if any(not scope.contains(entry.jurisdiction_id) for entry in found):
                        _reject(
                            report,
                            number,
                            "plate" if plate else "subject_ref",
                            "matches entries outside your jurisdiction; name yours by id",
                        )
                        continue
        _merge(report, service.withdraw_rows([row], user_id=user_id, first_row_number=number))
    return report
