"""The response procedures kept as data (预案, `response_procedures`): read as a book for
the alert loop, edited on the `/procedures` page, pushed down by a parent node.

A node whose table is empty (a database built without the migrations) uses the built-in
defaults; the migration seeds the table with them, so nothing changes until someone edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.alerts.models import ResponseProcedure
from zhian.alerts.procedures import (
    DEFAULT_BOOK,
    DEFAULTS,
    Key,
    ProcedureBook,
    ProcedureStepSpec,
    check_key,
    steps_as_stored,
    steps_to_json,
)

LOCAL: Final = "local"
FROM_PARENT: Final = "parent"


@dataclass(frozen=True)
class ProcedureRead:
    """One procedure as the page shows it."""

    kind: str
    tier: str
    steps: tuple[ProcedureStepSpec, ...]
    origin: str
    updated_by: int | None
    updated_at: datetime | None

    @property
    def is_default(self) -> bool:
        return self.steps == DEFAULTS.get((self.kind, self.tier), ())


def load_book(session: Session) -> ProcedureBook:
    """The procedures in force here (the built-in ones while the table is empty)."""
    rows = list(session.scalars(select(ResponseProcedure)))
    if not rows:
        return DEFAULT_BOOK
    return ProcedureBook({(row.kind, row.tier): steps_as_stored(row.steps) for row in rows})


class ProcedureService:
    """Reads and edits this node's procedures; the callers audit the edits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rows(self) -> dict[Key, ResponseProcedure]:
        rows = {(r.kind, r.tier): r for r in self.session.scalars(select(ResponseProcedure))}
        if not rows:  # a table never seeded: the built-in defaults become its rows
            for (kind, tier), steps in DEFAULTS.items():
                row = _row(kind, tier, steps, LOCAL, None, None)
                self.session.add(row)
                rows[(kind, tier)] = row
            self.session.flush()
        return rows

    def all(self) -> list[ProcedureRead]:
        """Every procedure, by kind (`*` last) then tier."""
        rows = sorted(self._rows().values(), key=lambda r: (r.kind == "*", r.kind, r.tier))
        return [_read(row) for row in rows]

    def get(self, kind: str, tier: str) -> ProcedureRead | None:
        row = self._rows().get((kind, tier))
        return None if row is None else _read(row)

    def save(
        self,
        kind: str,
        tier: str,
        steps: Sequence[ProcedureStepSpec],
        *,
        user_id: int,
        now: datetime,
    ) -> tuple[ProcedureRead | None, ProcedureRead]:
        """Set the steps of (kind, tier) as this node's own (empty: no checklist);
        returns (before, after) for the audit."""
        check_key(kind, tier)
        rows = self._rows()
        row = rows.get((kind, tier))
        before = None if row is None else _read(row)
        if row is None:
            row = _row(kind, tier, steps, LOCAL, user_id, now)
            self.session.add(row)
        else:
            row.steps = steps_to_json(steps)
            row.origin = LOCAL
            row.updated_by = user_id
            row.updated_at = now
        self.session.flush()
        return before, _read(row)

    def pushed_down(self) -> list[ProcedureRead]:
        """What this node pushes to its children: every procedure that is not the built-in
        default (edited here, or received from this node's own parent)."""
        return [p for p in self.all() if not p.is_default]

    def apply_from_parent(
        self,
        presets: Sequence[tuple[str, str, tuple[ProcedureStepSpec, ...]]],
        *,
        allow_override: bool,
        now: datetime,
    ) -> list[Key]:
        """Bring this node's procedures in step with the parent's; returns the (kind, tier)
        this node keeps its own procedure for. A procedure applied from the parent earlier
        and no longer sent returns to the built-in default."""
        rows = self._rows()
        wanted = {(kind, tier) for kind, tier, _ in presets}
        for key, earlier in list(rows.items()):
            if earlier.origin == FROM_PARENT and key not in wanted:
                if key in DEFAULTS:
                    earlier.steps = steps_to_json(DEFAULTS[key])
                    earlier.origin = LOCAL
                    earlier.updated_by = None
                    earlier.updated_at = now
                else:
                    self.session.delete(earlier)
                    del rows[key]
        overrides: list[Key] = []
        for kind, tier, steps in presets:
            row = rows.get((kind, tier))
            if (
                allow_override
                and row is not None
                and row.origin == LOCAL
                and row.updated_by is not None  # edited here, not the seeded default
                and steps_as_stored(row.steps) != steps
            ):
                overrides.append((kind, tier))
                continue
            if row is None:
                row = _row(kind, tier, steps, FROM_PARENT, None, now)
                self.session.add(row)
                rows[(kind, tier)] = row
            elif row.origin != FROM_PARENT or steps_as_stored(row.steps) != steps:
                row.steps = steps_to_json(steps)
                row.origin = FROM_PARENT
                row.updated_by = None
                row.updated_at = now
        self.session.flush()
        return sorted(overrides)


def _row(
    kind: str,
    tier: str,
    steps: Sequence[ProcedureStepSpec],
    origin: str,
    user_id: int | None,
    now: datetime | None,
) -> ResponseProcedure:
    return ResponseProcedure(
        kind=kind,
        tier=tier,
        steps=steps_to_json(steps),
        origin=origin,
        updated_by=user_id,
        updated_at=now,
    )


def _read(row: ResponseProcedure) -> ProcedureRead:
    return ProcedureRead(
        kind=row.kind,
        tier=row.tier,
        steps=steps_as_stored(row.steps),
        origin=row.origin,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )
