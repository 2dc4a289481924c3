"""Welfare-check opt-ins (关爱登记): residents who, or whose guardian, asked for visits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from zhian.models.orm import WelfareOptin


def add_welfare_optins(session: Session, optins: Iterable[tuple[str, str, datetime]]) -> int:
    """Record (resident id, requested_by `self` | `guardian`, since) opt-ins; a resident
    already enrolled is left as is. Returns how many were added. The caller commits."""
    added = 0
    for resident_id, requested_by, since in optins:
        if requested_by not in ("self", "guardian"):
            raise ValueError(f"requested_by '{requested_by}' is not 'self' or 'guardian'")
        if session.get(WelfareOptin, resident_id) is None:
            session.add(
                WelfareOptin(resident_id=resident_id, requested_by=requested_by, since=since)
            )
            added += 1
    return added
